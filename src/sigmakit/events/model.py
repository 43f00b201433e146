"""The event as every part of sigmakit sees it: field values plus where the event came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(slots=True)
class Event:
    """One event: its fields (names as the data source writes them) and its location.

    ``line`` is the 1-based line of the event in its file; for formats without lines
    (.evtx, JSON arrays, multi-event XML) it is the 1-based record number. ``record_id``
    is the source's own record number where it has one (an .evtx EventRecordID).
    ``source`` names the data source the event was read or detected as (``sysmon``,
    ``security_4688``, ``crowdstrike``, ``cim`` or ``sigma``), when known.
    """

    fields: Mapping[str, Any]
    file: str
    line: int
    record_id: int | None = None
    source: str | None = None
