"""One exception family for everything sigmakit reports about its input.

Every error carries where it happened (file and, where known, line) and, for rules, the
rule id, so a user can jump straight to the problem. Errors raised inside pySigma
processing pipelines also derive from pySigma's transformation error, so sigma-cli
reports them like its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sigma.exceptions import SigmaTransformationError


@dataclass(frozen=True)
class Location:
    """A place in an input file: path, and optionally a 1-based line."""

    path: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        if self.path is None:
            return "<input>" if self.line is None else f"<input>:{self.line}"
        return self.path if self.line is None else f"{self.path}:{self.line}"

    @classmethod
    def of(cls, path: str | Path | None, line: int | None = None) -> "Location":
        return cls(None if path is None else str(path), line)


class SigmakitError(Exception):
    """Root of sigmakit's errors: a message plus the location and rule it concerns."""

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        rule_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.rule_id = rule_id

    def __str__(self) -> str:
        parts = []
        if self.location is not None:
            parts.append(f"{self.location}: ")
        parts.append(self.message)
        if self.rule_id:
            parts.append(f" (rule {self.rule_id})")
        return "".join(parts)


class RuleError(SigmakitError):
    """A rule file that cannot be read or is not a valid Sigma rule."""


class MetadataError(RuleError):
    """A rule's Splunk ES metadata block is missing a key or holds a wrong value."""


class RuleTestError(SigmakitError):
    """A rule-test file that is missing, empty or not in the rule-test format."""


class OutputError(SigmakitError):
    """sigmakit could not write what was asked (a .conf value it cannot represent, a file
    that does not read back as written, a folder it cannot replace)."""


class UnsupportedFeatureError(RuleError):
    """The rule uses a Sigma feature the local matcher cannot evaluate faithfully.

    ``feature`` names the feature (a modifier, a value type, a correlation form) so a user
    sees what to change; the rule is never silently treated as not matching.
    """

    def __init__(
        self,
        message: str,
        *,
        feature: str,
        location: Location | None = None,
        rule_id: str | None = None,
    ) -> None:
        super().__init__(message, location=location, rule_id=rule_id)
        self.feature = feature


class EventError(SigmakitError):
    """An event that cannot be read (bad JSON, not an object) or evaluated (a regex timeout)."""


class UsageError(SigmakitError):
    """The caller asked for something that does not exist (an unknown target, say)."""


class PipelineError(SigmakitError, SigmaTransformationError):
    """Base of the errors a sigmakit pipeline raises while it transforms a rule.

    It is also a pySigma transformation error so that pySigma and sigma-cli treat it as
    their own; the two constructors are reconciled here.
    """

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        rule_id: str | None = None,
    ) -> None:
        SigmakitError.__init__(self, message, location=location, rule_id=rule_id)
        self.source = None

    def __str__(self) -> str:
        return SigmakitError.__str__(self)


class OutOfScopeError(PipelineError):
    """The rule's log source is not carried by the target data source (a skip, not a failure)."""


class RefusedError(PipelineError):
    """The rule cannot be expressed faithfully for the target, so it is refused."""
