"""The rule index: for each event, the few rules that could match it, found for all rules
at once, so that a thousand rules cost far less than a thousand passes over the event.

Each rule's ``Requirement`` (requirements.py) lists clauses of atoms: for every event
the rule matches, each clause has a true atom. The index picks one clause per rule, its
*trigger*; a rule is evaluated (with its full predicate) only on events where an atom
of its trigger is true. So the index changes how fast hits are found, never which: a
true atom is never missed, a rule whose trigger holds may still not match.

A rule may also have an ``Exclusion`` (requirements.py): atoms none of which is true
for an event the rule matches, from ``not S`` where the atoms make S true. Its atoms are
looked up with the others, in the same per-field caches, under the rule's *mark*
(``~rule``, a negative id), and a true one takes the rule out of the candidates even
when its trigger holds (``selection and not filter``: the filter's image paths cut most
of what the selection's image names let in). A rule with an exclusion but no trigger
has a *negative trigger*: it is a candidate unless one of those atoms is true (so also
when the field is missing, ``None``, or holds no text). Only rules with neither trigger
nor exclusion are evaluated on every event.

Atoms are looked up field by field: the atoms of one field (equal to, starts with, ends
with, contains a folded text) are a dictionary (equalities) and one Aho-Corasick
automaton (ahocorasick-rs, all overlapping matches) over the folded value between a
start and an end mark. (A value or an atom's text holding a mark itself is tested atom
by atom instead: a negative trigger must not see an atom that is not there.) What a
value satisfies depends on the value alone, so it is kept in a cache per field: the
values of most fields repeat (image names, users, hashes, parent command lines), and a
repeated value costs one dictionary lookup. A field reference (a SAME_AS atom) is no
text: the index compares the two fields' values itself.

Which clause makes the best trigger depends on the events: ``\\cmd.exe`` is rare in some
logs and everywhere in others. So the index learns. For the first CALIBRATION_EVENTS
events of a session it uses each rule's strongest clause (longest shortest text, at
least MIN_WEIGHT) while counting, for every clause of every rule, on how many events it
holds; then each rule gets its least frequent clause as trigger. A trigger that held on
PAIR_AFTER calibration events or more also gets a *second clause*, the one that held
least often together with it (counted on the same events), if that was not every time:
the rule is then a candidate only when both hold (``\\conhost.exe`` and one of a few
parent images). (Counting needs every clause's atoms on every event, which the value
caches make affordable for a while.) Negative triggers are not learnt: a rule has one
exclusion.

Once calibrated, and if no rule is evaluated on every event, the reader's screen asks
the index about each JSON object before its fields are made (in_document): the
object is kept if the trigger (and second clause) of a rule may hold and the rule is not
certainly excluded by the object's values, or if some rule with a negative trigger is
not certainly excluded. The rules found are kept for the object, whose fields are the
object itself once read, so that candidates() does not look them up again. The screen
runs once per line read, so its usual case costs a handful of C calls (_BitScreen):
what each field's value gives is a small class number, and a combination of classes
is looked up once for the candidates, kept as the bits of an int.
"""

from __future__ import annotations

import logging
import operator
from dataclasses import dataclass
from typing import Any, Callable, Final, Iterable, Mapping, Sequence

import ahocorasick_rs

from sigmakit.events.sources import INDEX_TIME_FIELDS
from sigmakit.matching.requirements import Atom, Clause, Exclusion, Kind, Requirement, clause_strength
from sigmakit.matching.view import MISSING, lookup, text_of, scalars

logger = logging.getLogger(__name__)

MIN_WEIGHT: Final = 3
CALIBRATION_EVENTS: Final = 1000
# Distinct values remembered per field; past this the cache starts afresh.
CACHE_VALUES: Final = 20_000
# Calibration events a trigger must hold on before a second clause is picked for its rule.
PAIR_AFTER: Final = 5
# Objects screen() remembers the candidates of, at most (a few batches of events).
SCREENED_KEPT: Final = 4096


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
_CONTAINERS: Final = frozenset({dict, list})


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


def _related(fields: Mapping[str, Any], field: str, other: str) -> bool:
    """Whether a SAME_AS atom holds: some folded text of *field* equals one of *other*
    (as the matcher's fieldref compares them)."""
    first, second = fields.get(field, MISSING), fields.get(other, MISSING)
    if type(first) is str and type(second) is str:  # the common case, kept fast
        return first == second or first.casefold() == second.casefold()
    seconds = {text.casefold() for text in _texts(fields, other)}
    return any(text.casefold() in seconds for text in _texts(fields, field))


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


def _unmarked(ids: Iterable[int]) -> list[int]:
    """*ids* without the marks (see module docstring): a value whose marks exclude nothing."""
    return [i for i in ids if i >= 0]


class _BitScreen:
    """_Lookup.in_document(), with sets of ids as the bits of an int, fast for the usual
    object: every screened field there with a text value. One C call reads the values
    (operator.itemgetter), one more looks each up in its field's cache (map of dict.get)
    for the *class* of what it gives (a small int: few distinct answers per field), and
    the tuple of classes is looked up in one more cache for the candidates: no Python
    code runs per field unless a value is new, nor per answer unless the combination is
    new. Any other object (a field missing, a list, a number) goes through in_document,
    whose answer it is by construction.

    The bits of what a field's value gives: rule r's trigger: bit r; its second clause:
    bit size + r; its mark: bit 2 * size + r; without the marks for a value whose marks
    exclude nothing (a stand-in text, an index-time field), as in in_document."""

    def __init__(self, lookup: "_Lookup") -> None:
        self.lookup = lookup
        self.size = size = lookup.size
        self.entries = lookup.screen_entries
        names = [field for field, *_ in self.entries]
        self.values: Callable[[Mapping[str, Any]], tuple[Any, ...]] = (
            operator.itemgetter(*names) if len(names) > 1  # itemgetter of one name gives no tuple
            else lambda document: (document[names[0]],))
        self.caches: tuple[dict[str, int], ...] = tuple({} for _ in self.entries)  # value -> class
        # per field: the bits of each class, and the class of given bits
        self.class_bits: tuple[list[int], ...] = tuple([0] for _ in self.entries)
        self.classes: tuple[dict[int, int], ...] = tuple({0: 0} for _ in self.entries)
        self.combinations: dict[tuple[int, ...], int] = {}  # classes -> candidates' bits
        self.rules = (1 << size) - 1
        self.negative = self.bits(lookup.negative)
        self.unpaired = ~self.bits(lookup.paired)  # rules needing no second clause
        self.relations = tuple((field, other, self.bits(ids)) for field, other, ids in lookup.relations)
        self.usable = lookup.plain and bool(names)

    def bits(self, ids: Iterable[int]) -> int:
        """The bits of a set of ids."""
        bits, marks = 0, 2 * self.size
        for i in ids:
            bits |= 1 << i if i >= 0 else 1 << (marks + ~i)
        return bits

    def __call__(self, document: Mapping[str, Any]) -> int | None:
        """The bits of the rules in_document(*document*) gives, or None as it does."""
        if not self.usable:
            return self._slow(document)
        try:
            values = self.values(document)
            key = tuple(map(dict.get, self.caches, values))
        except (KeyError, TypeError):  # a field missing, or a list or object (unhashable)
            return self._slow(document)
        if None in key:  # a new value, or no text (a number, null)
            if not all(type(value) is str for value in values):
                return self._slow(document)
            key = tuple(self._learn(position, value) if found is None else found
                        for position, (found, value) in enumerate(zip(key, values)))
        related = 0
        for field, other, relation in self.relations:
            first, second = document.get(field, MISSING), document.get(other, MISSING)
            if (type(first) is str and type(second) is str and field not in INDEX_TIME_FIELDS
                    and other not in INDEX_TIME_FIELDS and first != second and first.casefold() != second.casefold()):
                continue  # certainly different: the atom is false
            related |= relation
        if related:
            return self._candidates(key, related)
        found = self.combinations.get(key)
        if found is None:
            if len(self.combinations) >= CACHE_VALUES:
                self.combinations.clear()
            found = self.combinations[key] = self._candidates(key, 0)
        return found

    def _candidates(self, key: tuple[int, ...], bits: int) -> int:
        """The candidates' bits for the classes *key* and the other *bits* found."""
        for position, found in enumerate(key):
            if found:
                bits |= self.class_bits[position][found]
        if not bits:
            return self.negative
        size = self.size
        positives = bits & self.rules & (self.unpaired | bits >> size)
        return (positives | self.negative) & ~(bits >> 2 * size)

    def _learn(self, position: int, value: str) -> int:
        """The class of a new text *value* of the field at *position*, kept in its cache."""
        field, atoms, cached, certain = self.entries[position]
        hit = cached(value)
        if hit is None:
            hit = atoms._search(value.casefold())
        if not (certain is True or (certain is not False and certain != value)):
            hit = _unmarked(hit)
        bits = self.bits(hit)
        classes = self.classes[position]
        found = classes.get(bits)
        if found is None:
            found = classes[bits] = len(self.class_bits[position])
            self.class_bits[position].append(bits)
        cache = self.caches[position]
        if len(cache) >= CACHE_VALUES:
            cache.clear()
        cache[value] = found
        return found

    def _slow(self, document: Mapping[str, Any]) -> int | None:
        found = self.lookup.in_document(document)
        return None if found is None else self.bits(found)

    @staticmethod
    def ids(bits: int) -> set[int]:
        """The ids (rules) of *bits*."""
        ids = set()
        while bits:
            low = bits & -bits
            ids.add(low.bit_length() - 1)
            bits ^= low
        return ids


class _Lookup:
    """Atoms grouped by field, giving for an event's fields the union of their ids.

    Ids are rules (or clauses) that an atom may make candidates, and the marks
    (negative ids) of rules that an atom excludes (see module docstring). *negative*
    holds the rules with a negative trigger; *paired* the rules with a second clause,
    whose atoms stand for ``rule + size``. *hidden* maps fields to the text a data
    source stores for a missing value (Matcher.stand_ins), which the rules see as no
    value at all."""

    def __init__(self, atoms: Mapping[Atom, Iterable[int]], hidden: Mapping[str, str] | None = None,
                 negative: Iterable[int] = (), size: int = 0, paired: Iterable[int] = ()) -> None:
        by_field: dict[str | _Keywords, dict[Atom, Iterable[int]]] = {}
        relations: dict[tuple[str, str], set[int]] = {}
        for atom, ids in atoms.items():
            if atom.kind is Kind.SAME_AS:  # two fields' values compared, not a text looked up
                assert atom.field is not None
                relations.setdefault((atom.field, atom.text), set()).update(ids)
            else:
                by_field.setdefault(KEYWORDS if atom.field is None else atom.field, {})[atom] = ids
        self.fields = tuple((field, FieldAtoms(field_atoms)) for field, field_atoms in by_field.items())
        self.relations = tuple((field, other, frozenset(ids)) for (field, other), ids in relations.items())
        # With each field, its cache's bound get: a repeated value, the common case, then
        # costs no Python call (the cache is cleared in place, never replaced).
        self.entries = tuple((field, atoms, atoms.cache.get) for field, atoms in self.fields)
        # Fields a parsed JSON object shows as they will be (see in_document): no dot nor
        # braces, which flattening makes ("A.b" of a nested key, "A{}" of a list of lists).
        self.plain = all(isinstance(field, str) and "." not in field and "{" not in field
                         for field in [*by_field, *(name for pair in relations for name in pair)])
        self.marks = frozenset(i for ids in atoms.values() for i in ids if i < 0)
        self.negative = frozenset(negative)
        # Rules with a second clause (id: rule + size), candidates only when it holds too.
        self.paired = frozenset(paired)
        self.seconds = frozenset(rule + size for rule in self.paired)
        self.size = size
        # Whether the values in_document reads are those the event's fields will have
        # (no index-time field, which the reader may add or change after the screen).
        self.settled = self.plain and INDEX_TIME_FIELDS.isdisjoint(
            [*by_field, *(name for pair in relations for name in pair)])
        self.hidden: Mapping[str, str] = hidden or {}
        # entries, each with what makes its text values exclude for certain in
        # in_document: True (any text), False (none: an index-time field; also, when
        # missing from the object, the object cannot tell) or the stand-in text that
        # does not.
        self.screen_entries = tuple(
            (field, atoms, cached, False if field in INDEX_TIME_FIELDS else self.hidden.get(field, True))  # type: ignore[arg-type]
            for field, atoms, cached in self.entries
        )
        self._bit_screen: _BitScreen | None = None

    def bit_screen(self) -> _BitScreen:
        """in_document() as bits (made on first use: only the screened lookup needs it)."""
        if self._bit_screen is None:
            self._bit_screen = _BitScreen(self)
        return self._bit_screen

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
        for field, other, ids in self.relations:
            if _related(fields, field, other):
                found |= ids
        return found

    def candidates(self, found: set[int]) -> set[int]:
        """The rules that *found* (what find gave) makes candidates: those whose trigger
        (and second clause) holds and those with a negative trigger, less those a true
        atom excludes."""
        if not found:  # most events, with few rules: nothing to work out
            return set(self.negative)
        marks = found & self.marks
        if self.paired:
            seconds = found & self.seconds
            positives = found - marks - seconds if seconds else found - marks
            pending = positives & self.paired
            if pending:  # triggered rules whose second clause must hold too
                size = self.size
                positives -= pending.difference([second - size for second in seconds])
        else:
            positives = found - marks if marks else found
        if not marks:
            return positives | self.negative
        return (positives | self.negative).difference(map(operator.invert, marks))

    def in_document(self, document: Mapping[str, Any]) -> set[int] | None:
        """The rules that may be candidates for the event read from this JSON object,
        before its fields are made, or None when the object cannot tell (keep it). The
        object's value of a field without a dot is the field's value, or, for a list,
        its elements that are not objects or lists (flattening gives the others other
        names), and an object has no text; a field readers add at index time
        (INDEX_TIME_FIELDS) may be missing from the object but not the event.

        A mark (an exclusion) counts only where it is certain: for a text value of the
        object, the event then has that text as (one of) the field's values. Not so for
        an index-time field (the reader may add it differently), nor for a stand-in text
        (hidden from the rules), and numbers become text later: those values exclude
        nothing. Lists and numbers may still trigger rules. So the set holds every rule
        that candidates() would give for the event's fields, and maybe more."""
        if not self.plain:
            return None
        found: set[int] = set()
        get = document.get
        for field, atoms, cached, certain in self.screen_entries:
            value = get(field, MISSING)
            if type(value) is str:
                hit = cached(value)
                if hit is None:
                    hit = atoms.find(value)
                if hit:
                    if certain is True or (certain is not False and certain != value):
                        found |= hit
                    else:  # an index-time field, or a stand-in: its marks exclude nothing
                        found.update(_unmarked(hit))
            elif value is MISSING:
                if certain is False:  # an index-time field the reader may add
                    return None
            elif type(value) is list:
                for item in value:
                    text = None if isinstance(item, (dict, list)) else text_of(item)
                    if text is not None:
                        found.update(_unmarked(atoms.find(text)))
            elif type(value) is not dict:
                text = text_of(value)
                if text is not None:
                    found.update(_unmarked(atoms.find(text)))
        for field, other, ids in self.relations:
            first, second = get(field, MISSING), get(other, MISSING)
            if (type(first) is str and type(second) is str and field not in INDEX_TIME_FIELDS
                    and other not in INDEX_TIME_FIELDS and first != second and first.casefold() != second.casefold()):
                continue  # certainly different: the atom is false
            found |= ids
        if not found:  # the common case with few rules, kept fast
            return found if not self.negative else set(self.negative)
        return self.candidates(found)


@dataclass(frozen=True)
class IndexSummary:
    """How a session's index stands: rules evaluated on every event, rules reached
    through a trigger (negative triggers included), how many of those through a negative
    one (*excluding*), and whether the triggers are learnt yet."""

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
        self.exclusions: tuple[tuple[int, Exclusion], ...] = tuple(
            (rule, exclusion) for rule, exclusion in enumerate(exclusions) if exclusion
        )
        excluding = {rule for rule, _ in self.exclusions}
        self.always = tuple(rule for rule, ids in enumerate(self.rule_clauses) if not ids and rule not in excluding)
        # Before calibration: each rule's strongest clause, if strong enough.
        self.initial_triggers = tuple(self._strongest(ids) for ids in self.rule_clauses)
        self._clauses_lookup: _Lookup | None = None
        self._initial_lookup: tuple[_Lookup, tuple[int, ...]] | None = None

    def _strongest(self, ids: tuple[int, ...]) -> int | None:
        best = max(ids, key=lambda clause: self.strength[clause], default=None)
        return best if best is not None and self.strength[best] >= MIN_WEIGHT else None

    def triggers_lookup(self, triggers: Sequence[int | None],
                        seconds: Sequence[int | None] = ()) -> tuple[_Lookup, tuple[int, ...]]:
        """The lookup finding rules by their trigger clause (and second clause, if given:
        see IndexSession._calibrate) and the marks of the rules their exclusion holds
        for, and the rules with neither."""
        atoms: dict[Atom, set[int]] = {}
        for rule, clause in enumerate(triggers):
            if clause is not None:
                for atom in self.clauses[clause]:
                    atoms.setdefault(atom, set()).add(rule)
        paired = []
        for rule, clause in enumerate(seconds):
            if clause is not None and triggers[rule] is not None:
                paired.append(rule)
                for atom in self.clauses[clause]:
                    atoms.setdefault(atom, set()).add(rule + self.size)
        for rule, exclusion in self.exclusions:
            for atom in exclusion:
                atoms.setdefault(atom, set()).add(~rule)
        excluding = {rule for rule, _ in self.exclusions}
        negative = [rule for rule in excluding if triggers[rule] is None]
        untriggered = tuple(rule for rule, clause in enumerate(triggers) if clause is None and rule not in excluding)
        return _Lookup(atoms, self.hidden, negative, self.size, paired), untriggered

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
        # clause -> the calibration events it holds for, as the bits of an int (bit n:
        # the event n calibration events before the end), so joint counts are an AND
        self._seen: dict[int, int] = {}
        self.triggers: Sequence[int | None] = index.initial_triggers
        self.seconds: Sequence[int | None] = ()
        self._lookup, self._always = index.initial_lookup()
        self._clauses = index.clauses_lookup() if calibration > 0 and index.clauses else None
        # id(object) -> (object, its candidates as bits), from screen() (see there).
        self._screened: dict[int, tuple[Mapping[str, Any], int]] = {}
        self._screen: Callable[[Mapping[str, Any]], int | None] = self._first_screen

    def _first_screen(self, document: Mapping[str, Any]) -> int | None:
        # The lookup's bit screen, made when first asked for (again after calibration).
        self._screen = self._lookup.bit_screen()
        return self._screen(document)

    def screen(self, document: Mapping[str, Any], remember: bool = False) -> bool:
        """False only when no rule can match the event read from this JSON object (as
        parsed, before its fields are made). While calibrating, always True, so that the
        counts see every event.

        With *remember*, the candidates found for a kept object are remembered, by
        identity, until candidates() is asked for them: a lazily read event's fields are
        that same object (index-time fields added), so its lookup is not made twice. The
        caller must then not change the object, but for index-time fields, until it is
        fed. An object holding a list or an object is not remembered: its event's fields
        are built anew."""
        if self._clauses is not None or self._always:
            return True
        found = self._screen(document)
        if found is None:
            return True
        if not found:
            return False
        if remember and self._lookup.settled and _CONTAINERS.isdisjoint(map(type, document.values())):
            screened = self._screened
            if len(screened) >= SCREENED_KEPT:  # objects screened but never matched
                screened.clear()
            screened[id(document)] = (document, found)
        return True

    def candidates(self, fields: Mapping[str, Any]) -> set[int]:
        """The rules (by index) that could match the event with these fields."""
        if self._screened:
            screened = self._screened.pop(id(fields), None)
            if screened is not None and screened[0] is fields:
                return _BitScreen.ids(screened[1])
        lookup = self._lookup
        found = lookup.candidates(lookup.find(fields))
        if self._always:
            found.update(self._always)
        if self._clauses is not None:
            self._count(fields)
        return found

    def _count(self, fields: Mapping[str, Any]) -> None:
        assert self._clauses is not None
        counts, seen, bit = self.counts, self._seen, 1 << self.remaining
        for clause in self._clauses.find(fields):
            counts[clause] += 1
            seen[clause] = seen.get(clause, 0) | bit
        self.remaining -= 1
        if self.remaining <= 0:
            self._calibrate()

    def _calibrate(self) -> None:
        index = self.index
        counts, strength = self.counts, index.strength

        def rank(clause: int) -> tuple[int, int]:
            return counts[clause], -strength[clause]

        self.triggers = tuple(min(ids, key=rank) if ids else None for ids in index.rule_clauses)
        self.seconds = tuple(self._second(rule, ids) for rule, ids in enumerate(index.rule_clauses))
        self._lookup, self._always = index.triggers_lookup(self.triggers, self.seconds)
        self._screen = self._first_screen
        self._clauses = None
        self._seen = {}
        logger.debug("rule index calibrated: %d rules triggered (%d with a second clause), %d evaluated on every "
                     "event", len(self.triggers) - len(self._always), len(self._lookup.paired), len(self._always))

    def _second(self, rule: int, clauses: tuple[int, ...]) -> int | None:
        """The clause of *rule* that held least often with its trigger while calibrating,
        if the trigger held on PAIR_AFTER events or more and that clause not every time;
        the rule is then a candidate only when both hold."""
        trigger = self.triggers[rule]
        if trigger is None or len(clauses) < 2 or self.counts[trigger] < PAIR_AFTER:
            return None
        with_trigger, seen, strength = self._seen.get(trigger, 0), self._seen, self.index.strength

        def rank(clause: int) -> tuple[int, int]:
            return (with_trigger & seen.get(clause, 0)).bit_count(), -strength[clause]

        best = min((clause for clause in clauses if clause != trigger), key=rank)
        return best if rank(best)[0] < with_trigger.bit_count() else None

    def summary(self) -> IndexSummary:
        return IndexSummary(self._always, len(self.triggers) - len(self._always), self._clauses is None,
                            len(self._lookup.negative))
