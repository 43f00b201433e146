"""The ES result fields of a raw data source: CIM-named fields every ES search yields.

Splunk ES reads risk objects, risk messages, notable fields and drilldown tokens from the
fields of a correlation search's results, by CIM name (``dest``, ``user``...). The CIM
search has them after ``drop_dm_object_name``; a search over raw events has the source's
own names (``Computer``, ``ImageFileName``...). Each raw data source therefore declares,
in ``vars.sigmakit.result_fields`` of its pipeline, where each CIM-named field comes from::

    result_fields:
      dest: Computer                      # copied from one field
      user: [UserName, UserSid]           # the first of these that has a value
      process_name: {basename: Image}     # the file name at the end of a Windows path

The conversion turns the table into one ``eval`` placed before the filter macro.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from sigma.exceptions import SigmaConfigurationError

_FIELD_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ResultField:
    """One CIM-named result field and the source field(s) it is computed from."""

    name: str
    sources: tuple[str, ...]
    basename: bool = False  # take the last path element of the (single) source field


def _field(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _FIELD_NAME.match(value):
        raise SigmaConfigurationError(f"result_fields.{where}: {value!r} is not a plain field name")
    return value


def parse_result_fields(raw: Any) -> tuple[ResultField, ...]:
    """Read the ``result_fields`` table of a pipeline's ``vars.sigmakit`` block."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise SigmaConfigurationError("result_fields must map result field names to source fields")
    fields = []
    for name, spec in raw.items():
        name = _field(name, str(name))
        if isinstance(spec, str):
            fields.append(ResultField(name, (_field(spec, name),)))
        elif isinstance(spec, list) and spec:
            fields.append(ResultField(name, tuple(_field(s, name) for s in spec)))
        elif isinstance(spec, dict) and set(spec) == {"basename"}:
            fields.append(ResultField(name, (_field(spec["basename"], name),), basename=True))
        else:
            raise SigmaConfigurationError(
                f"result_fields.{name}: expected a field, a list of fields or {{basename: field}}, not {spec!r}"
            )
    return tuple(fields)
