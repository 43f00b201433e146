"""Windows events, from any of their forms, as one flat set of fields.

A Windows event has ``System`` fields (EventID, Channel, Computer, TimeCreated...) and
``EventData`` fields named by their ``Data Name=`` attribute. The XML form (an
XmlWinEventLog line, a multi-event XML file, an .evtx record) and the JSON form that
EVTX exporters write (``{"Event": {"System": {...}, "EventData": {...}}}``) give the same
flat fields, named by one rule:

* a System element's text is named by its tag (``EventID``, ``Channel``, ``Computer``);
* a System element's attribute is ``<tag>_<attribute>`` (``Provider_Name``,
  ``TimeCreated_SystemTime``, ``Execution_ProcessID``, ``Security_UserID``);
* an EventData ``<Data Name="X">`` is ``X``; unnamed ``<Data>`` values form the
  multivalue field ``Data``; a UserData block gives its leaf elements by tag;
* values are text, as Splunk holds them; an empty EventData value is ``""``, an
  empty System element gives no field.

Two renderings differ in ways that do not matter to a detection and are evened out here:
pyevtx-rs writes GUIDs without the braces Windows (and so Splunk) shows, and JSON writes
numbers as numbers.
"""

from __future__ import annotations

import re
from typing import Any, Final, Iterator, Mapping

from lxml import etree

EVENT_NAMESPACE: Final = "http://schemas.microsoft.com/win/2004/08/events/event"
EVENT_TAG: Final = f"{{{EVENT_NAMESPACE}}}Event"

_BARE_GUID: Final = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
_ATTRIBUTES: Final = "#attributes"
_TEXT: Final = "#text"


def text_of(value: Any) -> str:
    """A JSON scalar as the text Splunk would hold (``true``, ``4688``, ``0.5``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _braced(name: str, value: str) -> str:
    if name.endswith("Guid") and _BARE_GUID.match(value):
        return "{" + value.upper() + "}"
    return value


def _local(tag: Any) -> str:
    """An element's tag without its namespace ("" for comments and the like)."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


# -- XML ---------------------------------------------------------------------------------
def fields_from_element(event: etree._Element) -> dict[str, Any]:
    """The flat fields of one ``<Event>`` element."""
    fields: dict[str, Any] = {}
    for section in event:
        name = _local(section.tag)
        if name == "System":
            _put_all(fields, _system_elements(section))
        elif name == "EventData":
            _put_all(fields, _event_data_elements(section))
        elif name == "UserData":
            _put_all(fields, _leaf_elements(section))
    return fields


def _system_elements(section: etree._Element) -> Iterator[tuple[str, str]]:
    for element in section:
        tag = _local(element.tag)
        if not tag:
            continue
        text = (element.text or "").strip()
        if text:
            yield tag, text
        for attribute, value in element.attrib.items():
            yield f"{tag}_{_local(attribute)}", value


def _event_data_elements(section: etree._Element) -> Iterator[tuple[str, str]]:
    # The hot loop of XML reading (one pass per Data element): plain string operations.
    for element in section:
        tag = element.tag
        if not isinstance(tag, str):
            continue
        tag = tag.rpartition("}")[2]
        name = (element.get("Name") or "Data") if tag == "Data" else tag
        yield name, element.text or ""


def _leaf_elements(section: etree._Element) -> Iterator[tuple[str, str]]:
    for element in section.iter():
        if element is section or len(element) or not _local(element.tag):
            continue
        yield _local(element.tag), element.text or ""


def _put_all(fields: dict[str, Any], pairs: Iterator[tuple[str, str]]) -> None:
    for name, value in pairs:
        if name.endswith("Guid"):
            value = _braced(name, value)
        _put(fields, name, value)


def _put(fields: dict[str, Any], name: str, value: Any) -> None:
    """Set a field; a name seen twice in one block (unnamed ``Data``) becomes multivalue."""
    if name == "Data" and name in fields:
        previous = fields[name]
        fields[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
    else:
        fields[name] = value


# -- JSON (EVTX exporters) -----------------------------------------------------------------
def is_nested_windows_json(document: Mapping[str, Any]) -> bool:
    """True for the ``{"Event": {"System": ..., ...}}`` shape EVTX exporters write."""
    event = document.get("Event")
    return isinstance(event, dict) and isinstance(event.get("System"), dict)


def fields_from_json(document: Mapping[str, Any]) -> dict[str, Any]:
    """The flat fields of one nested JSON Windows event (see is_nested_windows_json)."""
    event = document["Event"]
    fields: dict[str, Any] = {}
    for tag, value in event["System"].items():
        _put_all(fields, _system_json(tag, value))
    event_data = event.get("EventData")
    if isinstance(event_data, dict):
        _put_all(fields, _event_data_json(event_data))
    user_data = event.get("UserData")
    if isinstance(user_data, dict):
        _put_all(fields, _leaf_json(user_data))
    return fields


def _system_json(tag: str, value: Any) -> Iterator[tuple[str, str]]:
    if value is None:
        return
    if not isinstance(value, dict):
        yield tag, text_of(value)
        return
    if _TEXT in value and value[_TEXT] is not None:
        yield tag, text_of(value[_TEXT])
    for attribute, attribute_value in (value.get(_ATTRIBUTES) or {}).items():
        if attribute_value is not None:
            yield f"{tag}_{attribute}", text_of(attribute_value)


def _event_data_json(event_data: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for name, value in event_data.items():
        if name == _ATTRIBUTES or value is None:
            continue
        if isinstance(value, dict):
            value = value.get(_TEXT)
            if value is None:
                continue
        if isinstance(value, list):
            for item in value:
                yield name, text_of(item)
        else:
            yield name, text_of(value)


def _leaf_json(block: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for name, value in block.items():
        if name == _ATTRIBUTES or value is None:
            continue
        if isinstance(value, dict):
            yield from _leaf_json(value)
        elif not isinstance(value, list):
            yield name, text_of(value)
