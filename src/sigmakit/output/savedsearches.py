"""savedsearches.conf: one Splunk ES correlation search per rule and target.

Each stanza follows the conventions of Splunk's own ES content (see docs/es-content.md):
its name is ``<App> - <title> - Rule`` (``<App> - <title> (<target>) - Rule`` for targets
other than cim); risk-based alerting, notable event and schedule come from the rule's
``splunk_es`` metadata, with defaults per detection type:

========== ============ ============
type        risk event   notable
========== ============ ============
TTP         yes          yes
Anomaly     yes          no
Hunting     no           no
Correlation no           yes
========== ============ ============

A rule without ``splunk_es`` is built as a Hunting search. Rule text that reaches a
setting (title, description, messages) is made single-line, and ``$`` in text ES would
read as a ``$field$`` token is doubled, so nothing a rule says can change the file's or
the search's structure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Iterable

from sigmakit.conversion import ConversionResult
from sigmakit.conversion.es_search import yielded_fields
from sigmakit.errors import RefusedError, UsageError
from sigmakit.output.conf import ConfFile, Stanza, conf_json, single_line
from sigmakit.rules import EsMetadata, LoadedRule

CIM_TARGET: Final = "cim"
# ES clones a correlation search as "<security domain> - <stanza> - Rule" and keeps names
# to 99 characters, so a stanza name must leave room for that (as Splunk's content does).
ES_MAX_NAME_LENGTH: Final = 99
HUNTING: Final = EsMetadata(type="Hunting")
SEVERITY_LIMITS: Final = ((20, "informational"), (40, "low"), (60, "medium"), (80, "high"), (100, "critical"))
# Time window of ES notable drilldowns: the span of the search that raised the notable.
DRILLDOWN_EARLIEST: Final = "$info_min_time$"
DRILLDOWN_LATEST: Final = "$info_max_time$"
RISK_LOOKBACK_HOURS: Final = 168
_ATTACK_TECHNIQUE: Final = re.compile(r"^attack\.(t\d{4}(?:\.\d{3})?)$", re.IGNORECASE)


@dataclass(frozen=True)
class CorrelationSearch:
    """A rule converted for one target, with the stanza name it is built under."""

    rule: LoadedRule
    result: ConversionResult
    name: str

    @property
    def metadata(self) -> EsMetadata:
        return self.rule.metadata or HUNTING

    @property
    def query(self) -> str:
        assert self.result.query is not None
        return self.result.query


def token_safe(text: str) -> str:
    """Prose for a setting ES reads ``$field$`` tokens from: one line, ``$`` written ``$$``."""
    return single_line(text).replace("$", "$$")


def stanza_safe(text: str) -> str:
    """Rule text for a stanza name: one line, without the brackets that end a stanza header."""
    return single_line(text.replace("[", "(").replace("]", ")")) or "Untitled"


class StanzaNames:
    """Gives each correlation search a unique stanza name within ES's length limit."""

    def __init__(self, app_label: str) -> None:
        self.app_label = app_label
        self._taken: set[str] = set()

    def name(self, title: str, target: str, security_domain: str) -> str:
        suffix = " - Rule" if target == CIM_TARGET else f" ({target}) - Rule"
        prefix = f"{self.app_label} - "
        room = ES_MAX_NAME_LENGTH - len(f"{security_domain} - ") - len(" - Rule") - len(prefix) - len(suffix)
        if room < 12:
            raise UsageError(f"app name {self.app_label!r} is too long to leave room for rule titles in stanza names")
        base = stanza_safe(title)
        for attempt in range(1, len(self._taken) + 2):
            mark = "" if attempt == 1 else f" #{attempt}"
            text = base if len(base) + len(mark) <= room else base[: room - len(mark) - 3].rstrip() + "..."
            candidate = f"{prefix}{text}{mark}{suffix}"
            if candidate.lower() not in self._taken:
                self._taken.add(candidate.lower())
                return candidate
        raise AssertionError("a free stanza name always exists")


def mitre_attack_ids(rule: LoadedRule) -> list[str]:
    """ATT&CK technique ids from the rule's ``attack.tNNNN`` tags."""
    tags = rule.data.get("tags") or []
    found = [m.group(1).upper() for tag in tags if isinstance(tag, str) and (m := _ATTACK_TECHNIQUE.match(tag))]
    return list(dict.fromkeys(found))


def severity(score: int | None) -> str:
    """Notable severity from the highest risk score (high when the rule scores nothing)."""
    if score is None:
        return "high"
    return next(name for limit, name in SEVERITY_LIMITS if score <= limit)


def annotations(rule: LoadedRule, metadata: EsMetadata) -> dict[str, object]:
    result: dict[str, object] = {
        "mitre_attack": mitre_attack_ids(rule),
        "kill_chain_phases": list(metadata.kill_chain_phases),
        "nist": list(metadata.nist),
        "cis20": list(metadata.cis20),
        "analytic_story": list(metadata.analytic_stories),
        "data_source": list(metadata.data_sources),
    }
    if metadata.confidence is not None:
        result["confidence"] = metadata.confidence
    if metadata.impact is not None:
        result["impact"] = metadata.impact
    result["type"] = metadata.type
    return result


def risk_objects(metadata: EsMetadata) -> list[dict[str, object]]:
    """The ``_risk`` list: scored risk objects, then threat objects."""
    score = metadata.risk_score or 0
    objects: list[dict[str, object]] = [
        {"risk_object_field": o.field, "risk_object_type": o.type, "risk_score": score} for o in metadata.risk_objects
    ]
    objects += [{"threat_object_field": o.field, "threat_object_type": o.type} for o in metadata.threat_objects]
    return objects


def drilldown_fields(metadata: EsMetadata) -> list[str]:
    """The fields drilldowns look up: the risk objects, else the notable's dest and user."""
    return [o.field for o in metadata.risk_objects] or [f for f in ("dest", "user") if f in metadata.notable_fields]


def drilldowns(metadata: EsMetadata) -> list[dict[str, str]]:
    """Two notable drilldowns over the risk object fields: the results, and their risk history."""
    fields = drilldown_fields(metadata)
    if not fields:
        return []
    tokens = [f"${field}$" for field in fields]
    named = " and ".join(tokens)
    matches = " ".join(f'{field}="${field}$"' for field in fields)
    objects = ", ".join(f'"{token}"' for token in tokens)
    return [
        {
            "name": f"Detection results for {named}",
            "search": f"%original_detection_search% | search {matches}",
            "earliest_offset": DRILLDOWN_EARLIEST,
            "latest_offset": DRILLDOWN_LATEST,
        },
        {
            "name": f"Risk events of the last 7 days for {named}",
            "search": (
                f"| from datamodel Risk.All_Risk | search normalized_risk_object IN ({objects}) "
                f"starthoursago={RISK_LOOKBACK_HOURS} | stats count min(_time) as firstTime max(_time) as lastTime "
                "values(search_name) as search_name values(risk_message) as risk_message "
                "values(annotations.mitre_attack) as mitre_attack by normalized_risk_object "
                '| convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(firstTime) ctime(lastTime)'
            ),
            "earliest_offset": DRILLDOWN_EARLIEST,
            "latest_offset": DRILLDOWN_LATEST,
        },
    ]


def fields_named(metadata: EsMetadata) -> list[str]:
    """Every result field the ES settings of a rule refer to, in first-use order."""
    names = [o.field for o in metadata.risk_objects] + [o.field for o in metadata.threat_objects]
    if metadata.creates_risk:
        names += list(metadata.message_tokens())
    if metadata.creates_notable:
        names += list(metadata.notable_fields)
        names += drilldown_fields(metadata)
    return list(dict.fromkeys(names))


def check_fields(rule: LoadedRule, target: str) -> None:
    """Refuse a rule whose ES settings name a field the target's search does not yield."""
    yielded = yielded_fields(target)
    missing = [name for name in fields_named(rule.metadata or HUNTING) if name not in yielded]
    if missing:
        raise RefusedError(
            f"splunk_es names {', '.join(missing)}, which the {target} search does not yield "
            f"(it yields {', '.join(yielded)})",
            location=rule.location, rule_id=rule.id,
        )


def correlation_stanza(search: CorrelationSearch) -> Stanza:
    """The savedsearches.conf stanza of one correlation search."""
    rule, metadata = search.rule, search.metadata
    description = single_line(str(rule.data.get("description") or rule.title))
    schedule = metadata.schedule
    settings: list[tuple[str, str]] = [
        ("description", description),
        ("search", search.query),
        ("cron_schedule", schedule.cron_schedule),
        ("dispatch.earliest_time", schedule.earliest_time),
        ("dispatch.latest_time", schedule.latest_time),
        ("schedule_window", schedule.schedule_window),
        ("enableSched", "1"),
        ("disabled", "1" if schedule.disabled else "0"),
        ("allow_skew", "100%"),
        ("realtime_schedule", "0"),
        ("counttype", "number of events"),
        ("relation", "greater than"),
        ("quantity", "0"),
        ("alert.digest_mode", "1"),
        ("is_visible", "false"),
        ("action.correlationsearch.enabled", "1"),
        ("action.correlationsearch.label", search.name),
        ("action.correlationsearch.detection_type", "ebd"),
        ("action.correlationsearch.annotations", conf_json(annotations(rule, metadata))),
    ]
    if metadata.creates_risk:
        settings += [
            ("action.risk", "1"),
            ("action.risk.param._risk", conf_json(risk_objects(metadata))),
            ("action.risk.param._risk_message", single_line(metadata.risk_message or rule.title)),
            ("action.risk.param._risk_score", "0"),
            ("action.risk.param.verbose", "0"),
        ]
    else:
        settings.append(("action.risk", "0"))
    if metadata.creates_notable:
        settings += [
            ("action.notable", "1"),
            ("action.notable.param.rule_title", token_safe(rule.title)),
            ("action.notable.param.rule_description", token_safe(description)),
            ("action.notable.param.security_domain", metadata.security_domain),
            ("action.notable.param.severity", severity(metadata.risk_score)),
            ("action.notable.param.nes_fields", ",".join(metadata.notable_fields)),
            ("action.notable.param.drilldown_searches", conf_json(drilldowns(metadata))),
        ]
    else:
        settings.append(("action.notable", "0"))
    return Stanza.of(search.name, settings)


def savedsearches_conf(searches: Iterable[CorrelationSearch], header: tuple[str, ...] = ()) -> ConfFile:
    return ConfFile("default/savedsearches.conf", tuple(correlation_stanza(s) for s in searches), header)


__all__ = [
    "CorrelationSearch",
    "StanzaNames",
    "annotations",
    "check_fields",
    "correlation_stanza",
    "drilldowns",
    "mitre_attack_ids",
    "savedsearches_conf",
    "severity",
    "stanza_safe",
    "token_safe",
]
