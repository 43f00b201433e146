"""Splitting a rule's condition into a search and at most one exact post-filter.

The condition is an AND of parts (the data source's base conditions and the rule's own).
Each part is approximated for the search command (search.py); a part that the search
says exactly needs nothing more, and every part that had to be approximated is repeated,
exactly, in one ``| where`` (where.py). Because each approximation is a superset, the
search AND the post-filter accept exactly the events the rule accepts:

    search(p) ⊇ p  for every part,   so   AND(search(p)) AND AND(p for inexact p) = AND(p)

Repeating only the inexact parts keeps the post-filter short; it still carries the whole
boolean structure of each part it holds, so an OR is never split across two commands. A
part that is itself an AND, or a NOT over an OR (``not 1 of filter_*``), is an AND of
smaller parts, and only its inexact ones are repeated.
"""

from __future__ import annotations

from dataclasses import dataclass

from sigmakit.conversion.condition import FALSE, TRUE, AllOf, AnyOf, Node, Not, conjuncts, fields_of, simplify
from sigmakit.conversion.nulls import NullPolicy
from sigmakit.conversion.search import SearchRenderer, approximate
from sigmakit.conversion.where import WhereRenderer


class NeverMatches(Exception):
    """The condition is false for every event (nothing can be searched)."""


@dataclass(frozen=True)
class SearchPlan:
    """A rule's search text, its exact post-filter, and the fields the filter reads."""

    search: str  # "" when nothing narrows the search
    post_filter: str | None
    filter_fields: tuple[str, ...] = ()

    @property
    def exact_in_search(self) -> bool:
        return self.post_filter is None


def plan_search(node: Node, nulls: NullPolicy) -> SearchPlan:
    """Split *node* into search terms and the post-filter (see module docstring)."""
    node = simplify(node)
    if node == FALSE:
        raise NeverMatches()
    searched: list[Node] = []
    filtered: list[Node] = []
    for part in conjuncts(node):
        approximation, exact = approximate(part)
        if approximation == FALSE:
            raise NeverMatches()
        if approximation != TRUE:
            searched.extend(conjuncts(approximation))
        if not exact:
            filtered.extend(_inexact_parts(part))
    search = "" if not searched else SearchRenderer(nulls).render(simplify(AllOf(tuple(searched))))
    if not filtered:
        return SearchPlan(search, None)
    exact_part = simplify(AllOf(tuple(filtered)))
    return SearchPlan(search, WhereRenderer(nulls).render(exact_part), fields_of(exact_part))


def _inexact_parts(node: Node) -> list[Node]:
    """The AND-ed pieces of *node* that the search does not say exactly.

    The search of an AND is the AND of its parts' searches, and the search of
    ``not (a or b)`` is ``not a' and not b'``, so exact pieces are already enforced by it.
    """
    if isinstance(node, AllOf):
        return [piece for part in node.parts for piece in _inexact_parts(part)]
    if isinstance(node, Not) and isinstance(node.part, AnyOf):
        return [piece for part in node.part.parts for piece in _inexact_parts(simplify(Not(part)))]
    return [] if approximate(node)[1] else [node]


def exact_filter(node: Node, nulls: NullPolicy) -> str:
    """The whole condition as one exact where expression (for tagging events by rule)."""
    return WhereRenderer(nulls).render(simplify(node))


__all__ = ["NeverMatches", "SearchPlan", "exact_filter", "plan_search"]
