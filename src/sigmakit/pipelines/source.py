"""Transformations that tie a rule to one data source: its scope and its base search.

``sigmakit_scope`` refuses a rule whose log source the data source does not carry (the
conversion reports it as skipped). ``sigmakit_base_search`` puts the conditions that
select the data source's events (``source``, ``sourcetype``, ``EventCode``...) in front of
the rule's own condition, so the search, and the local matcher, only look at those
events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaConfigurationError
from sigma.pipelines.sysmon.sysmon import sysmon_generic_logsource_eventid_mapping
from sigma.processing.transformations.base import ConditionTransformation, PreprocessingTransformation
from sigma.rule import SigmaDetection, SigmaLogSource, SigmaRule
from sigma.conditions import SigmaCondition

from sigmakit.errors import OutOfScopeError

# Event codes per log source category are taken from pysigma-pipeline-sysmon, so that
# sigmakit's Sysmon pipeline covers exactly the categories that pipeline knows.
SYSMON_EVENT_CODES: Final = "pysigma-pipeline-sysmon"
BASE_SELECTION: Final = "_sigmakit_source"


def _event_codes(spec: Any) -> dict[str, Any]:
    if spec == SYSMON_EVENT_CODES:
        return dict(sysmon_generic_logsource_eventid_mapping)
    if isinstance(spec, dict):
        return dict(spec)
    raise SigmaConfigurationError(
        f"event_codes must be a map from category to code(s) or {SYSMON_EVENT_CODES!r}, not {spec!r}"
    )


def _describe(logsource: SigmaLogSource) -> str:
    parts = [f"{k}: {v}" for k, v in (("category", logsource.category), ("product", logsource.product),
                                        ("service", logsource.service)) if v]
    return "{" + ", ".join(parts) + "}" if parts else "{}"


@dataclass
class ScopeTransformation(PreprocessingTransformation):
    """Refuse (as out of scope) rules whose log source the data source does not carry.

    ``product`` must match; the rule's category must be one of ``categories`` (or of the
    categories that ``event_codes`` names) or its service one of ``services``.
    """

    source: str
    product: str = "windows"
    categories: list[str] | None = None
    event_codes: Any = None
    services: list[str] = field(default_factory=list)

    def covered_categories(self) -> list[str]:
        if self.categories is not None:
            return list(self.categories)
        if self.event_codes is not None:
            return list(_event_codes(self.event_codes))
        return []

    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        super().apply(rule)
        if not isinstance(rule, SigmaRule):
            return
        logsource = rule.logsource
        categories = self.covered_categories()
        in_scope = logsource.product == self.product and (
            (logsource.category in categories and logsource.service in (None, *self.services))
            or (logsource.category is None and logsource.service in self.services)
        )
        if not in_scope:
            covered = ", ".join(categories + [f"service {s}" for s in self.services])
            raise OutOfScopeError(
                f"log source {_describe(logsource)} is not carried by {self.source} "
                f"(it covers product {self.product}: {covered})",
                rule_id=None if rule.id is None else str(rule.id),
            )


@dataclass
class BaseSearchTransformation(ConditionTransformation):
    """AND the data source's selecting conditions in front of the rule's condition.

    ``conditions`` apply to every rule; ``event_codes`` adds ``<event_code_field>=<code>``
    for the rule's category (a list of codes is OR-ed).
    """

    conditions: dict[str, Any] = field(default_factory=dict)
    event_code_field: str = "EventCode"
    event_codes: Any = None

    def event_codes_by_category(self) -> dict[str, Any]:
        return {} if self.event_codes is None else _event_codes(self.event_codes)

    def base_conditions(self, rule: SigmaRule) -> dict[str, Any]:
        result = dict(self.conditions)
        if self.event_codes is not None:
            codes = self.event_codes_by_category().get(rule.logsource.category)
            if codes is not None:
                result[self.event_code_field] = codes
        return result

    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        if not isinstance(rule, SigmaRule):
            return
        conditions = self.base_conditions(rule)
        if not conditions:
            return
        rule.detection.detections[BASE_SELECTION] = SigmaDetection.from_definition(conditions)
        self.processing_item_applied(rule.detection.detections[BASE_SELECTION])
        super().apply(rule)

    def apply_condition(self, cond: SigmaCondition) -> None:
        cond.condition = f"{BASE_SELECTION} and ({cond.condition})"
