"""sigmakit's Splunk backend: pySigma's rule plumbing, sigmakit's own condition conversion.

pySigma runs the data source's pipeline on the rule and hands over the parsed condition;
from there sigmakit lowers it to its own condition tree (lowering.py) and writes SPL from
that (plan.py), instead of building text piece by piece as pysigma-backend-splunk does.
What that changes, each for a reason (docs/spl-semantics.md has the details):

* Tests the search command cannot say exactly (regular expressions, ``?`` and literal ``*``
  in patterns, ``cased``, field references, some keywords) are searched for as widely as
  is correct and then checked exactly in ONE ``| where`` that keeps the rule's boolean
  structure, so an OR is never split across commands and a match is never widened.
* Mixed AND/OR groups are always parenthesised, so the SPL means the same whichever
  precedence its reader assumes (search binds OR tighter than AND; where the reverse).
* OR-ed values are written as ``a OR b`` groups, not ``IN (...)``.
* Values are quoted unless plainly safe (letters, digits and ``_ . * - / @``), which keeps
  simple searches readable (``Processes.process=*-s*``, as Splunk's own content writes them).
* Every search ends with the detection's filter macro (``<detection_name>_filter``).
* When the pipeline names a data model (state ``data_model_set``), the search becomes the
  tstats form of Splunk's ES content; the post-filter runs on the tstats rows, so the fields
  it reads join the by-clause after the pipeline's by-fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final

from sigma.conversion.base import TextQueryBackend
from sigma.conversion.state import ConversionState
from sigma.correlations import SigmaCorrelationRule
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule

from sigmakit.conversion.condition import Glob, Node, Regex, leaves
from sigmakit.conversion.lowering import Lowering, ParsedCondition
from sigmakit.conversion.nulls import NullPolicy
from sigmakit.conversion.plan import NeverMatches, SearchPlan, plan_search
from sigmakit.conversion.where import NoWhereForm
from sigmakit.errors import RefusedError
from sigmakit.rules.loader import detection_name

# The by-fields of Splunk's ES process detections (the seed's seven, in its order). The
# cim pipeline states them (``fields``); this copy is for readers of the library.
CIM_BY_FIELDS: Final = (
    "dest",
    "user",
    "parent_process",
    "process_name",
    "process",
    "process_id",
    "parent_process_id",
)
TSTATS_HEAD: Final = (
    "| tstats `security_content_summariesonly` count min(_time) as firstTime max(_time) as lastTime"
)


def filter_macro_for(rule: SigmaRule | SigmaCorrelationRule) -> str:
    """The tuning macro every search ends with: ``<detection_name>_filter``."""
    return f"{detection_name(rule.title or 'detection')}_filter"


@dataclass(frozen=True)
class DataModel:
    """Where a data-model search reads: ``Endpoint.Processes`` and its by-fields."""

    name: str
    by_fields: tuple[str, ...]

    @property
    def dataset(self) -> str:
        return self.name.split(".")[-1]

    def tail(self) -> list[str]:
        """The commands after tstats in ES content: field names unprefixed, times readable."""
        return [
            f"| `drop_dm_object_name({self.dataset})`",
            "| `security_content_ctime(firstTime)`",
            "| `security_content_ctime(lastTime)`",
        ]


@dataclass(frozen=True)
class RuleSearch:
    """A converted rule before it becomes text: its condition, plan and data model."""

    condition: Node
    plan: SearchPlan
    data_model: DataModel | None


class SigmakitSplunkBackend(TextQueryBackend):
    """Splunk SPL for sigmakit's data sources (see module docstring)."""

    name: ClassVar[str] = "sigmakit Splunk SPL"
    formats: ClassVar[dict[str, str]] = {
        "default": "SPL search for the pipeline's data source (tstats for data models)",
        "plan": "the converted condition and its search plan, for building correlation searches",
    }
    requires_pipeline: ClassVar[bool] = True
    correlation_methods: ClassVar[dict[str, str] | None] = None  # see sigmakit.conversion.correlation

    def __init__(self, processing_pipeline: ProcessingPipeline | None = None, **backend_options: Any) -> None:
        super().__init__(processing_pipeline, **backend_options)
        processing_pipeline = processing_pipeline or ProcessingPipeline()
        settings = processing_pipeline.vars.get("sigmakit", {})
        self.nulls = NullPolicy.from_settings(settings.get("missing_values"), settings.get("raw_format"))

    # -- conversion ---------------------------------------------------------------------
    # The condition becomes sigmakit's tree, not text; the text is written when finalizing.
    def convert_condition(  # type: ignore[override]
        self, cond: ParsedCondition, state: ConversionState
    ) -> Node | None:
        if cond is None:
            return None
        return Lowering(self.nulls).lower(cond)

    def finish_query(self, rule: SigmaRule | SigmaCorrelationRule, query: Any, state: ConversionState) -> Any:
        return query  # the text is written in finalize_query_*, from the condition tree

    def rule_search(self, rule: SigmaRule, condition: Node, state: ConversionState) -> RuleSearch:
        """Plan the search of one converted condition for this backend's data source."""
        data_model = self.data_model(state)
        rule_id = None if rule.id is None else str(rule.id)
        keywords = (leaf for leaf in leaves(condition) if isinstance(leaf, (Glob, Regex)) and leaf.field is None)
        if data_model is not None and any(keywords):
            raise RefusedError("keyword searches need the raw event, which the data model does not hold",
                               rule_id=rule_id)
        try:
            plan = plan_search(condition, self.nulls)
        except NeverMatches:
            raise RefusedError("the rule's condition can never match", rule_id=rule_id) from None
        except NoWhereForm as fragment:
            raise RefusedError(
                f"{fragment} sits in a part of the condition that needs a filter after the search "
                "(regular expression, field reference or similar), where a macro cannot be called",
                rule_id=rule_id,
            ) from None
        return RuleSearch(condition, plan, data_model)

    @staticmethod
    def data_model(state: ConversionState) -> DataModel | None:
        name = state.processing_state.get("data_model_set")
        if not name:
            return None
        fields = state.processing_state.get("fields") or [f"Processes.{f}" for f in CIM_BY_FIELDS]
        return DataModel(str(name), tuple(str(f) for f in fields))

    def prepare_correlation(self, rule: SigmaCorrelationRule) -> None:
        """Run this data source's pipeline on a correlation rule (maps group-by fields)."""
        if getattr(self, "last_processing_pipeline", None) is None:
            self.init_processing_pipeline("default")
        self.last_processing_pipeline.apply(rule)

    def after_conditions(self, rule: SigmaRule) -> list[str]:
        """Commands between the rule's conditions (post-filter included) and the rest."""
        return []

    # -- output formats -----------------------------------------------------------------
    def finalize_query_plan(
        self, rule: SigmaRule, query: Node, index: int, state: ConversionState
    ) -> RuleSearch:
        return self.rule_search(rule, query, state)

    def finalize_query_default(
        self, rule: SigmaRule | SigmaCorrelationRule, query: Any, index: int, state: ConversionState
    ) -> str:
        assert isinstance(rule, SigmaRule)
        search = self.rule_search(rule, query, state)
        macro = f"| `{filter_macro_for(rule)}`"
        after = self.after_conditions(rule)
        if search.data_model is not None:
            lines = tstats_lines(search.plan, search.data_model)
            return "\n".join([*lines, *after, *search.data_model.tail(), macro])
        lines = [search.plan.search or "*"]
        if search.plan.post_filter:
            lines.append(f"| where {search.plan.post_filter}")
        lines.extend(after)
        if rule.fields:
            lines.append(f"| table {','.join(rule.fields)}")
        return "\n".join([*lines, macro])


def tstats_lines(plan: SearchPlan, data_model: DataModel, head: str = TSTATS_HEAD, by_time: str = "") -> list[str]:
    """tstats over the data model, then the post-filter on its rows (fields it reads are by-fields).

    *by_time* (``_time span=1s``) groups by time first, for searches that need event times.
    """
    by_fields = [by_time] if by_time else []
    by_fields.extend(data_model.by_fields)
    by_fields.extend(f for f in plan.filter_fields if f not in by_fields)
    where = f" where {plan.search}" if plan.search else ""
    lines = [f"{head} from datamodel={data_model.name}{where} by {' '.join(by_fields)}"]
    if plan.post_filter:
        lines.append(f"| where {plan.post_filter}")
    return lines


__all__ = [
    "CIM_BY_FIELDS",
    "DataModel",
    "RuleSearch",
    "SigmakitSplunkBackend",
    "filter_macro_for",
    "tstats_lines",
]
