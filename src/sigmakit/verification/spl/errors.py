"""What the SPL evaluator reports when it cannot give a verdict.

Three cases are kept apart on purpose, because they call for different action:

* ``SplSyntaxError``: the text is not SPL that Splunk would run (an unclosed quote, an
  unknown macro, a regular expression PCRE rejects). The emitted search is broken.
* ``CannotEvaluate``: the text is valid SPL, but outside the subset the evaluator
  implements (a subsearch, a command it does not know). No verdict, never a guess.
* ``UndecidedRecord``: one record, not the whole search, cannot be judged (for example a
  multivalue field where Splunk's documented semantics do not settle the answer).
"""

from __future__ import annotations

from sigmakit.errors import SigmakitError


class SplError(SigmakitError):
    """Root of the evaluator's errors: a message plus the offset in the SPL text."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message if offset is None else f"{message} (at offset {offset})")
        self.reason = message
        self.offset = offset


class SplSyntaxError(SplError):
    """The SPL text is malformed: Splunk would refuse to run it."""


class CannotEvaluate(SplError):
    """Valid SPL outside the evaluator's subset: the search gets no verdict."""


class UndecidedRecord(Exception):
    """One record cannot be judged; the search still gives verdicts for the others."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
