"""Splunk Enterprise Security metadata kept inside a Sigma rule file.

A rule carries its ES settings under one top-level key, ``splunk_es`` (pySigma keeps
unknown top-level keys as custom attributes, so the rule stays a valid Sigma rule for any
other tool). This module defines that structure, its defaults and its validation. Every
error names the file, the key path (``splunk_es.impact``) and its line.

Layout (every key optional unless marked)::

    splunk_es:
      type: TTP                     # required: TTP, Anomaly, Hunting or Correlation
      impact: 70                    # required for TTP/Anomaly: 1..100
      confidence: 70                # required for TTP/Anomaly: 1..100
      risk_message: Possible ... on $dest$   # required for TTP/Anomaly
      risk_objects: [{field: dest, type: system}]   # required for TTP/Anomaly
      threat_objects: [{field: process_name, type: process_name}]
      notable_fields: [user, dest]
      security_domain: endpoint
      analytic_stories: [Living Off The Land]
      data_sources: [Sysmon EventID 1]
      kill_chain_phases: [Exploitation]
      nist: [DE.CM]
      cis20: [CIS 10]
      threat_actors: [Volt Typhoon]
      how_to_implement: text
      macros: {process_diskshadow: process_diskshadow}   # macro name -> selection name
      schedule: {cron_schedule: '0 * * * *', earliest_time: -70m@m,
                 latest_time: -10m@m, schedule_window: auto, disabled: true}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from sigmakit.errors import Location, MetadataError
from sigmakit.rules.yaml_source import KeyPath, YamlPositions

METADATA_KEY: Final = "splunk_es"

DETECTION_TYPES: Final = ("TTP", "Anomaly", "Hunting", "Correlation")
RISK_OBJECT_TYPES: Final = ("system", "user", "other")
SECURITY_DOMAINS: Final = ("endpoint", "network", "threat", "identity", "access", "audit")
KILL_CHAIN_PHASES: Final = (
    "Reconnaissance",
    "Weaponization",
    "Delivery",
    "Exploitation",
    "Installation",
    "Command and Control",
    "Actions on Objectives",
)
_NIST_PATTERN: Final = re.compile(r"^(ID|PR|DE|RS|RC|GV)\.[A-Z]{2}$")
_CIS_PATTERN: Final = re.compile(r"^CIS (\d|1\d|20)$")
_FIELD_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_MACRO_NAME: Final = re.compile(r"^[a-z0-9_]+$")
_TOKEN: Final = re.compile(r"\$([^$]*)\$")
_TIME_MODIFIER: Final = re.compile(r"^(now|0|[+-]?\d+(s|m|h|d|w|mon|q|y)(@(s|m|h|d|w[0-7]?|mon|q|y))?|@(s|m|h|d|w[0-7]?|mon|q|y))$")
_CRON_FIELD: Final = re.compile(r"^[0-9*/,\-]+$")


@dataclass(frozen=True)
class RiskObject:
    """A field of the search's results that receives risk, and what kind of entity it is."""

    field: str
    type: str


@dataclass(frozen=True)
class ThreatObject:
    """A field of the search's results that names a threat artefact (process, file, ...)."""

    field: str
    type: str


@dataclass(frozen=True)
class Schedule:
    """When ES runs the correlation search; defaults are the ESCU defaults for detections."""

    cron_schedule: str = "0 * * * *"
    earliest_time: str = "-70m@m"
    latest_time: str = "-10m@m"
    schedule_window: str = "auto"
    disabled: bool = True


@dataclass(frozen=True)
class EsMetadata:
    """Validated ES metadata of one rule."""

    type: str
    impact: int | None = None
    confidence: int | None = None
    risk_message: str | None = None
    risk_objects: tuple[RiskObject, ...] = ()
    threat_objects: tuple[ThreatObject, ...] = ()
    notable_fields: tuple[str, ...] = ("user", "dest")
    security_domain: str = "endpoint"
    analytic_stories: tuple[str, ...] = ()
    data_sources: tuple[str, ...] = ()
    kill_chain_phases: tuple[str, ...] = ()
    nist: tuple[str, ...] = ()
    cis20: tuple[str, ...] = ()
    threat_actors: tuple[str, ...] = ()
    how_to_implement: str | None = None
    macros: dict[str, str] = field(default_factory=dict)
    schedule: Schedule = Schedule()

    @property
    def risk_score(self) -> int | None:
        """ES risk score: impact x confidence / 100, rounded like Splunk's content build."""
        if self.impact is None or self.confidence is None:
            return None
        return round(self.impact * self.confidence / 100)

    @property
    def creates_risk(self) -> bool:
        return self.type in ("TTP", "Anomaly")

    @property
    def creates_notable(self) -> bool:
        return self.type in ("TTP", "Correlation")

    def message_tokens(self) -> tuple[str, ...]:
        """Field names the risk message refers to as ``$field$``."""
        return tuple(_TOKEN.findall(self.risk_message or ""))


class _Reader:
    """Walks the raw metadata dict, converting values and collecting errors with lines."""

    def __init__(self, raw: dict[str, Any], positions: YamlPositions | None, path: str | None):
        self.raw = raw
        self.positions = positions
        self.path = path
        self.errors: list[MetadataError] = []

    def error(self, key_path: KeyPath, message: str) -> None:
        full = (METADATA_KEY, *key_path)
        line = None if self.positions is None else self.positions.line_of(full)
        dotted = ".".join(str(part) for part in full)
        self.errors.append(MetadataError(f"{dotted}: {message}", location=Location.of(self.path, line)))

    def string(self, key: str, required: bool = False) -> str | None:
        value = self.raw.get(key)
        if value is None:
            if required:
                self.error((key,), "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.error((key,), f"must be a non-empty string, not {value!r}")
            return None
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str | None:
        value = self.raw.get(key, default)
        if value is None:
            self.error((key,), f"is required (one of {', '.join(choices)})")
            return None
        if value not in choices:
            self.error((key,), f"must be one of {', '.join(choices)}, not {value!r}")
            return None
        return str(value)

    def percentage(self, key: str, required: bool) -> int | None:
        value = self.raw.get(key)
        if value is None:
            if required:
                self.error((key,), "is required (a whole number from 1 to 100)")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
            self.error((key,), f"must be a whole number from 1 to 100, not {value!r}")
            return None
        return value

    def string_list(self, key: str, pattern: re.Pattern[str] | None = None,
                    choices: tuple[str, ...] | None = None,
                    default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.raw.get(key)
        if value is None:
            return default
        if not isinstance(value, list):
            self.error((key,), f"must be a list of strings, not {value!r}")
            return default
        result = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.error((key, index), f"must be a non-empty string, not {item!r}")
            elif pattern is not None and not pattern.match(item):
                self.error((key, index), f"{item!r} is not valid here (expected {pattern.pattern})")
            elif choices is not None and item not in choices:
                self.error((key, index), f"{item!r} is not one of {', '.join(choices)}")
            else:
                result.append(item)
        return tuple(result)

    def objects(self, key: str, types: tuple[str, ...] | None) -> list[tuple[str, str]]:
        value = self.raw.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.error((key,), "must be a list of {field, type} maps")
            return []
        result = []
        for index, item in enumerate(value):
            if not isinstance(item, dict) or set(item) != {"field", "type"}:
                self.error((key, index), f"must be a map with exactly the keys field and type, not {item!r}")
                continue
            name, kind = item["field"], item["type"]
            if not isinstance(name, str) or not _FIELD_NAME.match(name):
                self.error((key, index, "field"), f"{name!r} is not a field name")
            elif not isinstance(kind, str) or (types is not None and kind not in types):
                allowed = ", ".join(types) if types else "a string"
                self.error((key, index, "type"), f"must be {allowed}, not {kind!r}")
            else:
                result.append((name, kind))
        return result


def _read_schedule(reader: _Reader) -> Schedule:
    raw = reader.raw.get("schedule")
    if raw is None:
        return Schedule()
    if not isinstance(raw, dict):
        reader.error(("schedule",), "must be a map")
        return Schedule()
    defaults = Schedule()
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in Schedule.__dataclass_fields__:
            reader.error(("schedule", key), f"unknown key (known: {', '.join(Schedule.__dataclass_fields__)})")
        elif key == "disabled":
            if not isinstance(value, bool):
                reader.error(("schedule", key), f"must be true or false, not {value!r}")
            else:
                values[key] = value
        elif not isinstance(value, str):
            reader.error(("schedule", key), f"must be a string, not {value!r}")
        elif key == "cron_schedule" and not _valid_cron(value):
            reader.error(("schedule", key), f"{value!r} is not a five-field cron expression")
        elif key in ("earliest_time", "latest_time") and not _TIME_MODIFIER.match(value):
            reader.error(("schedule", key), f"{value!r} is not a Splunk time modifier such as -70m@m")
        elif key == "schedule_window" and not (value == "auto" or value.isdigit()):
            reader.error(("schedule", key), f"must be auto or a number of minutes, not {value!r}")
        else:
            values[key] = value
    return Schedule(**{**defaults.__dict__, **values})


def _valid_cron(text: str) -> bool:
    parts = text.split()
    return len(parts) == 5 and all(_CRON_FIELD.match(part) for part in parts)


def parse_metadata(
    raw: Any, positions: YamlPositions | None = None, path: str | None = None
) -> EsMetadata:
    """Validate the raw ``splunk_es`` value of a rule; raise MetadataError on the first problem.

    All problems are collected first; the error raised lists every one of them.
    """
    if not isinstance(raw, dict):
        line = None if positions is None else positions.line_of((METADATA_KEY,))
        raise MetadataError(f"{METADATA_KEY}: must be a map", location=Location.of(path, line))
    reader = _Reader(raw, positions, path)
    known = set(EsMetadata.__dataclass_fields__)
    for key in raw:
        if key not in known:
            reader.error((key,), f"unknown key (known: {', '.join(sorted(known))})")

    detection_type = reader.choice("type", DETECTION_TYPES)
    needs_risk = detection_type in ("TTP", "Anomaly")
    impact = reader.percentage("impact", needs_risk)
    confidence = reader.percentage("confidence", needs_risk)
    risk_message = reader.string("risk_message", required=needs_risk)
    risk_objects = [RiskObject(f, t) for f, t in reader.objects("risk_objects", RISK_OBJECT_TYPES)]
    if needs_risk and not risk_objects and "risk_objects" not in raw:
        reader.error(("risk_objects",), "is required for TTP and Anomaly detections")
    threat_objects = [ThreatObject(f, t) for f, t in reader.objects("threat_objects", None)]
    macros = _read_macros(reader)
    metadata = EsMetadata(
        type=detection_type or "TTP",
        impact=impact,
        confidence=confidence,
        risk_message=risk_message,
        risk_objects=tuple(risk_objects),
        threat_objects=tuple(threat_objects),
        notable_fields=reader.string_list("notable_fields", _FIELD_NAME, default=("user", "dest")),
        security_domain=reader.choice("security_domain", SECURITY_DOMAINS, "endpoint") or "endpoint",
        analytic_stories=reader.string_list("analytic_stories"),
        data_sources=reader.string_list("data_sources"),
        kill_chain_phases=reader.string_list("kill_chain_phases", choices=KILL_CHAIN_PHASES),
        nist=reader.string_list("nist", _NIST_PATTERN),
        cis20=reader.string_list("cis20", _CIS_PATTERN),
        threat_actors=reader.string_list("threat_actors"),
        how_to_implement=reader.string("how_to_implement"),
        macros=macros,
        schedule=_read_schedule(reader),
    )
    for token in metadata.message_tokens():
        if not _FIELD_NAME.match(token):
            reader.error(("risk_message",), f"${token}$ is not a $field$ token")
    if reader.errors:
        if len(reader.errors) == 1:
            raise reader.errors[0]
        first = reader.errors[0]
        details = "; ".join(str(error) for error in reader.errors[1:])
        raise MetadataError(f"{first.message}; also: {details}", location=first.location)
    return metadata


def _read_macros(reader: _Reader) -> dict[str, str]:
    raw = reader.raw.get("macros")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        reader.error(("macros",), "must map macro names to selection names")
        return {}
    result = {}
    for name, selection in raw.items():
        if not isinstance(name, str) or not _MACRO_NAME.match(name):
            reader.error(("macros", str(name)), "macro names use lower-case letters, digits and _")
        elif not isinstance(selection, str):
            reader.error(("macros", name), f"must name a selection of the rule, not {selection!r}")
        else:
            result[name] = selection
    return result
