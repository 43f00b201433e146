"""Pipeline-aware matching: each event matched with the rule as its own source's pipeline
converts it, on the source's native field names, the same mapping the SPL uses.

A ``SourceMatcher`` holds one compiled ``Matcher`` per data source, built when the first
event of that source arrives, and hands every event to the matcher of ``event.source``
(``sysmon``, ``security_4688``, ``crowdstrike``, ``cim`` or ``sigma``). A rule that is out
of a source's scope matches none of its events; a rule that cannot be compiled for a
source is reported with the number of that source's events it was not checked against,
never silently counted as "no hit".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from sigmakit.errors import EventError, RuleError
from sigmakit.events import GENERIC_SOURCE, Event
from sigmakit.matching import Hit, Matcher, MatchSession
from sigmakit.matching.correlation import CorrelationHit
from sigmakit.rules import LoadedRule


@dataclass
class SourceState:
    """One data source's compiled rules, its matching session and why rules were not used."""

    matcher: Matcher
    session: MatchSession
    skipped: dict[str, str]  # rule title -> reason it is out of this source's scope
    errors: list[RuleError]


@dataclass
class SourceMatcher:
    """Rules matched per event source; see the module docstring."""

    rules: list[LoadedRule]
    states: dict[str, SourceState] = field(default_factory=dict)
    events: Counter[str] = field(default_factory=Counter)  # events fed, per source

    def state(self, source: str) -> SourceState:
        if source not in self.states:
            matcher = Matcher.compile(self.rules, None if source == GENERIC_SOURCE else source)
            skipped = {s.loaded.title: s.reason for s in matcher.skipped}
            self.states[source] = SourceState(matcher, matcher.session(), skipped, list(matcher.errors))
        return self.states[source]

    def feed(self, event: Event) -> list[Hit]:
        source = event.source or GENERIC_SOURCE
        self.events[source] += 1
        return self.state(source).session.feed(event)

    def match(self, events: Iterable[Event]) -> Iterator[Hit | CorrelationHit]:
        """Hits in input order, then each source's correlation hits."""
        for event in events:
            yield from self.feed(event)
        yield from self.finish()

    def finish(self) -> list[CorrelationHit]:
        results: list[CorrelationHit] = []
        for state in self.states.values():
            results.extend(state.session.finish())
        return results

    @property
    def event_errors(self) -> list[EventError]:
        return [error for state in self.states.values() for error in state.session.errors]

    def rule_errors(self) -> dict[str, list[RuleError]]:
        """Per source, the rules that could not be compiled for it."""
        return {source: state.errors for source, state in self.states.items() if state.errors}

    def hit_counts(self) -> Counter[str]:
        """Hits per rule title, over every source."""
        counts: Counter[str] = Counter()
        for state in self.states.values():
            for rule, count in zip(state.matcher.rules, state.session.hits):
                counts[rule.title] += count
        return counts
