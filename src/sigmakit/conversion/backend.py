"""sigmakit's Splunk backend: pysigma-backend-splunk plus the finishing sigmakit needs.

Differences from the stock backend, each for a reason:

* Mixed AND/OR groups are always parenthesised, so the SPL means the same whichever
  precedence its reader assumes (the search command binds OR tighter than AND; where and
  eval do the opposite).
* OR-ed values are written as ``a OR b`` groups, not ``IN (...)``, so one form of boolean
  logic reaches Splunk and sigmakit's own SPL evaluator.
* Values are quoted unless they are plainly safe (letters, digits and ``_ . * - / @``),
  which keeps simple searches readable (``Processes.process=*-s*``, as Splunk's own content
  writes them) and quotes everything else.
* Every search ends with the detection's filter macro (``<detection_name>_filter``).
* When the pipeline names a data model (state ``data_model_set``), the search becomes
  the tstats form of Splunk's ES content, with the ESCU macros and by-fields.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Final

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.conversion.state import ConversionState
from sigma.backends.splunk import SplunkBackend
from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule
from sigma.types import SigmaExpansion, SigmaString

from sigmakit.errors import RefusedError
from sigmakit.rules.loader import detection_name

# Values that may stay unquoted in a search term: nothing Splunk's search parser treats
# specially (spaces, quotes, parentheses, '=', '|', '[', backslashes, backticks...).
_SAFE_UNQUOTED: Final = re.compile(r"^[A-Za-z0-9_.*\-/@]+$")
_RESERVED_WORDS: Final = frozenset({"OR", "AND", "NOT", "IN", "TERM", "CASE"})

# The by-fields of Splunk's ES process detections (the seed's seven, in its order).
CIM_BY_FIELDS: Final = (
    "dest",
    "user",
    "parent_process",
    "process_name",
    "process",
    "process_id",
    "parent_process_id",
)


def filter_macro_for(rule: SigmaRule | SigmaCorrelationRule) -> str:
    """The tuning macro every search ends with: ``<detection_name>_filter``."""
    return f"{detection_name(rule.title or 'detection')}_filter"


class SigmakitSplunkBackend(SplunkBackend):
    """Splunk SPL for sigmakit's data sources (see module docstring)."""

    name: ClassVar[str] = "sigmakit Splunk SPL"
    formats: ClassVar[dict[str, str]] = {
        "default": "SPL search for the pipeline's data source (tstats for data models)",
    }
    requires_pipeline: ClassVar[bool] = True
    convert_or_as_in: ClassVar[bool] = False

    def compare_precedence(self, outer: Any, inner: Any) -> bool:
        """True when *inner* needs no brackets inside *outer*: leaves, and same-operator runs."""
        if inner is None or isinstance(inner, (ConditionFieldEqualsValueExpression, ConditionValueExpression)):
            if isinstance(getattr(inner, "value", None), SigmaExpansion):
                return isinstance(outer, ConditionOR)
            return True
        if isinstance(inner, ConditionNOT):  # NOT binds tightest in search, where and eval
            return True
        if isinstance(outer, ConditionNOT):
            return False
        return type(inner) is type(outer) and isinstance(inner, (ConditionAND, ConditionOR))

    def convert_value_str(self, s: SigmaString, state: ConversionState) -> str:
        converted = s.convert(
            self.escape_char,
            self.wildcard_multi,
            self.wildcard_single,
            self.str_quote + self.add_escaped,
            self.filter_chars,
        )
        if _SAFE_UNQUOTED.match(converted) and converted.upper() not in _RESERVED_WORDS:
            return converted
        return self.quote_string(converted)

    def finalize_query_default(
        self, rule: SigmaRule | SigmaCorrelationRule, query: str, index: int, state: ConversionState
    ) -> str:
        data_model = state.processing_state.get("data_model_set")
        macro = f"`{filter_macro_for(rule)}`"
        if data_model:
            return self._tstats_search(rule, query, str(data_model), macro)
        if isinstance(rule, SigmaRule) and rule.fields:
            query = f"{query}\n| table {','.join(rule.fields)}"
        return f"{query}\n| {macro}"

    def _tstats_search(self, rule: SigmaRule | SigmaCorrelationRule, query: str, data_model: str, macro: str) -> str:
        if "\n|" in query:
            raise RefusedError(
                "this rule needs a filter after the data model search (regular expression, "
                "field reference or similar), which the cim target does not support yet",
                rule_id=None if rule.id is None else str(rule.id),
            )
        dataset = data_model.split(".")[-1]
        by_clause = " ".join(f"{dataset}.{name}" for name in CIM_BY_FIELDS)
        return (
            "| tstats `security_content_summariesonly` count min(_time) as firstTime "
            f"max(_time) as lastTime from datamodel={data_model} where {query} by {by_clause}\n"
            f"| `drop_dm_object_name({dataset})`\n"
            "| `security_content_ctime(firstTime)`\n"
            "| `security_content_ctime(lastTime)`\n"
            f"| {macro}"
        )


__all__ = ["CIM_BY_FIELDS", "SigmakitSplunkBackend", "filter_macro_for", "ConditionItem"]
