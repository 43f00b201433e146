"""The rule index: for each event, the few rules that could match it, found for all rules
at once, so that a thousand rules cost far less than a thousand passes over the event.

Each rule's ``Requirement`` (requirements.py) lists clauses of atoms, one atom of each
clause true for every event the rule matches. The index keeps, per rule, up to
MAX_INDEXED_CLAUSES of its most selective clauses (those whose shortest text is longest,
and at least MIN_TEXT long: shorter texts are in nearly every event). Every atom becomes
one or more keys of a single Aho-Corasick automaton, so one scan of one text finds every
atom the event satisfies, for all rules together. A rule is a candidate when each of its
indexed clauses has an atom found; rules left with no indexed clause are evaluated on
every event (``always``). Only candidates are evaluated, with their full predicate, so
the index changes how fast hits are found, never which.

Two texts are searched, whichever the event allows:

* the record text (``Event.raw``), case-folded, when events/raw_text.py says every value
  shows in it in a known form. The atoms are searched in that form, whatever their
  field (an atom of ``Image`` is also found in ``CommandLine``: only an extra candidate),
  and the event's fields are not even built when no rule is a candidate. Atoms that may
  not show in the record text (numbers, GUID braces, computed fields, keywords; see
  ``findable_forms``) leave their clause out of this search.
* otherwise the fields themselves: each value of an indexed field, folded, between marks
  naming the field, so that equality, prefix and suffix atoms are found in their own
  field; contains atoms are found in any indexed field, keyword atoms in any value.

Either way the candidates include every rule that matches the event: a found atom can
be a false alarm, a true atom is never missed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Final, Iterable, Sequence

import ahocorasick

from sigmakit.events import Event
from sigmakit.events.model import JSON_SYNTAX, XML_SYNTAX
from sigmakit.events.raw_text import findable_forms, search_text
from sigmakit.matching.requirements import Atom, Clause, Kind, Requirement, clause_strength
from sigmakit.matching.view import EventView

logger = logging.getLogger(__name__)

MIN_TEXT: Final = 3
MAX_INDEXED_CLAUSES: Final = 4
FIELD_TEXTS: Final = "fields"
# Marks around each field value in the field text (see module docstring): start, end,
# and one private-use character per indexed field, which no rule text holds.
_START: Final = "\x02"
_END: Final = "\x03"
_KEYWORD_SEPARATOR: Final = "\x1f"
_FIELD_MARK_BASE: Final = 0xE000


@dataclass(frozen=True)
class IndexSummary:
    """How the rules are indexed for one kind of text: rules evaluated on every event,
    rules reached through the index, and the number of keys of the automaton."""

    text: str
    always: tuple[int, ...]
    indexed: int
    keys: int


class _Table:
    """The automaton for one kind of text, and which rules its matches make candidates."""

    def __init__(self, text: str, selected: Sequence[tuple[Clause, ...]],
                 keys_of: Callable[[Atom], tuple[str, ...]]) -> None:
        clause_ids: dict[Clause, int] = {}
        key_clauses: dict[str, set[int]] = {}
        triggers: dict[int, list[tuple[int, frozenset[int]]]] = {}
        always: list[int] = []
        for rule, clauses in enumerate(selected):
            if not clauses:
                always.append(rule)
                continue
            ids = [clause_ids.setdefault(clause, len(clause_ids)) for clause in clauses]
            for clause, clause_id in zip(clauses, ids):
                for atom in clause:
                    for key in keys_of(atom):
                        key_clauses.setdefault(key, set()).add(clause_id)
            # The first (most selective) clause triggers the rule; the others must hold too.
            triggers.setdefault(ids[0], []).append((rule, frozenset(ids[1:])))
        self.automaton = ahocorasick.Automaton()
        for key, found in key_clauses.items():
            self.automaton.add_word(key, tuple(sorted(found)))
        if key_clauses:
            self.automaton.make_automaton()
        self.triggers = {clause: tuple(rules) for clause, rules in triggers.items()}
        self.always = tuple(always)
        self.summary = IndexSummary(text, self.always, len(selected) - len(always), len(key_clauses))

    def candidates(self, text: str) -> list[int]:
        """The rules (by index) that could match an event whose searched text is *text*."""
        found = list(self.always)
        if not self.triggers:
            return found
        satisfied: set[int] = set()
        for _, clauses in self.automaton.iter(text):
            satisfied.update(clauses)
        triggers = self.triggers
        for clause in satisfied:
            for rule, needed in triggers.get(clause, ()):
                if needed <= satisfied:
                    found.append(rule)
        return found


class RuleIndex:
    """The rules of one matcher, indexed by what an event must contain (module docstring)."""

    def __init__(self, requirements: Sequence[Requirement]) -> None:
        self.size = len(requirements)
        self._requirements = [_selectable(requirement) for requirement in requirements]
        fields = sorted({atom.field for clauses in self._requirements for clause in clauses
                         for atom in clause if atom.field is not None})
        self._marks = {field: chr(_FIELD_MARK_BASE + number) for number, field in enumerate(fields)}
        self._keywords = any(atom.field is None for clauses in self._requirements
                             for clause in clauses for atom in clause)
        self._field_table = _Table(FIELD_TEXTS, [_select(clauses, self._field_keys)
                                                 for clauses in self._requirements], self._field_keys)
        self._raw_tables: dict[str, _Table] = {}

    # -- building ----------------------------------------------------------------------------
    def _field_keys(self, atom: Atom) -> tuple[str, ...]:
        if atom.field is None:
            return (atom.text,)
        mark = self._marks[atom.field]
        if atom.kind is Kind.EXACT:
            return (_START + mark + atom.text + mark + _END,)
        if atom.kind is Kind.PREFIX:
            return (_START + mark + atom.text,)
        if atom.kind is Kind.SUFFIX:
            return (atom.text + mark + _END,)
        return (atom.text,)

    def _raw_table(self, syntax: str) -> _Table:
        table = self._raw_tables.get(syntax)
        if table is None:
            def keys(atom: Atom) -> tuple[str, ...]:
                return findable_forms(atom.text, atom.field, syntax) or ()

            selected = [_select(clauses, keys) for clauses in self._requirements]
            table = self._raw_tables[syntax] = _Table(syntax, selected, keys)
        return table

    def summaries(self) -> list[IndexSummary]:
        """How rules are indexed for the field text and for JSON and XML record texts."""
        return [self._field_table.summary, self._raw_table(JSON_SYNTAX).summary,
                self._raw_table(XML_SYNTAX).summary]

    # -- looking up ----------------------------------------------------------------------------
    def record_candidates(self, event: Event) -> list[int] | None:
        """The rules (by index) that could match *event*, found in its record text; None
        when the event has none that can be searched (use field_candidates)."""
        if event.raw is None:
            return None
        text = search_text(event.raw, event.syntax)
        if text is None:
            return None
        return self._raw_table(event.syntax).candidates(text)  # type: ignore[arg-type]

    def field_candidates(self, view: EventView) -> list[int]:
        """The rules (by index) that could match the event seen through *view*."""
        return self._field_table.candidates(self.field_text(view))

    def field_text(self, view: EventView) -> str:
        """The indexed fields' folded values between their marks (see module docstring)."""
        parts: list[str] = []
        for field, mark in self._marks.items():
            for value in view.text[field]:
                parts += (_START, mark, value, mark, _END)
        if self._keywords:
            parts.append(_KEYWORD_SEPARATOR.join(view.keyword_texts()))
        return "".join(parts)


def _selectable(requirement: Requirement) -> tuple[Clause, ...]:
    """The clauses worth indexing, most selective first."""
    usable = [clause for clause in requirement if clause_strength(clause) >= MIN_TEXT]
    return tuple(sorted(usable, key=clause_strength, reverse=True))


def _select(clauses: Iterable[Clause], keys_of: Callable[[Atom], tuple[str, ...]]) -> tuple[Clause, ...]:
    """Up to MAX_INDEXED_CLAUSES of *clauses* whose every atom has a key."""
    chosen: list[Clause] = []
    for clause in clauses:
        if all(keys_of(atom) for atom in clause):
            chosen.append(clause)
            if len(chosen) == MAX_INDEXED_CLAUSES:
                break
    return tuple(chosen)
