"""The matcher's pySigma backend: a rule's condition tree becomes a Python predicate.

``PredicateBackend`` is a pySigma ``Backend`` like the SPL backend, so a rule reaches it
after exactly the same processing pipeline (field mapping, base search, field policy).
Each ``convert_condition_*`` method returns a closure ``EventView -> bool``; everything
that can be decided once (case folding, pattern shapes, regex compilation, CIDR
networks) is decided here, at compile time.

Decisions the spec leaves open, taken here (see also view.py for how values are read):

* ``fieldref`` compares case-insensitively, like every other string test without
  ``cased``; ``startswith``/``endswith``/``contains`` select a prefix/suffix/substring test.
* Values produced by ``base64`` and ``base64offset`` are matched case-sensitively:
  encoded text folded to one case would match unrelated encodings.
* A keyword (a value without a field) matches when some value of the event contains it,
  case-insensitively: an implicit ``*`` on both sides, as a full-text search does. So
  ``startswith``/``endswith`` make no difference to keywords. A keyword ``re`` searches
  every value of the event.
* ``cidr`` tests membership of the event value's address in the network; an IPv4 address
  written as IPv4-mapped IPv6 (``::ffff:10.0.0.1``) counts as that IPv4 address.
* ``lt``/``lte``/``gt``/``gte`` compare numbers; a value that is not a number never matches.
* A condition ``x of pattern`` that names no selection is an error, not an empty match.

Anything the matcher cannot evaluate raises UnsupportedFeature naming the feature, so
no rule is ever silently treated as not matching.
"""

from __future__ import annotations

import ipaddress
import logging
import operator
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Final, Iterable, Iterator, Mapping, Sequence, cast

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionIdentifier,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionSelector,
    ConditionValueExpression,
    SigmaCondition,
)
from sigma.conversion.base import Backend
from sigma.conversion.state import ConversionState
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaFeatureNotSupportedByBackendError
from sigma.modifiers import SigmaBase64Modifier, SigmaBase64OffsetModifier
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import (
    CompareOperators,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
)

from sigmakit.matching.literals import is_base_search, required_literals
from sigmakit.matching.patterns import (
    AUTOMATON_FROM,
    PatternGroup,
    StringPattern,
    StringTest,
    UnresolvedPlaceholder,
    compile_string,
)
from sigmakit.matching.regex import RegexCompileError, compile_regex
from sigmakit.matching.requirements import Exclusion, Requirement, exclusion, requirement
from sigmakit.matching.timestamps import parse_time, time_part
from sigmakit.matching.view import EventView, scalars
from sigmakit.pipelines.source import BASE_SELECTION

Predicate = Callable[[EventView], bool]
logger = logging.getLogger(__name__)

# Rough relative cost of a test, so AND evaluates cheap tests first and stops early.
_COST: Final = {"exact": 1, "prefix": 2, "suffix": 2, "prefix+suffix": 2, "contains": 3, "glob": 4,
                "single-char": 6}
_REGEX_COST: Final = 8
_KEYWORD_FACTOR: Final = 4
_BASE_SEARCH_COST: Final = 1000
# Key of ConversionState.processing_state holding the condition tree being converted.
_CONDITION_TREE: Final = "sigmakit.condition_tree"
_COMPARE: Final = {
    CompareOperators.LT: operator.lt,
    CompareOperators.LTE: operator.le,
    CompareOperators.GT: operator.gt,
    CompareOperators.GTE: operator.ge,
    CompareOperators.NEQ: operator.ne,
}
# Regex text without any character that has a meaning: searching it is a substring test.
_REGEX_META: Final = frozenset("\\.^$|?*+()[]{}")


class UnsupportedFeature(SigmaFeatureNotSupportedByBackendError):
    """A feature of the rule that the matcher cannot evaluate; ``feature`` names it."""

    def __init__(self, message: str, feature: str) -> None:
        super().__init__(message)
        self.feature = feature


@dataclass(frozen=True)
class CompiledDetection:
    """A rule's detection compiled: the predicate, one per selection, and its literals.

    ``selections`` maps each of the rule's selection names to its own predicate, to tell
    which selections an event matched (compiled on first use: LazySelections).
    ``literals`` is None or a set of case-folded strings of which every matching event
    contains at least one in some value (see literals.py): what a literal prefilter
    needs. ``requirement`` is what the rule index keys the rule by, ``exclusion`` what
    rules it out (see requirements.py). ``reads`` names every field the predicate reads
    (None when it reads every value: a keyword), so the predicate's answer is a function
    of those fields' values alone.
    """

    predicate: Predicate
    selections: Mapping[str, Predicate]
    literals: frozenset[str] | None
    requirement: Requirement = ()
    reads: tuple[str, ...] | None = None
    exclusion: Exclusion = frozenset()


class LazySelections(Mapping[str, Predicate]):
    """Selection predicates, in the rule's order: those given, and the others compiled by
    *build* (one name at a time) on first use.

    Only hits need to know which selections an event matched, and compiling each
    selection of a thousand rules again costs a good part of compiling them at all. A
    selection the condition refers to has been compiled within the condition already,
    so compiling it on its own should not fail; if it does, it is logged and left out of
    the report rather than stopping the run.
    """

    def __init__(self, order: Sequence[str], given: Mapping[str, Predicate],
                 build: Callable[[str], Predicate]) -> None:
        self._order = tuple(order)
        self._given = dict(given)
        self._build: Callable[[str], Predicate] | None = build
        self._all: dict[str, Predicate] | None = None

    def _compiled(self) -> dict[str, Predicate]:
        if self._all is None:
            assert self._build is not None
            compiled: dict[str, Predicate] = {}
            for name in self._order:
                if name in self._given:
                    compiled[name] = self._given[name]
                    continue
                try:
                    compiled[name] = self._build(name)
                except SigmaError as error:
                    logger.warning("selection %r left out of hit reports: %s", name, error)
            self._all, self._build = compiled, None
        return self._all

    def __getitem__(self, name: str) -> Predicate:
        return self._compiled()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._compiled())

    def __len__(self) -> int:
        return len(self._compiled())


def _cost(predicate: Predicate) -> int:
    return getattr(predicate, "cost", 10)


def _priced(predicate: Predicate, cost: int) -> Predicate:
    predicate.cost = cost  # type: ignore[attr-defined]
    return predicate


def _all(predicates: list[Predicate]) -> Predicate:
    ordered = sorted(predicates, key=_cost)  # cheapest first: AND stops at the first false
    cost = sum(_cost(p) for p in ordered)
    if len(ordered) == 1:
        return ordered[0]
    if len(ordered) == 2:
        first, second = ordered
        return _priced(lambda view: first(view) and second(view), cost)
    members = tuple(ordered)

    def every(view: EventView) -> bool:
        for member in members:
            if not member(view):
                return False
        return True

    return _priced(every, cost)


def _any(predicates: list[Predicate]) -> Predicate:
    ordered = sorted(predicates, key=_cost)
    cost = sum(_cost(p) for p in ordered)
    if len(ordered) == 1:
        return ordered[0]
    if len(ordered) == 2:
        first, second = ordered
        return _priced(lambda view: first(view) or second(view), cost)
    members = tuple(ordered)

    def some(view: EventView) -> bool:
        for member in members:
            if member(view):
                return True
        return False

    return _priced(some, cost)


def _text_leaf(key: str | tuple[str], group: PatternGroup, cost: int) -> Predicate:
    """True when some text of a field passes any pattern of *group*.

    *key* selects the texts in the view: the field name for case-folded text, ``(field,)``
    for text as it is. The common single-shape groups get their own closure, calling
    the string method directly: these are most of the tests a rule set runs.
    """
    shapes = [bool(group.exact), bool(group.prefixes), bool(group.suffixes), bool(group.needles),
              bool(group.others)]
    if shapes == [False, False, True, False, False]:
        suffixes = group.suffixes

        def ends(view: EventView) -> bool:
            for text in view.text[key]:
                if text.endswith(suffixes):
                    return True
            return False

        return _priced(ends, cost)
    if shapes == [True, False, False, False, False]:
        values = group.exact

        def equals(view: EventView) -> bool:
            for text in view.text[key]:
                if text in values:
                    return True
            return False

        return _priced(equals, cost)
    if shapes == [False, True, False, False, False]:
        prefixes = group.prefixes

        def starts(view: EventView) -> bool:
            for text in view.text[key]:
                if text.startswith(prefixes):
                    return True
            return False

        return _priced(starts, cost)
    if shapes == [False, False, False, True, False] and len(group.needles) == 1:
        (needle,) = group.needles

        def contains(view: EventView) -> bool:
            for text in view.text[key]:
                if needle in text:
                    return True
            return False

        return _priced(contains, cost)
    if shapes == [False, False, False, True, False] and "" not in group.needles and (
        len(group.needles) < AUTOMATON_FROM
    ):
        needles = group.needles

        def contains_any(view: EventView) -> bool:
            for text in view.text[key]:
                for needle in needles:
                    if needle in text:
                        return True
            return False

        return _priced(contains_any, cost)
    return _test_leaf(key, group.test(), cost)


def _test_leaf(key: str | tuple[str], test: StringTest, cost: int) -> Predicate:
    """True when some text of a field (see _text_leaf for *key*) passes *test*."""

    def passes(view: EventView) -> bool:
        for text in view.text[key]:
            if test(text):
                return True
        return False

    return _priced(passes, cost)


def _key(field: str, cased: bool) -> str | tuple[str]:
    return (field,) if cased else field


def _keyword_test(test: StringTest, cased: bool, cost: int) -> Predicate:
    """True when some value anywhere in the event passes *test*."""
    if cased:
        return _priced(lambda view: any(test(t) for t in view.keyword_raw_texts()), cost * _KEYWORD_FACTOR)
    return _priced(lambda view: any(test(t) for t in view.keyword_texts()), cost * _KEYWORD_FACTOR)


def _strip_outer_dot_star(pattern: str) -> str:
    """For a search, a leading or trailing ``.*`` changes nothing; without it RE2 and the
    substring shortcut have less to do. Lazy/possessive forms and escaped dots are kept."""
    while pattern.startswith(".*") and not pattern[2:3] in ("?", "+", "*", "{"):
        pattern = pattern[2:]
    while pattern.endswith(".*"):
        backslashes = len(pattern[:-2]) - len(pattern[:-2].rstrip("\\"))
        if backslashes % 2:
            break
        pattern = pattern[:-2]
    return pattern


def regex_search_test(pattern: str, flags: Iterable[SigmaRegularExpressionFlag]) -> tuple[StringTest, int]:
    """A search for *pattern* anywhere in a text, and its cost; regex engines only if needed."""
    flag_set = frozenset(flags)
    text = _strip_outer_dot_star(pattern)
    if not any(c in _REGEX_META for c in text) and SigmaRegularExpressionFlag.IGNORECASE not in flag_set:
        return (lambda s: text in s), _COST["contains"]
    try:
        compiled = compile_regex(text, flag_set)
    except RegexCompileError as error:
        raise UnsupportedFeature(str(error), "re") from None
    return compiled.search, _REGEX_COST


def _base64_values_cased(rule: SigmaRule) -> None:
    """Make the values of base64/base64offset items case-sensitive (see module docstring)."""

    def cased(value: SigmaType) -> SigmaType:
        if isinstance(value, SigmaExpansion):
            return SigmaExpansion([cased(v) for v in value.values])
        if isinstance(value, SigmaString) and not isinstance(value, SigmaCasedString):
            return SigmaCasedString.from_sigma_string(value)
        return value

    def visit(detection: SigmaDetection) -> None:
        for item in detection.detection_items:
            if isinstance(item, SigmaDetection):
                visit(item)
            elif isinstance(item, SigmaDetectionItem) and any(
                issubclass(m, (SigmaBase64Modifier, SigmaBase64OffsetModifier)) for m in item.modifiers
            ):
                item.value = [cased(v) for v in item.value]

    for detection in rule.detection.detections.values():
        visit(detection)


def fields_read(node: Any) -> tuple[str, ...] | None:
    """The fields a condition tree tests (fields compared with included), in order of
    first use; None if it holds a keyword, which searches every value."""
    found: dict[str, None] = {}

    def walk(item: Any) -> bool:
        if isinstance(item, ConditionValueExpression):
            return False
        if isinstance(item, ConditionFieldEqualsValueExpression):
            found[item.field] = None
            if isinstance(item.value, SigmaFieldReference):
                found[item.value.field] = None
            return True
        return all(walk(arg) for arg in getattr(item, "args", ()) or ())

    return tuple(found) if walk(node) else None


def check_selectors(rule: SigmaRule) -> None:
    """Refuse ``x of pattern`` conditions whose pattern names no selection.

    pySigma turns them into nothing, which silently changes what the rule means (``not 1
    of filter_*`` would vanish).
    """

    def walk(node: Any) -> None:
        if isinstance(node, ConditionSelector):
            if not node.resolve_referenced_detections(rule.detection):
                quantifier = node.args[0]
                raise UnsupportedFeature(
                    f"condition '{quantifier} of {node.pattern}' names no selection of the rule",
                    "condition",
                )
        elif isinstance(node, ConditionItem):
            for arg in node.args:
                walk(arg)

    for condition in rule.detection.parsed_condition:
        walk(condition.parse(postprocess=False))


def referenced_selections(rule: SigmaRule) -> frozenset[str]:
    """The names of the selections the rule's conditions refer to, by name or pattern."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, ConditionSelector):
            found.update(detection.identifier for detection in node.resolve_referenced_detections(rule.detection))
        elif isinstance(node, ConditionIdentifier):
            found.add(node.identifier)
        elif isinstance(node, ConditionItem):
            for arg in node.args:
                walk(arg)

    for condition in rule.detection.parsed_condition:
        walk(condition.parse(postprocess=False))
    return frozenset(found)


class PredicateBackend(Backend):
    """pySigma backend whose "queries" are CompiledDetection objects (see module docstring)."""

    name: ClassVar[str] = "sigmakit local matcher"
    formats: ClassVar[dict[str, str]] = {"default": "Python predicates over events"}
    requires_pipeline: ClassVar[bool] = False
    explicit_not_exists_expression: ClassVar[bool] = True

    def __init__(self, processing_pipeline: ProcessingPipeline | None = None) -> None:
        super().__init__(processing_pipeline or ProcessingPipeline())

    # -- rules --------------------------------------------------------------------------
    def convert_rule(self, rule: SigmaRule, output_format: str | None = None,
                     callback: Any = None) -> list[Any]:
        # Selector names are checked as the author wrote them; sigmakit's field policy only
        # rewrites selectors consistently with the selections it removes.
        check_selectors(rule)
        _base64_values_cased(rule)
        return super().convert_rule(rule, output_format, callback)

    def finish_query(self, rule: SigmaRule | SigmaCorrelationRule, query: Any,
                     state: ConversionState) -> CompiledDetection:
        assert isinstance(rule, SigmaRule)
        names = [name for name in rule.detection.detections if name != BASE_SELECTION]
        referenced = referenced_selections(rule)

        def compile_selection(name: str) -> Predicate:
            tree = SigmaCondition(name, rule.detection, rule.detection.source).parse()
            return self.convert_condition(tree, state)

        # Selections the condition does not refer to are compiled now, so that a fault
        # in one is the rule's error, as for the others.
        unreferenced = {name: compile_selection(name) for name in names if name not in referenced}
        selections = LazySelections(names, unreferenced, compile_selection)
        # The tree pySigma just converted (parsing it again would cost a deep copy and
        # its post-processing, once more per rule).
        tree = state.processing_state.get(_CONDITION_TREE) or rule.detection.parsed_condition[0].parse()
        return CompiledDetection(query, selections, required_literals(tree), requirement(tree), fields_read(tree),
                                 exclusion(tree))

    # -- boolean structure -----------------------------------------------------------------
    def convert_condition(self, cond: Any, state: ConversionState) -> Predicate:
        if cond is None:
            raise UnsupportedFeature("the condition refers to nothing (an empty selection)", "condition")
        # The first tree converted with a state is the rule condition's whole tree (pySigma
        # makes one state per condition), which finish_query reads for the rule index.
        state.processing_state.setdefault(_CONDITION_TREE, cond)
        return super().convert_condition(cond, state)  # type: ignore[no-any-return]

    def convert_condition_and(self, cond: ConditionAND, state: ConversionState) -> Predicate:
        predicates = []
        for arg in cond.args:
            predicate = self.convert_condition(arg, state)
            if is_base_search(arg):
                # Events reach a data source's matcher because they are of that source, so
                # its base search nearly always holds: the rule's own tests go first.
                predicate = _priced(predicate, _cost(predicate) + _BASE_SEARCH_COST)
            predicates.append(predicate)
        return _all(predicates)

    def convert_condition_or(self, cond: ConditionOR, state: ConversionState) -> Predicate:
        """OR, with all plain string tests on one field merged into one (set lookup etc.)."""
        groups: dict[tuple[str | None, bool], list[StringPattern]] = {}
        others: list[Predicate] = []
        for arg in cond.args:
            if not self._collect_strings(arg, groups):
                others.append(self.convert_condition(arg, state))
        for (field, cased), patterns in groups.items():
            group = PatternGroup.of(patterns)
            cost = max(_COST[p.shape.value] for p in patterns) + len(patterns) // 8
            others.append(_keyword_test(group.test(), cased, cost) if field is None
                          else _text_leaf(_key(field, cased), group, cost))
        return _any(others)

    def _collect_strings(self, arg: Any, groups: dict[tuple[str | None, bool], list[StringPattern]]) -> bool:
        """Add *arg* to *groups* if it is a plain string test (or an expansion of them)."""
        if not isinstance(arg, (ConditionFieldEqualsValueExpression, ConditionValueExpression)):
            return False
        field = arg.field if isinstance(arg, ConditionFieldEqualsValueExpression) else None
        values = arg.value.values if isinstance(arg.value, SigmaExpansion) else [arg.value]
        if not values or not all(isinstance(v, SigmaString) for v in values):
            return False
        patterns = [self._pattern(cast(SigmaString, v), field, keyword=field is None) for v in values]
        for pattern in patterns:
            groups.setdefault((field, pattern.cased), []).append(pattern)
        return True

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Predicate:
        inner = self.convert_condition(cond.args[0], state)
        return _priced(lambda view: not inner(view), _cost(inner))

    def convert_condition_as_in_expression(self, cond: ConditionOR | ConditionAND,
                                           state: ConversionState) -> Predicate:
        raise NotImplementedError("the matcher merges value lists itself (convert_condition_or)")

    # -- field = value -----------------------------------------------------------------------
    def _pattern(self, value: SigmaString, field: str | None, keyword: bool = False) -> StringPattern:
        if keyword:
            if not value.startswith(SpecialChars.WILDCARD_MULTI):
                value = SpecialChars.WILDCARD_MULTI + value
            if not value.endswith(SpecialChars.WILDCARD_MULTI):
                value = value + SpecialChars.WILDCARD_MULTI
        try:
            return compile_string(value)
        except UnresolvedPlaceholder as missing:
            where = "a keyword" if field is None else f"field '{field}'"
            raise UnsupportedFeature(
                f"{where} uses placeholder %{missing.name}% (expand modifier) without a value; "
                "give its values in a placeholders file (--placeholders)",
                "expand",
            ) from None

    def _string_leaf(self, cond: ConditionFieldEqualsValueExpression) -> Predicate:
        pattern = self._pattern(cast(SigmaString, cond.value), cond.field)
        group = PatternGroup.of([pattern])
        return _text_leaf(_key(cond.field, pattern.cased), group, _COST[pattern.shape.value])

    def convert_condition_field_eq_val_str(self, cond: ConditionFieldEqualsValueExpression,
                                           state: ConversionState) -> Predicate:
        return self._string_leaf(cond)

    def convert_condition_field_eq_val_str_case_sensitive(self, cond: ConditionFieldEqualsValueExpression,
                                                          state: ConversionState) -> Predicate:
        return self._string_leaf(cond)

    def convert_condition_field_eq_val_num(self, cond: ConditionFieldEqualsValueExpression,
                                           state: ConversionState) -> Predicate:
        field, number = cond.field, cast(SigmaNumber, cond.value).number
        return _priced(lambda view: number in view.numbers[field], 1)

    def convert_condition_field_eq_val_timestamp_part(self, cond: ConditionFieldEqualsValueExpression,
                                                      state: ConversionState) -> Predicate:
        value = cast(SigmaTimestampPart, cond.value)
        field, part, number = cond.field, value.timestamp_part, value.number

        def test(view: EventView) -> bool:
            for raw in scalars(view.raw(field)):
                seconds = parse_time(raw)
                if seconds is not None and time_part(seconds, part) == number:
                    return True
            return False

        return _priced(test, 5)

    def convert_condition_field_eq_val_bool(self, cond: ConditionFieldEqualsValueExpression,
                                            state: ConversionState) -> Predicate:
        field, wanted = cond.field, bool(cond.value)
        text = "true" if wanted else "false"
        return _priced(lambda view: text in view.text[field], 1)

    def convert_condition_field_eq_val_re(self, cond: ConditionFieldEqualsValueExpression,
                                          state: ConversionState) -> Predicate:
        regex = cast(SigmaRegularExpression, cond.value)
        self._check_regex_placeholders(regex, cond.field)
        test, cost = regex_search_test(regex.regexp.to_plain_regex(), regex.flags)
        return _test_leaf((cond.field,), test, cost)

    def _check_regex_placeholders(self, regex: SigmaRegularExpression, field: str | None) -> None:
        if regex.contains_placeholder():
            raise UnsupportedFeature(
                f"the regular expression of {'a keyword' if field is None else repr(field)} uses a "
                "placeholder (expand modifier) without a value; give it in a placeholders file",
                "expand",
            )

    def convert_condition_field_eq_val_cidr(self, cond: ConditionFieldEqualsValueExpression,
                                            state: ConversionState) -> Predicate:
        cidr = cast(SigmaCIDRExpression, cond.value)
        network = cidr.network

        def in_network(text: str) -> bool:
            try:
                address = ipaddress.ip_address(text.strip())
            except ValueError:
                return False
            if address.version != network.version:
                mapped = getattr(address, "ipv4_mapped", None)
                return mapped is not None and mapped in network
            return address in network

        return _test_leaf((cond.field,), in_network, 5)

    def convert_condition_field_compare_op_val(self, cond: ConditionFieldEqualsValueExpression,
                                               state: ConversionState) -> Predicate:
        comparison = cast(SigmaCompareExpression, cond.value)
        field, compare, threshold = cond.field, _COMPARE[comparison.op], comparison.number.number
        return _priced(lambda view: any(compare(n, threshold) for n in view.numbers[field]), 2)

    def convert_condition_field_eq_field(self, cond: ConditionFieldEqualsValueExpression,
                                         state: ConversionState) -> Predicate:
        reference = cast(SigmaFieldReference, cond.value)
        field, other = cond.field, reference.field
        relation: Callable[[str, str], bool]
        if reference.starts_with and reference.ends_with:
            relation = lambda a, b: b in a  # noqa: E731
        elif reference.starts_with:
            relation = str.startswith
        elif reference.ends_with:
            relation = str.endswith
        else:
            relation = operator.eq
        return _priced(
            lambda view: any(relation(a, b) for a in view.text[field] for b in view.text[other]), 4
        )

    def convert_condition_field_eq_val_null(self, cond: ConditionFieldEqualsValueExpression,
                                            state: ConversionState) -> Predicate:
        field = cond.field
        return _priced(lambda view: view.is_null(field), 1)

    def convert_condition_field_exists(self, cond: ConditionFieldEqualsValueExpression,
                                       state: ConversionState) -> Predicate:
        field = cond.field
        return _priced(lambda view: view.has(field), 1)

    def convert_condition_field_not_exists(self, cond: ConditionFieldEqualsValueExpression,
                                           state: ConversionState) -> Predicate:
        field = cond.field
        return _priced(lambda view: not view.has(field), 1)

    def convert_condition_field_eq_query_expr(self, cond: ConditionFieldEqualsValueExpression,
                                              state: ConversionState) -> Predicate:
        raise UnsupportedFeature(
            f"field '{cond.field}' holds a query expression (a placeholder a pipeline turned into "
            "SIEM query text), which cannot be evaluated on events", "query expression",
        )

    # -- keywords (values without a field) -------------------------------------------------------
    def convert_condition_val_str(self, cond: ConditionValueExpression, state: ConversionState) -> Predicate:
        pattern = self._pattern(cast(SigmaString, cond.value), None, keyword=True)
        return _keyword_test(pattern.test, pattern.cased, _COST[pattern.shape.value])

    def convert_condition_val_num(self, cond: ConditionValueExpression, state: ConversionState) -> Predicate:
        text = str(cast(SigmaNumber, cond.value).number)
        return _keyword_test(lambda s: text in s, False, _COST["contains"])

    def convert_condition_val_re(self, cond: ConditionValueExpression, state: ConversionState) -> Predicate:
        regex = cast(SigmaRegularExpression, cond.value)
        self._check_regex_placeholders(regex, None)
        test, cost = regex_search_test(regex.regexp.to_plain_regex(), regex.flags)
        return _keyword_test(test, True, cost)

    def convert_condition_query_expr(self, cond: ConditionValueExpression,
                                     state: ConversionState) -> Predicate:
        raise UnsupportedFeature(
            "a keyword holds a query expression (SIEM query text), which cannot be evaluated on events",
            "query expression",
        )

    # -- correlations are evaluated by correlation.py, not converted -------------------------------
    def _no_correlation(self, *args: Any, **kwargs: Any) -> list[Any]:
        raise NotImplementedError("correlation rules are evaluated by sigmakit.matching.correlation")

    convert_correlation_event_count_rule = _no_correlation
    convert_correlation_value_count_rule = _no_correlation
    convert_correlation_temporal_rule = _no_correlation
    convert_correlation_temporal_ordered_rule = _no_correlation
    convert_correlation_extended_temporal_rule = _no_correlation
    convert_correlation_extended_temporal_ordered_rule = _no_correlation
    convert_correlation_value_sum_rule = _no_correlation
    convert_correlation_value_avg_rule = _no_correlation
    convert_correlation_value_percentile_rule = _no_correlation
    convert_correlation_value_median_rule = _no_correlation


__all__ = ["CompiledDetection", "PredicateBackend", "Predicate", "UnsupportedFeature", "regex_search_test"]
