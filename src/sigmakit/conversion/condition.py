"""sigmakit's condition tree: what a rule tests, between pySigma's parse tree and SPL text.

pySigma hands a backend a parse tree whose leaves are pySigma value objects. sigmakit
lowers it (lowering.py) into this small, typed tree, then renders it twice: once for the
search command, which can only say some things and must be approximated (search.py), and
once for ``where``, which can say everything exactly (where.py). Keeping the tree separate
from both renderings is what lets one rule give a correct search term plus one exact
post-filter instead of a chain of text edits.

Leaves name the field they test; ``None`` as a field means the raw event (a Sigma keyword).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final, Iterator, Union


class Wildcard(Enum):
    """Sigma's two wildcards inside a string pattern."""

    ANY = "*"  # any run of characters, including none
    ONE = "?"  # exactly one character


GlobPart = Union[str, Wildcard]


@dataclass(frozen=True)
class Glob:
    """A Sigma string pattern: the whole value must match ``parts`` (case-insensitive unless cased)."""

    field: str | None
    parts: tuple[GlobPart, ...]
    cased: bool = False

    @property
    def has_wildcards(self) -> bool:
        return any(isinstance(part, Wildcard) for part in self.parts)

    @property
    def literal(self) -> str:
        """The text of a pattern without wildcards."""
        return "".join(part for part in self.parts if isinstance(part, str))


@dataclass(frozen=True)
class Regex:
    """A regular expression that must match somewhere in the value (Sigma ``re``)."""

    field: str | None
    pattern: str
    flags: str = ""  # a subset of "ims", sorted


@dataclass(frozen=True)
class Number:
    """Numeric equality (``EventID: 4688``)."""

    field: str
    value: int | float


@dataclass(frozen=True)
class Compare:
    """Numeric comparison (``lt``, ``lte``, ``gt``, ``gte``); ``op`` is the SPL operator."""

    field: str
    op: str
    value: int | float


@dataclass(frozen=True)
class Cidr:
    """Membership of an IP address in a network (``cidr``)."""

    field: str
    network: str


@dataclass(frozen=True)
class IsMissing:
    """The field has no value (Sigma ``null``); how that shows depends on the data source."""

    field: str


@dataclass(frozen=True)
class SameAs:
    """Field reference: ``field`` equals (or starts or ends with) the value of ``other``."""

    field: str
    other: str
    mode: str = "equals"  # equals, startswith, endswith


@dataclass(frozen=True)
class Fragment:
    """SPL search text a pipeline put in place of a test (a macro call such as `` `name` ``).

    It is exact in the search and has no ``where`` form, so it cannot sit in a part of the
    condition that needs the post-filter.
    """

    text: str
    field: None = None


Leaf = Union[Glob, Regex, Number, Compare, Cidr, IsMissing, SameAs, Fragment]


@dataclass(frozen=True)
class AllOf:
    """Every part holds (AND)."""

    parts: tuple["Node", ...]


@dataclass(frozen=True)
class AnyOf:
    """At least one part holds (OR)."""

    parts: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    """The part does not hold."""

    part: "Node"


@dataclass(frozen=True)
class Const:
    """A test folded to a constant (what an approximation leaves behind)."""

    value: bool

    def __repr__(self) -> str:
        return "TRUE" if self.value else "FALSE"


TRUE: Final = Const(True)
FALSE: Final = Const(False)

Node = Union[AllOf, AnyOf, Not, Const, Glob, Regex, Number, Compare, Cidr, IsMissing, SameAs, Fragment]
LEAF_TYPES: Final = (Glob, Regex, Number, Compare, Cidr, IsMissing, SameAs, Fragment)


def simplify(node: Node) -> Node:
    """Fold constants, flatten nested groups of one kind and drop double negation."""
    if isinstance(node, Not):
        inner = simplify(node.part)
        if isinstance(inner, Const):
            return Const(not inner.value)
        if isinstance(inner, Not):
            return inner.part
        return Not(inner)
    if isinstance(node, (AllOf, AnyOf)):
        kind = type(node)
        absorbing = FALSE if kind is AllOf else TRUE  # AllOf with FALSE is FALSE, AnyOf with TRUE is TRUE
        parts: dict[Node, None] = {}  # ordered, and a and a is a; a or a is a
        for part in node.parts:
            part = simplify(part)
            if part == absorbing:
                return absorbing
            if isinstance(part, Const):
                continue  # the neutral constant
            parts.update(dict.fromkeys(part.parts if isinstance(part, kind) else (part,)))
        if not parts:
            return TRUE if kind is AllOf else FALSE
        if len(parts) == 1:
            return next(iter(parts))
        return kind(tuple(parts))
    return node


def conjuncts(node: Node) -> tuple[Node, ...]:
    """The AND-ed parts of a simplified node (the node itself when it is not an AND)."""
    return node.parts if isinstance(node, AllOf) else (node,)


def leaves(node: Node) -> Iterator[Leaf]:
    """Every leaf of *node*, left to right."""
    if isinstance(node, (AllOf, AnyOf)):
        for part in node.parts:
            yield from leaves(part)
    elif isinstance(node, Not):
        yield from leaves(node.part)
    elif isinstance(node, LEAF_TYPES):
        yield node  # type: ignore[misc]


def fields_of(node: Node) -> tuple[str, ...]:
    """The fields *node* reads, in order of first appearance (the raw event is not a field)."""
    seen: dict[str, None] = {}
    for leaf in leaves(node):
        for name in (leaf.field, getattr(leaf, "other", None)):
            if name is not None:
                seen.setdefault(name, None)
    return tuple(seen)


__all__ = [
    "AllOf",
    "AnyOf",
    "Cidr",
    "Compare",
    "Const",
    "FALSE",
    "Fragment",
    "Glob",
    "GlobPart",
    "IsMissing",
    "LEAF_TYPES",
    "Leaf",
    "Node",
    "Not",
    "Number",
    "Regex",
    "SameAs",
    "TRUE",
    "Wildcard",
    "conjuncts",
    "fields_of",
    "leaves",
    "simplify",
]
