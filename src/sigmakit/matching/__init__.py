"""Matching: Sigma rules compiled (through the same pipelines as the SPL) into Python
predicates and run over events, with correlation rules evaluated over their hits.

The public names are below; see ``matcher.py`` for how to use them and ``compiler.py``,
``view.py`` and ``correlation.py`` for the semantics chosen where Sigma leaves room.
"""

from sigmakit.matching.correlation import CorrelationHit
from sigmakit.matching.matcher import SIGMA_SOURCE, CompiledRule, Hit, Matcher, MatchSession, SkippedRule
from sigmakit.matching.placeholders import load_placeholders
from sigmakit.matching.regex import compile_regex
from sigmakit.matching.timestamps import TIME_FIELDS, event_time
from sigmakit.matching.view import EventView

__all__ = [
    "SIGMA_SOURCE",
    "TIME_FIELDS",
    "CompiledRule",
    "CorrelationHit",
    "EventView",
    "Hit",
    "MatchSession",
    "Matcher",
    "SkippedRule",
    "compile_regex",
    "event_time",
    "load_placeholders",
]
