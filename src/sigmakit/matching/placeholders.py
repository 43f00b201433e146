"""Values for the ``%name%`` placeholders of the ``expand`` modifier.

A placeholders file is YAML mapping each name (with or without the surrounding ``%``) to
a value or a list of values::

    Administrators: [admin, "CORP\\\\Domain Admins"]
    DomainControllers: DC-*

Each value is a Sigma string: ``*`` and ``?`` are wildcards and a backslash escapes them,
as in a rule. A value containing a placeholder becomes the OR of its expansions, which
stays OR-ed even under ``all`` (as windash and base64offset expansions do). A placeholder
without a value is left in the rule; the matcher then refuses the rule with an error
naming it, because a rule that cannot be resolved must be rejected (Sigma spec).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations.base import ValueTransformation
from sigma.types import (
    Placeholder,
    SigmaExpansion,
    SigmaRegularExpression,
    SigmaString,
    SigmaType,
    SpecialChars,
)

from sigmakit.errors import Location, RuleError, UsageError
from sigmakit.matching.regex import escape
from sigmakit.rules.yaml_source import load_yaml_documents

Placeholders = Mapping[str, tuple[str, ...]]


def load_placeholders(path: str | Path) -> dict[str, tuple[str, ...]]:
    """Read a placeholders file; raise UsageError naming the file and line of a problem."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
        documents = load_yaml_documents(text, source)
    except OSError as error:
        raise UsageError(f"cannot read placeholders file: {error.strerror}",
                         location=Location.of(source)) from None
    except (UnicodeDecodeError, RuleError) as error:
        raise UsageError(f"placeholders file: {error}", location=Location.of(source)) from None
    if not documents or documents[0].data is None:
        return {}
    document = documents[0]
    if len(documents) > 1 or not isinstance(document.data, dict):
        raise UsageError("a placeholders file must be one YAML map of names to values",
                         location=Location.of(source, document.positions.document_line))
    result: dict[str, tuple[str, ...]] = {}
    for name, raw in document.data.items():
        line = document.positions.line_of((name,))
        values = raw if isinstance(raw, list) else [raw]
        if not isinstance(name, str) or not name.strip("%") or not values or not all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values
        ):
            raise UsageError(
                f"placeholder {name!r} must map a name to a string or number, or a list of them",
                location=Location.of(source, line),
            )
        result[name.strip("%")] = tuple(str(v) for v in values)
    return result


@dataclass
class PlaceholderTransformation(ValueTransformation):
    """Replace each placeholder that has values by the OR of them (see module docstring)."""

    values: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def apply_value(  # type: ignore[override]  # pySigma picks the values by this annotation
        self, field: str | None, val: SigmaString | SigmaRegularExpression
    ) -> SigmaType | None:
        if isinstance(val, SigmaRegularExpression):
            return self._regex(val)
        if not val.contains_placeholder(include=list(self.values)):
            return None
        expanded = val.replace_placeholders(self._replacements)
        return expanded[0] if len(expanded) == 1 else SigmaExpansion(list(expanded))

    def _replacements(self, placeholder: Placeholder) -> Iterator[SigmaString | Placeholder]:
        if placeholder.name in self.values:
            yield from (SigmaString(value) for value in self.values[placeholder.name])
        else:
            yield placeholder

    def _regex(self, val: SigmaRegularExpression) -> SigmaType | None:
        """In a regex a placeholder becomes an alternation of its values, taken literally."""
        if not val.regexp.contains_placeholder(include=list(self.values)):
            return None
        text = "".join(self._regex_part(part) for part in val.regexp.s)
        return SigmaRegularExpression(SigmaString(text, escape=False), set(val.flags))

    def _regex_part(self, part: str | SpecialChars | Placeholder) -> str:
        if isinstance(part, Placeholder):
            if part.name not in self.values:
                return f"%{part.name}%"
            return "(?:" + "|".join(escape(v) for v in self.values[part.name]) + ")"
        if isinstance(part, SpecialChars):
            return "*" if part is SpecialChars.WILDCARD_MULTI else "?"
        return part


def placeholder_pipeline(values: Placeholders) -> ProcessingPipeline:
    """A pipeline with one step that expands placeholders; it runs before a data source's."""
    transformation = PlaceholderTransformation(values={k: tuple(v) for k, v in values.items()})
    item = ProcessingItem(transformation, identifier="sigmakit_placeholders")
    return ProcessingPipeline(items=[item], name="sigmakit placeholders")
