"""Sigma string values prepared once, at compile time, for fast matching.

pySigma has already parsed each value into parts (literal text, ``*``, ``?``), escapes
resolved, so a backslash next to a wildcard added by ``contains`` stays literal; nothing
here re-parses text. A value always matches the *whole* event value; its shape decides
the cheapest exact test:

=============  ==============  ==========================================
shape          example         test
=============  ==============  ==========================================
exact          ``cmd.exe``     ``s == lit`` (set membership for lists)
prefix         ``cmd*``        ``s.startswith(lit)``
suffix         ``*\\cmd.exe``  ``s.endswith(lit)``
contains       ``*cmd*``       ``lit in s``
prefix+suffix  ``C:\\*.exe``   both, and long enough for both
glob           ``*a*b*c``      the pieces found in order, left to right
single-char    ``wsl?.exe``    a regular expression (only ``?`` needs one)
=============  ==============  ==========================================

Literals are case-folded here and event values in the EventView, unless the value is
cased (the ``cased`` modifier, and sigmakit's base64 values). ``?`` matches one character
of the (folded) text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable, Final, Iterable, Sequence

from sigma.types import Placeholder, SigmaCasedString, SigmaRegularExpressionFlag, SigmaString, SpecialChars

from sigmakit.matching.regex import compile_regex, escape

StringTest = Callable[[str], bool]

_STAR: Final = SpecialChars.WILDCARD_MULTI
_ONE: Final = SpecialChars.WILDCARD_SINGLE
_DOTALL: Final = frozenset({SigmaRegularExpressionFlag.DOTALL})


class Shape(Enum):
    EXACT = "exact"
    PREFIX = "prefix"
    SUFFIX = "suffix"
    CONTAINS = "contains"
    PREFIX_SUFFIX = "prefix+suffix"
    GLOB = "glob"
    SINGLE_CHAR = "single-char"


class UnresolvedPlaceholder(Exception):
    """The value still holds a ``%name%`` placeholder that no value was given for."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass(frozen=True)
class StringPattern:
    """One Sigma string value, ready to test (case-folded) event text.

    ``pieces`` are the literal runs between ``*`` wildcards (first and last may be empty,
    meaning the value starts or ends with ``*``); for SINGLE_CHAR they are unused.
    """

    shape: Shape
    cased: bool
    pieces: tuple[str, ...]
    test: StringTest

    @property
    def literal(self) -> str:
        """The longest literal text every matching value contains (for a literal prefilter)."""
        return max(self.pieces, key=len, default="")


def _fold(text: str, cased: bool) -> str:
    return text if cased else text.casefold()


def _glob(pieces: tuple[str, ...]) -> StringTest:
    """All pieces in order: the first at the start, the last at the end, the rest between."""
    head, *middle, tail = pieces
    least = len(head) + len(tail)

    def test(s: str) -> bool:
        if len(s) < least or not s.startswith(head) or not s.endswith(tail):
            return False
        position, end = len(head), len(s) - len(tail)
        for piece in middle:
            found = s.find(piece, position, end)
            if found < 0:
                return False
            position = found + len(piece)
        return True

    return test


def _single_char(parts: Sequence[str | SpecialChars], cased: bool) -> StringTest:
    """``?`` needs a regular expression: ``.`` for it, ``.*`` for ``*``, across newlines too."""
    text = "".join(
        ".*" if part is _STAR else "." if part is _ONE else escape(_fold(part, cased))  # type: ignore[arg-type]
        for part in parts
    )
    return compile_regex(text, _DOTALL).fullmatch


def compile_string(value: SigmaString, *, cased: bool | None = None) -> StringPattern:
    """Prepare *value* for matching; *cased* overrides the value's own case sensitivity.

    Raises UnresolvedPlaceholder for a ``%name%`` left in the value.
    """
    is_cased = isinstance(value, SigmaCasedString) if cased is None else cased
    parts: list[str | SpecialChars] = []
    for part in value.s:
        if isinstance(part, Placeholder):
            raise UnresolvedPlaceholder(part.name)
        if isinstance(part, str) and parts and isinstance(parts[-1], str):
            parts[-1] += part
        elif part is _STAR and parts and parts[-1] is _STAR:
            continue  # '**' means the same as '*'
        else:
            parts.append(part)
    if _ONE in parts:
        return StringPattern(Shape.SINGLE_CHAR, is_cased, (), _single_char(parts, is_cased))
    pieces: list[str] = [""]
    for part in parts:
        if part is _STAR:
            pieces.append("")
        else:
            pieces[-1] += _fold(part, is_cased)  # type: ignore[operator]
    return _from_pieces(tuple(pieces), is_cased)


def _from_pieces(pieces: tuple[str, ...], cased: bool) -> StringPattern:
    if len(pieces) == 1:
        literal = pieces[0]
        return StringPattern(Shape.EXACT, cased, pieces, literal.__eq__)
    if len(pieces) == 2:
        head, tail = pieces
        if not tail:
            return StringPattern(Shape.PREFIX, cased, pieces, lambda s: s.startswith(head))
        if not head:
            return StringPattern(Shape.SUFFIX, cased, pieces, lambda s: s.endswith(tail))
        least = len(head) + len(tail)
        return StringPattern(
            Shape.PREFIX_SUFFIX, cased, pieces,
            lambda s: len(s) >= least and s.startswith(head) and s.endswith(tail),
        )
    if len(pieces) == 3 and not pieces[0] and not pieces[2]:
        needle = pieces[1]
        return StringPattern(Shape.CONTAINS, cased, pieces, lambda s: needle in s)
    return StringPattern(Shape.GLOB, cased, pieces, _glob(pieces))


def any_of(patterns: Iterable[StringPattern]) -> StringTest:
    """One test that is true when any of *patterns* (all equally cased) accepts the text.

    Exact values become one set lookup, prefixes and suffixes one ``startswith``/``endswith``
    call each, so a long value list costs little more than one value.
    """
    exact: set[str] = set()
    prefixes: list[str] = []
    suffixes: list[str] = []
    needles: list[str] = []
    others: list[StringTest] = []
    for pattern in patterns:
        if pattern.shape is Shape.EXACT:
            exact.add(pattern.pieces[0])
        elif pattern.shape is Shape.PREFIX:
            prefixes.append(pattern.pieces[0])
        elif pattern.shape is Shape.SUFFIX:
            suffixes.append(pattern.pieces[1])
        elif pattern.shape is Shape.CONTAINS:
            needles.append(pattern.pieces[1])
        else:
            others.append(pattern.test)
    tests: list[StringTest] = []
    if exact:
        tests.append(frozenset(exact).__contains__)
    if prefixes:
        prefix_tuple = tuple(prefixes)
        tests.append(lambda s: s.startswith(prefix_tuple))
    if suffixes:
        suffix_tuple = tuple(suffixes)
        tests.append(lambda s: s.endswith(suffix_tuple))
    if needles:
        if "" in needles:
            tests.append(lambda s: True)
        else:
            needle_tuple = tuple(dict.fromkeys(needles))
            tests.append(lambda s: any(n in s for n in needle_tuple))
    tests.extend(others)
    if len(tests) == 1:
        return tests[0]
    test_tuple = tuple(tests)
    return lambda s: any(t(s) for t in test_tuple)
