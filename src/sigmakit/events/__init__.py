"""Events: readers that turn bytes into events with a location (they know nothing of rules).

``read_events(paths, source)`` streams ``Event`` objects from .evtx files, Windows event
XML (XmlWinEventLog lines or documents) and JSON (Lines, arrays, the nested EVTX-exporter
shape, CrowdStrike FDR); ``ReadLog`` counts what could not be used. Each event carries
the index-time fields Splunk would add, and its detected data source; ``to_cim_record``
gives the CIM Endpoint.Processes record of a raw process-creation event.
"""

from sigmakit.events.cim import DERIVATIONS, derivation_table, to_cim_record
from sigmakit.events.model import GENERIC_SOURCE, Event, ReadLog, ReadProblem
from sigmakit.events.reader import EventReader, find_event_files, read_events
from sigmakit.events.sources import AUTO, CIM, RAW_SOURCES, SOURCE_CHOICES, check_source

__all__ = [
    "AUTO",
    "CIM",
    "DERIVATIONS",
    "GENERIC_SOURCE",
    "RAW_SOURCES",
    "SOURCE_CHOICES",
    "Event",
    "EventReader",
    "ReadLog",
    "ReadProblem",
    "check_source",
    "derivation_table",
    "find_event_files",
    "read_events",
    "to_cim_record",
]
