"""Reading event files: find the format, read its records, detect each event's source.

``EventReader(source).read(paths)`` streams ``Event`` objects from files and folders in
constant memory. The format of each file is recognised from its content (gzip-compressed
files are read too):

* ``.evtx`` files (by their magic bytes);
* XmlWinEventLog lines (one ``<Event>`` per line) or a multi-event XML document;
* JSON Lines, JSON arrays, or JSON objects one after the other; a Windows event in
  the nested ``Event.System/EventData`` shape EVTX exporters write, a flat Windows
  event, CrowdStrike FDR events, or any other JSON object (Sigma-generic).

Each record that cannot be read, or (with ``--source cim``) is not a process-creation
event the CIM add-ons map, is counted in the reader's ``log`` with file, line and reason.
"""

from __future__ import annotations

import gzip
import io
import logging
import shutil
import tempfile
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO, Callable, Final, Iterable, Iterator, Mapping

import orjson

from sigmakit.errors import UsageError
from sigmakit.events.cim import to_cim_record
from sigmakit.events.evtx_records import EVTX_MAGIC, evtx_records
from sigmakit.events.json_records import (
    JsonRecord,
    StructureError,
    fields_from_object,
    json_line,
    json_lines,
    json_stream,
)
from sigmakit.events.model import GENERIC_SOURCE, Event, ReadLog
from sigmakit.events.sources import (
    AUTO,
    CIM,
    RAW_SOURCES,
    UNDECIDED,
    SourceCatalog,
    check_source,
    source_catalog,
)
from sigmakit.events.windows import fields_from_json, is_nested_windows_json, text_of
from sigmakit.events.xml_records import XmlRecord, xml_document, xml_lines

logger = logging.getLogger(__name__)

# Files a folder is searched for; a file named on the command line is read whatever its name.
EVENT_FILE_SUFFIXES: Final = (".xml", ".evtx", ".json", ".jsonl", ".ndjson", ".log", ".gz")
_GZIP_MAGIC: Final = b"\x1f\x8b"
_SNIFF_BYTES: Final = 4096
_BLANK_CHUNK: Final = 1 << 20
SPOOL_BYTES: Final = 16 << 20
NOT_CIM: Final = "not a process-creation event of sysmon, security_4688 or crowdstrike (no CIM record)"
_CONTAINERS: Final = frozenset({dict, list})
# Events per list from read_batches(); a few hundred keep the per-event cost of
# handing events on low, and at most one list is held at a time.
BATCH_EVENTS: Final = 256



class UnknownFormatError(ValueError):
    """The file's content is none of the formats the readers take."""


# Errors that end a file's reading (reported by _guarded); events read before stay.
_READ_ERRORS: Final = (UnknownFormatError, StructureError, UnicodeDecodeError, OSError, EOFError)


class Format(str, Enum):
    EVTX = "evtx"
    XML_LINES = "XmlWinEventLog lines"
    XML_DOCUMENT = "XML document"
    JSON_LINES = "JSON Lines"
    JSON_STREAM = "JSON"


# Formats whose records are lines, so that a file can be read in parts (range_batches).
SPLITTABLE: Final = frozenset({Format.JSON_LINES, Format.XML_LINES})  # type: ignore[misc]


def find_event_files(paths: Iterable[str | Path]) -> list[Path]:
    """Event files named by *paths*, folders searched recursively, in a stable order."""
    found: list[Path] = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            found.extend(sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.name.lower().endswith(EVENT_FILE_SUFFIXES) and not p.name.startswith(".")
            ))
        elif path.is_file():
            found.append(path)
        elif path.exists():  # a pipe or a device: read more than once, it would lose events
            raise UsageError(f"not a file or folder: {path} (give standard input as -)")
        else:
            raise UsageError(f"no such file or folder: {path}")
    return found


def _open(path: Path) -> BinaryIO:
    stream: BinaryIO = open(path, "rb")
    if stream.read(2) == _GZIP_MAGIC:
        stream.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    stream.seek(0)
    return stream


def _first_line(stream: BinaryIO) -> bytes:
    for line in stream:
        text = line.strip().lstrip(b"\xef\xbb\xbf")
        if text:
            return text
    return b""


def _blank(stream: BinaryIO) -> bool:
    """Is the opened file empty, or only white space (and a byte-order mark)? Rewound."""
    blank = True
    chunk = stream.read(_SNIFF_BYTES).lstrip(b"\xef\xbb\xbf")
    while chunk and blank:
        blank = not chunk.strip()
        chunk = stream.read(_BLANK_CHUNK)
    stream.seek(0)
    return blank


def sniff_format(stream: BinaryIO) -> Format | None:
    """The format of an opened event file (read from its start; the stream is rewound)."""
    head = stream.read(_SNIFF_BYTES)
    stream.seek(0)
    if head.startswith(EVTX_MAGIC):
        return Format.EVTX
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"[":
        return Format.JSON_STREAM
    if start not in (b"<", b"{"):
        return None
    first = _first_line(stream)
    stream.seek(0)
    if start == b"<":
        # One whole event on the first line means XmlWinEventLog lines, even when that line
        # carries a declaration or a DOCTYPE (which the line's own parse then refuses).
        lines = first.endswith(b"</Event>") and first.startswith((b"<Event", b"<?xml", b"<!DOCTYPE"))
        return Format.XML_LINES if lines else Format.XML_DOCUMENT
    lines = first.startswith(b"{") and first.endswith(b"}") and len(first) > 1
    return Format.JSON_LINES if lines else Format.JSON_STREAM


class EventReader:
    """Reads events from files for one ``--source`` choice, counting what it cannot use.

    *source* is ``auto`` (detect per event), a raw source (``sysmon``, ``security_4688``,
    ``crowdstrike``: match all events with that source's pipeline), ``cim`` (turn raw
    events of the three sources into CIM Endpoint.Processes records) or ``sigma``
    (match with Sigma's own field names, no pipeline).

    *keep*, if given, is asked with each object of a JSON Lines file, as parsed (before
    its fields are made: not flattened, numbers still numbers, no index-time fields),
    and its source, whether the caller has any use for the event; a record it turns
    down is counted like any other event (in ``log.events``) but not made into one.
    (sigmakit's matcher passes its rule index's screen, which turns down objects that
    no rule can match.)
    """

    def __init__(self, source: str = AUTO, log: ReadLog | None = None,
                 keep: Callable[[bytes, str], bool] | None = None) -> None:
        self.source = check_source(source)
        self.log = log if log is not None else ReadLog()
        self.keep = keep
        self._catalog = source_catalog()
        self._forced = source if source in RAW_SOURCES else None

    # -- files ----------------------------------------------------------------------------
    def read(self, paths: Iterable[str | Path]) -> Iterator[Event]:
        """Every event of every file under *paths*; raises UsageError for a missing path."""
        for batch in self.read_batches(paths):
            yield from batch

    def read_batches(self, paths: Iterable[str | Path], size: int = BATCH_EVENTS) -> Iterator[list[Event]]:
        """read(), in lists of up to *size* events (a list never spans two files)."""
        for path in find_event_files(paths):
            yield from self.file_batches(path, size)

    def read_file(self, path: str | Path) -> Iterator[Event]:
        for batch in self.file_batches(path):
            yield from batch

    def file_batches(self, path: str | Path, size: int = BATCH_EVENTS) -> Iterator[list[Event]]:
        file_path = Path(path)
        self.log.files += 1
        yield from self._guarded(str(file_path), lambda: self._file_batches(file_path, size))

    def range_batches(self, path: str | Path, start: int, end: int, first_line: int,
                      size: int = BATCH_EVENTS) -> Iterator[list[Event]]:
        """The events of the lines of a JSON Lines or XmlWinEventLog file between byte
        *start* (a line start, line number *first_line*) and byte *end* (the line
        that starts before *end* is the last), for splitting a file across processes.
        The file's format is recognised from its start. The file is not counted in
        ``log.files`` (the caller counts it once)."""
        file_path = Path(path)
        yield from self._guarded(str(file_path), lambda: self._range_batches(file_path, start, end, first_line, size))

    def _range_batches(self, path: Path, start: int, end: int, first_line: int, size: int) -> Iterator[list[Event]]:
        with open(path, "rb") as stream:
            kind = sniff_format(stream)
            if kind not in SPLITTABLE:
                raise UnknownFormatError(f"only JSON Lines and XmlWinEventLog files are read in parts, not {kind}")
            stream.seek(start)
            lines = _LineRange(stream, end - start, first_line)
            if kind is Format.JSON_LINES and self.source != CIM:
                yield from self._json_line_batches(lines, str(path), size)  # type: ignore[arg-type]
                return
            batch: list[Event] = []
            for record in xml_lines(lines, first_line) if kind is Format.XML_LINES else json_lines(lines, first_line):  # type: ignore[arg-type]
                event = self._event_of(record, str(path))
                if event is not None:
                    batch.append(event)
                    if len(batch) >= size:
                        yield batch
                        batch = []
            if batch:
                yield batch

    def read_stream(self, stream: BinaryIO, name: str) -> Iterator[Event]:
        """Events from a stream that may not seek (standard input), reported as file *name*."""
        for batch in self.stream_batches(stream, name):
            yield from batch

    def stream_batches(self, stream: BinaryIO, name: str, size: int = BATCH_EVENTS) -> Iterator[list[Event]]:
        """read_stream() in lists of up to *size* events.

        The format is recognised from the start of the data, so the stream is first copied
        to a spooled temporary file (in memory up to SPOOL_BYTES, then on disk).
        """
        self.log.files += 1
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            shutil.copyfileobj(stream, spool)
            spool.seek(0)
            yield from self._guarded(name, lambda: self._stream_batches(spool, None, name, size))  # type: ignore[arg-type]

    def read_text(self, text: str, name: str) -> Iterator[Event]:
        """Events from event text held in memory (XML or JSON), reported as file *name*."""
        self.log.files += 1
        data = io.BytesIO(text.encode("utf-8"))
        for batch in self._guarded(name, lambda: self._stream_batches(data, None, name, BATCH_EVENTS)):
            yield from batch

    def read_objects(self, objects: Iterable[tuple[Mapping[str, Any], int]], name: str) -> Iterator[Event]:
        """Events from JSON-like maps with their line (inline events of a rule test)."""
        self.log.files += 1
        for document, line in objects:
            raw = orjson.dumps(document, default=str).decode("utf-8")
            event = self.event_from_fields(fields_of_json(document), raw, name, line)
            if event is not None:
                yield event

    def _guarded(self, file: str, batches: Callable[[], Iterator[list[Event]]]) -> Iterator[list[Event]]:
        try:
            yield from batches()
        except UnknownFormatError as error:
            self.log.add_problem(file, None, str(error))
        except StructureError as error:
            self.log.add_problem(file, error.line, f"{error}; the rest of the file is not read")
        except UnicodeDecodeError as error:
            self.log.add_problem(file, None, f"not UTF-8 text ({error.reason}); the rest of the file is not read")
        except (OSError, EOFError) as error:
            self.log.add_problem(file, None, f"cannot read: {getattr(error, 'strerror', None) or error}")

    def _file_batches(self, path: Path, size: int) -> Iterator[list[Event]]:
        with _open(path) as stream:
            yield from self._stream_batches(stream, path, str(path), size)

    def _stream_batches(self, stream: BinaryIO, path: Path | None, file: str, size: int) -> Iterator[list[Event]]:
        kind = sniff_format(stream)
        logger.debug("%s: %s", file, kind.value if kind else "unknown format")
        if kind is None and _blank(stream) and not (path is not None and path.suffix.lower() == ".evtx"):
            return  # an empty log (a rotated file, say) holds no events; an empty .evtx is broken
        if kind is Format.JSON_LINES and self.source != CIM:
            yield from self._json_line_batches(stream, file, size)
            return
        batch: list[Event] = []
        try:
            for record in _records_of(kind, stream, path):
                event = self._event_of(record, file)
                if event is not None:
                    batch.append(event)
                    if len(batch) >= size:
                        yield batch
                        batch = []
        except _READ_ERRORS:
            if batch:
                yield batch  # the events read before the error still count
            raise
        if batch:
            yield batch

    # -- JSON Lines, the fast way -------------------------------------------------------------
    def _json_line_batches(self, stream: Iterable[bytes], file: str, size: int) -> Iterator[list[Event]]:
        """Events of a JSON Lines file whose fields are built only when first used.

        A line is parsed and its source detected straight from the parsed object; the
        fields (flattening, text values, index-time fields) wait until someone reads them,
        and a line the ``keep`` filter turns down is counted and becomes no event at all.
        Lines this cannot take (the first, which may start with a byte order mark, blank
        or invalid lines, nested Windows events, a source field that is not a plain value)
        go the general way, with its error messages.
        """
        detect, keep, forced = self._catalog.detect_plain, self.keep, self._forced
        generic = self.source == GENERIC_SOURCE
        counts = self.log.events
        build = _JsonLineFields(self._catalog, forced)
        batch: list[Event] = []
        first = stream.first_line if isinstance(stream, _LineRange) else 1
        try:
            for number, line in enumerate(stream, start=first):
                document: Any = None
                if number > 1:
                    try:
                        document = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        pass
                detected = detect(document) if type(document) is dict else UNDECIDED
                if detected is UNDECIDED:
                    record = json_line(line, number)
                    event = None if record is None else self._event_of(record, file)
                else:
                    if forced is not None and detected is not None and detected != forced:
                        self.log.count_mismatch(forced, detected)
                    source = forced or (GENERIC_SOURCE if generic else detected or GENERIC_SOURCE)
                    counts[source] += 1
                    if keep is not None and not keep(document, source):
                        continue
                    record_id = document.get("EventRecordID")
                    event = Event(None, file, number, record_id if type(record_id) is int else _record_id_of(record_id),
                                  source, raw=line, build=build, document=(document, detected))
                if event is not None:
                    batch.append(event)
                    if len(batch) >= size:
                        yield batch
                        batch = []
        except _READ_ERRORS:
            if batch:
                yield batch
            raise
        if batch:
            yield batch

    # -- records --------------------------------------------------------------------------
    def _event_of(self, record: XmlRecord | JsonRecord, file: str) -> Event | None:
        if record.error is not None:
            self.log.add_problem(file, record.position, record.error)
            return None
        if isinstance(record, XmlRecord):
            fields = record.fields or {}
        elif isinstance(record.value, dict):
            fields = fields_of_json(record.value)
        else:
            self.log.add_problem(file, record.position, f"a JSON event must be an object, not {type(record.value).__name__}")
            return None
        return self.event_from_fields(fields, record.text, file, record.position)

    def event_from_fields(self, fields: dict[str, Any], raw: str, file: str, position: int) -> Event | None:
        """Detect the source of one record's fields and add the index-time fields.

        Returns None (and counts why) for an event that is not used, which only happens
        with ``cim`` for events that give no CIM record.
        """
        detected = self._catalog.detect(fields)
        if self._forced is not None and detected is not None and detected != self._forced:
            self.log.count_mismatch(self._forced, detected)
        self._catalog.add_index_fields(fields, raw, file, detected, self._forced)
        if self._forced is not None:
            source = self._forced
        elif self.source == GENERIC_SOURCE:
            source = GENERIC_SOURCE
        else:
            source = detected or GENERIC_SOURCE
        event = Event(fields, file, position, _record_id(fields), source)
        if self.source == CIM:
            record = to_cim_record(event)
            if record is None:
                self.log.add_skipped(NOT_CIM)
                return None
            event = record
        self.log.count_event(event)
        return event


class _LineRange:
    """The lines of an open file from its position on, for *length* bytes (a line that
    starts inside the range is read whole); iterating gives the lines."""

    def __init__(self, stream: BinaryIO, length: int, first_line: int) -> None:
        self.stream = stream
        self.length = length
        self.first_line = first_line

    def __iter__(self) -> Iterator[bytes]:
        left = self.length
        for line in self.stream:
            if left <= 0:
                return
            left -= len(line)
            yield line


class _JsonLineFields:
    """The fields of events read by EventReader._json_line_events (a FieldSource)."""

    def __init__(self, catalog: SourceCatalog, forced: str | None) -> None:
        self.catalog = catalog
        self.forced = forced

    def fields(self, event: Event) -> dict[str, Any]:
        """As the general way gives them: flattened, text values, index-time fields."""
        document, detected = event.document
        fields = fields_of_json(document)
        self.catalog.add_index_fields(fields, _raw_text(event), event.file, detected, self.forced)
        return fields

    def matching_fields(self, event: Event, with_time: bool, with_raw: bool) -> Mapping[str, Any]:
        """A flat object itself, with the index-time fields (``_time`` only *with_time*,
        ``_raw`` only *with_raw*: decoding the line is a fifth of the cost of this call):
        numbers stay numbers, which the matcher reads as it reads their text. The fields
        are built later from it (adding ``_time`` then)."""
        document, detected = event.document
        if not _CONTAINERS.isdisjoint(map(type, document.values())):
            return event.fields
        raw = _raw_text(event) if with_raw else None
        self.catalog.add_index_fields(document, raw, event.file, detected, self.forced, with_time)
        return document  # type: ignore[no-any-return]


def _raw_text(event: Event) -> str:
    return event.raw.decode("utf-8").strip()  # type: ignore[union-attr]


def _records_of(kind: Format | None, stream: BinaryIO, path: Path | None) -> Iterator[XmlRecord | JsonRecord]:
    if kind is None or (kind is Format.EVTX and path is None):
        raise UnknownFormatError("not an event file sigmakit reads (.evtx, Windows event XML or JSON)")
    if kind is Format.EVTX:
        yield from evtx_records(path)  # type: ignore[arg-type]
    elif kind is Format.XML_LINES:
        yield from xml_lines(stream)
    elif kind is Format.XML_DOCUMENT:
        yield from xml_document(stream)
    elif kind is Format.JSON_LINES:
        yield from json_lines(stream)
    else:
        yield from json_stream(io.TextIOWrapper(stream, encoding="utf-8-sig"))


def fields_of_json(document: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON event's flat fields: Windows nested shape or Splunk-style flattening."""
    if not is_nested_windows_json(document):
        return fields_from_object(document)
    fields = fields_from_json(document)
    # Keys beside "Event" are the exporter's own (a source file name, say): kept as fields.
    extra = fields_from_object({k: v for k, v in document.items() if k != "Event"})
    return {**extra, **fields}


def _record_id(fields: Mapping[str, Any]) -> int | None:
    value = fields.get("EventRecordID")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _record_id_of(value: Any) -> int | None:
    """_record_id of the fields a parsed JSON object gives, from its EventRecordID value."""
    if value is None or isinstance(value, (dict, list)):
        return None
    return _record_id({"EventRecordID": text_of(value)})


def read_events(paths: Iterable[str | Path], source: str = AUTO, log: ReadLog | None = None) -> Iterator[Event]:
    """Events from files and folders (see EventReader); problems go to *log*."""
    return EventReader(source, log).read(paths)
