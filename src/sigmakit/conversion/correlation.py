"""Sigma correlation rules as SPL: one stream of rule matches, sliding windows over it.

Shape of every correlation search (docs/spl-semantics.md, "Correlations"):

1. *The stream.* Every base rule the correlation reaches (through nested correlations
   too) contributes its matches, each row tagged ``sigma_rule="<name>"``. Raw-event
   targets use the rule's own search and post-filter, joined by ``multisearch`` when there
   are several rules (its subsearches hold only streaming commands: search, where, eval).
   The data-model target reads one ``tstats`` by ``_time span=1s`` and tags rows with each
   rule's exact condition. The stream is then sorted by time.
2. *The windows.* Each correlation, innermost first, adds ``sigma_fired_<key>`` (1 where it
   fires) with ``streamstats time_window=<timespan> ... by <group-by>``: a sliding window
   ending at each row, as Sigma asks ("not restricted to boundaries"), not ``bin`` buckets.
   A nested correlation's firings are rows like any rule match for the one around it.
3. *The result.* Rows where the outermost correlation fires, one result row per group.

``event_count``, ``value_count``, ``value_sum``, ``value_avg``, ``temporal`` (plain and
extended conditions) and ``temporal_ordered`` (all rules in order) convert for every
target; ``value_median`` and ``value_percentile`` need single events and convert for the
raw-event targets only. Anything else is refused with its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Final, Union

from sigma.correlations import (
    CorrelationConditionAND,
    CorrelationConditionItem,
    CorrelationConditionNOT,
    CorrelationConditionOR,
    SigmaCorrelationCondition,
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationType,
    SigmaExtendedCorrelationCondition,
    SigmaRuleReference,
)

from sigmakit.conversion.backend import DataModel, RuleSearch, SigmakitSplunkBackend, filter_macro_for, tstats_lines
from sigmakit.conversion.condition import fields_of
from sigmakit.conversion.plan import SearchPlan, exact_filter
from sigmakit.conversion.search import quote, search_field
from sigmakit.conversion.where import NoWhereForm, eval_field
from sigmakit.errors import RefusedError
from sigmakit.rules.loader import LoadedRule, RuleSet

_OPERATORS: Final = {
    SigmaCorrelationConditionOperator.LT: "<",
    SigmaCorrelationConditionOperator.LTE: "<=",
    SigmaCorrelationConditionOperator.GT: ">",
    SigmaCorrelationConditionOperator.GTE: ">=",
    SigmaCorrelationConditionOperator.EQ: "==",
    SigmaCorrelationConditionOperator.NEQ: "!=",
}
# The metric each type computes, named as in pySigma's own Splunk output.
_METRICS: Final = {
    SigmaCorrelationType.EVENT_COUNT: "event_count",
    SigmaCorrelationType.VALUE_COUNT: "value_count",
    SigmaCorrelationType.VALUE_SUM: "value_sum",
    SigmaCorrelationType.VALUE_AVG: "value_avg",
    SigmaCorrelationType.VALUE_MEDIAN: "value_median",
    SigmaCorrelationType.VALUE_PERCENTILE: "value_percentile",
    SigmaCorrelationType.TEMPORAL: "event_type_count",
}
_SPAN_UNITS: Final = ("s", "m", "h", "d")
_KEY_CHARACTERS: Final = re.compile(r"[^A-Za-z0-9_]+")
CORRELATION_TSTATS_HEAD: Final = "| tstats `security_content_summariesonly` count"


@dataclass(frozen=True)
class Member:
    """A base rule in the stream: the tag its rows carry and its converted search."""

    tag: str
    search: RuleSearch


@dataclass
class Correlation:
    """A correlation rule (after the pipeline) and what it refers to, resolved."""

    rule: SigmaCorrelationRule
    key: str
    refs: dict[str, Union[Member, "Correlation"]] = field(default_factory=dict)  # by reference text

    @property
    def members(self) -> list[Member]:
        """Every base rule reached, each once, in order of first reference."""
        found: dict[str, Member] = {}
        for ref in self.refs.values():
            for member in ([ref] if isinstance(ref, Member) else ref.members):
                found.setdefault(member.tag, member)
        return list(found.values())

    def nested(self) -> list["Correlation"]:
        """Inner correlations first (post-order), this one last."""
        ordered: list[Correlation] = []
        for ref in self.refs.values():
            if isinstance(ref, Correlation):
                ordered.extend(c for c in ref.nested() if c not in ordered)
        ordered.append(self)
        return ordered


MemberPlanner = Callable[[LoadedRule], RuleSearch]


class CorrelationResolver:
    """Finds the rules a correlation names in a rule set and converts them for one target."""

    def __init__(self, rules: RuleSet, backend: SigmakitSplunkBackend, plan_member: MemberPlanner) -> None:
        self.backend = backend
        self.plan_member = plan_member
        self.by_reference: dict[str, LoadedRule] = {}
        for rule in rules:
            for reference in (rule.id, rule.name):
                if reference:
                    self.by_reference.setdefault(reference, rule)
        self.keys: set[str] = set()

    def resolve(self, loaded: LoadedRule, parsed: SigmaCorrelationRule, chain: tuple[str, ...] = ()) -> Correlation:
        name = loaded.name or loaded.id or loaded.title
        if name in chain:
            raise RefusedError(f"correlation {name!r} refers to itself through {' -> '.join(chain)}")
        self.backend.prepare_correlation(parsed)
        correlation = Correlation(parsed, self._key(loaded.name or loaded.title))
        for reference in _references(parsed):
            target = self.by_reference.get(reference)
            if target is None:
                raise RefusedError(f"the correlation refers to rule {reference!r}, which is not among the rules given")
            if target.is_correlation:
                inner = target.parse()
                assert isinstance(inner, SigmaCorrelationRule)
                correlation.refs[reference] = self.resolve(target, inner, (*chain, name))
            else:
                tag = target.name or target.id or target.title
                correlation.refs[reference] = Member(tag, self.plan_member(target))
        return correlation

    def _key(self, name: str) -> str:
        # Helper field names (sigma_<key>_...): the rule's name, or its title, kept short.
        base = _KEY_CHARACTERS.sub("_", name).strip("_").lower()[:24].rstrip("_") or "correlation"
        key, number = base, 1
        while key in self.keys:
            number += 1
            key = f"{base}{number}"
        self.keys.add(key)
        return key


def _references(rule: SigmaCorrelationRule) -> list[str]:
    if rule.rules is not None:
        return [r.reference for r in rule.rules]
    if isinstance(rule.condition, SigmaExtendedCorrelationCondition):
        return list(dict.fromkeys(rule.condition.get_referenced_rules()))
    return []


class CorrelationSearch:
    """Writes the SPL of one resolved correlation for one target (see module docstring)."""

    def __init__(self, root: Correlation, backend: SigmakitSplunkBackend) -> None:
        self.root = root
        self.backend = backend
        self.members = root.members
        self.data_model = self._data_model()

    def _data_model(self) -> DataModel | None:
        models = {m.search.data_model for m in self.members}
        if len(models) != 1:
            raise RefusedError("the correlated rules convert to searches over different kinds of data")
        return next(iter(models))

    def _refuse(self, correlation: Correlation, reason: str) -> RefusedError:
        return RefusedError(f"correlation {correlation.key}: {reason}",
                            rule_id=None if correlation.rule.id is None else str(correlation.rule.id))

    # -- the whole search --------------------------------------------------------------------
    def render(self) -> str:
        steps: list[str] = []
        for correlation in self.root.nested():
            steps.extend(self._windows(correlation))
        lines = [*self._stream(), "| sort 0 _time", *steps, *self._result()]
        if self.data_model is not None:
            lines.extend(self.data_model.tail())
        lines.append(f"| `{filter_macro_for(self.root.rule)}`")
        return "\n".join(lines)

    # -- 1. the stream -------------------------------------------------------------------------
    def _stream(self) -> list[str]:
        if self.data_model is not None:
            return self._tstats_stream(self.data_model)
        if len(self.members) == 1:
            member = self.members[0]
            return [*_raw_lines(member.search.plan), f"| eval sigma_rule={quote(member.tag)}"]
        # One line: in savedsearches.conf a continued line may not start with "[" or a space.
        subsearches = " ".join(
            f"[ search {' '.join(_raw_lines(member.search.plan))} | eval sigma_rule={quote(member.tag)} ]"
            for member in self.members
        )
        return [f"| multisearch {subsearches}"]

    def _tstats_stream(self, data_model: DataModel) -> list[str]:
        needed = self._row_fields()
        if len(self.members) == 1:
            member = self.members[0]
            plan = member.search.plan
            model = DataModel(data_model.name, tuple(dict.fromkeys([*needed, *plan.filter_fields])))
            lines = tstats_lines(plan, model, CORRELATION_TSTATS_HEAD, "_time span=1s")
            return [*lines, f"| eval sigma_rule={quote(member.tag)}"]
        for member in self.members:
            needed.extend(f for f in fields_of(member.search.condition) if f not in needed)
        searches = [m.search.plan.search for m in self.members]
        union = "" if not all(searches) else " OR ".join(f"({s})" for s in searches)
        model = DataModel(data_model.name, tuple(dict.fromkeys(needed)))
        try:
            tags = ", ".join(
                f"if({exact_filter(m.search.condition, self.backend.nulls)}, {quote(m.tag)}, null())"
                for m in self.members
            )
        except NoWhereForm as fragment:
            raise self._refuse(self.root, f"{fragment} cannot tag the rows of a correlation search") from None
        return [
            *tstats_lines(SearchPlan(union, None), model, CORRELATION_TSTATS_HEAD, "_time span=1s"),
            f"| eval sigma_rule=mvappend({tags})",
            "| where isnotnull(sigma_rule)",
            "| mvexpand sigma_rule",
        ]

    def _row_fields(self) -> list[str]:
        """Fields the windows read, which a tstats stream must keep as by-fields."""
        needed: list[str] = []
        for correlation in self.root.nested():
            rule = correlation.rule
            aliases = {alias.alias for alias in rule.aliases}
            names = [g for g in (rule.group_by or []) if g not in aliases]
            names.extend(name for alias in rule.aliases for name in alias.mapping.values())
            if isinstance(rule.condition, SigmaCorrelationCondition) and isinstance(rule.condition.fieldref, str):
                names.append(rule.condition.fieldref)
            needed.extend(n for n in names if n not in needed)
        return needed

    # -- 2. the windows --------------------------------------------------------------------------
    def _occurrence(self, ref: Member | Correlation) -> str:
        """Eval test: this row is a match of *ref* (a rule's event or a correlation's firing)."""
        if isinstance(ref, Member):
            return f"sigma_rule={quote(ref.tag)}"
        return f"sigma_fired_{ref.key}=1"

    def _weight(self, ref: Member | Correlation) -> str:
        """How many events a row stands for: tstats rows carry a count, raw rows are one."""
        return "count" if self.data_model is not None and isinstance(ref, Member) else "1"

    def _relevant(self, correlation: Correlation) -> str:
        return " OR ".join(self._occurrence(ref) for ref in correlation.refs.values())

    def _windows(self, correlation: Correlation) -> list[str]:
        rule = correlation.rule
        lines = self._aliases(correlation)
        kind = rule.type
        if kind is SigmaCorrelationType.TEMPORAL_ORDERED:
            return lines + self._ordered(correlation)
        if kind is SigmaCorrelationType.TEMPORAL:
            return lines + self._temporal(correlation)
        if kind is SigmaCorrelationType.EVENT_COUNT:
            return lines + self._event_count(correlation)
        if kind in _METRICS:
            return lines + self._value_metric(correlation)
        raise self._refuse(correlation, f"correlation type {kind.name.lower()} is not supported")

    def _streamstats(self, correlation: Correlation, aggregations: str) -> str:
        group_by = " ".join(search_field(g) for g in correlation.rule.group_by or [])
        by = f" by {group_by}" if group_by else ""
        return f"| streamstats time_window={_time_window(correlation)} {aggregations}{by}"

    def _condition(self, correlation: Correlation) -> tuple[str, int]:
        condition = correlation.rule.condition
        assert isinstance(condition, SigmaCorrelationCondition)
        return _OPERATORS[condition.op], condition.count

    def _event_count(self, c: Correlation) -> list[str]:
        weights = " + ".join(f"if({self._occurrence(ref)}, {self._weight(ref)}, 0)" for ref in c.refs.values())
        op, count = self._condition(c)
        return [
            f"| eval sigma_{c.key}_n={weights}",
            self._streamstats(c, f"sum(sigma_{c.key}_n) as sigma_{c.key}_event_count"),
            f"| eval sigma_fired_{c.key}=if(sigma_{c.key}_n>0 AND sigma_{c.key}_event_count{op}{count}, 1, 0)",
        ]

    def _value_metric(self, c: Correlation) -> list[str]:
        condition = c.rule.condition
        assert isinstance(condition, SigmaCorrelationCondition)
        if not isinstance(condition.fieldref, str):
            raise self._refuse(c, "the condition must name exactly one field")
        metric = _METRICS[c.rule.type]
        value = f"sigma_{c.key}_value"
        relevant = self._relevant(c)
        lines = [f"| eval {value}=if({relevant}, {eval_field(condition.fieldref)}, null())"]
        kind = c.rule.type
        if kind is SigmaCorrelationType.VALUE_COUNT:
            lines.append(self._streamstats(c, f"dc({value}) as sigma_{c.key}_{metric}"))
        elif kind in (SigmaCorrelationType.VALUE_SUM, SigmaCorrelationType.VALUE_AVG):
            lines.extend(self._weighted_sum(c, value, metric))
        elif self.data_model is not None:
            raise self._refuse(c, f"{metric} needs single events, and the data model search counts them in groups")
        elif kind is SigmaCorrelationType.VALUE_MEDIAN:
            lines.append(self._streamstats(c, f"median({value}) as sigma_{c.key}_{metric}"))
        else:
            percentile = condition.percentile if condition.percentile is not None else 50
            lines.append(self._streamstats(c, f"perc{percentile}({value}) as sigma_{c.key}_{metric}"))
        op, count = self._condition(c)
        lines.append(f"| eval sigma_fired_{c.key}=if(({relevant}) AND sigma_{c.key}_{metric}{op}{count}, 1, 0)")
        return lines

    def _weighted_sum(self, c: Correlation, value: str, metric: str) -> list[str]:
        weight = "count" if self.data_model is not None else "1"
        sums = f"sum(sigma_{c.key}_weighted) as sigma_{c.key}_sum"
        if metric == "value_avg":
            sums += f" sum(sigma_{c.key}_events) as sigma_{c.key}_events_in_window"
        lines = [
            (f"| eval sigma_{c.key}_weighted=tonumber({value})*{weight}, "
            f"sigma_{c.key}_events=if(isnotnull(tonumber({value})), {weight}, 0)"),
            self._streamstats(c, sums),
        ]
        if metric == "value_avg":
            lines.append(f"| eval sigma_{c.key}_value_avg=sigma_{c.key}_sum/sigma_{c.key}_events_in_window")
        else:
            lines.append(f"| eval sigma_{c.key}_value_sum=sigma_{c.key}_sum")
        return lines

    def _seen_columns(self, c: Correlation) -> tuple[list[str], dict[str, str]]:
        """Per reference: 1 where this row is a match of it, and the window's maximum of that."""
        flags = ", ".join(
            f"sigma_{c.key}_{index}=if({self._occurrence(ref)}, 1, 0)"
            for index, ref in enumerate(c.refs.values(), 1)
        )
        seen = " ".join(
            f"max(sigma_{c.key}_{index}) as sigma_{c.key}_seen_{index}" for index in range(1, len(c.refs) + 1)
        )
        names = {reference: f"sigma_{c.key}_seen_{index}" for index, reference in enumerate(c.refs, 1)}
        return [f"| eval {flags}", self._streamstats(c, seen)], names

    def _temporal(self, c: Correlation) -> list[str]:
        lines, seen = self._seen_columns(c)
        relevant = self._relevant(c)
        condition = c.rule.condition
        if isinstance(condition, SigmaExtendedCorrelationCondition):
            test = _extended(condition.parsed, seen)
        else:
            op, count = self._condition(c)
            lines.append(f"| eval sigma_{c.key}_event_type_count={' + '.join(seen.values())}")
            test = f"sigma_{c.key}_event_type_count{op}{count}"
        lines.append(f"| eval sigma_fired_{c.key}=if(({relevant}) AND {test}, 1, 0)")
        return lines

    def _ordered(self, c: Correlation) -> list[str]:
        condition = c.rule.condition
        refs = list(c.refs.values())
        everything = isinstance(condition, SigmaCorrelationCondition) and (
            condition.op is SigmaCorrelationConditionOperator.GTE and condition.count == len(refs)
        )
        if not everything:
            raise self._refuse(c, "temporal_ordered converts only with its default condition (every rule, in order)")
        if len(refs) < 2:
            raise self._refuse(c, "temporal_ordered needs at least two rules")
        seconds = c.rule.timespan.seconds
        lines: list[str] = []
        previous: str | None = None  # where the chain so far may start, at this row
        for index, ref in enumerate(refs[:-1], 1):
            started = f"sigma_{c.key}_start{index}"
            value = "_time" if previous is None else previous
            guard = "" if previous is None else f" AND isnotnull({previous})"
            lines.append(f"| eval sigma_{c.key}_t{index}=if({self._occurrence(ref)}{guard}, {value}, null())")
            lines.append(self._streamstats(c, f"max(sigma_{c.key}_t{index}) as {started}"))
            previous = started
        lines.append(
            f"| eval sigma_fired_{c.key}=if({self._occurrence(refs[-1])} AND isnotnull({previous}) "
            f"AND _time-{previous}<={seconds}, 1, 0)"
        )
        return lines

    def _aliases(self, c: Correlation) -> list[str]:
        lines = []
        for alias in c.rule.aliases:
            cases = ", ".join(
                f"{self._occurrence(c.refs[ref.reference])}, {eval_field(name)}"
                for ref, name in alias.mapping.items()
                if ref.reference in c.refs
            )
            lines.append(f"| eval {eval_field(alias.alias)}=case({cases})")
        return lines

    # -- 3. the result ---------------------------------------------------------------------------
    def _result(self) -> list[str]:
        root = self.root
        metric = _METRICS.get(root.rule.type)
        stats = "count as sigma_matches min(_time) as firstTime max(_time) as lastTime"
        if metric is not None and not isinstance(root.rule.condition, SigmaExtendedCorrelationCondition):
            stats += f" max(sigma_{root.key}_{metric}) as {metric}"
        group_by = " ".join(search_field(g) for g in root.rule.group_by or [])
        lines = [f"| where sigma_fired_{root.key}=1"]
        if group_by:
            lines.append(f"| stats {stats} by {group_by}")
        else:  # stats without by-fields returns a row even for no matches
            lines.extend([f"| stats {stats}", "| where sigma_matches>0"])
        return lines


def _raw_lines(plan: SearchPlan) -> list[str]:
    lines = [plan.search or "*"]
    if plan.post_filter:
        lines.append(f"| where {plan.post_filter}")
    return lines


def _time_window(correlation: Correlation) -> str:
    timespan = correlation.rule.timespan
    if timespan.unit in _SPAN_UNITS:
        return f"{timespan.count}{timespan.unit}"
    if timespan.unit == "w":
        return f"{timespan.count * 7}d"
    return f"{timespan.seconds}s"  # months and years: Splunk spans have no such unit here


def _extended(node: CorrelationConditionItem | SigmaRuleReference, seen: dict[str, str]) -> str:
    """An extended temporal condition over "rule seen in the window" flags."""
    if isinstance(node, SigmaRuleReference):
        return f"{seen[node.reference]}=1"
    if isinstance(node, CorrelationConditionNOT):
        return f"NOT ({_extended(node.args[0], seen)})"
    joiner = " AND " if isinstance(node, CorrelationConditionAND) else " OR "
    assert isinstance(node, (CorrelationConditionAND, CorrelationConditionOR))
    return "(" + joiner.join(_extended(arg, seen) for arg in node.args) + ")"


def correlation_search(
    loaded: LoadedRule, rules: RuleSet, backend: SigmakitSplunkBackend, plan_member: MemberPlanner
) -> str:
    """The SPL of correlation *loaded*, its rules taken from *rules* (see module docstring)."""
    parsed = loaded.parse()
    assert isinstance(parsed, SigmaCorrelationRule)
    root = CorrelationResolver(rules, backend, plan_member).resolve(loaded, parsed)
    return CorrelationSearch(root, backend).render()


__all__ = ["Correlation", "CorrelationResolver", "CorrelationSearch", "Member", "correlation_search"]
