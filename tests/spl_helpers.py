"""Helpers for the SPL evaluator tests: verdicts as short strings, one per record."""

from __future__ import annotations

from typing import Any, Mapping

from sigmakit.verification.spl import Evaluation, MacroSet, Status, evaluate_spl


def verdicts(spl: str, *records: Mapping[str, Any], macros: MacroSet | None = None,
             data_model: str | None = None) -> list[str]:
    """``match`` / ``no_match`` / ``undecided`` per record; fails if the search has no verdicts."""
    evaluation = evaluate_spl(spl, list(records), macros, data_model)
    assert evaluation.status is Status.EVALUATED, evaluation.reason
    return [evaluation.verdict(i).value for i in range(len(records))]


def outcome(spl: str, *records: Mapping[str, Any], macros: MacroSet | None = None,
            data_model: str | None = None) -> Evaluation:
    return evaluate_spl(spl, list(records), macros, data_model)


M, N, U = "match", "no_match", "undecided"
