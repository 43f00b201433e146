"""The four data sources: their pipeline definitions and what sigmakit reads from them.

Each data source is defined once, in ``pipelines/<target>.yml``: a pySigma pipeline whose
``vars.sigmakit`` block describes the source (title, Splunk source and sourcetype, data
model). Everything else that concerns the source (field table, base search, scope) is
read from that pipeline's own transformations, so nothing is repeated elsewhere.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final

from sigma.processing.pipeline import ProcessingPipeline
from sigma.processing.transformations import transformations as pysigma_transformations

from sigmakit.errors import UsageError
from sigmakit.pipelines.field_map import FieldMapping, FieldMapTransformation, KnownFieldsTransformation
from sigmakit.pipelines.result_fields import ResultField, parse_result_fields
from sigmakit.pipelines.source import BaseSearchTransformation, ScopeTransformation

TARGETS: Final = ("cim", "sysmon", "security_4688", "crowdstrike")

SIGMAKIT_TRANSFORMATIONS: Final = {
    "sigmakit_scope": ScopeTransformation,
    "sigmakit_field_map": FieldMapTransformation,
    "sigmakit_base_search": BaseSearchTransformation,
    "sigmakit_known_fields": KnownFieldsTransformation,
}


def register_transformations() -> None:
    """Make sigmakit's transformation types known to pySigma's YAML pipeline loader."""
    for name, cls in SIGMAKIT_TRANSFORMATIONS.items():
        pysigma_transformations.setdefault(name, cls)  # type: ignore[arg-type]


register_transformations()


def _pipeline_folder() -> Traversable:
    """Pipeline definitions: shipped in the wheel, or the checkout's ``pipelines/``."""
    packaged = resources.files("sigmakit") / "_data" / "pipelines"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "pipelines"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("sigmakit's pipeline definitions are missing from this installation")


def check_target(target: str) -> str:
    """Return *target* if it is a known data source, else raise UsageError with a hint."""
    if target not in TARGETS:
        import difflib

        close = difflib.get_close_matches(target, TARGETS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(f"unknown target {target!r} (known: {', '.join(TARGETS)}){hint}")
    return target


@functools.lru_cache(maxsize=None)
def pipeline_text(target: str) -> str:
    """The YAML definition of a target's pipeline."""
    check_target(target)
    return (_pipeline_folder() / f"{target}.yml").read_text(encoding="utf-8")


def load_pipeline(target: str) -> ProcessingPipeline:
    """A new pySigma pipeline object for *target* (pipelines keep per-run state)."""
    return ProcessingPipeline.from_yaml(pipeline_text(target))


@dataclass(frozen=True)
class FieldRow:
    """One line of a data source's field table: a Sigma field and how it is expressed."""

    sigma_field: str
    mappings: tuple[FieldMapping, ...]


@dataclass(frozen=True)
class DataSource:
    """What sigmakit knows about one data source, read from its pipeline definition."""

    target: str
    title: str
    description: str
    pipeline_name: str
    settings: dict[str, Any]
    base_conditions: dict[str, Any]
    event_code_field: str | None
    event_codes: dict[str, Any] | None
    covered_categories: tuple[str, ...]
    services: tuple[str, ...]
    field_rows: tuple[FieldRow, ...]
    strict_fields: bool
    result_fields: tuple[ResultField, ...] = ()

    @property
    def stand_ins(self) -> dict[str, str]:
        """Field -> the text this source stores in it instead of a missing value.

        From the ``missing_values`` block of the pipeline's settings (the CIM data model
        keeps ``unknown`` in its calculated fields); empty for raw event sources.
        """
        missing = self.settings.get("missing_values") or {}
        stored_as = missing.get("stored_as")
        return {name: str(stored_as) for name in missing.get("stored_fields") or ()} if stored_as else {}

    @property
    def data_model(self) -> str | None:
        return self.settings.get("data_model")

    @property
    def source(self) -> str | None:
        return self.settings.get("source")

    @property
    def sourcetype(self) -> str | None:
        return self.settings.get("sourcetype")

    @property
    def reader(self) -> dict[str, Any]:
        """How event readers recognise this source's raw events (``vars.sigmakit.reader``)."""
        return dict(self.settings.get("reader") or {})

    def event_code(self, category: str) -> Any:
        """The event code(s) the base search requires for a log source category, if any."""
        if self.event_codes is None:
            return None
        return self.event_codes.get(category)


@functools.lru_cache(maxsize=None)
def data_source(target: str) -> DataSource:
    """Describe *target* from its pipeline definition."""
    pipeline = load_pipeline(target)
    settings = dict(pipeline.vars.get("sigmakit", {}))
    scope = _first(pipeline, ScopeTransformation)
    base = _first(pipeline, BaseSearchTransformation)
    field_map = _first(pipeline, FieldMapTransformation)
    rows = tuple(FieldRow(name, mappings) for name, mappings in (field_map.mappings.items() if field_map else ()))
    return DataSource(
        target=target,
        title=str(settings.get("title", target)),
        description=" ".join(str(settings.get("description", "")).split()),
        pipeline_name=str(pipeline.name),
        settings=settings,
        base_conditions=dict(base.conditions) if base else {},
        event_code_field=base.event_code_field if base and base.event_codes is not None else None,
        event_codes=base.event_codes_by_category() if base and base.event_codes is not None else None,
        covered_categories=tuple(scope.covered_categories()) if scope else (),
        services=tuple(scope.services) if scope else (),
        field_rows=rows,
        strict_fields=bool(field_map.strict) if field_map else False,
        result_fields=parse_result_fields(settings.get("result_fields")),
    )


def _first(pipeline: ProcessingPipeline, cls: type) -> Any:
    for item in pipeline.items:
        transformation = getattr(item, "transformation", None)
        if isinstance(transformation, cls):
            return transformation
    return None
