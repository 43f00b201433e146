"""``sigmakit verify``: the matcher and the SPL evaluator on the same events, pair by pair.

For each rule and target, the search is the one ``sigmakit build`` puts in
savedsearches.conf, and its macros come from the macros.conf the same build writes (read
back from the rendered file), optionally overridden by the user's own macros.conf. The matcher compiles the rule through the same target pipeline.
Both then judge the same records: the events as read for a raw target (every event, in
its own field names, so the base search's ``source``/``EventCode`` tests are exercised
too), their CIM ``Endpoint.Processes`` records for ``cim``.

A disagreement is an event on which one side says "match" and the other "no match";
each is listed with both verdicts. An event the evaluator could not judge (undecided) is
not a disagreement; it is counted, as are searches the evaluator cannot evaluate.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from sigmakit.conversion import Status as ConversionStatus
from sigmakit.events import Event, to_cim_record
from sigmakit.matching import CompiledRule, EventView, Matcher
from sigmakit.matching.regex import RegexTimeout
from sigmakit.output.app import AppBuild, plan_app
from sigmakit.pipelines import TARGETS, data_source
from sigmakit.rules import LoadedRule, RuleSet
from sigmakit.verification.spl import CompiledSearch, Evaluation, MacroSet, SplError, Verdict, compile_spl
from sigmakit.verification.spl.commands import RenameCommand, StatsCommand
from sigmakit.verification.spl.runner import renamed
from sigmakit.verification.spl import CannotEvaluate as SplCannotEvaluate
from sigmakit.verification.spl import Status as EvaluationStatus

logger = logging.getLogger(__name__)

CIM_TARGET = "cim"


class PairStatus(str, Enum):
    """The outcome for one rule and target."""

    AGREE = "agree"  # every event judged alike
    DISAGREE = "disagree"  # at least one event judged differently
    UNDECIDED = "undecided"  # no disagreement, but some events the evaluator could not judge
    CANNOT_EVALUATE = "cannot_evaluate"  # the search is outside the evaluator's subset
    INVALID = "invalid"  # the search is SPL that Splunk would reject
    NOT_BUILT = "not_built"  # the rule was refused or failed for this target
    NOT_MATCHED = "not_matched"  # the matcher could not compile the rule


def location_of(event: Event) -> str:
    """``file:line`` of an event (the record number for formats without lines)."""
    return f"{event.file}:{event.line}"


@dataclass(frozen=True)
class Disagreement:
    """One event the two sides judge differently."""

    event: Event
    matcher: bool
    evaluator: Verdict

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.event.file,
            "line": self.event.line,
            "record_id": self.event.record_id,
            "source": self.event.source,
            "matcher": "match" if self.matcher else "no_match",
            "evaluator": self.evaluator.value,
        }


@dataclass(frozen=True)
class GroupDisagreement:
    """A correlation group (its group-by values) that fires on one side only."""

    group: tuple[str, ...]
    matcher: bool
    evaluator: bool

    def to_json(self) -> dict[str, Any]:
        return {"group": list(self.group), "matcher": "fires" if self.matcher else "silent",
                "evaluator": "fires" if self.evaluator else "silent"}


@dataclass
class PairResult:
    """What verify found for one rule and one target."""

    rule: LoadedRule | None
    rule_id: str | None
    rule_title: str | None
    path: Path | None
    target: str
    status: PairStatus
    search: str | None = None
    events: int = 0
    matcher_matches: int = 0
    evaluator_matches: int = 0
    undecided: dict[str, str] = field(default_factory=dict)  # event location -> reason
    disagreements: list[Disagreement] = field(default_factory=list)
    group_disagreements: list[GroupDisagreement] = field(default_factory=list)
    reason: str | None = None

    @property
    def name(self) -> str:
        return self.rule_title or (str(self.path) if self.path else "rule")

    def to_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_title": self.rule_title,
            "path": None if self.path is None else str(self.path),
            "target": self.target,
            "status": self.status.value,
            "events": self.events,
            "matcher_matches": self.matcher_matches,
            "evaluator_matches": self.evaluator_matches,
            "undecided": [{"event": location, "reason": reason} for location, reason in self.undecided.items()],
            "disagreements": [d.to_json() for d in self.disagreements],
            "group_disagreements": [d.to_json() for d in self.group_disagreements],
            "reason": self.reason,
            "search": self.search,
        }


@dataclass
class VerifyReport:
    """Every pair's result, and the events each target saw."""

    pairs: list[PairResult]
    events: dict[str, int]

    @property
    def verified(self) -> list[PairResult]:
        """Pairs both sides produced something for (built, compiled and with a search)."""
        return [p for p in self.pairs if p.status not in (PairStatus.NOT_BUILT, PairStatus.NOT_MATCHED)]

    def counts(self) -> Counter[PairStatus]:
        return Counter(p.status for p in self.pairs)

    def totals(self) -> dict[str, int]:
        counts = self.counts()
        verified = self.verified
        return {
            "rules": len({(p.path, p.rule_id, p.rule_title) for p in self.pairs}),
            "pairs": len(verified),
            "events": sum(self.events.values()),
            "matcher_matches": sum(p.matcher_matches for p in verified),
            "evaluator_matches": sum(p.evaluator_matches for p in verified),
            "disagreeing_pairs": counts[PairStatus.DISAGREE],
            "disagreements": sum(len(p.disagreements) + len(p.group_disagreements) for p in verified),
            "cannot_evaluate": counts[PairStatus.CANNOT_EVALUATE],
            "undecided_pairs": counts[PairStatus.UNDECIDED],
            "undecided_events": sum(len(p.undecided) for p in verified),
            "invalid": counts[PairStatus.INVALID],
            "not_built": counts[PairStatus.NOT_BUILT],
            "not_matched": counts[PairStatus.NOT_MATCHED],
        }

    @property
    def failed(self) -> bool:
        """Disagreements or invalid searches: the SPL and the rule do not mean the same."""
        counts = self.counts()
        return bool(counts[PairStatus.DISAGREE] or counts[PairStatus.INVALID])

    @property
    def incomplete(self) -> bool:
        """Something could not be judged (what ``--strict`` turns into a failure)."""
        counts = self.counts()
        return bool(counts[PairStatus.CANNOT_EVALUATE] or counts[PairStatus.UNDECIDED])


@dataclass(frozen=True)
class TargetRecords:
    """The records one target's searches and rules are run on, and their events."""

    target: str
    events: tuple[Event, ...]
    data_model: str | None

    @property
    def fields(self) -> list[Mapping[str, Any]]:
        return [event.fields for event in self.events]


def records_for(target: str, events: Sequence[Event]) -> TargetRecords:
    """What *target* reads: raw events as they are, or CIM records for a data-model target."""
    model = data_source(target).data_model
    if model is None:
        return TargetRecords(target, tuple(e for e in events if e.source != CIM_TARGET), None)
    records = []
    for event in events:
        record = event if event.source == CIM_TARGET else to_cim_record(event)
        if record is not None:
            records.append(record)
    return TargetRecords(target, tuple(records), model)


def built_macros(build: AppBuild, extra: MacroSet | None = None) -> MacroSet:
    """The macros of the app's macros.conf (as rendered), with *extra* taking precedence."""
    conf = build.files["default/macros.conf"]
    macros = MacroSet.from_text(conf.render(), f"{conf.name} (sigmakit build)")
    return macros if extra is None else macros.merged(extra)


Progress = Callable[[str], None]


def verify(
    rules: RuleSet,
    events: Iterable[Event],
    targets: Sequence[str] = TARGETS,
    macros: MacroSet | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Run matcher and evaluator for every rule and target of *rules* over *events*.

    *macros* (for example the user's tuned macros.conf) override the app's own.
    """
    event_list = list(events)
    build = plan_app(rules, targets)
    all_macros = built_macros(build, macros)
    pairs: list[PairResult] = []
    for result in build.results:
        if result.status is not ConversionStatus.CONVERTED:
            if result.status is not ConversionStatus.SKIPPED:
                pairs.append(PairResult(None, result.rule_id, result.rule_title, result.path, result.target,
                                        PairStatus.NOT_BUILT, reason=result.error))
    event_counts: dict[str, int] = {}
    for target in build_targets(targets):
        records = records_for(target, event_list)
        event_counts[target] = len(records.events)
        matcher = Matcher.compile(rules, target)
        compiled = {id(rule.loaded): rule for rule in matcher.rules}
        failures = {_rule_key(error): error for error in matcher.errors}
        views = [EventView(matcher.fields_of(fields)) for fields in records.fields]
        target_searches = [s for s in build.searches if s.result.target == target]
        fired = _matcher_correlation_groups(matcher, records) if any(
            s.rule.is_correlation for s in target_searches) else {}
        for number, search in enumerate(target_searches, start=1):
            if progress is not None and number % 100 == 0:
                progress(f"{target}: {number}/{len(target_searches)} searches")
            rule = compiled.get(id(search.rule))
            pair = PairResult(search.rule, search.rule.id, search.rule.title, search.rule.path, target,
                              PairStatus.AGREE, search.query, len(records.events))
            if search.rule.is_correlation:
                _judge_correlation(pair, fired.get((search.rule.id, search.rule.title)), records, all_macros)
            elif rule is None:
                error = failures.get((str(search.rule.path), search.rule.id))
                pair.status, pair.reason = PairStatus.NOT_MATCHED, str(error) if error else "not compiled by the matcher"
            else:
                _judge(pair, rule, records, views, all_macros)
            pairs.append(pair)
    return VerifyReport(pairs, event_counts)


def build_targets(targets: Sequence[str]) -> list[str]:
    return [t for t in TARGETS if t in targets]


def _rule_key(error: Any) -> tuple[str, str | None]:
    location = getattr(error, "location", None)
    return (str(location.path) if location and location.path else "", getattr(error, "rule_id", None))


def _evaluate(pair: PairResult, records: TargetRecords, macros: MacroSet
              ) -> tuple[CompiledSearch, Evaluation] | None:
    """The pair's search run over *records*; None (and the pair's status set) without verdicts."""
    assert pair.search is not None
    try:
        search = compile_spl(pair.search, macros)
    except SplCannotEvaluate as error:
        pair.status, pair.reason = PairStatus.CANNOT_EVALUATE, str(error)
        return None
    except SplError as error:
        pair.status, pair.reason = PairStatus.INVALID, str(error)
        return None
    evaluation = search.run(records.fields, records.data_model)
    if evaluation.status is not EvaluationStatus.EVALUATED:
        pair.status = (PairStatus.CANNOT_EVALUATE if evaluation.status is EvaluationStatus.CANNOT_EVALUATE
                       else PairStatus.INVALID)
        pair.reason = evaluation.reason
        return None
    return search, evaluation


def _judge(pair: PairResult, rule: CompiledRule, records: TargetRecords, views: list[EventView],
           macros: MacroSet) -> None:
    """Fill *pair* with both sides' verdicts on *records*."""
    evaluated = _evaluate(pair, records, macros)
    if evaluated is None:
        return
    search, evaluation = evaluated
    matched, timed_out = _matcher_verdicts(rule, views)
    pair.matcher_matches = len(matched)
    pair.evaluator_matches = len(evaluation.matched)
    for index in sorted(matched ^ evaluation.matched):
        verdict = evaluation.verdict(index)
        if verdict is Verdict.UNDECIDED or index in timed_out:
            continue
        pair.disagreements.append(Disagreement(records.events[index], index in matched, verdict))
    for index, reason in evaluation.undecided.items():
        pair.undecided[location_of(records.events[index])] = f"evaluator: {reason}"
    for index, reason in timed_out.items():
        pair.undecided[location_of(records.events[index])] = f"matcher: {reason}"
    if pair.disagreements:
        pair.status = PairStatus.DISAGREE
    elif pair.undecided:
        pair.status = PairStatus.UNDECIDED


def _matcher_correlation_groups(matcher: Matcher, records: TargetRecords
                                ) -> dict[tuple[str | None, str], set[tuple[str, ...]]]:
    """Per reporting correlation (id, title): the groups the matcher finds it firing for."""
    session = matcher.session()
    events = list(records.events)
    for start in range(0, len(events), 256):
        session.feed_batch(events[start:start + 256])
    groups: dict[tuple[str | None, str], set[tuple[str, ...]]] = {
        (c.rule_id, c.title): set() for c in matcher.correlations if c.reports
    }
    for hit in session.finish():
        groups.setdefault((hit.rule_id, hit.rule_title), set()).add(
            tuple(_folded_text(v) for v in hit.group.values()))
    return groups


def _folded_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(sorted(_folded_text(v) for v in value))
    return str(value).casefold()


def _judge_correlation(pair: PairResult, matcher_groups: set[tuple[str, ...]] | None, records: TargetRecords,
                       macros: MacroSet) -> None:
    """A correlation agrees when both sides fire for the same groups (group-by values)."""
    if matcher_groups is None:
        pair.status = PairStatus.CANNOT_EVALUATE
        pair.reason = "the matcher reports no hits for this correlation (not compiled, or generate: false above it)"
        return
    evaluated = _evaluate(pair, records, macros)
    if evaluated is None:
        return
    search, evaluation = evaluated
    names = result_group_fields(search)
    spl_groups = {tuple(_folded_text(row.get(name, "")) for name in names) for row in evaluation.results}
    pair.matcher_matches, pair.evaluator_matches = len(matcher_groups), len(spl_groups)
    for index, reason in evaluation.undecided.items():
        pair.undecided[location_of(records.events[index])] = f"evaluator: {reason}"
    if pair.undecided:
        # Events left out of the stream change every window they were in, so no group's
        # verdict is settled.
        pair.status = PairStatus.UNDECIDED
        return
    for group in sorted(matcher_groups ^ spl_groups):
        pair.group_disagreements.append(GroupDisagreement(group, group in matcher_groups, group in spl_groups))
    if pair.group_disagreements:
        pair.status = PairStatus.DISAGREE
    elif pair.undecided:
        pair.status = PairStatus.UNDECIDED


def result_group_fields(search: CompiledSearch) -> tuple[str, ...]:
    """The group-by fields of a search's last ``stats``, as later renames call them."""
    names: tuple[str, ...] = ()
    for command in search.query.commands:
        if isinstance(command, StatsCommand):
            names = command.by
        elif isinstance(command, RenameCommand):
            names = tuple(renamed(name, command) for name in names)
    return names


def _matcher_verdicts(rule: CompiledRule, views: list[EventView]) -> tuple[set[int], dict[int, str]]:
    """Indexes of the events the rule matches, and those whose regex timed out (no verdict)."""
    predicate = rule.detection.predicate
    matched: set[int] = set()
    timed_out: dict[int, str] = {}
    for index, view in enumerate(views):
        try:
            if predicate(view):
                matched.add(index)
        except RegexTimeout as timeout:
            timed_out[index] = str(timeout)
    return matched, timed_out


__all__ = [
    "Disagreement",
    "PairResult",
    "PairStatus",
    "TargetRecords",
    "VerifyReport",
    "built_macros",
    "location_of",
    "records_for",
    "verify",
]
