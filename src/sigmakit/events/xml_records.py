"""Windows event XML: one ``<Event>`` per line (XmlWinEventLog as Splunk indexes it) and
multi-event XML documents (``wevtutil qe /f:xml``, ``Get-WinEvent | ... ToXml()``).

The parser is hardened: no DTD is loaded, no entity is expanded, nothing is fetched from
the network, and a document that declares a DOCTYPE is refused (Windows never writes
one), so an event file cannot make sigmakit read other files or blow up in memory.
Multi-event documents are parsed incrementally and each event is discarded once read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO, Final, Iterable, Iterator

from lxml import etree

from sigmakit.events.windows import EVENT_TAG, fields_from_element

_PARSER_OPTIONS: Final = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


@dataclass(frozen=True, slots=True)
class XmlRecord:
    """One event element's fields and text, or why it could not be read."""

    text: str
    position: int
    fields: dict[str, Any] | None = None
    error: str | None = None


def _hardened_parser() -> etree.XMLParser:
    return etree.XMLParser(**_PARSER_OPTIONS)


def _check_event(element: etree._Element) -> str | None:
    """Why *element* is not a usable event, or None."""
    if element.getroottree().docinfo.doctype:
        return "a DOCTYPE is not allowed in event XML"
    if etree.QName(element).localname != "Event":
        return f"expected an <Event> element, found <{etree.QName(element).localname}>"
    return None


def parse_event_text(text: str, position: int, parser: etree.XMLParser | None = None) -> XmlRecord:
    """Parse one ``<Event>...</Event>`` text (an XmlWinEventLog line or an .evtx record)."""
    try:
        element = etree.fromstring(text.encode("utf-8"), parser or _hardened_parser())
    except etree.XMLSyntaxError as error:
        return XmlRecord(text, position, error=f"invalid XML: {error.msg}")
    problem = _check_event(element)
    if problem is not None:
        return XmlRecord(text, position, error=problem)
    return XmlRecord(text, position, fields_from_element(element))


def xml_lines(stream: Iterable[bytes], first_line: int = 1) -> Iterator[XmlRecord]:
    """Each non-blank line of an XmlWinEventLog file as one event; position is the line."""
    parser = _hardened_parser()
    for number, line in enumerate(stream, start=first_line):
        try:
            text = line.decode("utf-8-sig" if number == 1 else "utf-8").strip()
        except UnicodeDecodeError as error:
            yield XmlRecord("", number, error=f"not UTF-8 text ({error.reason} at byte {error.start})")
            continue
        if text:
            yield parse_event_text(text, number, parser)


def xml_document(stream: BinaryIO) -> Iterator[XmlRecord]:
    """Every ``<Event>`` of one XML document; position is the 1-based record number.

    A syntax error ends the document (XML cannot be resumed after one): it is given as a
    last record with the error and the line it was found on.
    """
    context = etree.iterparse(stream, events=("end",), tag=(EVENT_TAG, "Event"), **_PARSER_OPTIONS)
    number = 0
    try:
        for _, element in context:
            number += 1
            problem = _check_event(element)
            text = etree.tostring(element, encoding="unicode", with_tail=False)
            if problem is not None:
                yield XmlRecord(text, number, error=problem)
            else:
                yield XmlRecord(text, number, fields_from_element(element))
            _discard(element)
    except etree.XMLSyntaxError as error:
        line = error.position[0] if error.position else None
        where = f" (line {line})" if line else ""
        yield XmlRecord("", number + 1, error=f"invalid XML{where}: {error.msg}; the rest of the file is not read")
        return
    if number == 0:
        # Nothing is dropped silently: an XML file without a single event is reported.
        root = getattr(context, "root", None)
        doctype = root is not None and bool(root.getroottree().docinfo.doctype)
        reason = "a DOCTYPE is not allowed in event XML" if doctype else "no <Event> element in this XML document"
        yield XmlRecord("", 1, error=reason)


def _discard(element: etree._Element) -> None:
    """Free an event once read, with the siblings already read before it."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]
