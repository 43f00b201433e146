"""Sigma correlation rules evaluated over the hits of the rules they refer to.

Only base-rule hits are kept (as small Occurrence records), never all events, and they
are evaluated when the input ends, so events need not arrive in time order.

Semantics (the spec asks for sliding windows and leaves the rest open; where it does,
sigmakit follows pySigma's reference SQL backends, and Splunk for group-by):

* **Window.** Every occurrence time ``t`` of a group ends a window ``[t - timespan, t]``,
  both ends included; the correlation's value is computed over the occurrences in it.
  Windows are not aligned to clock boundaries.
* **Hits.** Consecutive windows (in time) that satisfy the condition and overlap form
  one hit; its events are every occurrence of those windows. So a burst gives one hit,
  and two bursts further apart than the timespan give two.
* **Group-by.** Values are compared case-insensitively, as text. An occurrence without a
  value for a group-by field is left out (Splunk's ``stats ... by`` drops it too) and
  counted in ``MatchSession.dropped``. ``aliases`` name the field per referenced rule.
* **Order.** Occurrences are ordered by time, then by input order (for equal times).
* ``event_count``: distinct events. ``value_count``: distinct values of ``field`` (as
  case-folded text). ``value_sum``/``value_avg``/``value_median``/``value_percentile``: over
  the numeric values of ``field`` (non-numeric values are ignored); ``percentile`` is
  interpolated linearly between ranks.
* ``temporal``: the number of distinct referenced rules seen in the window (the default
  condition asks for all of them). ``temporal_ordered``: the longest run of referenced
  rules, in the order the rule lists them, whose occurrences are in that order in time.
* Extended (boolean) conditions of ``temporal``: each rule name is true when that rule
  has an occurrence in the window; ``and``/``or``/``not`` combine them. Extended
  conditions of ``temporal_ordered`` are not supported.
* Correlations may refer to correlations: an inner hit is an occurrence at its window's
  end, carrying its group-by values and events.
"""

from __future__ import annotations

import math
import operator
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Final, Hashable, Mapping, Sequence

from sigma.correlations import (
    CorrelationConditionAND,
    CorrelationConditionNOT,
    CorrelationConditionOR,
    SigmaCorrelationCondition,
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationType,
    SigmaExtendedCorrelationCondition,
    SigmaRuleReference,
)

from sigmakit.matching.view import MISSING, lookup, number_of, text_of

EventRef = tuple[str, int]  # (file, line) of an event

_CONDITION_OPERATORS: Final[dict[SigmaCorrelationConditionOperator, Callable[[Any, Any], bool]]] = {
    SigmaCorrelationConditionOperator.LT: operator.lt,
    SigmaCorrelationConditionOperator.LTE: operator.le,
    SigmaCorrelationConditionOperator.GT: operator.gt,
    SigmaCorrelationConditionOperator.GTE: operator.ge,
    SigmaCorrelationConditionOperator.EQ: operator.eq,
    SigmaCorrelationConditionOperator.NEQ: operator.ne,
}
_VALUE_TYPES: Final = frozenset({
    SigmaCorrelationType.VALUE_COUNT,
    SigmaCorrelationType.VALUE_SUM,
    SigmaCorrelationType.VALUE_AVG,
    SigmaCorrelationType.VALUE_MEDIAN,
    SigmaCorrelationType.VALUE_PERCENTILE,
})
_NUMERIC_TYPES: Final = _VALUE_TYPES - {SigmaCorrelationType.VALUE_COUNT}


class CorrelationFeatureError(Exception):
    """A correlation uses something the matcher cannot evaluate; ``feature`` names it."""

    def __init__(self, message: str, feature: str) -> None:
        super().__init__(message)
        self.feature = feature


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One hit of a referenced rule, as a correlation needs it."""

    time: float
    order: int  # input order of the (last) event, to order equal times
    identity: Hashable  # the same event (or inner hit) feeding two slots is counted once
    slot: int  # which referenced rule
    key: tuple[str, ...]  # group-by values, case-folded
    group: tuple[Any, ...]  # group-by values as the events hold them
    value: Any  # the condition field's value (value_* types), else None
    events: tuple[EventRef, ...]


@dataclass(frozen=True)
class CorrelationHit:
    """A correlation that fired: its group, the window and the events behind it."""

    rule_id: str | None
    rule_title: str
    type: str
    group: dict[str, Any]
    events: tuple[EventRef, ...]
    start: float
    end: float
    value: float
    order: int = field(default=0, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_title": self.rule_title,
            "group": self.group,
            "events": [{"file": file, "line": line} for file, line in self.events],
        }


@dataclass
class CompiledCorrelation:
    """A correlation rule ready to collect occurrences and evaluate them.

    ``references`` are the referenced rules as written (slot order); ``group_fields[slot]``
    and ``value_fields[slot]`` are the event field names for that slot after aliases.
    ``reports`` is False for an inner correlation whose outer one has ``generate: false``.
    """

    rule_id: str | None
    title: str
    rule: SigmaCorrelationRule
    references: tuple[str, ...]
    group_fields: tuple[tuple[str, ...], ...]
    value_fields: tuple[str | None, ...]
    reports: bool = True

    @property
    def kind(self) -> SigmaCorrelationType:
        return self.rule.type

    @property
    def span(self) -> float:
        return float(self.rule.timespan.seconds)

    @property
    def group_by(self) -> tuple[str, ...]:
        return tuple(self.rule.group_by or ())

    @classmethod
    def build(cls, rule: SigmaCorrelationRule, rule_id: str | None, title: str,
              resolve: Callable[[str], object]) -> "CompiledCorrelation":
        """Check what the matcher supports and resolve aliases per referenced rule.

        *resolve* maps a rule reference (an id or a name) to the rule it names, so an alias
        written with a rule's name applies where ``rules`` lists its id, and the reverse.
        """
        condition = rule.condition
        if isinstance(condition, SigmaExtendedCorrelationCondition):
            if rule.type is not SigmaCorrelationType.TEMPORAL:
                raise CorrelationFeatureError(
                    "an extended (boolean) condition is only evaluated for temporal correlations",
                    "extended correlation condition",
                )
            references = tuple(r.reference for r in rule.rules) if rule.rules else tuple(
                condition.get_referenced_rules()
            )
        else:
            references = tuple(r.reference for r in rule.rules or ())
        if not references:
            raise CorrelationFeatureError("the correlation refers to no rule", "correlation rules")
        value_field = condition.fieldref if isinstance(condition, SigmaCorrelationCondition) else None
        if isinstance(value_field, list):
            raise CorrelationFeatureError("a correlation condition over several fields",
                                          "condition field list")
        if rule.type is SigmaCorrelationType.VALUE_PERCENTILE and (
            not isinstance(condition, SigmaCorrelationCondition)
            or condition.percentile is None or not 0 <= condition.percentile <= 100
        ):
            raise CorrelationFeatureError("value_percentile needs a percentile from 0 to 100", "percentile")
        group_fields = []
        value_fields = []
        for reference in references:
            aliases = _aliases_for(rule, resolve(reference), resolve)
            group_fields.append(tuple(aliases.get(name, name) for name in rule.group_by or ()))
            value_fields.append(aliases.get(value_field, value_field) if value_field else None)
        return cls(rule_id, title, rule, references, tuple(group_fields), tuple(value_fields))

    # -- collecting -----------------------------------------------------------------------
    def from_event(self, slot: int, fields: Mapping[str, Any], time: float, order: int,
                   ref: EventRef) -> Occurrence | None:
        """The occurrence for a base-rule hit on an event; None if a group-by value is missing."""
        group = tuple(lookup(fields, name) for name in self.group_fields[slot])
        if any(value is MISSING or value is None for value in group):
            return None
        value_field = self.value_fields[slot]
        value = lookup(fields, value_field) if value_field else None
        return Occurrence(time, order, order, slot, _keys(group), group, value, (ref,))

    def from_hit(self, slot: int, hit: CorrelationHit) -> Occurrence | None:
        """The occurrence for an inner correlation's hit (its group-by values carried over)."""
        try:
            group = tuple(hit.group[name] for name in self.group_fields[slot])
        except KeyError:
            return None
        group_key = _keys(tuple(hit.group.values()))
        identity = ("correlation", hit.rule_id, hit.rule_title, hit.start, hit.end, group_key)
        return Occurrence(hit.end, hit.order, identity, slot, _keys(group), group, None, hit.events)

    # -- evaluating -------------------------------------------------------------------------
    def evaluate(self, occurrences: Sequence[Occurrence]) -> list[CorrelationHit]:
        """Every hit of this correlation over *occurrences* (any order), sorted by time."""
        groups: dict[tuple[str, ...], list[Occurrence]] = defaultdict(list)
        for occurrence in occurrences:
            groups[occurrence.key].append(occurrence)
        hits: list[CorrelationHit] = []
        for items in groups.values():
            items.sort(key=lambda o: (o.time, o.order))
            hits.extend(self._group_hits(items))
        hits.sort(key=lambda h: (h.end, h.start, h.order))
        return hits

    def _group_hits(self, items: list[Occurrence]) -> list[CorrelationHit]:
        hits: list[CorrelationHit] = []
        span = self.span
        counts = _WindowCounts()
        low = high = 0
        episode: list[Any] | None = None  # [first index, end index, end time, best value]
        while high < len(items):
            end_time = items[high].time
            while high < len(items) and items[high].time == end_time:
                counts.add(items[high])
                high += 1
            while items[low].time < end_time - span:
                counts.remove(items[low])
                low += 1
            value = self._metric(items, low, high, counts)
            if value is not None and self._holds(value, items, low, high, counts):
                if episode is not None and end_time - span <= episode[2]:
                    episode[1], episode[2], episode[3] = high, end_time, value
                else:
                    if episode is not None:
                        hits.append(self._hit(items, *episode))
                    episode = [low, high, end_time, value]
            elif episode is not None:
                hits.append(self._hit(items, *episode))
                episode = None
        if episode is not None:
            hits.append(self._hit(items, *episode))
        return hits

    def _metric(self, items: list[Occurrence], low: int, high: int, counts: "_WindowCounts") -> float | None:
        kind = self.kind
        if kind is SigmaCorrelationType.EVENT_COUNT:
            return len(counts.identities)
        if kind is SigmaCorrelationType.VALUE_COUNT:
            return len(counts.values)
        if kind is SigmaCorrelationType.TEMPORAL:
            return len(counts.slots)
        if kind is SigmaCorrelationType.TEMPORAL_ORDERED:
            return _ordered_run(items[low:high], len(self.references))
        numbers = _numbers(items[low:high])
        if not numbers:
            return None
        if kind is SigmaCorrelationType.VALUE_SUM:
            return math.fsum(numbers)
        if kind is SigmaCorrelationType.VALUE_AVG:
            return math.fsum(numbers) / len(numbers)
        if kind is SigmaCorrelationType.VALUE_MEDIAN:
            return _percentile(numbers, 50)
        if kind is SigmaCorrelationType.VALUE_PERCENTILE:
            assert isinstance(self.rule.condition, SigmaCorrelationCondition)
            return _percentile(numbers, float(self.rule.condition.percentile or 0))
        raise CorrelationFeatureError(f"correlation type {kind.name.lower()}", "correlation type")

    def _holds(self, value: float, items: list[Occurrence], low: int, high: int,
               counts: "_WindowCounts") -> bool:
        condition = self.rule.condition
        if isinstance(condition, SigmaExtendedCorrelationCondition):
            present = {self.references[slot] for slot in counts.slots}
            return _extended_true(condition.parsed, present)
        return _CONDITION_OPERATORS[condition.op](value, condition.count)

    def _hit(self, items: list[Occurrence], low: int, high: int, end: float, value: float) -> CorrelationHit:
        window = items[low:high]
        if self.kind in _NUMERIC_TYPES:
            window = [o for o in window if number_of(o.value) is not None]
        elif self.kind is SigmaCorrelationType.VALUE_COUNT:
            window = [o for o in window if _value_key(o.value) is not None]
        events = tuple(dict.fromkeys(ref for o in window for ref in o.events))
        first = window[0] if window else items[low]
        return CorrelationHit(
            rule_id=self.rule_id,
            rule_title=self.title,
            type=self.kind.name.lower(),
            group=dict(zip(self.group_by, first.group)),
            events=events,
            start=min(o.time for o in window) if window else first.time,
            end=end,
            value=value,
            order=max(o.order for o in items[low:high]),
        )


class _WindowCounts:
    """Distinct events, values and referenced rules in the current window, kept as it slides."""

    def __init__(self) -> None:
        self.identities: Counter[Hashable] = Counter()
        self.values: Counter[str] = Counter()
        self.slots: Counter[int] = Counter()

    def add(self, occurrence: Occurrence) -> None:
        self.identities[occurrence.identity] += 1
        self.slots[occurrence.slot] += 1
        key = _value_key(occurrence.value)
        if key is not None:
            self.values[key] += 1

    def remove(self, occurrence: Occurrence) -> None:
        _decrement(self.identities, occurrence.identity)
        _decrement(self.slots, occurrence.slot)
        key = _value_key(occurrence.value)
        if key is not None:
            _decrement(self.values, key)


def _decrement(counter: Counter[Any], key: Any) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]


def _value_key(value: Any) -> str | None:
    """A value as compared in groups and distinct counts: its text, case-folded."""
    if value is None:
        return None
    text = text_of(value)
    return (text if text is not None else str(value)).casefold()


def _keys(values: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(_value_key(value) or "" for value in values)


def _numbers(window: Sequence[Occurrence]) -> list[float]:
    seen: set[Hashable] = set()
    numbers: list[float] = []
    for occurrence in window:
        number = number_of(occurrence.value)
        if number is not None and occurrence.identity not in seen:
            seen.add(occurrence.identity)
            numbers.append(float(number))
    return numbers


def _percentile(numbers: list[float], percent: float) -> float:
    ordered = sorted(numbers)
    position = (len(ordered) - 1) * percent / 100.0
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _ordered_run(window: Sequence[Occurrence], slots: int) -> int:
    """Longest chain of slots in increasing slot order whose occurrences are in time order.

    Occurrences of one event (equal time and input order) cannot follow each other.
    """
    best = [0] * slots
    index = 0
    while index < len(window):
        stamp = (window[index].time, window[index].order)
        updates: dict[int, int] = {}
        while index < len(window) and (window[index].time, window[index].order) == stamp:
            slot = window[index].slot
            chain = 1 + max(best[:slot], default=0)
            updates[slot] = max(updates.get(slot, 0), chain)
            index += 1
        for slot, chain in updates.items():
            best[slot] = max(best[slot], chain)
    return max(best, default=0)


def _extended_true(node: Any, present: set[str]) -> bool:
    if isinstance(node, SigmaRuleReference):
        return node.reference in present
    if isinstance(node, CorrelationConditionNOT):
        return not _extended_true(node.args[0], present)
    if isinstance(node, CorrelationConditionAND):
        return all(_extended_true(arg, present) for arg in node.args)
    if isinstance(node, CorrelationConditionOR):
        return any(_extended_true(arg, present) for arg in node.args)
    raise CorrelationFeatureError(f"unexpected condition element {node!r}", "extended correlation condition")


def _aliases_for(rule: SigmaCorrelationRule, referenced: object,
                 resolve: Callable[[str], object]) -> dict[str, str]:
    """alias name -> field name, for the rule *referenced*."""
    result: dict[str, str] = {}
    for alias in rule.aliases:
        for target, field_name in alias.mapping.items():
            if resolve(target.reference) is referenced:
                result[alias.alias] = field_name
    return result
