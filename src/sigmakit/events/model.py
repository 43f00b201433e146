"""The event as every part of sigmakit sees it: field values plus where the event came from."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final, Mapping, Protocol

# Names of the data sources an event can be read or detected as. The four pipeline
# targets, plus ``sigma`` for events matched with Sigma's own field names (no pipeline).
GENERIC_SOURCE: Final = "sigma"


class FieldSource(Protocol):
    """Builds the fields of events a reader left unbuilt (Event(build=...))."""

    def fields(self, event: "Event") -> dict[str, Any]:
        """The event's fields (values as text)."""

    def matching_fields(self, event: "Event", with_time: bool) -> Mapping[str, Any]:
        """A mapping the matcher reads exactly as it reads ``fields`` (sigmakit.matching.view:
        a number and its text compare the same), cheaper to get; or ``event.fields``.
        Without *with_time* it may lack ``_time``."""


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

    A reader may leave the fields to be built on first use (``build``, a FieldSource),
    so that an event no rule can match costs no more than its parse: ``fields`` is the
    same mapping either way. ``matching_fields()`` may then give, sooner, a mapping that
    the matcher reads exactly as it reads ``fields`` (see FieldSource).
    """

    __slots__ = ("_fields", "_build", "file", "line", "record_id", "source", "raw", "document")

    def __init__(self, fields: Mapping[str, Any] | None = None, file: str = "", line: int = 0,
                 record_id: int | None = None, source: str | None = None, *, raw: bytes | None = None,
                 build: "FieldSource | None" = None, document: Any = None) -> None:
        if fields is None and build is None:
            raise TypeError("an Event needs its fields or a way to build them")
        self._fields = fields
        self._build = build
        self.file = file
        self.line = line
        self.record_id = record_id
        self.source = source
        self.raw = raw  # the record as read, for *build*, until it has run
        self.document = document  # what *build* reads (the parsed record), until it has run

    @property
    def fields(self) -> Mapping[str, Any]:
        if self._fields is None:
            assert self._build is not None
            self._fields = self._build.fields(self)
            self._build = None
            self.document = self.raw = None
        return self._fields

    def matching_fields(self, with_time: bool = True) -> Mapping[str, Any]:
        """``fields``, or before they are built, what the reader can give for matching
        (without ``_time`` if not *with_time*: a caller that reads no ``_time``)."""
        if self._fields is None and self._build is not None:
            return self._build.matching_fields(self, with_time)
        return self.fields

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return (self.file, self.line, self.record_id, self.source, dict(self.fields)) == (
            other.file, other.line, other.record_id, other.source, dict(other.fields))

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaces

    def __repr__(self) -> str:
        return (f"Event(fields={dict(self.fields)!r}, file={self.file!r}, line={self.line!r}, "
                f"record_id={self.record_id!r}, source={self.source!r})")


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
