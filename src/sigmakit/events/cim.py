"""CIM records: the ``Endpoint.Processes`` record Splunk would build from a raw event.

In Splunk, the Sysmon, Windows and CrowdStrike add-ons give each process-creation event
CIM field names, and the CIM data model then fills its calculated fields: ``"unknown"``
where a value is null or empty, ``process_name`` recovered from the command line when the
add-on gave none, the integrity level in lower case. This module does the same for one
raw event, so the ``cim`` pipeline's rule can be matched on what a tstats search over the
data model would see.

Every derivation is one row of ``DERIVATIONS``; docs/cim-records.md shows the table,
generated from these rows (``scripts/generate_docs.py``), and a test keeps the two
the same. The record's field names are ``Processes.<field>``, the names the ``cim``
pipeline maps Sigma fields to; a test checks the two sets agree.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Callable, Final, Mapping

from sigmakit.events.model import Event
from sigmakit.events.sources import RAW_SOURCES
from sigmakit.pipelines import data_source

DATASET: Final = "Processes"
UNKNOWN: Final = "unknown"
CIM_SOURCE: Final = "cim"

Fields = Mapping[str, Any]
Value = "str | list[str] | None"
Rule = Callable[[Fields], Value]


@dataclass(frozen=True)
class Derivation:
    """How one source's event gives one CIM field: a readable rule and the function."""

    text: str
    derive: Rule


@dataclass(frozen=True)
class CimField:
    """One field of the Endpoint.Processes record and its derivation per raw source.

    ``fallback`` (for process_name and parent_process_name) is the data model's own
    recovery from another CIM field when the add-on gave no value. Whether an empty
    field reads ``"unknown"`` (the data model's calculated fields) or is absent is the
    ``cim`` pipeline's ``missing_values`` setting (see calculated_fields).
    """

    name: str
    sources: Mapping[str, Derivation]
    fallback: tuple[str, str] | None = None  # (CIM field, description)

    @property
    def calculated(self) -> bool:
        return f"{DATASET}.{self.name}" in calculated_fields()


@functools.lru_cache(maxsize=1)
def calculated_fields() -> frozenset[str]:
    """The data model's calculated fields, which hold ``unknown_value()`` when empty."""
    missing = data_source(CIM_SOURCE).settings.get("missing_values") or {}
    return frozenset(missing.get("stored_fields") or ())


def unknown_value() -> str:
    missing = data_source(CIM_SOURCE).settings.get("missing_values") or {}
    return str(missing.get("stored_as", UNKNOWN))


# -- value helpers --------------------------------------------------------------------------
def _value(fields: Fields, name: str) -> str | None:
    value = fields.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def basename(path: str | None) -> str | None:
    """The file name of a Windows path (``C:\\x\\y.exe`` and ``\\Device\\...\\y.exe`` alike)."""
    if path is None:
        return None
    name = re.split(r"[\\/]", path.rstrip("\\/"))[-1]
    return name or None


def executable_of(command_line: str | None) -> str | None:
    """The program a command line starts: its quoted path or first token, as a file name."""
    if command_line is None:
        return None
    text = command_line.strip()
    if text.startswith('"'):
        end = text.find('"', 1)
        program = text[1:end] if end > 0 else text[1:]
    else:
        program = text.split(None, 1)[0] if text else ""
    return basename(program) if program else None


def decimal_of_hex(text: str | None) -> str | None:
    """A Windows hexadecimal id (``0xda8``) as the decimal number the data model holds."""
    if text is None:
        return None
    try:
        return str(int(text, 16)) if text.lower().startswith("0x") else str(int(text))
    except ValueError:
        return text


# Mandatory integrity level RIDs (S-1-16-<rid>) and the data model's names for them.
INTEGRITY_LEVELS: Final = {
    0: "untrusted",
    4096: "low",
    8192: "medium",
    8448: "medium high",
    12288: "high",
    16384: "system",
    20480: "protected process",
}


def integrity_of_rid(text: str | None) -> str | None:
    """``S-1-16-12288`` or ``12288`` as the data model's level name (``high``)."""
    if text is None:
        return None
    match = re.fullmatch(r"(?:[sS]-1-16-)?(\d+)", text.strip())
    if match is None:
        return text.lower()
    return INTEGRITY_LEVELS.get(int(match.group(1)), text.lower())


def digests(text: str | None) -> list[str] | None:
    """Sysmon's ``Hashes`` (``SHA1=..,MD5=..``) as one value per digest, as the add-on
    fills the multivalue ``process_hash``."""
    if text is None:
        return None
    values = [part.strip() for part in text.split(",") if part.strip()]
    return values or None


# -- derivation rules ------------------------------------------------------------------------
def field(name: str) -> Derivation:
    return Derivation(f"`{name}`", lambda f: _value(f, name))


def basename_of(name: str) -> Derivation:
    return Derivation(f"file name of `{name}`", lambda f: basename(_value(f, name)))


def lower_of(name: str) -> Derivation:
    return Derivation(f"`{name}` in lower case", lambda f: (_value(f, name) or "").lower() or None)


def decimal_of(name: str) -> Derivation:
    return Derivation(f"`{name}` from hexadecimal to decimal", lambda f: decimal_of_hex(_value(f, name)))


def integrity_of(name: str) -> Derivation:
    return Derivation(f"level name of the integrity RID in `{name}`", lambda f: integrity_of_rid(_value(f, name)))


def first_of(*names: str) -> Derivation:
    def derive(fields: Fields) -> str | None:
        for name in names:
            value = _value(fields, name)
            if value is not None:
                return value
        return None

    return Derivation(" else ".join(f"`{n}`" for n in names), derive)


def digests_of(name: str) -> Derivation:
    return Derivation(f"`{name}` split at commas: one value per digest (multivalue)",
                      lambda f: digests(_value(f, name)))


SYSMON: Final = "sysmon"
SECURITY_4688: Final = "security_4688"
CROWDSTRIKE: Final = "crowdstrike"

DERIVATIONS: Final[tuple[CimField, ...]] = (
    CimField("dest", {SYSMON: field("Computer"), SECURITY_4688: field("Computer"),
                      CROWDSTRIKE: first_of("aid_computer_name", "ComputerName")}),
    CimField("user", {SYSMON: field("User"), SECURITY_4688: field("SubjectUserSid"),
                      CROWDSTRIKE: first_of("UserName", "UserSid")}),
    CimField("process_path", {SYSMON: field("Image"), SECURITY_4688: field("NewProcessName"),
                              CROWDSTRIKE: field("ImageFileName")}),
    CimField("process_name", {SYSMON: basename_of("Image"), SECURITY_4688: basename_of("NewProcessName"),
                              CROWDSTRIKE: basename_of("ImageFileName")},
             fallback=("process", "the program named at the start of `process`")),
    CimField("process", {SYSMON: field("CommandLine"), SECURITY_4688: field("CommandLine"),
                         CROWDSTRIKE: field("CommandLine")}),
    CimField("original_file_name", {SYSMON: field("OriginalFileName"),
                                    CROWDSTRIKE: field("OriginalFilename")}),
    CimField("process_id", {SYSMON: field("ProcessId"), SECURITY_4688: decimal_of("NewProcessId"),
                            CROWDSTRIKE: field("RawProcessId")}),
    CimField("process_guid", {SYSMON: field("ProcessGuid")}),
    CimField("process_current_directory", {SYSMON: field("CurrentDirectory")}),
    CimField("process_integrity_level", {SYSMON: lower_of("IntegrityLevel"),
                                         SECURITY_4688: integrity_of("MandatoryLabel"),
                                         CROWDSTRIKE: integrity_of("IntegrityLevel")}),
    CimField("process_hash", {SYSMON: digests_of("Hashes"), CROWDSTRIKE: field("SHA256HashData")}),
    CimField("parent_process_path", {SYSMON: field("ParentImage"), SECURITY_4688: field("ParentProcessName")}),
    CimField("parent_process_name", {SYSMON: basename_of("ParentImage"),
                                     SECURITY_4688: basename_of("ParentProcessName"),
                                     CROWDSTRIKE: field("ParentBaseFileName")},
             fallback=("parent_process", "the program named at the start of `parent_process`")),
    CimField("parent_process", {SYSMON: field("ParentCommandLine")}),
    CimField("parent_process_id", {SYSMON: field("ParentProcessId"), SECURITY_4688: decimal_of("ProcessId"),
                                   CROWDSTRIKE: field("ParentProcessId")}),
    CimField("parent_process_guid", {SYSMON: field("ParentProcessGuid")}),
    CimField("parent_user", {SYSMON: field("ParentUser")}),
)


# -- records ----------------------------------------------------------------------------------
def is_process_creation(fields: Fields, source: str) -> bool:
    """Whether a raw event of *source* is a process-creation event, by that source's own
    base search (``source``/``sourcetype``/... and the event code of ``process_creation``)."""
    described = data_source(source)
    conditions: dict[str, Any] = dict(described.base_conditions)
    if described.event_code_field:
        conditions[described.event_code_field] = described.event_code("process_creation")
    for name, expected in conditions.items():
        allowed = expected if isinstance(expected, list) else [expected]
        value = _value(fields, name)
        # Splunk compares field values without regard to case.
        if value is None or value.lower() not in {str(a).lower() for a in allowed}:
            return False
    return True


def cim_fields(fields: Fields, source: str) -> dict[str, Any]:
    """The ``Processes.*`` fields (plus ``_time``) for a raw process event of *source*."""
    # 1. what the add-on supplies; 2. the data model's recovery from other fields;
    # 3. "unknown" for calculated fields still empty.
    record: dict[str, Any] = {}
    for cim_field in DERIVATIONS:
        derivation = cim_field.sources.get(source)
        record[cim_field.name] = derivation.derive(fields) if derivation else None
    for cim_field in DERIVATIONS:
        if record[cim_field.name] is None and cim_field.fallback is not None:
            record[cim_field.name] = executable_of(record[cim_field.fallback[0]])
    for cim_field in DERIVATIONS:
        if record[cim_field.name] is None and cim_field.calculated:
            record[cim_field.name] = unknown_value()
    result: dict[str, Any] = {f"{DATASET}.{name}": value for name, value in record.items() if value is not None}
    if "_time" in fields:
        result["_time"] = fields["_time"]
    return result


def to_cim_record(event: Event) -> Event | None:
    """The CIM record of a raw process-creation event, or None for any other event."""
    source = event.source
    if source not in RAW_SOURCES or not is_process_creation(event.fields, source):
        return None
    return Event(cim_fields(event.fields, source), event.file, event.line, event.record_id, CIM_SOURCE)


# -- documentation ------------------------------------------------------------------------------
def derivation_table() -> str:
    """The Markdown table of every derivation (docs/cim-records.md holds this text)."""
    titles = {s: data_source(s).title for s in RAW_SOURCES}
    lines = [
        "| `Processes.` field | " + " | ".join(titles[s] for s in RAW_SOURCES) + " | when there is no value |",
        "|---|" + "---|" * len(RAW_SOURCES) + "---|",
    ]
    for cim_field in DERIVATIONS:
        cells = [cim_field.sources[s].text if s in cim_field.sources else "(none)" for s in RAW_SOURCES]
        empty = []
        if cim_field.fallback is not None:
            empty.append(cim_field.fallback[1])
        empty.append(f'"{unknown_value()}"' if cim_field.calculated else "absent")
        lines.append(f"| `{cim_field.name}` | " + " | ".join(cells) + " | " + ", else ".join(empty) + " |")
    lines += ["", "Integrity level names by RID (`S-1-16-<RID>` in 4688, the bare number in CrowdStrike): "
              + ", ".join(f"{rid} `{level}`" for rid, level in INTEGRITY_LEVELS.items()) + "."]
    return "\n".join(lines) + "\n"


CIM_PAGE_INTRO: Final = """\
# CIM records: `Endpoint.Processes` from raw events

With `--source cim`, sigmakit reads raw process-creation events of the three raw sources
(Sysmon event 1, Security 4688, CrowdStrike ProcessRollup2) and turns each into the
record the Splunk add-ons and the CIM data model would put in `Endpoint.Processes`; the
`cim` pipeline's rule is matched on those records, with the field names a tstats search
uses (`Processes.<field>`). Other events give no record and are counted as skipped.

Calculated fields of the data model ({calculated}; the `cim` pipeline's `missing_values`
setting) are `"{unknown}"` when the source has no value, as in Splunk; plain fields are
then absent. `process_hash` is multivalue. `_time` is kept.

This table is generated from `sigmakit/events/cim.py` (`python scripts/generate_docs.py`);
a test fails when it drifts.

"""


def cim_page() -> str:
    """docs/cim-records.md."""
    names = ", ".join(f"`{name.split('.', 1)[1]}`" for name in sorted(calculated_fields()))
    return CIM_PAGE_INTRO.format(calculated=names, unknown=unknown_value()) + derivation_table()
