"""Converting loaded rules to SPL, one result per rule and target.

Each rule is parsed afresh for each target (pySigma pipelines change the rule in place),
run through that target's pipeline and sigmakit's Splunk backend, and classified:

* ``converted``: the SPL is in ``query``;
* ``skipped``: the rule's log source is not carried by the target (not a failure);
* ``refused``: the field policy or an unsupported feature prevents a faithful search;
* ``failed``: the rule itself is broken.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Iterable, Sequence

from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from sigmakit.conversion.backend import SigmakitSplunkBackend
from sigmakit.conversion.es_search import es_backend, macro_definitions_of
from sigmakit.errors import OutOfScopeError, PipelineError, RefusedError, RuleError
from sigmakit.pipelines import TARGETS, check_target, load_pipeline, warnings_of
from sigmakit.rules.loader import LoadedRule, RuleSet

logger = logging.getLogger(__name__)


class Status(str, Enum):
    CONVERTED = "converted"
    SKIPPED = "skipped"
    REFUSED = "refused"
    FAILED = "failed"


@dataclass
class ConversionResult:
    """The outcome of converting one rule for one target."""

    rule_id: str | None
    rule_title: str | None
    target: str
    status: Status
    query: str | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    path: Path | None = None
    # ES form only: the named-selection macros the search calls, name to definition.
    macros: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_title": self.rule_title,
            "target": self.target,
            "status": self.status.value,
            "query": self.query,
            "warnings": list(self.warnings),
            "error": self.error,
        }


def merge_conditions(rule: SigmaRule) -> None:
    """Join a list of conditions into one (Sigma OR-s them), so each rule gives one search."""
    conditions = rule.detection.parsed_condition
    if len(conditions) <= 1:
        return
    text = " or ".join(f"({c.condition})" for c in conditions)
    rule.detection.condition = [text]
    rule.detection.parsed_condition = [dataclasses.replace(conditions[0], condition=text)]


class Converter:
    """Converts rules for a set of targets, keeping one backend per target.

    With ``es_form`` the searches are the ones ES correlation searches run: named-selection
    macros and result fields (see es_search.py); plain searches are inline.
    """

    def __init__(self, targets: Sequence[str] = TARGETS, es_form: bool = False) -> None:
        self.targets = tuple(check_target(t) for t in targets)
        self.es_form = es_form
        self._backends: dict[str, SigmakitSplunkBackend] = {
            t: es_backend(t) if es_form else SigmakitSplunkBackend(load_pipeline(t)) for t in self.targets
        }

    def convert(self, rule: LoadedRule, target: str) -> ConversionResult:
        result = ConversionResult(rule.id, rule.title, target, Status.FAILED, path=rule.path)
        if rule.is_correlation:
            result.status = Status.REFUSED
            result.error = "correlation rules are not converted yet"
            return result
        try:
            parsed = rule.parse()
        except RuleError as error:
            result.error = str(error)
            return result
        assert isinstance(parsed, SigmaRule)
        merge_conditions(parsed)
        backend = self._backends[target]
        try:
            queries = backend.convert_rule(parsed)
        except OutOfScopeError as error:
            result.status, result.error = Status.SKIPPED, error.message
        except (RefusedError, PipelineError) as error:
            result.status, result.error = Status.REFUSED, error.message
        except SigmaError as error:
            # pySigma raises for features the backend cannot express and for rule errors it
            # only finds while converting; both leave the rule without a search here.
            result.status, result.error = Status.REFUSED, str(error.args[0] if error.args else error)
        else:
            if len(queries) != 1:
                result.status = Status.REFUSED
                result.error = f"the rule converted to {len(queries)} searches instead of one"
            else:
                result.status, result.query = Status.CONVERTED, str(queries[0])
                result.macros = macro_definitions_of(parsed)
        result.warnings = warnings_of(parsed)
        for message in result.warnings:
            logger.warning("%s [%s]: %s", rule.title, target, message)
        return result

    def convert_all(self, rules: RuleSet) -> list[ConversionResult]:
        """Every rule for every target, plus a failed result per target for each broken file."""
        results: list[ConversionResult] = []
        for error in rules.errors:
            for target in self.targets:
                results.append(ConversionResult(
                    error.rule_id, None, target, Status.FAILED, error=str(error),
                    path=None if error.location is None or error.location.path is None
                    else Path(error.location.path),
                ))
        for rule in rules:
            for target in self.targets:
                results.append(self.convert(rule, target))
        return results


def convert_rules(
    rules: RuleSet, targets: Iterable[str] = TARGETS, es_form: bool = False
) -> list[ConversionResult]:
    """Convert every rule of *rules* for each of *targets* (ES form: see Converter)."""
    return Converter(tuple(targets), es_form=es_form).convert_all(rules)


__all__ = ["ConversionResult", "Converter", "Status", "convert_rules", "merge_conditions", "SigmaCorrelationRule"]
