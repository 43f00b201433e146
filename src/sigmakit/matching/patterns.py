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

import ahocorasick

from sigmakit.matching.regex import compile_regex, escape

StringTest = Callable[[str], bool]

_STAR: Final = SpecialChars.WILDCARD_MULTI
_ONE: Final = SpecialChars.WILDCARD_SINGLE
_DOTALL: Final = frozenset({SigmaRegularExpressionFlag.DOTALL})
# From this many contains-needles on, one Aho-Corasick scan beats testing each in turn.
AUTOMATON_FROM: Final = 8


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
    meaning the value starts or ends with ``*``); for SINGLE_CHAR, the literal runs
    between any wildcards.
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


def _single_char(parts: Sequence[str | SpecialChars], cased: bool) -> tuple[tuple[str, ...], StringTest]:
    """``?`` needs a regular expression: ``.`` for it, ``.*`` for ``*``, across newlines too.

    A ``*`` at either end becomes an unanchored search instead of a leading/trailing
    ``.*``, and the longest literal run is checked with ``in`` first, which rejects
    most texts without running the regex. Returns the literal runs and the test.
    """
    runs = tuple(_fold(p, cased) for p in parts if isinstance(p, str))
    body = list(parts)
    start_anchor = "" if body[:1] == [_STAR] else "\\A"
    end_anchor = "" if body[-1:] == [_STAR] else "\\z"
    while body[:1] == [_STAR]:
        body.pop(0)
    while body[-1:] == [_STAR]:
        body.pop()
    pieces = [".*" if part is _STAR else "." if part is _ONE else escape(_fold(str(part), cased))
              for part in body]
    text = start_anchor + "".join(pieces) + end_anchor
    search = compile_regex(text, _DOTALL).search
    longest = max(runs, key=len, default="")
    if not longest:
        return runs, search
    return runs, lambda s: longest in s and search(s)


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
        runs, test = _single_char(parts, is_cased)
        return StringPattern(Shape.SINGLE_CHAR, is_cased, runs, test)
    pieces: list[str] = [""]
    for part in parts:
        if isinstance(part, str):
            pieces[-1] += _fold(part, is_cased)
        else:  # '*' (a '?' took the single-char path above)
            pieces.append("")
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


@dataclass(frozen=True)
class PatternGroup:
    """Several patterns OR-ed, sorted by shape: what one fast test per shape needs."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]
    needles: tuple[str, ...]  # contains
    others: tuple[StringTest, ...]  # prefix+suffix, glob, single-char

    @classmethod
    def of(cls, patterns: Iterable[StringPattern]) -> "PatternGroup":
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
        unique = tuple(dict.fromkeys(needles))
        return cls(frozenset(exact), tuple(dict.fromkeys(prefixes)), tuple(dict.fromkeys(suffixes)),
                   unique, tuple(others))

    def test(self) -> StringTest:
        """One test that is true when any of the patterns accepts the text.

        Exact values are one set lookup, prefixes and suffixes one ``startswith`` /
        ``endswith`` call each, so a long value list costs little more than one value.
        """
        tests: list[StringTest] = []
        if self.exact:
            tests.append(self.exact.__contains__)
        if self.prefixes:
            prefixes = self.prefixes
            tests.append(lambda s: s.startswith(prefixes))
        if self.suffixes:
            suffixes = self.suffixes
            tests.append(lambda s: s.endswith(suffixes))
        if self.needles:
            tests.append(contains_any(self.needles))
        tests.extend(self.others)
        if len(tests) == 1:
            return tests[0]
        members = tuple(tests)

        def test(s: str) -> bool:
            for member in members:
                if member(s):
                    return True
            return False

        return test


def contains_any(needles: tuple[str, ...]) -> StringTest:
    """A test for text that contains any of *needles*."""
    if "" in needles:  # '*' alone: any text
        return lambda s: True
    if len(needles) == 1:
        needle = needles[0]
        return lambda s: needle in s
    if len(needles) >= AUTOMATON_FROM:
        return _automaton_search(needles)

    def test(s: str) -> bool:
        for needle in needles:
            if needle in s:
                return True
        return False

    return test


def _automaton_search(needles: tuple[str, ...]) -> StringTest:
    """Aho-Corasick scans of the text for all *needles* (non-empty) at once.

    Needles with non-ASCII characters (emoji lists, say) get their own automaton, run
    only on texts that hold one of their first non-ASCII characters: a set check that
    rejects nearly every text in C, before the slower wide-character scan.
    """
    plain = tuple(n for n in needles if n.isascii())
    other = tuple(n for n in needles if not n.isascii())
    tests: list[StringTest] = []
    if plain:
        tests.append(_automaton(plain))
    if other:
        scan_other = _automaton(other)
        marks = frozenset(next(c for c in n if not c.isascii()) for n in other)
        tests.append(lambda s: not marks.isdisjoint(s) and scan_other(s))
    if len(tests) == 1:
        return tests[0]
    first, second = tests
    return lambda s: first(s) or second(s)


def _automaton(needles: tuple[str, ...]) -> StringTest:
    automaton = ahocorasick.Automaton()
    for needle in needles:
        automaton.add_word(needle, None)
    automaton.make_automaton()
    scan = automaton.iter

    def test(s: str) -> bool:
        for _ in scan(s):
            return True
        return False

    return test
