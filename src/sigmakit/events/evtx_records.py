"""Binary Windows event logs (.evtx), read with the ``evtx`` package (pyevtx-rs).

pyevtx-rs renders each record as XML; that XML goes through the same hardened parser and
field naming as XmlWinEventLog lines, so an .evtx file and its Splunk rendering give the
same fields. A record's position is its record number in the file; its EventRecordID
(the number Windows gave it in its log) is kept as the event's ``record_id``.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Final, Iterator

import evtx

from sigmakit.events.xml_records import XmlRecord, parse_event_text

EVTX_MAGIC: Final = b"ElfFile\x00"
_DECLARATION_END: Final = "?>"
_INDENT: Final = re.compile(r">\s+<")


def compact_xml(xml: str) -> str:
    """pyevtx-rs's indented XML as Windows and Splunk write it: no declaration, no indent."""
    text = xml.strip()
    if text.startswith("<?xml"):
        text = text[text.index(_DECLARATION_END) + len(_DECLARATION_END):].lstrip()
    return _INDENT.sub("><", text)


_FILE_HEADER_BYTES: Final = 4096
_CHUNK_BYTES: Final = 65536
_CHUNK_COUNT_OFFSET: Final = 42  # uint16, little-endian, in the file header


def missing_chunks(path: Path) -> tuple[int, int] | None:
    """(chunks present, chunks announced) when the file is shorter than its header says.

    pyevtx-rs silently stops at a cut-off chunk, so a truncated copy of a log would look
    like a log with fewer events; the header's chunk count tells the two apart.
    """
    with open(path, "rb") as stream:
        header = stream.read(_FILE_HEADER_BYTES)
    if len(header) < _CHUNK_COUNT_OFFSET + 2:
        return (0, 1)
    announced = struct.unpack_from("<H", header, _CHUNK_COUNT_OFFSET)[0]
    size = path.stat().st_size
    present = max(0, size - _FILE_HEADER_BYTES) // _CHUNK_BYTES
    return (present, announced) if present < announced else None


def evtx_records(path: Path) -> Iterator[XmlRecord]:
    """Every record of an .evtx file; a damaged record is given with its error.

    A file cut short (fewer chunks than its header announces) ends with an error record.
    Raises OSError when the file cannot be opened as an .evtx file at all.
    """
    try:
        parser = evtx.PyEvtxParser(str(path))
    except (RuntimeError, ValueError) as error:
        raise OSError(f"not a readable .evtx file: {error}") from None
    records = iter(parser.records())
    number = 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            truncated = missing_chunks(path)
            if truncated is not None:
                present, announced = truncated
                yield XmlRecord("", number + 1, error=(
                    f"truncated .evtx: its header announces {announced} chunk(s) of records, the file "
                    f"holds {present} complete; the records of the missing part are lost"))
            return
        except (RuntimeError, ValueError, OSError) as error:
            # pyevtx-rs reports a damaged record (or chunk) here and goes on with the next.
            number += 1
            yield XmlRecord("", number, error=f"damaged .evtx record: {error}")
            continue
        number = int(record.get("event_record_id") or number + 1)
        yield parse_event_text(compact_xml(record["data"]), number)
