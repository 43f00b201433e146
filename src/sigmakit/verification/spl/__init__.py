"""A local evaluator for the SPL sigmakit emits; it reads SPL text and nothing of pySigma.

``evaluate_spl(text, records, macros)`` parses the search into a syntax tree (after
expanding its macros), runs it over the records and returns an ``Evaluation``: the
records it matches, those it could not judge, or, for SPL outside the subset, a
"cannot evaluate" status with the reason. ``docs/spl-evaluator.md`` lists the subset.
"""

from sigmakit.verification.spl.commands import Query, parse_spl
from sigmakit.verification.spl.errors import CannotEvaluate, SplError, SplSyntaxError
from sigmakit.verification.spl.macros import Macro, MacroFileError, MacroSet, expand_macros
from sigmakit.verification.spl.runner import (
    CompiledSearch,
    Evaluation,
    Status,
    Verdict,
    compile_spl,
    evaluate_spl,
)

__all__ = [
    "CannotEvaluate",
    "CompiledSearch",
    "Evaluation",
    "Macro",
    "MacroFileError",
    "MacroSet",
    "Query",
    "SplError",
    "SplSyntaxError",
    "Status",
    "Verdict",
    "compile_spl",
    "evaluate_spl",
    "expand_macros",
    "parse_spl",
]
