"""The rule-test file format: ``<rule file stem>.tests.yml`` beside each rule.

A rule-test file lists test cases; each feeds events of one data source to the rule and
says how many of them the rule must match::

    tests:
      - name: Atomic T1218 DiskShadow with upper-case -S
        source: sysmon          # auto, sysmon, security_4688, crowdstrike, cim or sigma
        hits: 1                 # events the rule must match: 0 makes a true-negative test
        file: events/diskshadow_sysmon.xml    # or a list of files, relative to this file
      - name: Interactive DiskShadow
        source: crowdstrike
        hits: 0
        events:                 # inline events: maps in the source's own field names
          - {event_simpleName: ProcessRollup2, event_platform: Win, CommandLine: diskshadow.exe}
      - name: One XmlWinEventLog line
        source: security_4688
        hits: 1
        raw: |                  # event text in any format the readers take
          <Event xmlns='...'>...</Event>

Each case has exactly one of ``events``, ``raw`` and ``file``. Optional keys: ``rule``
(the rule id or title, needed when the rule file holds several rules) and
``description``. A missing, empty or malformed test file is an error, never "no tests";
every error names the file and line.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Final, Mapping

from sigmakit.errors import Location, RuleError, RuleTestError
from sigmakit.events import SOURCE_CHOICES
from sigmakit.rules.yaml_source import KeyPath, YamlPositions, load_yaml_documents

EVENT_KEYS: Final = ("events", "raw", "file")


@dataclass(frozen=True)
class RuleTestCase:
    """One test case: events of one source and the number of them the rule must match."""

    name: str
    source: str
    hits: int
    location: Location
    events: tuple[tuple[Mapping[str, Any], int], ...] = ()  # inline maps with their lines
    raw: str | None = None
    files: tuple[Path, ...] = ()
    rule: str | None = None
    description: str | None = None

    @property
    def kind(self) -> str:
        return "true positive" if self.hits else "true negative"


@dataclass(frozen=True)
class RuleTestFile:
    path: Path
    cases: tuple[RuleTestCase, ...]


# -- the schema -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Key:
    """One key of a test case: the type of its value and an extra check on it."""

    types: tuple[type, ...]
    description: str
    required: bool = False
    check: Callable[[Any], str | None] | None = None


def _known_source(value: Any) -> str | None:
    if value in SOURCE_CHOICES:
        return None
    close = difflib.get_close_matches(str(value), SOURCE_CHOICES, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"must be one of {', '.join(SOURCE_CHOICES)}{hint}"


def _not_negative(value: Any) -> str | None:
    return None if value >= 0 else "must be 0 or more"


def _maps(value: Any) -> str | None:
    if not value:
        return "must list at least one event"
    return None if all(isinstance(item, dict) for item in value) else "must be a list of maps (one per event)"


def _file_names(value: Any) -> str | None:
    names = value if isinstance(value, list) else [value]
    if not names or not all(isinstance(n, str) and n.strip() for n in names):
        return "must be a file name or a list of file names"
    return None


def _text(value: Any) -> str | None:
    return None if value.strip() else "must not be empty"


CASE_KEYS: Final[dict[str, _Key]] = {
    "name": _Key((str,), "text", required=True, check=_text),
    "source": _Key((str,), "a data source", required=True, check=_known_source),
    "hits": _Key((int,), "a whole number", required=True, check=_not_negative),
    "events": _Key((list,), "a list of maps", check=_maps),
    "raw": _Key((str,), "text", check=_text),
    "file": _Key((str, list), "a file name or a list of them", check=_file_names),
    "rule": _Key((str,), "a rule id or title", check=_text),
    "description": _Key((str,), "text"),
}


class _Reader:
    """Validates one test file's data, collecting located errors."""

    def __init__(self, path: Path, positions: YamlPositions) -> None:
        self.path = path
        self.positions = positions
        self.errors: list[RuleTestError] = []

    def error(self, key_path: KeyPath, message: str) -> None:
        location = Location.of(self.path, self.positions.line_of(key_path))
        self.errors.append(RuleTestError(message, location=location))

    def file(self, data: Any) -> tuple[RuleTestCase, ...]:
        if not isinstance(data, dict):
            self.error((), "a rule-test file must be a map with a 'tests' list")
            return ()
        for key in data:
            if key != "tests":
                self.error((key,), f"unknown key {key!r} (a rule-test file has only 'tests')")
        tests = data.get("tests")
        if not isinstance(tests, list) or not tests:
            self.error(("tests",), "'tests' must be a list with at least one test case")
            return ()
        cases = [self.case(index, item) for index, item in enumerate(tests)]
        return tuple(case for case in cases if case is not None)

    def case(self, index: int, item: Any) -> RuleTestCase | None:
        where: KeyPath = ("tests", index)
        if not isinstance(item, dict):
            self.error(where, f"test case {index + 1} must be a map")
            return None
        before = len(self.errors)
        for key, value in item.items():
            spec = CASE_KEYS.get(key)
            if spec is None:
                close = difflib.get_close_matches(str(key), CASE_KEYS, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.error((*where, key), f"unknown key {key!r} in test case {index + 1}{hint}")
                continue
            if not isinstance(value, spec.types) or isinstance(value, bool):
                self.error((*where, key), f"'{key}' must be {spec.description}, not {value!r}")
                continue
            problem = spec.check(value) if spec.check else None
            if problem:
                self.error((*where, key), f"'{key}' {problem}")
        for key, spec in CASE_KEYS.items():
            if spec.required and key not in item:
                self.error(where, f"test case {index + 1} has no '{key}'")
        given = [key for key in EVENT_KEYS if key in item]
        if len(given) != 1:
            self.error(where, f"test case {index + 1} needs exactly one of {', '.join(EVENT_KEYS)} "
                              f"(it has {', '.join(given) or 'none'})")
        if len(self.errors) != before:
            return None
        return self._build(where, item)

    def _build(self, where: KeyPath, item: dict[str, Any]) -> RuleTestCase:
        files = item.get("file", [])
        files = files if isinstance(files, list) else [files]
        events = tuple(
            (event, self.positions.line_of((*where, "events", number)))
            for number, event in enumerate(item.get("events", []))
        )
        return RuleTestCase(
            name=item["name"].strip(),
            source=item["source"],
            hits=item["hits"],
            location=Location.of(self.path, self.positions.line_of(where)),
            events=events,
            raw=item.get("raw"),
            files=tuple(self.path.parent / name for name in files),
            rule=item.get("rule"),
            description=item.get("description"),
        )


def load_test_file(path: Path) -> RuleTestFile:
    """Read and validate one rule-test file; raises RuleTestError (file and line) if it is
    unreadable, empty or malformed. Event files it names must exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RuleTestError(f"cannot read the rule-test file: {error}", location=Location.of(path)) from None
    try:
        documents = [d for d in load_yaml_documents(text, path) if d.data is not None]
    except RuleError as error:
        raise RuleTestError(error.message, location=error.location) from None
    if not documents:
        raise RuleTestError("the rule-test file is empty (it must list test cases)", location=Location.of(path))
    if len(documents) > 1:
        raise RuleTestError("a rule-test file holds one YAML document",
                            location=Location.of(path, documents[1].positions.document_line))
    reader = _Reader(path, documents[0].positions)
    cases = reader.file(documents[0].data)
    for case in cases:
        for file in case.files:
            if not file.is_file():
                reader.errors.append(RuleTestError(
                    f"test case {case.name!r}: no such event file {file}", location=case.location))
    if reader.errors:
        raise RuleTestFileErrors(reader.errors)
    return RuleTestFile(path, cases)


class RuleTestFileErrors(RuleTestError):
    """Several errors found in one rule-test file; the first one is the message."""

    def __init__(self, errors: list[RuleTestError]) -> None:
        first = errors[0]
        super().__init__(first.message, location=first.location)
        self.errors = errors

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)
