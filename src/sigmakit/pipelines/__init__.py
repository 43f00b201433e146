"""Pipelines: one pySigma processing pipeline per Splunk data source.

Importing this package registers sigmakit's transformation types with pySigma, so the
YAML definitions under ``pipelines/`` (and sigma-cli, through the ``sigmakit_*`` plugin
pipelines) can use them by name.
"""

from sigmakit.pipelines.registry import (
    TARGETS,
    DataSource,
    FieldRow,
    check_target,
    data_source,
    load_pipeline,
    pipeline_text,
    register_transformations,
)
from sigmakit.pipelines.notes import warnings_of
from sigmakit.pipelines.result_fields import ResultField

__all__ = [
    "TARGETS",
    "DataSource",
    "FieldRow",
    "ResultField",
    "check_target",
    "data_source",
    "load_pipeline",
    "pipeline_text",
    "register_transformations",
    "warnings_of",
]
