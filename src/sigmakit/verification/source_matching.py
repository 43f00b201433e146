"""Pipeline-aware matching: each event matched with the rule as its own source's pipeline
converts it, on the source's native field names, the same mapping the SPL uses.

A ``SourceMatcher`` holds one compiled ``Matcher`` per data source, built when the first
event of that source arrives (or up front, for a source named in ``sources``), and hands
every event to the matcher of ``event.source`` (``sysmon``, ``security_4688``,
``crowdstrike``, ``cim`` or ``sigma``). A rule out of a source's scope matches none of its
events; a rule that cannot be compiled for a source is reported with the number of that
source's events it was not checked against, never silently counted as "no hit".
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Sequence

from sigmakit.errors import EventError, RuleError
from sigmakit.events import GENERIC_SOURCE, Event
from sigmakit.matching import CorrelationHit, Hit, Matcher, MatchSession
from sigmakit.matching.matcher import BATCH_SIZE
from sigmakit.rules import LoadedRule


@dataclass
class SourceState:
    """One data source's compiled rules and its matching session."""

    matcher: Matcher
    session: MatchSession

    @property
    def errors(self) -> list[RuleError]:
        return self.matcher.errors

    @property
    def skipped(self) -> dict[str, str]:
        """Rule title -> why the rule is out of this source's scope."""
        return {s.loaded.title: s.reason for s in self.matcher.skipped}


@dataclass
class SourceMatcher:
    """Rules matched per event source; see the module docstring."""

    rules: list[LoadedRule]
    placeholders: Mapping[str, Sequence[str]] | None = None
    time_field: str | None = None
    sources: Iterable[str] = ()
    states: dict[str, SourceState] = field(default_factory=dict)  # by source name
    events: Counter[str] = field(default_factory=Counter)  # events fed, per source
    order_offset: int = 0
    _compiled: dict[str, Matcher] = field(default_factory=dict, repr=False)
    _screens: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for source in self.sources:
            self.state(source)

    def state(self, source: str) -> SourceState:
        if source not in self.states:
            matcher = self._compiled.get(source)
            if matcher is None:
                target = None if source == GENERIC_SOURCE else source
                matcher = self._compiled[source] = Matcher.compile(self.rules, target, self.placeholders)
            session = matcher.session(self.time_field)
            session.events = self.order_offset
            self.states[source] = SourceState(matcher, session)
            # Sources in name order, not in the order they were first met: what is reported
            # per source (errors, correlation hits) then comes in the same order however
            # the input is read (a part of a parallel run meets its sources in its own order).
            ordered = sorted(self.states.items())
            self.states.clear()
            self.states.update(ordered)
        return self.states[source]

    def fresh(self, order_offset: int = 0) -> "SourceMatcher":
        """A SourceMatcher with the same compiled rules and new sessions, whose events are
        numbered from *order_offset* (for one part of a parallel run)."""
        other = SourceMatcher(self.rules, self.placeholders, self.time_field, order_offset=order_offset)
        other._compiled = self._compiled
        return other

    def absorb(self, source: str, hits: list[int], events: int, occurrences: list[list[Any]],
               dropped: list[int], errors: list[EventError]) -> None:
        """Add what another SourceMatcher's session for *source* saw (a parallel part):
        hit counts, events, the rule hits correlations wait for, and evaluation errors."""
        session = self.state(source).session
        session.absorb(hits, occurrences, dropped, errors)
        self.events[source] += events

    def keep(self, document: Mapping[str, Any], source: str) -> bool:
        """Whether an event of *source* read from this JSON object may be matched by any
        rule (EventReader's ``keep``); objects turned down are counted by the reader but
        never fed, so ``events`` does not count them. The rules found for a kept object
        are remembered until its event is fed (MatchSession.screen): the reader changes
        nothing in the object but its index-time fields."""
        screen = self._screens.get(source)
        if screen is None:
            screen = self._screens[source] = self.state(source).session.screener(remember=True)
        return screen(document)

    def feed(self, event: Event) -> list[Hit]:
        return self.feed_batch([event])

    def feed_batch(self, block: Sequence[Event]) -> list[Hit]:
        """The hits on a block of events, in event order (each run of events of one
        source goes to that source's matcher as one batch)."""
        hits: list[Hit] = []
        for source, run in itertools.groupby(block, key=lambda e: e.source or GENERIC_SOURCE):
            events = list(run)
            self.events[source] += len(events)
            hits.extend(self.state(source).session.feed_batch(events))
        return hits

    def match(self, events: Iterable[Event]) -> Iterator[Hit | CorrelationHit]:
        """Hits in input order, then each source's correlation hits."""
        iterator = iter(events)
        while block := list(itertools.islice(iterator, BATCH_SIZE)):
            yield from self.feed_batch(block)
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
