"""A prefilter on record text: events that no rule of a matcher can match are turned down
before their fields are built, at the cost of a few substring tests on the record's text.

For each rule, the strongest clause of its requirement (requirements.py) whose atoms can
all be searched in the record text (events/raw_text.py: ``findable_forms``) gives keys;
a record whose searchable text (``search_text``) holds none of the keys of any rule
cannot be matched by any rule. A record whose text cannot be searched that way is kept.

A prefilter exists only when it can pay: every rule must have such a clause, as strong
as the rule index asks (one rule without would keep every record), and there must be at
most MAX_KEYS keys, which are
tested one by one (a handful of fast byte searches); larger rule sets rely on the rule
index instead, after the fields are built.
"""

from __future__ import annotations

from typing import Final, Sequence

from sigmakit.events.raw_text import findable_forms, search_text
from sigmakit.matching.index import MIN_WEIGHT
from sigmakit.matching.requirements import Clause, Requirement, clause_strength

MAX_KEYS: Final = 16


class Prefilter:
    """Turns down records whose text no rule can match (see module docstring)."""

    def __init__(self, syntax: str, keys: Sequence[bytes]) -> None:
        self.syntax = syntax
        self.keys = tuple(keys)

    @classmethod
    def of(cls, requirements: Sequence[Requirement], syntax: str) -> "Prefilter | None":
        """The prefilter for rules with these requirements, for records of *syntax*, or
        None when it would keep (nearly) every record."""
        keys: set[bytes] = set()
        for requirement in requirements:
            clause = _searchable(requirement, syntax)
            if clause is None or clause_strength(clause) < MIN_WEIGHT:
                return None
            for atom in clause:
                keys.update(form.encode("utf-8") for form in findable_forms(atom.text, atom.field, syntax) or ())
            if len(keys) > MAX_KEYS:
                return None
        # A key that holds another key adds nothing: wherever it is, the other is too.
        minimal = sorted(key for key in keys if not any(other != key and other in key for other in keys))
        return cls(syntax, minimal) if minimal else None

    def may_match(self, raw: bytes) -> bool:
        """False only when no rule can match the record whose text is *raw*."""
        text = search_text(raw, self.syntax)
        if text is None:
            return True
        for key in self.keys:
            if key in text:
                return True
        return False


def _searchable(requirement: Requirement, syntax: str) -> Clause | None:
    """The strongest clause whose every atom can be searched in record text of *syntax*."""
    best: Clause | None = None
    for clause in requirement:
        if all(findable_forms(atom.text, atom.field, syntax) for atom in clause):
            if best is None or clause_strength(clause) > clause_strength(best):
                best = clause
    return best
