"""Lowering: pySigma's condition parse tree (after the pipeline) into sigmakit's condition tree.

Everything pySigma can put in a processed rule either becomes a node of condition.py or a
RefusedError that says why the rule has no faithful search: placeholders nobody defined,
field references with ``contains``, time-part comparisons. Query expressions that a
pipeline put in the rule (macro calls) become search-text fragments.

For data sources that keep a stand-in text for missing values (nulls.py), a test whose
pattern also matches that text is guarded with "and the field is not missing", so a
missing field never satisfies it and, under ``not``, always does, as in Sigma.
"""

from __future__ import annotations

import re
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionIdentifier,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaQueryExpression,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
)

from sigmakit.conversion.condition import (
    AllOf,
    AnyOf,
    Cidr,
    Compare,
    Fragment,
    Glob,
    GlobPart,
    IsMissing,
    Leaf,
    Node,
    Not,
    Number,
    Regex,
    SameAs,
    Wildcard,
)
from sigmakit.conversion.nulls import NullPolicy
from sigmakit.errors import RefusedError

# What pySigma's parse tree holds after the pipeline (identifiers are resolved by then,
# so one reaching lowering is reported as unexpected).
ParsedCondition = (
    ConditionItem | ConditionFieldEqualsValueExpression | ConditionValueExpression | ConditionIdentifier | None
)

_COMPARE_OPERATORS = {
    CompareOperators.LT: "<",
    CompareOperators.LTE: "<=",
    CompareOperators.GT: ">",
    CompareOperators.GTE: ">=",
}
_REGEX_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}


class Lowering:
    """Lowers one processed rule's condition for one data source."""

    def __init__(self, nulls: NullPolicy, rule_id: str | None = None) -> None:
        self.nulls = nulls
        self.rule_id = rule_id

    def refuse(self, reason: str) -> RefusedError:
        return RefusedError(reason, rule_id=self.rule_id)

    def lower(self, cond: ParsedCondition) -> Node:
        if isinstance(cond, ConditionAND):
            return AllOf(tuple(self.lower(arg) for arg in cond.args))
        if isinstance(cond, ConditionOR):
            return AnyOf(tuple(self.lower(arg) for arg in cond.args))
        if isinstance(cond, ConditionNOT):
            return Not(self.lower(cond.args[0]))
        if isinstance(cond, ConditionFieldEqualsValueExpression):
            return self.field_value(cond.field, cond.value)
        if isinstance(cond, ConditionValueExpression):
            return self.keyword(cond.value)
        raise self.refuse(f"unexpected condition element {type(cond).__name__}")

    # -- field tests ------------------------------------------------------------------
    def field_value(self, name: str, value: SigmaType) -> Node:
        if isinstance(value, SigmaExpansion):  # windash, base64offset...: alternatives
            return AnyOf(tuple(self.field_value(name, v) for v in value.values))
        if isinstance(value, SigmaNull):
            return IsMissing(name)
        if isinstance(value, SigmaExists):
            return Not(IsMissing(name)) if value.exists else IsMissing(name)
        if isinstance(value, SigmaCompareExpression) and value.op is CompareOperators.NEQ:
            # neq: anything but the number, a missing field included (pySigma: not(item)).
            return Not(self.guarded(Number(name, value.number.number)))
        return self.guarded(self.field_leaf(name, value))

    def field_leaf(self, name: str, value: SigmaType) -> Leaf:
        if isinstance(value, SigmaString):
            glob = Glob(name, self.glob_parts(value), isinstance(value, SigmaCasedString))
            if not glob.parts and self.nulls.search_value(name) is not None:
                # The data model stores an empty value as its missing-value text.
                return IsMissing(name)
            return glob
        if isinstance(value, SigmaTimestampPart):
            raise self.refuse(
                f"{name}: comparing a part of a timestamp (minute, hour, day...) has no SPL search form "
                "in sigmakit"
            )
        if isinstance(value, SigmaNumber):
            return Number(name, value.number)
        if isinstance(value, SigmaBool):
            return Glob(name, ("true" if value.boolean else "false",))
        if isinstance(value, SigmaRegularExpression):
            return self.regex(name, value)
        if isinstance(value, SigmaCIDRExpression):
            return Cidr(name, str(value.network))
        if isinstance(value, SigmaCompareExpression):
            return Compare(name, _COMPARE_OPERATORS[value.op], value.number.number)
        if isinstance(value, SigmaFieldReference):
            return self.field_reference(name, value)
        if isinstance(value, SigmaQueryExpression):
            return Fragment(value.finalize(name))
        raise self.refuse(f"{name}: values of type {type(value).__name__} are not supported")

    def field_reference(self, name: str, value: SigmaFieldReference) -> SameAs:
        if value.starts_with and value.ends_with:
            raise self.refuse(
                f"{name}|fieldref|contains {value.field}: SPL's eval language has no exact "
                "'contains the value of another field' test"
            )
        mode = "startswith" if value.starts_with else "endswith" if value.ends_with else "equals"
        return SameAs(name, value.field, mode)

    def regex(self, name: str | None, value: SigmaRegularExpression) -> Regex:
        self.refuse_placeholders(name, value.regexp)
        flags = "".join(sorted(_REGEX_FLAGS[flag] for flag in value.flags))
        return Regex(name, value.regexp.to_plain_regex(), flags)

    # -- keywords -----------------------------------------------------------------------
    def keyword(self, value: SigmaType) -> Node:
        """A field-less value: Sigma searches the whole event for it as a substring."""
        if isinstance(value, SigmaExpansion):
            return AnyOf(tuple(self.keyword(v) for v in value.values))
        if isinstance(value, SigmaRegularExpression):
            return self.regex(None, value)
        if isinstance(value, SigmaQueryExpression):
            return Fragment(value.finalize())
        if isinstance(value, SigmaString):
            parts = self.glob_parts(value)
            cased = isinstance(value, SigmaCasedString)
        elif isinstance(value, SigmaNumber):
            parts, cased = (str(value.number),), False
        else:
            raise self.refuse(f"keyword values of type {type(value).__name__} are not supported")
        if not parts or parts[0] is not Wildcard.ANY:
            parts = (Wildcard.ANY, *parts)
        if parts[-1] is not Wildcard.ANY:
            parts = (*parts, Wildcard.ANY)
        return Glob(None, _merge_wildcards(parts), cased)

    # -- values -------------------------------------------------------------------------
    def glob_parts(self, value: SigmaString) -> tuple[GlobPart, ...]:
        self.refuse_placeholders(None, value)
        parts: list[GlobPart] = []
        for part in value.s:
            if part is SpecialChars.WILDCARD_MULTI:
                parts.append(Wildcard.ANY)
            elif part is SpecialChars.WILDCARD_SINGLE:
                parts.append(Wildcard.ONE)
            elif isinstance(part, str) and part:
                if parts and isinstance(parts[-1], str):
                    parts[-1] += part
                else:
                    parts.append(part)
        return _merge_wildcards(tuple(parts))

    def refuse_placeholders(self, name: str | None, value: SigmaString) -> None:
        names = [part.name for part in value.s if isinstance(part, Placeholder)]
        if names:
            where = f"{name}: " if name else ""
            raise self.refuse(
                f"{where}placeholder %{names[0]}% (expand modifier) needs a site-specific value list, "
                "which sigmakit does not have"
            )

    # -- missing values -------------------------------------------------------------------
    def guarded(self, leaf: Leaf) -> Node:
        """*leaf*, and "the field is not missing" where a missing-value text would satisfy it."""
        if isinstance(leaf, IsMissing):
            return leaf
        guards = [
            Not(IsMissing(name))
            for name in _fields(leaf)
            if any(_may_match(leaf, text) for text in self.nulls.stand_ins(name))
        ]
        return AllOf((leaf, *guards)) if guards else leaf


def _fields(leaf: Leaf) -> tuple[str, ...]:
    if isinstance(leaf, Fragment):
        return ()
    if isinstance(leaf, SameAs):
        return (leaf.field, leaf.other)
    return () if leaf.field is None else (leaf.field,)


def _merge_wildcards(parts: tuple[GlobPart, ...]) -> tuple[GlobPart, ...]:
    """Collapse runs of ``*`` (``**`` means the same as ``*``)."""
    merged: list[GlobPart] = []
    for part in parts:
        if part is Wildcard.ANY and merged and merged[-1] is Wildcard.ANY:
            continue
        merged.append(part)
    return tuple(merged)


def glob_regex(parts: tuple[GlobPart, ...]) -> str:
    """A Python regular expression matching exactly the values *parts* matches."""
    pieces = []
    for part in parts:
        if part is Wildcard.ANY:
            pieces.append(".*")
        elif part is Wildcard.ONE:
            pieces.append(".")
        else:
            pieces.append(re.escape(str(part)))
    return "".join(pieces)


def _may_match(leaf: Leaf, text: str) -> bool:
    """Whether *leaf* could hold for a field whose value is the stand-in *text*."""
    if isinstance(leaf, Glob):
        folded = text if leaf.cased else text.lower()
        literals = (p if leaf.cased else p.lower() for p in leaf.parts if isinstance(p, str))
        if any(literal not in folded for literal in literals):
            return False  # quick answer for nearly every pattern, without a regex
        flags = re.DOTALL | (0 if leaf.cased else re.IGNORECASE)
        return re.fullmatch(glob_regex(leaf.parts), text, flags) is not None
    if isinstance(leaf, Regex):
        return _regex_may_match(leaf, text)
    if isinstance(leaf, (Number, Cidr, Fragment)):
        return False  # stand-in texts are neither numbers nor addresses; fragments test no field
    return True  # comparisons (text compares as text in search) and field references


def _regex_may_match(leaf: Regex, text: str) -> bool:
    flags = 0
    for letter, flag in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL)):
        if letter in leaf.flags:
            flags |= flag
    try:
        return re.search(leaf.pattern, text, flags) is not None
    except re.error:
        return True  # PCRE-only syntax: assume it could match, the guard is harmless


__all__ = ["Lowering", "ParsedCondition", "glob_regex"]
