"""Compiled rule sets and matching them over events: sigmakit's local proof of a rule.

Library use::

    from sigmakit.matching import Matcher

    matcher = Matcher.from_paths(["sigma_rules"], target="sysmon")   # or Matcher.compile(...)
    for error in matcher.errors:          # rules that could not be compiled (file, line, feature)
        print(error)
    for result in matcher.match(events):  # Event objects or plain mappings
        print(result.rule_title, result)  # Hit, or CorrelationHit once the events end

A Matcher is compiled for one data source: ``target=None`` (or ``"sigma"``) when events
use Sigma's field names and no pipeline applies, else one of sigmakit's targets
(``sysmon``, ``security_4688``, ``crowdstrike``, ``cim``), whose pipeline is applied to every
rule exactly as for the SPL, base search included (so events must carry ``source``,
``EventCode``... as Splunk would). Matchers hold only compiled closures, so one per data
source can be kept side by side and each event handed to the one for its ``source``.

``matcher.match(events)`` yields a Hit per rule and matching event, in input order, then
the CorrelationHits when the input ends. For finer control (several event streams, one
correlation state), use ``matcher.session()``: ``feed(event)`` returns that event's hits,
``finish()`` the correlation hits.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Final, Iterable, Iterator, Mapping, Sequence

from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule

from sigmakit.errors import (
    EventError,
    Location,
    OutOfScopeError,
    PipelineError,
    RuleError,
    UnsupportedFeatureError,
)
from sigmakit.events import Event
from sigmakit.matching.compiler import CompiledDetection, PredicateBackend, UnsupportedFeature
from sigmakit.matching.index import RuleIndex
from sigmakit.matching.correlation import (
    CompiledCorrelation,
    CorrelationFeatureError,
    CorrelationHit,
    Occurrence,
)
from sigmakit.matching.placeholders import placeholder_pipeline
from sigmakit.matching.regex import RegexTimeout
from sigmakit.matching.timestamps import event_time
from sigmakit.matching.view import MISSING, EventView
from sigmakit.pipelines import check_target, data_source, load_pipeline
from sigmakit.rules import LoadedRule, RuleSet, load_rule_text, load_rules, merge_conditions

logger = logging.getLogger(__name__)

SIGMA_SOURCE = "sigma"  # events already in Sigma's field names: no pipeline
# Events per block in Matcher.match (see MatchSession.feed_batch); past a few hundred
# the gain levels off, and a block's events and views are held in memory at once.
BATCH_SIZE = 256
# The memo of rule answers (_Memo): lookups before judging whether a rule's keys repeat,
# and answers kept per rule.
MEMO_TRIAL: Final = 512
MEMO_ANSWERS: Final = 4096
_KEY_TYPES: Final = frozenset({str, type(None), type(MISSING)})


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule that matched an event, with the selections of the rule the event matched."""

    rule_id: str | None
    rule_title: str
    event: Event
    selections: tuple[str, ...]
    source: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_title": self.rule_title,
            "source": self.source,
            "file": self.event.file,
            "line": self.event.line,
            "event": dict(self.event.fields),
            "selections": list(self.selections),
        }


@dataclass(frozen=True)
class CompiledRule:
    """One detection rule compiled for one data source.

    ``reports`` is False for a rule that a correlation with ``generate: false`` refers to:
    its hits feed the correlation but are not reported on their own (Sigma spec).
    """

    loaded: LoadedRule
    detection: CompiledDetection
    reports: bool = True

    @property
    def id(self) -> str | None:
        return self.loaded.id

    @property
    def title(self) -> str:
        return self.loaded.title

    @property
    def path(self) -> Path:
        return self.loaded.path

    @property
    def literals(self) -> frozenset[str] | None:
        """Case-folded strings of which every matching event holds one (None: unknown)."""
        return self.detection.literals

    def matches(self, event: Event | Mapping[str, Any] | EventView) -> bool:
        """Whether the rule matches *event*'s fields as given (Matcher.fields_of hides a data
        source's stand-ins for missing values; Matcher.match and sessions do that for you)."""
        return self.detection.predicate(_view(event))

    def selections_matched(self, view: EventView) -> tuple[str, ...]:
        return tuple(name for name, predicate in self.detection.selections.items() if predicate(view))


@dataclass(frozen=True)
class SkippedRule:
    """A rule whose log source the data source does not carry (not a failure)."""

    loaded: LoadedRule
    reason: str


def _keep_all(document: Mapping[str, Any]) -> bool:
    return True


def _view(event: Event | Mapping[str, Any] | EventView) -> EventView:
    if isinstance(event, EventView):
        return event
    return EventView(event.fields if isinstance(event, Event) else event)


def _as_event(item: Event | Mapping[str, Any], number: int) -> Event:
    return item if isinstance(item, Event) else Event(fields=item, file="<events>", line=number)


def _blocks(events: Iterable[Event | Mapping[str, Any]]) -> Iterator[list[Event]]:
    """*events* in lists of BATCH_SIZE (plain mappings become Events numbered from 1)."""
    block: list[Event] = []
    for number, item in enumerate(events, start=1):
        block.append(_as_event(item, number))
        if len(block) == BATCH_SIZE:
            yield block
            block = []
    if block:
        yield block


@dataclass
class Matcher:
    """Rules compiled for one data source (see module docstring)."""

    source: str
    rules: tuple[CompiledRule, ...] = ()
    correlations: tuple[CompiledCorrelation, ...] = ()
    errors: list[RuleError] = field(default_factory=list)
    skipped: list[SkippedRule] = field(default_factory=list)
    # For each rule (by index), the (correlation index, slot) pairs its hits feed.
    _feeds: tuple[tuple[tuple[int, int], ...], ...] = ()
    # The same for each correlation. Inner correlations come before those that refer to
    # them, so list order is evaluation order.
    _correlation_feeds: tuple[tuple[tuple[int, int], ...], ...] = ()
    # Field -> text the data source stores instead of a missing value (the CIM data
    # model's "unknown"): the rules see such a field as missing, as the SPL does.
    stand_ins: Mapping[str, str] = field(default_factory=dict)
    _index: RuleIndex | None = field(default=None, repr=False, compare=False)
    # Field name -> whether a rule may read it (see reads), worked out once per name.
    _reads: dict[str, bool] = field(default_factory=dict, repr=False, compare=False)

    def fields_of(self, event: Event | Mapping[str, Any]) -> Mapping[str, Any]:
        """The event's fields as the rules read them (stand-ins for missing values hidden):
        for an Event, its matching_fields(), with ``_time`` and ``_raw`` only if a rule may
        read them."""
        if isinstance(event, Event):
            fields = event.matching_fields(with_time=self.reads("_time"), with_raw=self.reads("_raw"))
        else:
            fields = event
        if not self.stand_ins:
            return fields
        hidden = {name for name, text in self.stand_ins.items() if fields.get(name) == text}
        return {k: v for k, v in fields.items() if k not in hidden} if hidden else fields

    def reads(self, name: str) -> bool:
        """Whether a rule may read the field *name* (by name, or as any value: a keyword)."""
        known = self._reads.get(name)
        if known is None:
            known = self._reads[name] = any(rule.detection.reads is None or name in rule.detection.reads
                                            for rule in self.rules)
        return known

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def compile(
        cls,
        rules: RuleSet | Iterable[LoadedRule],
        target: str | None = None,
        placeholders: Mapping[str, Sequence[str]] | None = None,
    ) -> "Matcher":
        """Compile *rules* for the data source *target* (None or ``"sigma"``: no pipeline).

        *placeholders* gives values for the ``%name%`` placeholders of ``expand``. Rules
        that cannot be compiled end up in ``errors`` (the others are compiled), rules out
        of the data source's scope in ``skipped``; load errors of a RuleSet are kept too.
        """
        source = SIGMA_SOURCE if target in (None, SIGMA_SOURCE) else check_target(str(target))
        pipeline = ProcessingPipeline()
        if placeholders:
            pipeline = placeholder_pipeline({k: tuple(v) for k, v in placeholders.items()})
        if source != SIGMA_SOURCE:
            pipeline = pipeline + load_pipeline(source)
        return _Builder(source, PredicateBackend(pipeline), rules).build()

    @classmethod
    def from_paths(cls, paths: Iterable[str | Path], target: str | None = None,
                   placeholders: Mapping[str, Sequence[str]] | None = None) -> "Matcher":
        """Load the rules in *paths* (files or folders) and compile them (see compile)."""
        return cls.compile(load_rules(paths), target, placeholders)

    @classmethod
    def from_text(cls, text: str, target: str | None = None,
                  placeholders: Mapping[str, Sequence[str]] | None = None,
                  path: str | Path = "<text>") -> "Matcher":
        """Compile the rules of one YAML text (one or more documents; see compile)."""
        return cls.compile(load_rule_text(text, path), target, placeholders)

    # -- matching ----------------------------------------------------------------------------
    @property
    def index(self) -> RuleIndex:
        """The rule index of this matcher's rules (built on first use)."""
        if self._index is None:
            self._index = RuleIndex([rule.detection.requirement for rule in self.rules],
                                    [rule.detection.exclusion for rule in self.rules], self.stand_ins)
        return self._index

    def session(self, time_field: str | None = None, indexed: bool = True) -> "MatchSession":
        """A fresh matching state (counts, correlation buffers); see MatchSession.

        *indexed* False evaluates every rule on every event instead of the candidates
        the rule index names: the same hits, slower (the reference the index is tested
        against).
        """
        return MatchSession(self, time_field, indexed)

    def match(self, events: Iterable[Event | Mapping[str, Any]],
              time_field: str | None = None, indexed: bool = True) -> Iterator[Hit | CorrelationHit]:
        """Hits for *events* in input order, then correlation hits (see module docstring)."""
        session = self.session(time_field, indexed)
        for block in _blocks(events):
            yield from session.feed_batch(block)
        yield from session.finish()


class MatchSession:
    """Matching state over one stream of events: feed events, then finish.

    ``hits`` counts the hits of each rule (by index in ``matcher.rules``, including hits of
    rules that only feed a correlation), ``correlation_hits`` those of each correlation;
    ``dropped`` counts, per correlation, rule hits it could not use (no time, or no group-by
    value); ``errors`` holds events that could not be evaluated (a regex that timed out).
    """

    def __init__(self, matcher: Matcher, time_field: str | None = None, indexed: bool = True) -> None:
        self.matcher = matcher
        self.time_field = time_field
        self.events = 0
        self.hits: list[int] = [0] * len(matcher.rules)
        self.correlation_hits: list[int] = [0] * len(matcher.correlations)
        self.dropped: list[int] = [0] * len(matcher.correlations)
        self.errors: list[EventError] = []
        self._occurrences: list[list[Occurrence]] = [[] for _ in matcher.correlations]
        self._predicates = tuple(enumerate(rule.detection.predicate for rule in matcher.rules))
        self._rule_predicates = tuple(rule.detection.predicate for rule in matcher.rules)
        self._index = matcher.index.session() if indexed else None
        self._memo = _Memo(matcher.rules) if indexed else None
        self._finished = False

    def can_screen(self) -> bool:
        """Whether screen() can ever turn an object down (not with a rule that the index
        evaluates on every event, nor without the index)."""
        return self._index is not None and not self._index.index.always

    def screen(self, document: Mapping[str, Any], remember: bool = False) -> bool:
        """False only when no rule can match the event read from this JSON object (as
        parsed, before its fields are made): EventReader's ``keep`` (see index.py).

        With *remember*, the rules found for a kept object are remembered until it is fed
        (as the fields of a lazily read Event): the object must not change until then,
        except for index-time fields (EventReader's JSON Lines events keep to that)."""
        return self._index is None or self._index.screen(document, remember)

    def screener(self, remember: bool = False) -> Callable[[Mapping[str, Any]], bool]:
        """screen() with *remember* as one callable (a reader's ``keep`` calls it for
        every object, so it goes straight to the index; when nothing can be turned down,
        see can_screen, it keeps every object without asking)."""
        if self._index is None or not self.can_screen():
            return _keep_all
        return functools.partial(self._index.screen, remember=remember)

    def feed(self, event: Event | Mapping[str, Any]) -> list[Hit]:
        """The hits of every rule on *event* (rules feeding only a correlation excluded)."""
        return self.feed_batch((event,))

    def feed_batch(self, block: Sequence[Event | Mapping[str, Any]]) -> list[Hit]:
        """The hits on a block of events, ordered by event, then by rule.

        Plain mappings are taken as events numbered by their position in the session.
        With the rule index (the default), each event is evaluated only by the rules the
        index names for it (see index.py); without it, by every rule.
        """
        first = self.events + 1
        events = [_as_event(item, first + offset) for offset, item in enumerate(block)]
        self.events += len(events)
        views: dict[int, EventView] = {}
        if self._index is None:
            found = self._evaluate_all(events, views)
        else:
            found = self._evaluate_candidates(events, views)
        found.sort()
        hits: list[Hit] = []
        for position, index in found:
            self.hits[index] += 1
            if self.matcher._feeds[index]:
                self._collect(index, events[position], first + position)
            if self.matcher.rules[index].reports:
                hits.append(self._hit(index, views[position], events[position]))
        return hits

    def _evaluate_candidates(self, events: list[Event], views: dict[int, EventView]) -> list[tuple[int, int]]:
        """(event position, rule index) of each hit, evaluating the index's candidates,
        through the memo of rule answers where it serves (see _Memo)."""
        index, memo = self._index, self._memo
        assert index is not None and memo is not None
        predicates = self._rule_predicates
        memos, keys, used = memo.memos, memo.keys, memo.used
        found: list[tuple[int, int]] = []
        fields_of = self.matcher.fields_of
        for position, event in enumerate(events):
            fields = fields_of(event)
            candidates = index.candidates(fields)
            if not candidates:
                continue
            view = None  # made when a rule must be evaluated, not answered from the memo
            for rule in candidates:
                answers = memos[rule]
                try:
                    if answers is not None:
                        key = tuple(map(fields.get, *keys[rule]))
                        try:
                            hit = answers[key]
                            used[rule] += 1
                        except KeyError:
                            if view is None:
                                view = EventView(fields)
                            hit = predicates[rule](view)
                            memo.remember(rule, key, hit)
                        except TypeError:  # a list value: not remembered
                            answers = None
                    if answers is None:
                        if view is None:
                            view = EventView(fields)
                        hit = predicates[rule](view)
                except RegexTimeout as timeout:
                    self._timed_out(rule, event, timeout)
                    continue
                if hit:
                    found.append((position, rule))
            if found and found[-1][0] == position:
                views[position] = view or EventView(fields)
        return found

    def _evaluate_all(self, events: list[Event], views: dict[int, EventView]) -> list[tuple[int, int]]:
        """(event position, rule index) of each hit, evaluating every rule.

        Each rule runs over the whole block before the next rule starts: with a thousand
        rules, running them all on one event after another is about four times slower,
        as every rule's code and data leave the processor's caches before they are used
        again.
        """
        views.update(enumerate(EventView(self.matcher.fields_of(event)) for event in events))
        found: list[tuple[int, int]] = []
        for index, predicate in self._predicates:
            for position, view in views.items():
                try:
                    if not predicate(view):
                        continue
                except RegexTimeout as timeout:
                    self._timed_out(index, events[position], timeout)
                    continue
                found.append((position, index))
        return found

    def occurrences(self) -> list[list[Occurrence]]:
        """Per correlation, the rule hits waiting for finish() (for a parallel run's merge)."""
        return self._occurrences

    def absorb(self, hits: Sequence[int], occurrences: Sequence[Sequence[Occurrence]],
               dropped: Sequence[int], errors: Sequence[EventError]) -> None:
        """Add another session's counts and waiting rule hits (same matcher) to this one."""
        for index, count in enumerate(hits):
            self.hits[index] += count
        for waiting, more in zip(self._occurrences, occurrences):
            waiting.extend(more)
        for index, count in enumerate(dropped):
            self.dropped[index] += count
        self.errors.extend(errors)

    def _hit(self, index: int, view: EventView, event: Event) -> Hit:
        rule = self.matcher.rules[index]
        try:
            selections = rule.selections_matched(view)
        except RegexTimeout as timeout:
            self._timed_out(index, event, timeout)
            selections = ()
        return Hit(rule.id, rule.title, event, selections, self.matcher.source)

    def _timed_out(self, index: int, event: Event, timeout: RegexTimeout) -> None:
        rule = self.matcher.rules[index]
        self.errors.append(EventError(
            f"{timeout} (rule {rule.title!r}, {rule.path}); the event was not evaluated for this rule",
            location=Location.of(event.file, event.line), rule_id=rule.id,
        ))

    def _collect(self, index: int, event: Event, order: int) -> None:
        time = event_time(event.fields, self.time_field)
        for correlation_index, slot in self.matcher._feeds[index]:
            correlation = self.matcher.correlations[correlation_index]
            occurrence = None if time is None else correlation.from_event(
                slot, event.fields, time, order, (event.file, event.line)
            )
            if occurrence is None:
                self.dropped[correlation_index] += 1
            else:
                self._occurrences[correlation_index].append(occurrence)

    def finish(self) -> list[CorrelationHit]:
        """Evaluate every correlation over what was fed; the hits of those that report.

        Call it once, after the last event.
        """
        if self._finished:
            raise RuntimeError("MatchSession.finish() was already called")
        self._finished = True
        matcher = self.matcher
        results: list[CorrelationHit] = []
        for index, correlation in enumerate(matcher.correlations):
            hits = correlation.evaluate(self._occurrences[index])
            self.correlation_hits[index] = len(hits)
            for parent, slot in matcher._correlation_feeds[index]:
                for hit in hits:
                    occurrence = matcher.correlations[parent].from_hit(slot, hit)
                    if occurrence is None:
                        self.dropped[parent] += 1
                    else:
                        self._occurrences[parent].append(occurrence)
            if correlation.reports:
                results.extend(hits)
        results.sort(key=lambda hit: (hit.end, hit.start))
        return results


class _Memo:
    """Remembered answers of rules, per rule, keyed by the values of the fields it reads.

    A rule's answer is a function of the values of the fields its predicate reads
    (``CompiledDetection.reads``), so an event whose values equal an earlier event's
    gets the earlier answer without evaluating the rule again. Values repeat a lot in
    logs (the same image, parent and user launch the same command many times), but
    not for every rule: a rule whose keys are mostly new after MEMO_TRIAL lookups
    (a command line with a fresh number in it) stops being remembered. Only keys made of
    text values, None and absent fields are kept, so ``1``, ``True`` and ``"1"``, which
    a rule may read differently, never share an answer; at most MEMO_ANSWERS per rule.
    """

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.memos: list[dict[tuple[Any, ...], bool] | None] = [
            None if rule.detection.reads is None else {} for rule in rules
        ]
        self.keys = [((), ()) if rule.detection.reads is None
                     else (rule.detection.reads, (MISSING,) * len(rule.detection.reads)) for rule in rules]
        self.used = [0] * len(rules)
        self.missed = [0] * len(rules)
        # Per rule, the key positions of dotted names: the key reads the flat field, but a
        # library caller's nested objects give such a name a value the key shows as
        # MISSING, so a key with MISSING there is not remembered.
        self.dotted = [() if rule.detection.reads is None
                       else tuple(i for i, name in enumerate(rule.detection.reads) if "." in name) for rule in rules]

    def remember(self, rule: int, key: tuple[Any, ...], answer: bool) -> None:
        answers = self.memos[rule]
        assert answers is not None
        missed = self.missed[rule] = self.missed[rule] + 1
        if missed == MEMO_TRIAL and missed > self.used[rule]:
            self.memos[rule] = None  # mostly new keys: remembering costs more than it saves
            return
        if not _KEY_TYPES.issuperset(map(type, key)):
            return
        if any(key[position] is MISSING for position in self.dotted[rule]):
            return
        if len(answers) >= MEMO_ANSWERS:
            answers.clear()
        answers[key] = answer


class _Builder:
    """Compiles a rule set for one backend: detections first, then correlations over them."""

    def __init__(self, source: str, backend: PredicateBackend, rules: RuleSet | Iterable[LoadedRule]) -> None:
        self.source = source
        self.backend = backend
        self.backend.init_processing_pipeline()
        self.loaded = list(rules)
        self.errors: list[RuleError] = list(rules.errors) if isinstance(rules, RuleSet) else []
        self.skipped: list[SkippedRule] = []
        self.compiled: dict[int, CompiledRule] = {}  # id(LoadedRule) -> compiled rule
        self.compiled_correlations: set[int] = set()  # id(LoadedRule) of compiled correlations
        self.failed: dict[int, str] = {}  # id(LoadedRule) -> why it is not usable
        self.out_of_scope: set[int] = set()  # id(LoadedRule) of skipped rules

    def build(self) -> Matcher:
        for rule in self.loaded:
            if not rule.is_correlation:
                self._compile_detection(rule)
        correlations = self._compile_correlations()
        rules = [self.compiled[id(r)] for r in self.loaded if id(r) in self.compiled]
        rule_index = {id(rule.loaded): index for index, rule in enumerate(rules)}
        emits = [True] * len(rules)
        feeds: list[list[tuple[int, int]]] = [[] for _ in rules]
        correlation_emits = [True] * len(correlations)
        correlation_feeds: list[list[tuple[int, int]]] = [[] for _ in correlations]
        correlation_index = {id(c[0]): i for i, c in enumerate(correlations)}
        for index, (_, compiled, referenced) in enumerate(correlations):
            for slot, target in enumerate(referenced):
                generate = compiled.rule.generate
                if id(target) in rule_index:
                    feeds[rule_index[id(target)]].append((index, slot))
                    emits[rule_index[id(target)]] &= generate
                else:
                    inner = correlation_index[id(target)]
                    correlation_feeds[inner].append((index, slot))
                    correlation_emits[inner] &= generate
        for (_, compiled, _), reports in zip(correlations, correlation_emits):
            compiled.reports = reports
        return Matcher(
            source=self.source,
            stand_ins=data_source(self.source).stand_ins if self.source != SIGMA_SOURCE else {},
            rules=tuple(dataclasses.replace(rule, reports=emit) for rule, emit in zip(rules, emits)),
            correlations=tuple(c[1] for c in correlations),
            errors=self.errors,
            skipped=self.skipped,
            _feeds=tuple(tuple(f) for f in feeds),
            _correlation_feeds=tuple(tuple(f) for f in correlation_feeds),
        )

    # -- detections ----------------------------------------------------------------------------
    def _compile_detection(self, rule: LoadedRule) -> None:
        try:
            parsed = rule.parse()
        except RuleError as error:
            self._fail(rule, error)
            return
        assert isinstance(parsed, SigmaRule)
        merge_conditions(parsed)
        try:
            (detection,) = self.backend.convert_rule(parsed)
        except OutOfScopeError as error:
            self._skip(rule, error.message)
        except PipelineError as error:
            self._fail(rule, RuleError(error.message, location=rule.locate(error.message), rule_id=rule.id))
        except UnsupportedFeature as error:
            self._fail(rule, _unsupported(rule, str(error.args[0]), error.feature))
        except SigmaError as error:
            self._fail(rule, rule.error_from_pysigma(error))
        else:
            self.compiled[id(rule)] = CompiledRule(rule, detection)

    def _skip(self, rule: LoadedRule, reason: str) -> None:
        self.skipped.append(SkippedRule(rule, reason))
        self.failed[id(rule)] = f"out of the scope of {self.source}: {reason}"
        self.out_of_scope.add(id(rule))

    def _fail(self, rule: LoadedRule, error: RuleError) -> None:
        self.errors.append(error)
        self.failed[id(rule)] = error.message

    # -- correlations --------------------------------------------------------------------------
    def _compile_correlations(self) -> list[tuple[LoadedRule, CompiledCorrelation, list[LoadedRule]]]:
        names: dict[str, LoadedRule] = {}
        for rule in self.loaded:
            for key in (rule.id, rule.name):
                if key:
                    names.setdefault(key, rule)
        result: list[tuple[LoadedRule, CompiledCorrelation, list[LoadedRule]]] = []
        parsed: dict[int, SigmaCorrelationRule] = {}
        for rule in self.loaded:
            if rule.is_correlation:
                try:
                    parsed[id(rule)] = rule.parse()  # type: ignore[assignment]
                except RuleError as error:
                    self._fail(rule, error)
        pending = [rule for rule in self.loaded if id(rule) in parsed]
        # Correlations may refer to correlations: compile those whose references are done.
        while pending:
            progressed = False
            for rule in list(pending):
                references = _references(parsed[id(rule)])
                waiting = [r for r in references
                           if r in names and names[r] in pending and names[r] is not rule]
                if waiting:
                    continue
                pending.remove(rule)
                progressed = True
                compiled = self._compile_correlation(rule, parsed[id(rule)], names)
                if compiled is not None:
                    result.append(compiled)
            if not progressed:
                for rule in pending:
                    self._fail(rule, RuleError("correlation rules refer to each other in a cycle",
                                               location=rule.location, rule_id=rule.id))
                break
        return result

    def _compile_correlation(
        self, rule: LoadedRule, parsed: SigmaCorrelationRule, names: dict[str, LoadedRule]
    ) -> tuple[LoadedRule, CompiledCorrelation, list[LoadedRule]] | None:
        try:
            self.backend.last_processing_pipeline.apply(parsed)
        except PipelineError as error:
            self._fail(rule, RuleError(error.message, location=rule.locate(error.message), rule_id=rule.id))
            return None
        except SigmaError as error:
            self._fail(rule, rule.error_from_pysigma(error))
            return None

        def resolve(reference: str) -> object:
            return names.get(reference, reference)

        try:
            compiled = CompiledCorrelation.build(parsed, rule.id, rule.title, resolve)
        except CorrelationFeatureError as error:
            self._fail(rule, _unsupported(rule, str(error), error.feature))
            return None
        referenced: list[LoadedRule] = []
        for reference in compiled.references:
            target = names.get(reference)
            if target is None:
                self._fail(rule, RuleError(
                    f"correlation refers to rule {reference!r}, which is not among the rules loaded",
                    location=rule.locate(f"'{reference}'"), rule_id=rule.id,
                ))
                return None
            unusable = id(target) in self.failed or (
                target.is_correlation and id(target) not in self.compiled_correlations
            )
            if unusable:
                reason = self.failed.get(id(target), "it could not be compiled")
                if id(target) in self.out_of_scope:
                    self._skip(rule, f"refers to rule {reference!r}, {reason}")
                else:
                    self._fail(rule, RuleError(
                        f"correlation refers to rule {reference!r}, which failed: {reason}",
                        location=rule.locate(f"'{reference}'"), rule_id=rule.id,
                    ))
                return None
            referenced.append(target)
        self.compiled_correlations.add(id(rule))
        return rule, compiled, referenced


def _references(rule: SigmaCorrelationRule) -> list[str]:
    """The rules a correlation refers to: its ``rules``, else those its condition names."""
    if rule.rules:
        return [reference.reference for reference in rule.rules]
    condition = rule.condition
    return list(condition.get_referenced_rules()) if hasattr(condition, "get_referenced_rules") else []


def _unsupported(rule: LoadedRule, message: str, feature: str) -> UnsupportedFeatureError:
    text = f"the matcher cannot evaluate this rule ({feature}): {message}"
    return UnsupportedFeatureError(text, feature=feature, location=rule.locate(message), rule_id=rule.id)
