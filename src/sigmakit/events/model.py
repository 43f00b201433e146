"""The event as every part of sigmakit sees it: field values plus where the event came from."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final, Mapping

# Names of the data sources an event can be read or detected as. The four pipeline
# targets, plus ``sigma`` for events matched with Sigma's own field names (no pipeline).
GENERIC_SOURCE: Final = "sigma"


@dataclass(slots=True)
class Event:
    """One event: its fields (names as the data source writes them) and its location.

    ``line`` is the 1-based line of the event in its file; for formats without lines
    (.evtx, JSON arrays, multi-event XML) it is the 1-based record number. ``record_id``
    is the source's own record number where it has one (an .evtx EventRecordID).
    ``source`` names the data source the event was read or detected as (``sysmon``,
    ``security_4688``, ``crowdstrike``, ``cim`` or ``sigma``), when known.

    Field values are text, as Splunk holds them; a list is a multivalue field. Every
    event read from a file also carries the fields Splunk adds at index time (``_raw``,
    ``source``, ``sourcetype``, ``host``, ``_time`` where known; ``EventCode`` for
    Windows events), so a pipeline's base conditions are evaluated on them.
    """

    fields: Mapping[str, Any]
    file: str
    line: int
    record_id: int | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class ReadProblem:
    """A record that could not be read, or could not be used, and why."""

    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.reason}"


# Problem details kept in memory per run; past this only the counts grow, so a file of
# garbage cannot exhaust memory.
MAX_KEPT_PROBLEMS: Final = 1000


@dataclass
class ReadLog:
    """What a reading run saw besides its events: counts per source and every problem.

    Nothing is dropped silently: each record that is not turned into an event is added
    here with its file, line and reason.
    """

    events: Counter[str] = field(default_factory=Counter)
    problem_count: int = 0
    problems: list[ReadProblem] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    mismatched: Counter[tuple[str, str]] = field(default_factory=Counter)
    files: int = 0

    def add_problem(self, file: str, line: int | None, reason: str) -> None:
        """A record that could not be read."""
        self.problem_count += 1
        if len(self.problems) < MAX_KEPT_PROBLEMS:
            self.problems.append(ReadProblem(file, line, reason))

    def add_skipped(self, reason: str) -> None:
        """A record read fine but not usable for the run (counted per reason)."""
        self.skipped[reason] += 1

    def count_mismatch(self, forced: str, detected: str) -> None:
        """An event read as *forced* whose content shows it is a *detected* event."""
        self.mismatched[(forced, detected)] += 1

    def count_event(self, event: Event) -> None:
        self.events[event.source or GENERIC_SOURCE] += 1

    @property
    def event_count(self) -> int:
        return sum(self.events.values())

    def summary(self) -> str:
        """One line: ``1492 event(s) from 2 file(s) (sysmon 1491, sigma 1); 3 unreadable``."""
        per_source = ", ".join(f"{name} {count}" for name, count in sorted(self.events.items()))
        text = f"{self.event_count} event(s) from {self.files} file(s)"
        if per_source:
            text += f" ({per_source})"
        if self.problem_count:
            text += f"; {self.problem_count} unreadable record(s)"
        for reason, count in sorted(self.skipped.items()):
            text += f"; {count} skipped: {reason}"
        for (forced, detected), count in sorted(self.mismatched.items()):
            text += f"; {count} read as {forced} look like {detected} events"
        return text
