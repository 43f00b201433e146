"""Handing sigmakit's rules to any installed pySigma backend (other SIEMs).

sigmakit's own targets are Splunk searches. The same rules, written with Sigma's generic
field names, convert for another SIEM through that SIEM's pySigma backend and the generic
pipeline made for it (for CrowdStrike LogScale: pysigma-backend-crowdstrike's
``crowdstrike_falcon``). Backends and pipelines are found through pySigma's plugin
discovery, exactly as sigma-cli finds them.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from typing import Any, Final

from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from sigmakit.conversion.convert import ConversionResult, Status
from sigmakit.errors import RuleError, UsageError
from sigmakit.rules.conditions import merge_conditions
from sigmakit.rules.loader import LoadedRule, RuleSet

logger = logging.getLogger(__name__)

# The generic pipeline each backend is meant to run with, where the backend needs one.
DEFAULT_PIPELINES: Final = {
    "log_scale": "crowdstrike_falcon",
    "splunk": "splunk_windows",
    "splunk_spl2": "splunk_windows",
}


@dataclass(frozen=True)
class BackendChoice:
    """An installed backend and the pipeline it runs with (None: no pipeline)."""

    name: str
    backend_class: Any
    pipeline_name: str | None
    pipeline_factory: Any


def _plugins() -> Any:
    from sigma.plugins import InstalledSigmaPlugins

    return InstalledSigmaPlugins.autodiscover()


def _unknown(kind: str, name: str, known: list[str]) -> UsageError:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return UsageError(f"unknown {kind} {name!r}; {hint}run 'sigmakit list {kind}s' to see what is installed")


def choose_backend(name: str, pipeline: str | None = None) -> BackendChoice:
    """Find backend *name* and its pipeline (given, or the generic one it is meant for)."""
    plugins = _plugins()
    if name not in plugins.backends:
        raise _unknown("backend", name, sorted(plugins.backends))
    backend_class = plugins.backends[name]
    pipeline_name = pipeline or DEFAULT_PIPELINES.get(name)
    if pipeline_name is None:
        if getattr(backend_class, "requires_pipeline", False):
            raise UsageError(f"backend {name!r} needs a processing pipeline: give one with --pipeline "
                             "(run 'sigmakit list pipelines' to see what is installed)")
        return BackendChoice(name, backend_class, None, None)
    if pipeline_name not in plugins.pipelines:
        raise _unknown("pipeline", pipeline_name, sorted(plugins.pipelines))
    return BackendChoice(name, backend_class, pipeline_name, plugins.pipelines[pipeline_name])


class OtherBackendConverter:
    """Converts rules with one installed pySigma backend; one result per rule."""

    def __init__(self, choice: BackendChoice) -> None:
        self.choice = choice

    def _backend(self) -> Any:
        if self.choice.pipeline_factory is None:
            return self.choice.backend_class()
        factory = self.choice.pipeline_factory
        pipeline = factory() if callable(factory) else factory
        return self.choice.backend_class(pipeline)

    def convert(self, rule: LoadedRule) -> ConversionResult:
        result = ConversionResult(rule.id, rule.title, self.choice.name, Status.FAILED, path=rule.path)
        if rule.is_correlation:
            result.status, result.error = Status.REFUSED, "correlation rules are converted only for sigmakit's Splunk targets"
            return result
        try:
            parsed = rule.parse()
        except RuleError as error:
            result.error = str(error)
            return result
        assert isinstance(parsed, SigmaRule)
        merge_conditions(parsed)
        try:
            queries = self._backend().convert_rule(parsed)
        except SigmaError as error:
            result.status = Status.REFUSED
            result.error = str(error.args[0] if error.args else error)
            return result
        if len(queries) != 1:
            result.status, result.error = Status.REFUSED, f"the backend gave {len(queries)} queries instead of one"
            return result
        result.status, result.query = Status.CONVERTED, str(queries[0])
        return result

    def convert_all(self, rules: RuleSet) -> list[ConversionResult]:
        results = [ConversionResult(error.rule_id, None, self.choice.name, Status.FAILED, error=str(error))
                   for error in rules.errors]
        return results + [self.convert(rule) for rule in rules]
