"""Converting loaded rules to SPL, one result per rule and target.

Each rule is parsed afresh for each target (pySigma pipelines change the rule in place),
run through that target's pipeline and sigmakit's Splunk backend, and classified:

* ``converted``: the SPL is in ``query``;
* ``skipped``: the rule's log source is not carried by the target (not a failure);
* ``refused``: the field policy or an unsupported feature prevents a faithful search;
* ``failed``: the rule itself is broken.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Iterable, Sequence

from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from sigmakit.conversion.backend import RuleSearch, SigmakitSplunkBackend
from sigmakit.conversion.correlation import correlation_search
from sigmakit.conversion.es_search import es_backend, macro_definitions_of
from sigmakit.errors import OutOfScopeError, PipelineError, RefusedError, RuleError, SigmakitError
from sigmakit.pipelines import TARGETS, check_target, load_pipeline, warnings_of
from sigmakit.rules.conditions import merge_conditions
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


class _Outcome(Exception):
    """Stops a conversion with a status other than converted (internal)."""

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _outcome_of(error: SigmaError | SigmakitError, prefix: str = "") -> _Outcome:
    """Classify an error raised while converting: out of scope, refused or a broken rule."""
    if isinstance(error, OutOfScopeError):
        return _Outcome(Status.SKIPPED, prefix + error.message)
    if isinstance(error, (RefusedError, PipelineError)):
        return _Outcome(Status.REFUSED, prefix + error.message)
    if isinstance(error, RuleError):
        return _Outcome(Status.FAILED, prefix + str(error))
    # pySigma raises for features the backend cannot express and for rule errors it only
    # finds while converting; both leave the rule without a search here.
    return _Outcome(Status.REFUSED, prefix + str(error.args[0] if error.args else error))


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

    def convert(self, rule: LoadedRule, target: str, rules: RuleSet | None = None) -> ConversionResult:
        """Convert *rule* for *target*; a correlation takes the rules it names from *rules*."""
        result = ConversionResult(rule.id, rule.title, target, Status.FAILED, path=rule.path)
        try:
            if rule.is_correlation:
                result.query = self._correlation(rule, target, rules or RuleSet([rule]), result.warnings)
            else:
                result.query = self._rule(rule, target, result)
        except _Outcome as outcome:
            result.status, result.error = outcome.status, outcome.message
            result.warnings, result.macros = [], {}
            return result
        result.status = Status.CONVERTED
        for message in result.warnings:
            logger.warning("%s [%s]: %s", rule.title, target, message)
        return result

    def _parsed_rule(self, rule: LoadedRule, prefix: str = "") -> SigmaRule:
        try:
            parsed = rule.parse()
        except RuleError as error:
            raise _Outcome(Status.FAILED, prefix + str(error)) from None
        assert isinstance(parsed, SigmaRule)
        merge_conditions(parsed)
        return parsed

    def _rule(self, rule: LoadedRule, target: str, result: ConversionResult) -> str:
        parsed = self._parsed_rule(rule)
        try:
            queries = self._backends[target].convert_rule(parsed)
        except SigmaError as error:
            raise _outcome_of(error) from None
        if len(queries) != 1:
            raise _Outcome(Status.REFUSED, f"the rule converted to {len(queries)} searches instead of one")
        result.warnings.extend(warnings_of(parsed))
        result.macros = macro_definitions_of(parsed)
        return str(queries[0])

    def _correlation(self, rule: LoadedRule, target: str, rules: RuleSet, warnings: list[str]) -> str:
        backend = self._backends[target]

        def plan_member(member: LoadedRule) -> RuleSearch:
            prefix = f"rule {member.title!r}: "
            parsed = self._parsed_rule(member, prefix)
            try:
                searches = backend.convert_rule(parsed, "plan")
            except SigmaError as error:
                raise _outcome_of(error, prefix) from None
            warnings.extend(prefix + message for message in warnings_of(parsed))
            return searches[0]

        try:
            return correlation_search(rule, rules, backend, plan_member)
        except (SigmaError, SigmakitError) as error:
            raise _outcome_of(error) from None

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
                results.append(self.convert(rule, target, rules))
        return results


def convert_rules(
    rules: RuleSet, targets: Iterable[str] = TARGETS, es_form: bool = False
) -> list[ConversionResult]:
    """Convert every rule of *rules* for each of *targets* (ES form: see Converter)."""
    return Converter(tuple(targets), es_form=es_form).convert_all(rules)


__all__ = ["ConversionResult", "Converter", "Status", "convert_rules", "merge_conditions"]
