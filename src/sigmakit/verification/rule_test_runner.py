"""Running rule tests: every rule's ``.tests.yml`` cases, a report, JSON and JUnit XML.

For each rule file under the given paths, its rule-test file is loaded (a missing, empty
or malformed one is a failure), and each case's events are read as the case's ``source``
says and matched with the rule through that source's pipeline (see source_matching). A
case passes when the rule matches exactly ``hits`` events, every event was readable and
the rule could be evaluated on all of them.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ElementTree
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Any, Iterable, Iterator

from sigmakit.errors import Location, RuleTestError, SigmakitError, UsageError
from sigmakit.events import Event, EventReader, ReadLog
from sigmakit.rules import LoadedRule, find_rule_files, is_test_file, load_rule_file, test_file_for
from sigmakit.verification.rule_tests import RuleTestCase, RuleTestFileErrors, load_test_file
from sigmakit.verification.source_matching import SourceMatcher

logger = logging.getLogger(__name__)

# How many hit locations a failure message lists before it shortens the list.
SHOWN_HITS = 10


@dataclass
class CaseResult:
    """The outcome of one test case for one rule."""

    rule_title: str
    rule_id: str | None
    rule_path: Path
    case: RuleTestCase
    hits: list[Event] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why the case could not be judged
    notes: list[str] = field(default_factory=list)  # worth knowing, not a failure
    events: int = 0

    @property
    def passed(self) -> bool:
        return not self.problems and len(self.hits) == self.case.hits

    def message(self) -> str:
        """What went wrong, readably (empty when the case passed)."""
        parts = list(self.problems)
        if len(self.hits) != self.case.hits:
            text = f"expected {self.case.hits} hit(s), got {len(self.hits)} (of {self.events} event(s))"
            if self.hits:
                shown = ", ".join(_where(e) for e in self.hits[:SHOWN_HITS])
                more = f" and {len(self.hits) - SHOWN_HITS} more" if len(self.hits) > SHOWN_HITS else ""
                text += f"; matched: {shown}{more}"
            parts.insert(0, text)
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_title": self.rule_title,
            "rule_file": str(self.rule_path),
            "test": self.case.name,
            "test_location": str(self.case.location),
            "source": self.case.source,
            "kind": self.case.kind,
            "expected_hits": self.case.hits,
            "hits": len(self.hits),
            "events": self.events,
            "passed": self.passed,
            "message": self.message() or None,
            "notes": list(self.notes),
            "matched": [{"file": e.file, "line": e.line, "record_id": e.record_id, "source": e.source}
                        for e in self.hits],
        }


def _where(event: Event) -> str:
    record = f" (EventRecordID {event.record_id})" if event.record_id is not None else ""
    return f"{event.file}:{event.line}{record}"


@dataclass
class RuleTestReport:
    """Every case result plus the errors that stopped a rule from being tested at all."""

    results: list[CaseResult] = field(default_factory=list)
    errors: list[SigmakitError] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(not r.passed for r in self.results) + len(self.errors)

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def per_source(self) -> dict[str, tuple[int, int]]:
        """Source -> (passed, total) test cases."""
        totals: Counter[str] = Counter(r.case.source for r in self.results)
        passed: Counter[str] = Counter(r.case.source for r in self.results if r.passed)
        return {source: (passed[source], totals[source]) for source in sorted(totals)}

    # -- outputs ------------------------------------------------------------------------------
    def text_lines(self) -> Iterator[str]:
        """The human report: per rule, each case; then per source; then the totals."""
        for error in self.errors:
            yield f"ERROR {error}"
        current: Path | None = None
        for result in self.results:
            if result.rule_path != current:
                current = result.rule_path
                yield f"{result.rule_title} ({result.rule_path})"
            status = "PASS" if result.passed else "FAIL"
            yield f"  {status}  [{result.case.source}] {result.case.name}: {len(result.hits)} hit(s), expected {result.case.hits}"
            if not result.passed:
                yield f"        {result.case.location}: {result.message()}"
            for note in result.notes:
                yield f"        note: {note}"
        sources = ", ".join(f"{s} {p}/{t}" for s, (p, t) in self.per_source().items())
        if sources:
            yield f"per source (passed/cases): {sources}"
        yield f"{self.passed} passed, {self.failed} failed"

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failed": self.failed,
            "per_source": {s: {"passed": p, "cases": t} for s, (p, t) in self.per_source().items()},
            "errors": [{"message": e.message, "location": str(e.location) if e.location else None,
                        "rule_id": e.rule_id} for e in self.errors],
            "results": [r.to_json() for r in self.results],
        }

    def to_junit(self) -> str:
        """JUnit XML: a test suite per rule file, a test case per rule-test case."""
        root = ElementTree.Element("testsuites", name="sigmakit rule tests",
                                   tests=str(len(self.results) + len(self.errors)), failures=str(self.failed))
        if self.errors:
            suite = ElementTree.SubElement(root, "testsuite", name="rule-test files",
                                           tests=str(len(self.errors)), failures="0", errors=str(len(self.errors)))
            for error in self.errors:
                case = ElementTree.SubElement(suite, "testcase", classname="rule-test files",
                                              name=str(error.location or "rule tests"))
                ElementTree.SubElement(case, "error", message=error.message).text = str(error)
        by_rule: dict[Path, list[CaseResult]] = {}
        for result in self.results:
            by_rule.setdefault(result.rule_path, []).append(result)
        for path, results in by_rule.items():
            failures = sum(not r.passed for r in results)
            suite = ElementTree.SubElement(root, "testsuite", name=results[0].rule_title, file=str(path),
                                           tests=str(len(results)), failures=str(failures), errors="0")
            for result in results:
                attributes = {"classname": f"{path.stem}.{result.case.source}", "name": result.case.name,
                              "file": str(result.case.location.path), "line": str(result.case.location.line)}
                case = ElementTree.SubElement(suite, "testcase", attributes)
                if not result.passed:
                    ElementTree.SubElement(case, "failure", message=result.message()).text = (
                        f"{result.case.location}: {result.message()}")
        _make_xml_safe(root)
        ElementTree.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


# Characters XML 1.0 cannot carry at all, not even escaped (control characters, lone
# surrogates, U+FFFE/U+FFFF). Rule titles, test names and event values may hold them.
_NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """*text* with every character XML cannot carry shown as a visible escape (\\x1b)."""
    return _NOT_XML.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _make_xml_safe(root: ElementTree.Element) -> None:
    for element in root.iter():
        element.attrib = {key: _xml_text(value) for key, value in element.attrib.items()}
        if element.text:
            element.text = _xml_text(element.text)


class RuleTestRunner:
    """Runs the rule tests of rule files (see module docstring)."""

    def run(self, paths: Iterable[str | Path]) -> RuleTestReport:
        """Raises UsageError for a path that does not exist."""
        report = RuleTestReport()
        for rule_path in _rule_files(paths):
            self._run_file(rule_path, report)
        return report

    def _run_file(self, rule_path: Path, report: RuleTestReport) -> None:
        loaded = load_rule_file(rule_path)
        report.errors.extend(loaded.errors)
        rules = [r for r in loaded.rules if not r.is_correlation]
        if not rules:
            return
        test_path = test_file_for(rule_path)
        if test_path is None:
            report.errors.append(RuleTestError(
                f"no rule-test file {rule_path.stem}.tests.yml beside the rule (every rule needs tests)",
                location=Location.of(rule_path)))
            return
        try:
            tests = load_test_file(test_path)
        except RuleTestFileErrors as error:
            report.errors.extend(error.errors)
            return
        except RuleTestError as error:
            report.errors.append(error)
            return
        for case in tests.cases:
            chosen = _rules_for(case, rules)
            if not chosen:
                report.errors.append(RuleTestError(
                    f"test case {case.name!r} names rule {case.rule!r}, which {rule_path.name} does not hold",
                    location=case.location))
                continue
            for rule in chosen:
                report.results.append(run_case(rule, case))


def run_rule_tests(paths: Iterable[str | Path]) -> RuleTestReport:
    """Run the rule tests beside every rule under *paths* (the library form of ``sigmakit test``)."""
    return RuleTestRunner().run(paths)


def _rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """Rule files under *paths*; a test file named directly stands for its rule file."""
    found: list[Path] = []
    for entry in paths:
        path = Path(entry)
        if path.is_file() and is_test_file(path):
            stem = path.name[: path.name.lower().index(".tests.")]
            candidates = [path.with_name(stem + suffix) for suffix in (".yml", ".yaml")]
            rule = next((c for c in candidates if c.is_file()), None)
            if rule is None:
                raise UsageError(f"{path} is a rule-test file with no rule file {stem}.yml beside it")
            found.append(rule)
        else:
            found.extend(find_rule_files([path]))
    return list(dict.fromkeys(found))


def _rules_for(case: RuleTestCase, rules: list[LoadedRule]) -> list[LoadedRule]:
    if case.rule is None:
        return rules
    return [r for r in rules if case.rule in (r.id, r.title, r.name)]


def case_events(case: RuleTestCase, log: ReadLog) -> Iterator[Event]:
    """The events of one case, read as its source says."""
    reader = EventReader(case.source, log)
    for path in case.files:
        yield from reader.read_file(path)
    if case.raw is not None:
        yield from reader.read_text(case.raw, str(case.location))
    if case.events:
        yield from reader.read_objects(case.events, str(case.location.path))


def run_case(rule: LoadedRule, case: RuleTestCase) -> CaseResult:
    """Match one rule on one case's events and judge the count."""
    result = CaseResult(rule.title, rule.id, rule.path, case)
    log = ReadLog()
    matcher = SourceMatcher([rule])
    for event in case_events(case, log):
        result.events += 1
        if matcher.feed(event):
            result.hits.append(event)
    matcher.finish()
    for problem in log.problems:
        result.problems.append(f"unreadable event {problem}")
    if log.problem_count > len(log.problems):
        result.problems.append(f"{log.problem_count - len(log.problems)} more unreadable event(s)")
    for source, errors in matcher.rule_errors().items():
        for error in errors:
            result.problems.append(
                f"the rule cannot be evaluated for {source} ({matcher.events[source]} event(s)): {error.message}")
    for error in matcher.event_errors:
        result.problems.append(str(error))
    for source, state in matcher.states.items():
        for reason in state.skipped.values():
            note = f"the rule does not apply to {source} events ({matcher.events[source]}): {reason}"
            (result.problems if source == case.source else result.notes).append(note)
    for reason, count in log.skipped.items():
        result.notes.append(f"{count} event(s) skipped: {reason}")
    for (forced, detected), count in log.mismatched.items():
        # A true negative on events of another source proves nothing: their own source
        # fields keep the case's base search from matching whatever the rule says.
        result.problems.append(f"{count} event(s) of the case are {detected} events, not {forced} events: "
                               f"write them as {forced} events or give the case source: {detected}")
    if result.events == 0 and not result.problems:
        result.problems.append("the test case has no events")
    return result
