"""How a data source shows a field that has no value (see docs/spl-semantics.md).

In raw events a missing field is simply absent: the search tests ``NOT f=*`` and ``where``
tests ``isnull(f)``. The CIM data model is different in two ways:

* its calculated fields (``dest``, ``user``, ``process``, ...) never are null: when the
  add-on supplies nothing, or an empty string, they hold the text ``unknown``;
* after ``tstats``, every by-field without a value holds the ``fillnull_value`` of the
  ``security_content_summariesonly`` macro, the text ``null``.

A pattern that happens to match such a stand-in text (``*kno*`` matches ``unknown``) would
match events where the field is missing, which Sigma never does; lowering guards those
tests with "and the field is not missing" (lowering.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class NullPolicy:
    """Stand-in values for missing fields, in the search and in the post-filter."""

    stored: Mapping[str, str] = field(default_factory=dict)  # field -> value kept instead of null
    filled: str | None = None  # value of every other missing field in the post-filter
    # How the raw event (``_raw``) writes values: "xml" (XmlWinEventLog: & < > " ' may be
    # entities) or "json" (backslashes doubled, quotes escaped, \uXXXX escapes); keyword
    # post-filters match the value in that encoding. None: values appear as they are.
    raw_format: str | None = None

    def search_value(self, name: str) -> str | None:
        """The value a missing *name* has in the search, or None when it is absent."""
        return self.stored.get(name)

    def filter_value(self, name: str) -> str | None:
        """The value a missing *name* has in the post-filter, or None when it is null."""
        return self.stored.get(name, self.filled)

    def stand_ins(self, name: str) -> tuple[str, ...]:
        """Every text that means "missing" for *name* somewhere in the search."""
        values = {self.search_value(name), self.filter_value(name)}
        return tuple(sorted(v for v in values if v is not None))

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None, raw_format: str | None = None) -> "NullPolicy":
        """Read the ``missing_values`` block of a pipeline's ``vars.sigmakit`` (see cim.yml)
        and its ``raw_format``."""
        if not settings:
            return cls(raw_format=raw_format) if raw_format else RAW_EVENTS
        stored_as = str(settings["stored_as"])
        return cls(
            stored={name: stored_as for name in settings.get("stored_fields", ())},
            filled=None if settings.get("filled_as") is None else str(settings["filled_as"]),
            raw_format=raw_format,
        )


RAW_EVENTS = NullPolicy()

__all__ = ["NullPolicy", "RAW_EVENTS"]
