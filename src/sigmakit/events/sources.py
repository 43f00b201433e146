"""Which data source an event comes from, and the fields Splunk adds when it indexes it.

What identifies a data source is read from its pipeline definition
(``sigmakit.pipelines.data_source``), never restated here:

* Windows events (they have ``Channel`` and ``EventID``) are indexed by Splunk as
  XmlWinEventLog with ``source = XmlWinEventLog:<Channel>``; the data source whose
  ``source`` setting equals that is the event's source (Sysmon's channel gives
  ``sysmon``, the Security log ``security_4688``);
* other sources name a field that only their raw events have in their ``reader`` block
  (``detect_field``) and where Splunk takes the time from; the host is the first field
  present of the source's ``result_fields.dest`` (the ES searches' dest);
* anything else is a Sigma-generic event, matched with Sigma's own field names.

Every event then gets the index-time fields the pipelines' base conditions test
(``source``, ``sourcetype``, ``EventCode`` for Windows, ``host``, ``_time``, ``_raw``),
unless the event already carries them (a Splunk export does). Values are read through
their text (``text_of``), so the fields of a flat JSON object, numbers still numbers,
get the same index-time fields as the same object's text fields.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final, Mapping, MutableMapping

from sigmakit.errors import UsageError
from sigmakit.events.model import GENERIC_SOURCE
from sigmakit.events.windows import text_of
from sigmakit.pipelines import TARGETS, data_source

AUTO: Final = "auto"
CIM: Final = "cim"
# What ``--source`` accepts: detection, one raw source forced, CIM records, or plain Sigma.
RAW_SOURCES: Final = tuple(t for t in TARGETS if t != CIM)
SOURCE_CHOICES: Final = (AUTO, *RAW_SOURCES, CIM, GENERIC_SOURCE)

# Splunk's convention for Windows event logs collected as XmlWinEventLog.
WINDOWS_SOURCE_PREFIX: Final = "XmlWinEventLog:"
WINDOWS_SOURCETYPE: Final = "XmlWinEventLog"
WINDOWS_HOST_FIELD: Final = "Computer"
WINDOWS_TIME_FIELD: Final = "TimeCreated_SystemTime"
# Sysmon's own event time (UTC), for Windows events exported without their System block.
SYSMON_TIME_FIELD: Final = "UtcTime"
WINDOWS_EVENT_ID_FIELD: Final = "EventID"
# The fields add_index_fields may give an event that its record does not hold.
INDEX_TIME_FIELDS: Final = frozenset({"_raw", "source", "sourcetype", "host", "_time", "EventCode",
                                      *(data_source(t).event_code_field or "EventCode" for t in RAW_SOURCES)})
# SourceCatalog.detect_plain's answer when only the event's fields can tell its source.
UNDECIDED: Final = object()
_PLAIN_ID: Final = frozenset({int, str})
# Splunk's sourcetype for JSON it does not otherwise know; source is the file's path.
GENERIC_JSON_SOURCETYPE: Final = "_json"

_ISO_TIME: Final = re.compile(
    r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?\s*(Z|[+-]\d\d:?\d\d)?$"
)


def check_source(name: str) -> str:
    """Return *name* if ``--source`` accepts it, else raise UsageError with a hint."""
    if name not in SOURCE_CHOICES:
        import difflib

        close = difflib.get_close_matches(name, SOURCE_CHOICES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(f"unknown event source {name!r} (known: {', '.join(SOURCE_CHOICES)}){hint}")
    return name


def is_windows_event(fields: MutableMapping[str, Any]) -> bool:
    return "Channel" in fields and WINDOWS_EVENT_ID_FIELD in fields


@dataclass(frozen=True)
class ReaderRule:
    """A non-Windows source's reader facts, from ``vars.sigmakit.reader`` of its pipeline."""

    target: str
    detect_field: str
    host_fields: tuple[str, ...]
    time_field: str | None
    time_unit: str

    @classmethod
    def of(cls, target: str) -> "ReaderRule | None":
        described = data_source(target)
        settings = described.reader
        if "detect_field" not in settings:
            return None
        # The host is the event's dest, as the data source's ES result fields define it.
        dest = (described.settings.get("result_fields") or {}).get("dest", ())
        return cls(
            target=target,
            detect_field=str(settings["detect_field"]),
            host_fields=tuple(str(f) for f in ([dest] if isinstance(dest, str) else dest)),
            time_field=settings.get("time_field"),
            time_unit=str(settings.get("time_unit", "s")),
        )


class SourceCatalog:
    """The readers' view of the data sources, built once from the pipeline definitions."""

    def __init__(self) -> None:
        self.windows_sources: dict[str, str] = {}
        self.rules: dict[str, ReaderRule] = {}
        for target in RAW_SOURCES:
            source = data_source(target).source
            if source and source.startswith(WINDOWS_SOURCE_PREFIX):
                self.windows_sources[source] = target
            rule = ReaderRule.of(target)
            if rule is not None:
                self.rules[target] = rule
        self._windows_settings: dict[str | None, tuple[str, str]] = {}
        self._detection_fields = ("Channel", WINDOWS_EVENT_ID_FIELD, *(r.detect_field for r in self.rules.values()))

    def detect(self, fields: MutableMapping[str, Any]) -> str | None:
        """The data source an event's content shows, or None for a Sigma-generic event."""
        if is_windows_event(fields):
            return self.windows_sources.get(WINDOWS_SOURCE_PREFIX + text_of(fields["Channel"]))
        for target, rule in self.rules.items():
            if rule.detect_field in fields:
                return target
        return None

    def detect_plain(self, document: Mapping[str, Any]) -> str | None | object:
        """detect() on a parsed JSON object before its fields are made, or UNDECIDED when
        the fields could say otherwise: a nested Windows event (``Event``), or an object
        or list where detection reads a value (flattening renames or drops those)."""
        channel = document.get("Channel")
        if type(channel) is str and type(document.get(WINDOWS_EVENT_ID_FIELD)) in _PLAIN_ID and "Event" not in document:
            return self.windows_sources.get(WINDOWS_SOURCE_PREFIX + channel)  # the usual Windows event
        if "Event" in document:
            return UNDECIDED
        for name in self._detection_fields:
            if type(document.get(name)) in (dict, list):
                return UNDECIDED
        return self.detect(document)  # type: ignore[arg-type]

    def add_index_fields(
        self, fields: MutableMapping[str, Any], raw: str, file: str, detected: str | None, forced: str | None,
        with_time: bool = True,
    ) -> None:
        """Add what Splunk would add at index time; fields the event has are kept.

        The event's own content decides (*detected*); only an event whose content names
        no source takes the forced source's settings, so an event of the wrong source
        keeps fields that make the forced source's base conditions fail. Without
        *with_time*, ``_time`` is left out (reading a timestamp is the costly part, and
        a caller may know no one reads it; calling again with it adds it).
        """
        fields.setdefault("_raw", raw)
        if is_windows_event(fields):
            self._windows_fields(fields, detected, with_time)
            return
        target = detected or (forced if forced in RAW_SOURCES else None)
        if target is None:
            fields.setdefault("source", file)
            fields.setdefault("sourcetype", GENERIC_JSON_SOURCETYPE)
            return
        settings = data_source(target)
        _set_if(fields, "source", settings.source)
        _set_if(fields, "sourcetype", settings.sourcetype)
        rule = self.rules.get(target)
        if rule is not None:
            _set_if(fields, "host", _text(_first_present(fields, rule.host_fields)))
            if rule.time_field and with_time:
                _set_if(fields, "_time", epoch_text(fields.get(rule.time_field), rule.time_unit))
        elif settings.event_code_field:  # a Windows source, read from an event without Channel
            _set_if(fields, settings.event_code_field, _text(fields.get(WINDOWS_EVENT_ID_FIELD)))
            _set_if(fields, "host", _text(fields.get(WINDOWS_HOST_FIELD)))
            if with_time:
                _set_if(fields, "_time", _windows_time(fields))

    def _windows_fields(self, fields: MutableMapping[str, Any], detected: str | None, with_time: bool) -> None:
        # Run for every Windows event read: the data source's settings are looked up once.
        sourcetype, code_field = self._windows_settings.get(detected) or self._windows_setting(detected)
        if "source" not in fields:
            fields["source"] = WINDOWS_SOURCE_PREFIX + text_of(fields["Channel"])
        if "sourcetype" not in fields:
            fields["sourcetype"] = sourcetype
        if code_field not in fields:
            fields[code_field] = _text(fields[WINDOWS_EVENT_ID_FIELD])
        if "host" not in fields:
            _set_if(fields, "host", _text(fields.get(WINDOWS_HOST_FIELD)))
        if with_time and "_time" not in fields:
            _set_if(fields, "_time", _windows_time(fields))

    def _windows_setting(self, detected: str | None) -> tuple[str, str]:
        settings = data_source(detected) if detected else None
        found = ((settings.sourcetype if settings else None) or WINDOWS_SOURCETYPE,
                 (settings.event_code_field if settings else None) or "EventCode")
        self._windows_settings[detected] = found
        return found


def _windows_time(fields: MutableMapping[str, Any]) -> str | None:
    """_time of a Windows event: its TimeCreated, else Sysmon's UtcTime."""
    return epoch_text(fields.get(WINDOWS_TIME_FIELD), "iso8601") or epoch_text(fields.get(SYSMON_TIME_FIELD), "iso8601")


@functools.lru_cache(maxsize=1)
def source_catalog() -> SourceCatalog:
    return SourceCatalog()


def _text(value: Any) -> Any:
    """A copied value as text (lists and None as they are), as the event's fields hold it."""
    return value if value is None or isinstance(value, (str, list, dict)) else text_of(value)


def _set_if(fields: MutableMapping[str, Any], name: str, value: Any) -> None:
    if value is not None and value != "" and name not in fields:
        fields[name] = value


def _first_present(fields: MutableMapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = fields.get(name)
        if value not in (None, ""):
            return value
    return None


def epoch_text(value: Any, unit: str) -> str | None:
    """A timestamp as Splunk's ``_time`` (seconds since 1970 as text), or None.

    *unit* is ``iso8601`` (``2021-06-05T20:17:05.433984000Z``; no zone means UTC, as in
    Windows events), ``ms`` or ``s`` (epoch numbers).
    """
    if value is None or value == "":
        return None
    text = text_of(value).strip()
    if unit == "iso8601":
        match = _ISO_TIME.match(text)
        if match is None:
            return None
        day, clock, fraction, zone = match.groups()
        zone = "+00:00" if zone in (None, "Z") else zone
        try:
            moment = datetime.fromisoformat(f"{day}T{clock}.{(fraction or '0')[:6]:0<6}{zone}")
        except ValueError:
            return None
        return f"{moment.astimezone(timezone.utc).timestamp():.6f}"
    try:
        number = float(text)
    except ValueError:
        return None
    return f"{number / 1000 if unit == 'ms' else number:.6f}"
