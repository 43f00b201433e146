"""What an event must contain for a rule to match it: the keys of the rule index.

``requirement(tree)`` reads a rule's condition tree (after its pipeline) and returns a
``Requirement``: clauses, each a set of ``Atom`` s, with this guarantee: whenever the
condition is true for an event, every clause has at least one atom that is true for the
event. An atom is a case-folded text that some value of a field equals (``EXACT``), starts
with (``PREFIX``), ends with (``SUFFIX``) or contains (``CONTAINS``); a keyword atom
(``field`` None) is contained in some value of the event. An empty requirement means
nothing is known: the rule has to be evaluated on every event.

How the clauses are found, bottom-up:

* a string value gives one clause per literal piece it needs (``C:\\*.exe`` needs the
  prefix ``c:\\`` and the suffix ``.exe``; ``*a*b*`` needs ``a`` and ``b``); a value
  list (an OR of values) gives the OR of its values' clauses;
* a regular expression gives the literal runs that every match contains (see
  ``required_substrings``), as CONTAINS atoms of its field (cut at the letters that a
  case-insensitive search may take for others that casefold() keeps apart: see
  ``_without_turkic_i``);
* AND needs what every branch needs (its clauses together); OR needs one of its
  branches, which in clause form is every combination of one clause from each branch
  (kept to MAX_CLAUSES, the strongest first);
* a field reference (``fieldref``, whole values) needs the two fields to hold an equal
  folded text (a SAME_AS atom, which the index tests by comparing the two values);
  with ``startswith``/``endswith`` it needs nothing;
* NOT, numbers, ``null``, ``exists``, CIDR and comparisons need nothing a text index
  could look up;
* a data source's base search is left out: every event handed to that source's matcher
  holds it, so it would select nothing.

Folding: every atom is case-folded, also for case-sensitive tests (``cased``, base64,
regexes): a value that contains a text, folded, contains the folded text.

Negative requirements: ``exclusion(tree)`` returns atoms of which *none* is true
whenever the condition is true. They come from ``not S`` where some atoms are
*sufficient* for S (``sufficient``): an atom that holds for a value makes S true. Only
tests the matcher decides exactly as the atom does are sufficient: a plain,
case-insensitive string value (no ``cased``, no base64) whose shape is one
comparison (exact, ``x*``, ``*x``, ``*x*``), whose literal the matcher folds with the
same ``casefold()`` as the index (compile_string gives both). Values with inner
wildcards or ``?``, regexes, numbers, keywords and the rest give nothing. Then:

* ``not S`` excludes what is sufficient for S, and S is made true by what ``not S``
  excludes;
* AND excludes what any branch excludes; OR only what every branch excludes;
* an atom is sufficient for an OR if it is for one branch, for an AND if it is for
  every branch.

Leaving an atom out is always sound (the rule is evaluated on more events), so
anything in doubt is left out. The index takes a rule out of the candidates when one of
its excluded atoms is true, whether or not the rule has a (positive) requirement.
"""

from __future__ import annotations

import itertools
import re
import warnings
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Final, Iterable, TypeVar

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    SigmaExpansion,
    SigmaFieldReference,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
)

from sigmakit.matching.literals import is_base_search
from sigmakit.matching.patterns import Shape, UnresolvedPlaceholder, compile_string

try:  # Python 3.11 and later
    from re import _constants as sre_constants  # type: ignore[attr-defined]
    from re import _parser as sre_parser  # type: ignore[attr-defined]
except ImportError:  # Python 3.10
    import sre_constants  # type: ignore[no-redef]
    import sre_parse as sre_parser  # type: ignore[no-redef]

# An OR's clause combinations past this many keep only their branches' strongest clauses.
MAX_CLAUSES: Final = 16
NON_ASCII_WEIGHT: Final = 3

Item = TypeVar("Item")


class Kind(Enum):
    EXACT = "exact"
    PREFIX = "prefix"
    SUFFIX = "suffix"
    CONTAINS = "contains"
    # Not a text but another field: some folded text of the field equals some folded text
    # of the field named by the atom's text (``fieldref``).
    SAME_AS = "same as"


@dataclass(frozen=True, slots=True)
class Atom:
    """A case-folded *text* that some value of *field* (any field: None) equals, starts
    with, ends with or contains, as *kind* says; for SAME_AS, *text* is the name of the
    field whose value equals *field*'s."""

    field: str | None
    kind: Kind
    text: str


Clause = frozenset[Atom]
Requirement = tuple[Clause, ...]
# Atoms none of which holds for an event the rule matches (see exclusion).
Exclusion = frozenset[Atom]
_NONE: Final[Exclusion] = frozenset()


def requirement(node: Any) -> Requirement:
    """See module docstring."""
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _value(node.field, node.value)
    if isinstance(node, ConditionValueExpression):
        return _value(None, node.value)
    if isinstance(node, ConditionAND):
        parts = [requirement(arg) for arg in node.args if not is_base_search(arg)]
        return tuple(dict.fromkeys(clause for part in parts for clause in part))
    if isinstance(node, ConditionOR):
        return any_of([requirement(arg) for arg in node.args], clause_strength)
    return ()  # NOT, and whatever else tests no text


# How selective a field reference is thought to be before events are counted: as a text
# of a few characters (two fields seldom hold the same value).
RELATION_WEIGHT: Final = 4


def clause_strength(clause: Clause) -> int:
    """How selective a clause is: the weight of its lightest text (see text_weight)."""
    return min((RELATION_WEIGHT if atom.kind is Kind.SAME_AS else text_weight(atom.text) for atom in clause),
               default=0)


def text_weight(text: str) -> int:
    """How rarely a text is found in events, roughly: longer texts are rarer, and a
    character outside ASCII (an emoji, a homoglyph) counts as NON_ASCII_WEIGHT."""
    return len(text) + (NON_ASCII_WEIGHT - 1) * sum(1 for char in text if char > "\x7f")


def any_of(alternatives: list[tuple[frozenset[Item], ...]],
           strength: Callable[[frozenset[Item]], int]) -> tuple[frozenset[Item], ...]:
    """Clauses that hold whenever one of *alternatives* (each a tuple of clauses) holds.

    One clause is taken from each alternative and the choices are joined, for every
    combination (OR distributed over AND). When that would make more than MAX_CLAUSES,
    each alternative offers only its strongest clauses, as many as fit.
    """
    if not alternatives or any(not clauses for clauses in alternatives):
        return ()
    ranked = [sorted(clauses, key=strength, reverse=True) for clauses in alternatives]
    widths = [1] * len(ranked)
    grew = True
    while grew:
        grew = False
        for position, clauses in enumerate(ranked):
            wider = widths[:position] + [widths[position] + 1] + widths[position + 1:]
            if widths[position] < len(clauses) and _product(wider) <= MAX_CLAUSES:
                widths[position] += 1
                grew = True
    chosen = [clauses[:width] for clauses, width in zip(ranked, widths)]
    joined = (frozenset().union(*choice) for choice in itertools.product(*chosen))
    return tuple(dict.fromkeys(joined))


def _product(numbers: Iterable[int]) -> int:
    result = 1
    for number in numbers:
        result *= number
    return result


# -- values ------------------------------------------------------------------------------
def _value(field: str | None, value: Any) -> Requirement:
    if isinstance(value, SigmaExpansion):
        return any_of([_value(field, item) for item in value.values], clause_strength)
    if isinstance(value, SigmaString):
        return _string(field, value)
    if isinstance(value, SigmaRegularExpression):
        if value.contains_placeholder():
            return ()
        pattern = value.regexp.to_plain_regex()
        texts = required_substrings(pattern)
        if SigmaRegularExpressionFlag.IGNORECASE in value.flags or "(?" in pattern:
            texts = _without_turkic_i(texts)
        return tuple(frozenset(Atom(field, Kind.CONTAINS, text.casefold()) for text in clause)
                     for clause in texts)
    if isinstance(value, SigmaFieldReference) and field is not None:
        if value.starts_with or value.ends_with:
            return ()  # a part of the other value: no equality to look up
        return (frozenset({Atom(field, Kind.SAME_AS, value.field)}),)
    return ()


def _string(field: str | None, value: SigmaString) -> Requirement:
    try:
        pattern = compile_string(value, cased=True)
    except UnresolvedPlaceholder:
        return ()
    pieces = tuple(piece.casefold() for piece in pattern.pieces)
    if field is None:  # a keyword: contained somewhere, whatever its shape
        atoms = [Atom(None, Kind.CONTAINS, piece) for piece in pieces]
    elif pattern.shape is Shape.EXACT:
        atoms = [Atom(field, Kind.EXACT, pieces[0])]
    elif pattern.shape is Shape.SINGLE_CHAR:  # the literal runs around '?' and '*'
        atoms = [Atom(field, Kind.CONTAINS, piece) for piece in pieces]
    else:  # pieces between '*': the first starts the value, the last ends it
        head, *middle, tail = pieces
        atoms = [Atom(field, Kind.PREFIX, head), Atom(field, Kind.SUFFIX, tail),
                 *(Atom(field, Kind.CONTAINS, piece) for piece in middle)]
    return tuple(dict.fromkeys(frozenset({atom}) for atom in atoms if atom.text))


# -- negative requirements ---------------------------------------------------------------
def exclusion(node: Any) -> Exclusion:
    """Atoms none of which is true whenever the condition *node* is true (see module
    docstring)."""
    if isinstance(node, ConditionNOT):
        return sufficient(node.args[0])
    if isinstance(node, ConditionAND):
        return _NONE.union(*(exclusion(arg) for arg in node.args))
    if isinstance(node, ConditionOR):
        return _common([exclusion(arg) for arg in node.args])
    return _NONE


def sufficient(node: Any) -> Exclusion:
    """Atoms each of which, when true for an event, makes the condition *node* true as
    the matcher evaluates it (see module docstring)."""
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _sufficient_value(node.field, node.value)
    if isinstance(node, ConditionNOT):
        return exclusion(node.args[0])
    if isinstance(node, ConditionOR):
        return _NONE.union(*(sufficient(arg) for arg in node.args))
    if isinstance(node, ConditionAND):
        return _common([sufficient(arg) for arg in node.args])
    return _NONE  # keywords, and whatever else an atom of one field cannot decide


def _common(sets: list[Exclusion]) -> Exclusion:
    return frozenset.intersection(*sets) if sets else _NONE


def _sufficient_value(field: str, value: Any) -> Exclusion:
    if isinstance(value, SigmaExpansion):  # a list of values: any one of them will do
        return _NONE.union(*(_sufficient_value(field, item) for item in value.values))
    # Exactly SigmaString: a cased value (SigmaCasedString, base64 values too) compares
    # the text unfolded, which a folded atom cannot decide.
    if type(value) is not SigmaString:
        return _NONE
    try:
        pattern = compile_string(value)  # folded exactly as the matcher folds it
    except UnresolvedPlaceholder:
        return _NONE
    if pattern.cased:
        return _NONE
    kind = _ONE_TEST.get(pattern.shape)
    if kind is None:
        return _NONE
    # The one literal: ('x',) exact, ('x', '') prefix, ('', 'x') suffix, ('', 'x', '') contains.
    text = pattern.pieces[0] if pattern.shape in (Shape.EXACT, Shape.PREFIX) else pattern.pieces[1]
    # An empty text ('*' alone, an empty value) is left out, as in _string: dropping
    # an atom is always sound.
    return frozenset({Atom(field, kind, text)}) if text else _NONE


# The shapes the matcher decides with one comparison, as the index's atom kind.
_ONE_TEST: Final = {Shape.EXACT: Kind.EXACT, Shape.PREFIX: Kind.PREFIX,
                    Shape.SUFFIX: Kind.SUFFIX, Shape.CONTAINS: Kind.CONTAINS}


# -- regular expressions ---------------------------------------------------------------------
_REPEATS: Final = frozenset({sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT,
                             getattr(sre_constants, "POSSESSIVE_REPEAT", sre_constants.MAX_REPEAT)})
_ATOMIC_GROUP: Final = getattr(sre_constants, "ATOMIC_GROUP", None)


def required_substrings(pattern: str) -> tuple[frozenset[str], ...]:
    """Clauses of texts a match of *pattern* contains (one of each clause), as written.

    The pattern is read with Python's regex parser, which is strict: an escape or
    construct it does not know is an error, and an error only means that nothing is
    required. RE2 and the regex package read one construct differently in a way that
    matters here: a POSIX class (``[[:alpha:]]``), where Python would see literal
    characters, so patterns with ``[:`` are not read. Optional parts (``?``, ``*``,
    ``{0,n}``) and lookaround add nothing.
    """
    if "[:" in pattern:
        return ()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set" and the like
            parsed = sre_parser.parse(pattern)
    except (sre_constants.error, ValueError, OverflowError, RecursionError):
        return ()
    return _regex_sequence(list(parsed))


# Letters a case-insensitive search of the regex package (lookaround, backreferences,
# and ``$`` before a final newline: matching/regex.py) takes for one another although
# casefold() keeps them apart: ``I`` finds ``ı``, ``i`` finds ``İ``. RE2 does not.
_TURKIC_I: Final = re.compile("[iIıİ]")


def _without_turkic_i(clauses: tuple[frozenset[str], ...]) -> tuple[frozenset[str], ...]:
    """The clauses of a regex that may be case-insensitive, each text cut at those
    letters and replaced by its strongest piece (a piece holds in every match, folded
    as the index folds values); a clause with a text that is nothing but such letters
    requires nothing and is dropped."""
    kept = []
    for clause in clauses:
        pieces = [max(_TURKIC_I.split(text), key=text_weight) for text in clause]
        if all(pieces):
            kept.append(frozenset(pieces))
    return tuple(dict.fromkeys(kept))


def _regex_sequence(items: list[tuple[Any, Any]]) -> tuple[frozenset[str], ...]:
    clauses: list[frozenset[str]] = []
    run: list[str] = []

    def end_run() -> None:
        if run:
            clauses.append(frozenset({"".join(run)}))
            run.clear()

    for op, argument in items:
        if op is sre_constants.LITERAL:
            run.append(chr(argument))
            continue
        if op is sre_constants.IN and len(argument) == 1 and argument[0][0] is sre_constants.LITERAL:
            run.append(chr(argument[0][1]))  # a class of one character, as in "[.]"
            continue
        end_run()
        if op is sre_constants.SUBPATTERN:  # (group, flags added, flags removed, body)
            clauses.extend(_regex_sequence(list(argument[-1])))
        elif op is _ATOMIC_GROUP:
            clauses.extend(_regex_sequence(list(argument)))
        elif op in _REPEATS:
            low, _, body = argument
            if low >= 1:
                clauses.extend(_regex_sequence(list(body)))
        elif op is sre_constants.BRANCH:
            branches = [_regex_sequence(list(branch)) for branch in argument[1]]
            clauses.extend(any_of(branches, _text_strength))
    end_run()
    return tuple(dict.fromkeys(clauses))


def _text_strength(clause: frozenset[str]) -> int:
    return min((text_weight(text) for text in clause), default=0)
