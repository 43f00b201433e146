"""The ``sigmakit_field_map`` transformation: Sigma field names onto a data source's fields.

Unlike pySigma's name-only field mapping, a mapping here may depend on the value: for the
CIM data model ``Image|endswith: '\\x.exe'`` becomes ``Processes.process_name=x.exe``
while a full path goes to ``Processes.process_path``. Each Sigma field has an ordered list
of mappings; the first whose value converter accepts a value wins. A field with no
mapping (when the map is strict) or a value no mapping accepts is *unavailable* for the
data source; such items are marked here and settled by the field policy (policy.py).

YAML form (``fields`` maps a Sigma field to a target field or a list of mappings)::

    - type: sigmakit_field_map
      source: Windows Security 4688
      strict: true
      keywords: true       # false when the source has no raw event (a data model)
      fields:
        CommandLine: CommandLine
        ProcessId: {field: NewProcessId, value: hex}
        Image:
          - {field: Processes.process_name, value: basename}
          - {field: Processes.process_path}
        User: {value: domain_user, domain_field: SubjectDomainName, user_field: SubjectUserName}
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Final

from sigma.conditions import ConditionAND, ConditionOR
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaConfigurationError
from sigma.processing.transformations.base import PreprocessingTransformation
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SigmaType,
)

from sigmakit.errors import RefusedError
from sigmakit.pipelines import notes
from sigmakit.pipelines.policy import UnavailableDetectionItem, resolve_unavailable
from sigmakit.pipelines.values import CONVERTERS, ConversionContext, Converted, Group, Term


@dataclass(frozen=True)
class FieldMapping:
    """One way to express a Sigma field: a target field and the value converter to use."""

    field: str | None
    converter: str = "rename"
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def target_fields(self) -> tuple[str, ...]:
        """Every data-source field this mapping can produce (for documentation)."""
        fields = [self.field] if self.field else []
        options = dict(self.options)
        for key in ("domain_field", "user_field"):
            if key in options:
                fields.append(options[key])
        fields.extend(options.get("algorithms", {}).values())
        return tuple(fields)


@dataclass
class _Unavailable:
    """A value (or whole item) with no mapping, with the reason shown to the user."""

    reason: str


def parse_field_mappings(raw: dict[str, Any]) -> dict[str, tuple[FieldMapping, ...]]:
    """Read the ``fields`` parameter of a field-map transformation."""
    if not isinstance(raw, dict):
        raise SigmaConfigurationError("sigmakit_field_map: 'fields' must be a map")
    result: dict[str, tuple[FieldMapping, ...]] = {}
    for sigma_field, spec in raw.items():
        specs = spec if isinstance(spec, list) else [spec]
        mappings = []
        for item in specs:
            if isinstance(item, str):
                mappings.append(FieldMapping(item))
                continue
            if not isinstance(item, dict):
                raise SigmaConfigurationError(f"sigmakit_field_map: bad mapping for {sigma_field}: {item!r}")
            options = dict(item)
            target = options.pop("field", None)
            converter = options.pop("value", "rename")
            if converter not in CONVERTERS:
                raise SigmaConfigurationError(
                    f"sigmakit_field_map: unknown value converter {converter!r} for {sigma_field} "
                    f"(known: {', '.join(sorted(CONVERTERS))})"
                )
            mappings.append(FieldMapping(target, converter, tuple(sorted(options.items()))))
        result[str(sigma_field)] = tuple(mappings)
    return result


@dataclass
class FieldMapTransformation(PreprocessingTransformation):
    """Map Sigma fields and values to a data source's fields; see the module docstring."""

    fields: dict[str, Any]
    source: str = "the data source"  # a noun phrase: "Windows Security 4688 events"
    strict: bool = True
    keywords: bool = True  # false: the source has no raw event to search keywords in
    mappings: dict[str, tuple[FieldMapping, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.mappings = parse_field_mappings(self.fields)

    # -- rule level -------------------------------------------------------------------
    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        super().apply(rule)
        if isinstance(rule, SigmaRule):
            for detection in rule.detection.detections.values():
                self._map_detection(rule, detection)
            rule.fields = [name for f in rule.fields for name in self._plain_names(f)]
            resolve_unavailable(rule, self.source)
        elif isinstance(rule, SigmaCorrelationRule):
            self._map_correlation(rule)

    def _map_correlation(self, rule: SigmaCorrelationRule) -> None:
        aliases = {alias.alias for alias in rule.aliases}
        for alias in rule.aliases:
            for reference, name in list(alias.mapping.items()):
                alias.mapping[reference] = self._single_name(name, rule)
        if rule.group_by:
            rule.group_by = [g if g in aliases else self._single_name(g, rule) for g in rule.group_by]
        condition = rule.condition
        if condition is not None and isinstance(condition.fieldref, str):
            condition.fieldref = self._single_name(condition.fieldref, rule)

    def _single_name(self, name: str, rule: SigmaCorrelationRule) -> str:
        names = self._plain_names(name)
        if len(names) != 1:
            raise RefusedError(
                f"{self.source} has no single field for {name!r}, used in the correlation",
                rule_id=None if rule.id is None else str(rule.id),
            )
        return names[0]

    def _plain_names(self, sigma_field: str) -> list[str]:
        """Data-source names for a field used without a value (rule ``fields``, group-by)."""
        mappings = self.mappings.get(sigma_field)
        if mappings is None:
            return [] if self.strict else [sigma_field]
        renames = [m.field for m in mappings if m.converter == "rename" and m.field]
        if renames:
            return [renames[-1]]
        return [] if not mappings[-1].field else [mappings[-1].field]

    # -- detections ---------------------------------------------------------------------
    def _map_detection(self, rule: SigmaRule, detection: SigmaDetection) -> None:
        for index, item in enumerate(detection.detection_items):
            if isinstance(item, SigmaDetection):
                self._map_detection(rule, item)
            elif not isinstance(item, UnavailableDetectionItem):
                detection.detection_items[index] = self._map_item(rule, item)

    def _map_item(self, rule: SigmaRule, item: SigmaDetectionItem) -> SigmaDetectionItem | SigmaDetection:
        if item.field is None:  # keyword search: not bound to a field
            if self.keywords:
                return item
            return UnavailableDetectionItem.mark(
                item, f"keyword searches need the raw event, which {self.source} does not hold"
            )
        mappings = self.mappings.get(item.field)
        if mappings is None:
            if not self.strict:
                return item
            return UnavailableDetectionItem.mark(item, f"{item.field} is not a field of {self.source}")
        if not item.value:
            # An empty value list means null: test the general mapping's field for null.
            target = self._null_field(mappings)
            if target is None:
                return UnavailableDetectionItem.mark(item, f"{self.source} cannot test {item.field} for null")
            return dataclasses.replace(item, field=target, auto_modifiers=False)
        converted: list[Converted | _Unavailable] = [
            self._convert_value(rule, item.field, value, mappings) for value in item.value
        ]
        return self._build(item, Group(item.value_linking, converted))  # type: ignore[arg-type]

    def _stand_in_fields(self) -> frozenset[str]:
        """Fields where the source stores a stand-in for missing and empty values alike."""
        settings = {} if self._pipeline is None else self._pipeline.vars.get("sigmakit", {})
        missing = settings.get("missing_values") or {}
        return frozenset(missing.get("stored_fields") or ())

    def _empty_as_missing(self, converted: Converted) -> Converted:
        """An empty-string test on a field whose empty values the source stores as missing
        (the CIM data model's "unknown") is a test for a missing value: ``''`` becomes null."""
        if (isinstance(converted, Term) and isinstance(converted.value, SigmaString)
                and not converted.value.s and converted.field in self._stand_in_fields()):
            return Term(converted.field, SigmaNull())
        return converted

    def _null_field(self, mappings: tuple[FieldMapping, ...]) -> str | None:
        renames = [m.field for m in mappings if m.converter in ("rename", "lowercase") and m.field]
        return renames[-1] if renames else None

    def _convert_value(
        self, rule: SigmaRule, sigma_field: str, value: SigmaType, mappings: tuple[FieldMapping, ...]
    ) -> Converted | _Unavailable:
        if isinstance(value, SigmaExpansion):
            parts = [self._convert_value(rule, sigma_field, v, mappings) for v in value.values]
            return Group(ConditionOR, parts)  # type: ignore[arg-type]
        if isinstance(value, SigmaFieldReference):
            return self._convert_reference(sigma_field, value, mappings)
        for mapping in mappings:
            context = ConversionContext(
                target_field=mapping.field or sigma_field,
                options=dict(mapping.options),
                warn=lambda message: notes.add_warning(rule, message),
            )
            result = CONVERTERS[mapping.converter](value, context)
            if result is not None:
                return self._empty_as_missing(result)
        fields = ", ".join(f for m in mappings for f in m.target_fields) or "none"
        return _Unavailable(
            f"{sigma_field} value {_describe(value)} cannot be expressed with the fields of {self.source} ({fields})"
        )

    def _convert_reference(
        self, sigma_field: str, value: SigmaFieldReference, mappings: tuple[FieldMapping, ...]
    ) -> Converted | _Unavailable:
        own = mappings[-1]
        other = self.mappings.get(value.field)
        if other is None and not self.strict:
            other = (FieldMapping(value.field),)
        if other is None or other[-1].converter != own.converter or own.field is None or other[-1].field is None:
            return _Unavailable(
                f"{sigma_field}|fieldref {value.field} cannot be compared in the fields of {self.source}"
            )
        return Term(own.field, SigmaFieldReference(other[-1].field, value.starts_with, value.ends_with))

    def _build(
        self, item: SigmaDetectionItem, converted: Converted | _Unavailable
    ) -> SigmaDetectionItem | SigmaDetection:
        """Turn a converted value tree back into pySigma detection items."""
        if isinstance(converted, _Unavailable):
            return UnavailableDetectionItem.mark(item, converted.reason)
        if isinstance(converted, Term):
            return dataclasses.replace(
                item, field=converted.field, value=[converted.value], value_linking=ConditionOR,
                auto_modifiers=False,
            )
        parts = _flatten(converted)
        if all(isinstance(p, Term) for p in parts.parts) and len({p.field for p in parts.parts}) == 1:  # type: ignore[union-attr]
            values = [p.value for p in parts.parts]  # type: ignore[union-attr]
            return dataclasses.replace(
                item, field=parts.parts[0].field, value=values,  # type: ignore[union-attr]
                value_linking=parts.linking, auto_modifiers=False,
            )
        if item.negated:
            raise RefusedError(
                f"{item.field}: a negated value list that maps onto several {self.source} fields is not supported"
            )
        built = [self._build(item, part) for part in parts.parts]
        return SigmaDetection(built, source=item.source, item_linking=parts.linking)  # type: ignore[arg-type]


def _flatten(group: Group) -> Group:
    """Merge nested groups of the same linking and terms on one field into one list."""
    flat: list[Converted | _Unavailable] = []
    for part in group.parts:
        if isinstance(part, Group):
            inner = _flatten(part)
            if inner.linking is group.linking or len(inner.parts) == 1:
                flat.extend(inner.parts)
            else:
                flat.append(inner)
        else:
            flat.append(part)
    return Group(group.linking, flat)  # type: ignore[arg-type]


_COMPARISONS: Final = {"LT": "<", "LTE": "<=", "GT": ">", "GTE": ">=", "NEQ": "!="}


def _describe(value: SigmaType) -> str:
    """A rule value as the rule author wrote it, for messages."""
    if isinstance(value, SigmaString):
        return repr(value.original or str(value))
    if isinstance(value, SigmaNull):
        return "null"
    if isinstance(value, SigmaCompareExpression):
        return f"{_COMPARISONS.get(value.op.name, value.op.name)} {value.number.number}"
    if isinstance(value, SigmaRegularExpression):
        return f"re {value.regexp.original!r}"
    if isinstance(value, SigmaCIDRExpression):
        return f"cidr {value.cidr!r}"
    if isinstance(value, SigmaNumber):
        return str(value.number)
    if isinstance(value, SigmaBool):
        return "true" if value.boolean else "false"
    return type(value).__name__.removeprefix("Sigma")


@dataclass
class KnownFieldsTransformation(PreprocessingTransformation):
    """Treat a field the data source never has as unavailable, though no name changes.

    Sysmon's field names are Sigma's own, so its pipeline maps nothing; a misspelled or
    foreign field (``ParentImagee``, ``GrandParentImage``) would still be searched, and
    under ``not`` silently widen the search. This step marks such tests unavailable and
    lets the field policy drop or refuse them. The known names are read from the
    pipeline's ``vars.sigmakit`` lists named in ``fields_from``.
    """

    fields_from: list[str]
    source: str = "the data source"

    def known_fields(self) -> frozenset[str]:
        settings = {} if self._pipeline is None else self._pipeline.vars.get("sigmakit", {})
        missing = [name for name in self.fields_from if name not in settings]
        if missing:
            raise SigmaConfigurationError(f"sigmakit_known_fields: no field list {missing} in vars.sigmakit")
        return frozenset(name for key in self.fields_from for name in settings[key])

    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        super().apply(rule)
        if not isinstance(rule, SigmaRule):
            return
        known = self.known_fields()
        for detection in rule.detection.detections.values():
            self._mark(detection, known)
        resolve_unavailable(rule, self.source)

    def _mark(self, detection: SigmaDetection, known: frozenset[str]) -> None:
        for index, item in enumerate(detection.detection_items):
            if isinstance(item, SigmaDetection):
                self._mark(item, known)
            elif isinstance(item, UnavailableDetectionItem) or item.field is None:
                continue
            elif item.field not in known:
                detection.detection_items[index] = UnavailableDetectionItem.mark(
                    item, f"{item.field} is not a field of {self.source}")
            elif any(isinstance(v, SigmaFieldReference) and v.field not in known for v in item.value):
                detection.detection_items[index] = UnavailableDetectionItem.mark(
                    item, f"{item.field}|fieldref names a field that is not in {self.source}")


__all__ = ["FieldMapTransformation", "FieldMapping", "KnownFieldsTransformation", "parse_field_mappings", "ConditionAND"]
