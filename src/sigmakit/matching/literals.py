"""The literal text a rule needs: what a literal prefilter (Aho-Corasick over all rules)
can use to skip rules that cannot match an event.

``required_literals(tree)`` returns None, or a set of case-folded strings with this
guarantee: whenever the condition is true for an event, some value of the event, as its
case-folded text (``EventView.keyword_texts``), contains at least one of the strings.
None means no such set is known (a negation, a regex, a number or a null test decides).

Built bottom-up over the condition tree: a string test needs its longest literal piece;
an OR needs one of its branches' sets (the union, None if any branch has none); an AND
needs what any one of its branches needs (the branch whose weakest literal is longest is
chosen, as the most selective). A data source's base search is chosen only when nothing
else is known: every event of that source holds its literals, so they select nothing.
"""

from __future__ import annotations

from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionIdentifier,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import SigmaExpansion, SigmaString

from sigmakit.matching.patterns import UnresolvedPlaceholder, compile_string
from sigmakit.matching.view import EventView
from sigmakit.pipelines.source import BASE_SELECTION


def is_base_search(node: Any) -> bool:
    """Is *node* (part of) the data source's base search, the selection its pipeline adds?"""
    chain = node.parent_chain() if hasattr(node, "parent_chain") else []
    return any(isinstance(p, ConditionIdentifier) and p.identifier == BASE_SELECTION for p in chain)


def _value_literals(value: Any) -> frozenset[str] | None:
    if isinstance(value, SigmaExpansion):
        return _union([_value_literals(v) for v in value.values])
    if isinstance(value, SigmaString):
        try:
            literal = compile_string(value, cased=True).literal.casefold()
        except UnresolvedPlaceholder:
            return None
        return frozenset({literal}) if literal else None
    return None


def _union(parts: list[frozenset[str] | None]) -> frozenset[str] | None:
    if not parts or any(part is None for part in parts):
        return None
    return frozenset().union(*parts)  # type: ignore[arg-type]


def _strength(literals: frozenset[str]) -> int:
    return min(len(literal) for literal in literals)


def required_literals(node: Any) -> frozenset[str] | None:
    """See module docstring."""
    if isinstance(node, (ConditionFieldEqualsValueExpression, ConditionValueExpression)):
        return _value_literals(node.value)
    if isinstance(node, ConditionOR):
        return _union([required_literals(arg) for arg in node.args])
    if isinstance(node, ConditionAND):
        own = [arg for arg in node.args if not is_base_search(arg)]
        for args in (own, node.args):
            known = [found for found in map(required_literals, args) if found is not None]
            if known:
                return max(known, key=_strength)
        return None
    if isinstance(node, ConditionNOT):
        return None
    return None


def might_match(literals: frozenset[str] | None, view: EventView) -> bool:
    """False only when the event holds none of *literals* (so the rule cannot match it)."""
    if literals is None:
        return True
    texts = view.keyword_texts()
    return any(literal in text for literal in literals for text in texts)
