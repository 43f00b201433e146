"""The rule index: for each event, the few rules that could match it, found for all rules
at once, so that a thousand rules cost far less than a thousand passes over the event.

Each rule's ``Requirement`` (requirements.py) lists clauses of atoms: for every event
the rule matches, each clause has a true atom. The index picks one clause per rule, its
*trigger*; a rule is evaluated (with its full predicate) only on events where an atom
of its trigger is true. So the index changes how fast hits are found, never which: a
true atom is never missed, a rule whose trigger holds may still not match.

A rule with no clause at all (conditions made of negations, field references...) may
still have an ``Exclusion`` (requirements.py): atoms none of which is true for an event
the rule matches, from ``not S`` where the atoms make S true. Such a rule has a
*negative trigger*: it is a candidate unless one of those atoms is true (so also when
the field is missing, ``None``, or holds no text). Its atoms are looked up with the
others, in the same per-field caches, under the rule's *mark* (``~rule``, a negative
id). Only rules with neither clause nor exclusion are evaluated on every event.

Atoms are looked up field by field: the atoms of one field (equal to, starts with, ends
with, contains a folded text) are a dictionary (equalities) and one Aho-Corasick
automaton (ahocorasick-rs, all overlapping matches) over the folded value between a
start and an end mark. (A value or an atom's text holding a mark itself is tested atom
by atom instead: a negative trigger must not see an atom that is not there.) What a
value satisfies depends on the value alone, so it is kept in a cache per field: the
values of most fields repeat (image names, users, hashes, parent command lines), and a
repeated value costs one dictionary lookup.

Which clause makes the best trigger depends on the events: ``\\cmd.exe`` is rare in some
logs and everywhere in others. So the index learns. For the first CALIBRATION_EVENTS
events of a session it uses each rule's strongest clause (longest shortest text, at
least MIN_WEIGHT) while counting, for every clause of every rule, on how many events it
holds; then each rule gets its least frequent clause as trigger. (Counting needs every
clause's atoms on every event, which the value caches make affordable for a while.)
Negative triggers are not learnt: a rule has one exclusion.

Once calibrated, and if no rule is evaluated on every event, the reader's screen asks
the index about each JSON object before its fields are made (any_in_document): the
object is kept if a (positive) atom may hold, or if some rule with a negative trigger
is not certainly excluded by the object's values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final, Iterable, Mapping, Sequence

import ahocorasick_rs

from sigmakit.events.sources import INDEX_TIME_FIELDS
from sigmakit.matching.requirements import Atom, Clause, Exclusion, Kind, Requirement, clause_strength
from sigmakit.matching.view import MISSING, lookup, text_of, scalars

logger = logging.getLogger(__name__)

MIN_WEIGHT: Final = 3
CALIBRATION_EVENTS: Final = 1000
# Distinct values remembered per field; past this the cache starts afresh.
CACHE_VALUES: Final = 20_000


class _Keywords:
    """The pseudo-field of keyword atoms (every value of the event): not a text, so no
    field of an event, not even one named ``*``, is ever taken for it."""

    def __repr__(self) -> str:
        return "KEYWORDS"


KEYWORDS: Final = _Keywords()
_START: Final = "\x02"
_END: Final = "\x03"
_MARKS: Final = frozenset({_START, _END})
_NOTHING: Final = frozenset()


class FieldAtoms:
    """The atoms of one field, each with the ids it stands for; ``find(value)`` gives the
    ids of the atoms a value satisfies (value as the event holds it, cached)."""

    def __init__(self, atoms: Mapping[Atom, Iterable[int]]) -> None:
        exact: dict[str, set[int]] = {}
        keys: dict[str, set[int]] = {}
        tests: dict[str, tuple[Kind, str]] = {}
        marked: dict[Atom, set[int]] = {}
        for atom, ids in atoms.items():
            if atom.kind is Kind.EXACT:
                exact.setdefault(atom.text, set()).update(ids)
            elif _MARKS.isdisjoint(atom.text):
                keys.setdefault(_key(atom), set()).update(ids)
                tests[_key(atom)] = (atom.kind, atom.text)
            else:  # its key would be read as another kind of atom: tested on its own
                marked.setdefault(atom, set()).update(ids)
        self.exact = {text: frozenset(ids) for text, ids in exact.items()}
        self.marked = tuple((atom.kind, atom.text, frozenset(ids)) for atom, ids in marked.items())
        self.automaton: Any = None
        if keys:
            self.automaton = ahocorasick_rs.AhoCorasick(list(keys))
            self.payloads = tuple(frozenset(ids) for ids in keys.values())
            self.tests = tuple(tests[key] for key in keys)
        self.cache: dict[str, frozenset[int]] = {}  # cleared in place only (see _Lookup)

    def find(self, value: str) -> frozenset[int]:
        found = self.cache.get(value)
        if found is None:
            found = self._search(value.casefold())
            if len(self.cache) >= CACHE_VALUES:
                self.cache.clear()
            self.cache[value] = found
        return found

    def _search(self, folded: str) -> frozenset[int]:
        found = self.exact.get(folded, _NOTHING)
        if self.marked:
            found = found.union(*[ids for kind, text, ids in self.marked if _holds(kind, text, folded)])
        if self.automaton is None:
            return found
        if _START in folded or _END in folded:
            # The marks around the value would not be its ends only: each atom in turn.
            return found.union(*self._each_atom(folded))
        try:
            matched = self.automaton.find_matches_as_indexes(_START + folded + _END, overlapping=True)
        except UnicodeEncodeError:  # a lone surrogate (only from a library caller's text)
            return found.union(*self._each_atom(folded))
        if not matched:
            return found
        payloads = self.payloads
        return found.union(*[payloads[key] for key, _, _ in matched])


    def _each_atom(self, folded: str) -> list[frozenset[int]]:
        """The ids of the automaton's atoms that hold for *folded*, tested one by one."""
        return [ids for (kind, text), ids in zip(self.tests, self.payloads) if _holds(kind, text, folded)]


def _holds(kind: Kind, text: str, folded: str) -> bool:
    """Whether an atom of this kind and text is true for a folded value: the same test
    the automaton makes, one atom at a time."""
    if kind is Kind.EXACT:
        return folded == text
    if kind is Kind.PREFIX:
        return folded.startswith(text)
    if kind is Kind.SUFFIX:
        return folded.endswith(text)
    return text in folded


def _key(atom: Atom) -> str:
    if atom.kind is Kind.PREFIX:
        return _START + atom.text
    if atom.kind is Kind.SUFFIX:
        return atom.text + _END
    return atom.text


def _texts(fields: Mapping[str, Any], field: str | _Keywords) -> tuple[str, ...]:
    """The text of each value of *field*, as the matcher's EventView reads them."""
    if isinstance(field, _Keywords):
        out: list[str] = []
        _all_texts(fields, out)
        return tuple(out)
    value = lookup(fields, field)
    return tuple(text for text in map(text_of, scalars(value)) if text is not None)


def _all_texts(value: Any, out: list[str]) -> None:
    if isinstance(value, Mapping):
        for item in value.values():
            _all_texts(item, out)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _all_texts(item, out)
    else:
        text = text_of(value)
        if text is not None:
            out.append(text)


class _Lookup:
    """Atoms grouped by field, giving for an event's fields the union of their ids.

    Ids are rules (or clauses) that an atom may make candidates, and the marks
    (negative ids) of rules that an atom excludes (see module docstring). *hidden* maps
    fields to the text a data source stores for a missing value (Matcher.stand_ins),
    which the rules see as no value at all."""

    def __init__(self, atoms: Mapping[Atom, Iterable[int]], hidden: Mapping[str, str] | None = None) -> None:
        by_field: dict[str | _Keywords, dict[Atom, Iterable[int]]] = {}
        for atom, ids in atoms.items():
            by_field.setdefault(KEYWORDS if atom.field is None else atom.field, {})[atom] = ids
        self.fields = tuple((field, FieldAtoms(field_atoms)) for field, field_atoms in by_field.items())
        # With each field, its cache's bound get: a repeated value, the common case, then
        # costs no Python call (the cache is cleared in place, never replaced).
        self.entries = tuple((field, atoms, atoms.cache.get) for field, atoms in self.fields)
        # Fields a parsed JSON object shows as they will be (see any_in_document).
        self.plain = all(isinstance(field, str) and "." not in field for field in by_field)
        self.marks = frozenset(i for ids in atoms.values() for i in ids if i < 0)
        self.hidden: Mapping[str, str] = hidden or {}

    def find(self, fields: Mapping[str, Any]) -> set[int]:
        found: set[int] = set()
        get = fields.get
        for field, atoms, cached in self.entries:
            value = get(field, MISSING)
            if type(value) is str:  # the common case, kept fast
                hit = cached(value)
                if hit is None:
                    hit = atoms.find(value)
                if hit:
                    found |= hit
            elif value is not None:
                for text in _texts(fields, field):
                    found |= atoms.find(text)
        return found

    def any_in_document(self, document: Mapping[str, Any]) -> bool:
        """Whether some atom may hold for the event read from this JSON object, before its
        fields are made. The object's value of a field without a dot is the field's value,
        or, for a list, its elements that are not objects or lists (flattening gives the
        others other names), and an object has no text; a field readers add at index
        time (INDEX_TIME_FIELDS) may be missing from the object but not the event.

        With marks (negative triggers), the object is also kept unless every marked rule
        is certainly excluded. Only a text value of the object excludes: the event then
        has that text as (one of) the field's values. Not so for an index-time field
        (the reader may add it differently), nor for a stand-in text (hidden from the
        rules), and numbers become text later: those values exclude nothing."""
        if not self.plain:
            return True
        marks, hidden = self.marks, self.hidden
        excluded: set[int] = set()
        get = document.get
        for field, atoms, cached in self.entries:
            value = get(field, MISSING)
            if type(value) is str:
                found = cached(value)
                if found is None:
                    found = atoms.find(value)
                if found:
                    if not found <= marks:  # an id that is no mark: a rule to evaluate
                        return True
                    if field not in INDEX_TIME_FIELDS and hidden.get(field) != value:
                        excluded |= found
            elif value is MISSING:
                if field in INDEX_TIME_FIELDS:
                    return True
            elif type(value) is list:
                for item in value:
                    text = None if isinstance(item, (dict, list)) else text_of(item)
                    if text is not None and _some_rule(atoms.find(text), marks):
                        return True
            elif type(value) is not dict:
                text = text_of(value)
                if text is not None and _some_rule(atoms.find(text), marks):
                    return True
        return len(excluded) < len(marks)  # some marked rule not excluded: a candidate


def _some_rule(found: frozenset[int], marks: frozenset[int]) -> bool:
    """Whether *found* holds an id that is not a mark (a rule that becomes a candidate)."""
    return bool(found) and not found <= marks


@dataclass(frozen=True)
class IndexSummary:
    """How a session's index stands: rules evaluated on every event, rules reached
    through a trigger (negative triggers included), how many of those through a negative
    one, and whether the triggers are learnt yet."""

    always: tuple[int, ...]
    triggered: int
    calibrated: bool
    excluding: int = 0


class RuleIndex:
    """The rules of one matcher indexed by what an event must contain (module docstring).

    The index itself is shared; what is learnt from events lives in an IndexSession.
    """

    def __init__(self, requirements: Sequence[Requirement], exclusions: Sequence[Exclusion] = (),
                 hidden: Mapping[str, str] | None = None) -> None:
        """*exclusions*, if given, has one Exclusion per rule; *hidden*: see _Lookup."""
        self.size = len(requirements)
        clauses: dict[Clause, int] = {}
        self.rule_clauses = tuple(
            tuple(clauses.setdefault(clause, len(clauses)) for clause in requirement) for requirement in requirements
        )
        self.clauses = tuple(clauses)
        self.strength = tuple(clause_strength(clause) for clause in self.clauses)
        self.hidden = hidden
        # A positive trigger selects far fewer events than a negative one: exclusions
        # serve only rules without a clause, which would otherwise be evaluated always.
        self.exclusions: tuple[tuple[int, Exclusion], ...] = tuple(
            (rule, exclusion) for rule, exclusion in enumerate(exclusions)
            if exclusion and not self.rule_clauses[rule]
        )
        self.marks = tuple((rule, ~rule) for rule, _ in self.exclusions)
        excluding = {rule for rule, _ in self.exclusions}
        self.always = tuple(rule for rule, ids in enumerate(self.rule_clauses) if not ids and rule not in excluding)
        # Before calibration: each rule's strongest clause, if strong enough.
        self.initial_triggers = tuple(self._strongest(ids) for ids in self.rule_clauses)
        self._clauses_lookup: _Lookup | None = None
        self._initial_lookup: tuple[_Lookup, tuple[int, ...]] | None = None

    def _strongest(self, ids: tuple[int, ...]) -> int | None:
        best = max(ids, key=lambda clause: self.strength[clause], default=None)
        return best if best is not None and self.strength[best] >= MIN_WEIGHT else None

    def triggers_lookup(self, triggers: Sequence[int | None]) -> tuple[_Lookup, tuple[int, ...]]:
        """The lookup finding rules by their trigger clause and the marks of the rules
        their exclusion holds for, and the rules with neither."""
        atoms: dict[Atom, set[int]] = {}
        for rule, clause in enumerate(triggers):
            if clause is not None:
                for atom in self.clauses[clause]:
                    atoms.setdefault(atom, set()).add(rule)
        for rule, exclusion in self.exclusions:
            for atom in exclusion:
                atoms.setdefault(atom, set()).add(~rule)
        excluding = {rule for rule, _ in self.exclusions}
        untriggered = tuple(rule for rule, clause in enumerate(triggers) if clause is None and rule not in excluding)
        return _Lookup(atoms, self.hidden), untriggered

    def clauses_lookup(self) -> _Lookup:
        """The lookup finding every clause (by id) that an event satisfies (built once:
        sessions share it, and its value caches, which depend on values alone)."""
        if self._clauses_lookup is None:
            atoms: dict[Atom, set[int]] = {}
            for clause_id, clause in enumerate(self.clauses):
                for atom in clause:
                    atoms.setdefault(atom, set()).add(clause_id)
            self._clauses_lookup = _Lookup(atoms)
        return self._clauses_lookup

    def initial_lookup(self) -> tuple[_Lookup, tuple[int, ...]]:
        """triggers_lookup() of the triggers used before calibration (built once)."""
        if self._initial_lookup is None:
            self._initial_lookup = self.triggers_lookup(self.initial_triggers)
        return self._initial_lookup

    def session(self, calibration: int = CALIBRATION_EVENTS) -> "IndexSession":
        return IndexSession(self, calibration)


class IndexSession:
    """One stream of events through a RuleIndex: candidates per event, triggers learnt
    from the first *calibration* events (see module docstring)."""

    def __init__(self, index: RuleIndex, calibration: int) -> None:
        self.index = index
        self.remaining = calibration
        self.counts = [0] * len(index.clauses)
        self.triggers: Sequence[int | None] = index.initial_triggers
        self._lookup, self._always = index.initial_lookup()
        self._marks = index.marks
        self._clauses = index.clauses_lookup() if calibration > 0 and index.clauses else None

    def screen(self, document: Mapping[str, Any]) -> bool:
        """False only when no rule can match the event read from this JSON object (as
        parsed, before its fields are made). While calibrating, always True, so that the
        counts see every event."""
        if self._clauses is not None or self._always:
            return True
        return self._lookup.any_in_document(document)

    def candidates(self, fields: Mapping[str, Any]) -> set[int]:
        """The rules (by index) that could match the event with these fields."""
        found = self._lookup.find(fields)
        for rule, mark in self._marks:  # negative triggers: candidates unless excluded
            if mark in found:
                found.discard(mark)
            else:
                found.add(rule)
        found.update(self._always)
        if self._clauses is not None:
            self._count(fields)
        return found

    def _count(self, fields: Mapping[str, Any]) -> None:
        assert self._clauses is not None
        counts = self.counts
        for clause in self._clauses.find(fields):
            counts[clause] += 1
        self.remaining -= 1
        if self.remaining <= 0:
            self._calibrate()

    def _calibrate(self) -> None:
        index = self.index
        counts, strength = self.counts, index.strength

        def rank(clause: int) -> tuple[int, int]:
            return counts[clause], -strength[clause]

        self.triggers = tuple(min(ids, key=rank) if ids else None for ids in index.rule_clauses)
        self._lookup, self._always = index.triggers_lookup(self.triggers)
        self._clauses = None
        logger.debug("rule index calibrated: %d rules triggered, %d evaluated on every event",
                     len(self.triggers) - len(self._always), len(self._always))

    def summary(self) -> IndexSummary:
        return IndexSummary(self._always, len(self.triggers) - len(self._always), self._clauses is None,
                            len(self._marks))
