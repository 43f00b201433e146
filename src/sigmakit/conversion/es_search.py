"""The ES form of a search: what a correlation search runs, next to plain ``convert``.

Two differences from the plain search, both made on pySigma objects, never on SPL text:

* Named-selection macros (data-model targets such as ``cim``): a selection named in the
  rule's ``splunk_es.macros`` is replaced, once the pipeline has mapped its fields, by a
  placeholder whose conversion is the macro call (`` `process_diskshadow` ``). The
  selection itself is converted on its own, with the same backend and pipeline state, and
  becomes the macro's definition in macros.conf.
* Result fields (raw targets): one ``eval`` built from the data source's
  ``result_fields`` table gives the search the CIM-named fields ES reads (``dest``,
  ``user``...). It sits after the rule's conditions and before the filter macro, so a
  filter macro can use the same names on every target.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Final

from sigma.conditions import SigmaCondition
from sigma.conversion.state import ConversionState
from sigma.correlations import SigmaCorrelationRule
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations.base import PreprocessingTransformation
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaDetections, SigmaRule
from sigma.types import SigmaQueryExpression

from sigmakit.conversion.backend import CIM_BY_FIELDS, SigmakitSplunkBackend
from sigmakit.conversion.condition import AllOf, AnyOf, Not, simplify
from sigmakit.conversion.lowering import Lowering
from sigmakit.conversion.plan import plan_search
from sigmakit.errors import RefusedError
from sigmakit.pipelines import ResultField, data_source, load_pipeline
from sigmakit.rules.metadata import METADATA_KEY

logger = logging.getLogger(__name__)

# Where the placeholder step leaves the selections it took out, and where the backend
# leaves their converted definitions: private attributes of the (per-conversion) rule
# object, as pipelines/notes.py does for warnings.
_BODIES: Final = "_sigmakit_macro_bodies"
_DEFINITIONS: Final = "_sigmakit_macro_definitions"
_MACRO_NAME: Final = re.compile(r"^[a-z0-9_]+$")

# The statistics a tstats search yields besides its by-fields.
TSTATS_STATISTICS: Final = ("count", "firstTime", "lastTime")


def _rule_id(rule: Any) -> str | None:
    return None if getattr(rule, "id", None) is None else str(rule.id)


@dataclass
class SelectionMacroTransformation(PreprocessingTransformation):
    """Replace the selections named in ``splunk_es.macros`` by macro-call placeholders.

    It must run after the field mapping and field policy, so that what it takes out is the
    selection as the data source expresses it. A selection the field policy dropped has no
    macro (the search does not call it).
    """

    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        super().apply(rule)
        if not isinstance(rule, SigmaRule):
            return
        metadata = rule.custom_attributes.get(METADATA_KEY)
        macros = metadata.get("macros") if isinstance(metadata, dict) else None
        if not macros:
            return
        bodies: dict[str, SigmaDetection] = rule.__dict__.setdefault(_BODIES, {})
        detections = rule.detection.detections
        for macro, selection in macros.items():
            if not isinstance(macro, str) or not _MACRO_NAME.match(macro):
                raise RefusedError(f"{METADATA_KEY}.macros: {macro!r} is not a macro name", rule_id=_rule_id(rule))
            if selection not in detections:
                logger.debug("%s: selection %s was dropped for this target; no macro %s", rule.title, selection, macro)
                continue
            bodies[macro] = detections[selection]
            placeholder = SigmaQueryExpression(f"`{macro}`", macro)
            detections[selection] = SigmaDetection([SigmaDetectionItem(None, [], [placeholder])])


def macro_definitions_of(rule: SigmaRule | SigmaCorrelationRule) -> dict[str, str]:
    """The named-selection macros the rule's ES search calls: name to definition."""
    return dict(rule.__dict__.get(_DEFINITIONS, {}))


def result_fields_eval(fields: tuple[ResultField, ...]) -> str:
    """The ``eval`` command that computes a raw source's result fields."""
    assignments = []
    for result in fields:
        if result.basename:
            # Everything up to the last backslash goes; in an SPL string "\\\\" is the
            # regex \\, one literal backslash.
            expression = f'replace({result.sources[0]}, "^.*\\\\\\\\", "")'
        elif len(result.sources) == 1:
            expression = result.sources[0]
        else:
            expression = f"coalesce({', '.join(result.sources)})"
        assignments.append(f"{result.name}={expression}")
    return "eval " + ", ".join(assignments)


class EsSplunkBackend(SigmakitSplunkBackend):
    """sigmakit's Splunk backend producing the ES form of each search (module docstring)."""

    def __init__(
        self,
        processing_pipeline: ProcessingPipeline | None = None,
        result_fields: tuple[ResultField, ...] = (),
        **backend_options: Any,
    ) -> None:
        super().__init__(processing_pipeline, **backend_options)
        self.result_fields = result_fields

    def finalize_query_default(
        self, rule: SigmaRule | SigmaCorrelationRule, query: Any, index: int, state: ConversionState
    ) -> str:
        rule.__dict__[_DEFINITIONS] = self._macro_definitions(rule)
        if self.result_fields and isinstance(rule, SigmaRule) and rule.fields:
            # A rule's `fields` become `| table`, which must keep what ES reads.
            rule.fields = [*rule.fields, *(f.name for f in self.result_fields if f.name not in rule.fields)]
        return super().finalize_query_default(rule, query, index, state)

    def after_conditions(self, rule: SigmaRule) -> list[str]:
        """The result fields' eval, after the rule's conditions and before the filter macro."""
        return [f"| {result_fields_eval(self.result_fields)}"] if self.result_fields else []

    def _macro_definitions(self, rule: SigmaRule | SigmaCorrelationRule) -> dict[str, str]:
        definitions = {}
        for macro, body in rule.__dict__.get(_BODIES, {}).items():
            tree = SigmaCondition(macro, SigmaDetections({macro: body}, [macro])).parsed
            condition = simplify(Lowering(self.nulls, _rule_id(rule)).lower(tree))
            plan = plan_search(condition, self.nulls)
            if plan.post_filter is not None or not plan.search:
                raise RefusedError(
                    f"{METADATA_KEY}.macros.{macro}: its selection needs a filter after the search "
                    "(regular expression, field reference or similar), which a macro inside the "
                    "search's conditions cannot hold; leave the selection out of splunk_es.macros",
                    rule_id=_rule_id(rule),
                )
            # A macro expands as text: a compound definition keeps its own brackets.
            compound = isinstance(condition, (AllOf, AnyOf, Not))
            definitions[macro] = f"({plan.search})" if compound else plan.search
        return definitions


def es_backend(target: str) -> EsSplunkBackend:
    """The backend that converts rules to the ES form of *target*'s search."""
    source = data_source(target)
    pipeline = load_pipeline(target)
    if source.data_model:
        pipeline = pipeline + ProcessingPipeline(
            name="sigmakit named-selection macros",
            priority=100,
            items=[ProcessingItem(SelectionMacroTransformation(), identifier="sigmakit_selection_macros")],
        )
    return EsSplunkBackend(pipeline, result_fields=source.result_fields)


def yielded_fields(target: str) -> tuple[str, ...]:
    """The CIM-named fields every ES search for *target* yields (what ES may refer to)."""
    source = data_source(target)
    if source.data_model:
        return (*CIM_BY_FIELDS, *TSTATS_STATISTICS)
    return tuple(field.name for field in source.result_fields)


__all__ = [
    "EsSplunkBackend",
    "SelectionMacroTransformation",
    "TSTATS_STATISTICS",
    "es_backend",
    "macro_definitions_of",
    "result_fields_eval",
    "yielded_fields",
]
