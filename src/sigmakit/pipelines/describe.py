"""Human-readable descriptions of the data sources, generated from their pipelines.

The pages under ``docs/data-sources/`` are this module's output; a test regenerates them
and fails when the committed pages drift from the pipeline definitions.
"""

from __future__ import annotations

from typing import Final

from sigmakit.pipelines.registry import TARGETS, DataSource, data_source
from sigmakit.pipelines.values import CONVERTERS

_CONVERTER_NOTES: Final = {
    name: (function.__doc__ or "").strip().splitlines()[0].replace("``", "`")
    for name, function in CONVERTERS.items()
}


def process_creation_fields() -> tuple[str, ...]:
    """The Sysmon event 1 fields, as listed in the sysmon pipeline definition."""
    return tuple(data_source("sysmon").settings.get("process_creation_fields", ()))


def _mapping_cell(source: DataSource, sigma_field: str) -> tuple[str, str]:
    rows = {row.sigma_field: row for row in source.field_rows}
    row = rows.get(sigma_field)
    if row is None:
        if source.strict_fields:
            return "not available", "rules testing it follow the field policy"
        return f"`{sigma_field}`", "as is"
    targets = " or ".join(f"`{name}`" for m in row.mappings for name in m.target_fields)
    notes = "; then ".join(
        "as is" if m.converter == "rename" else f"{m.converter}: {_CONVERTER_NOTES[m.converter]}"
        for m in row.mappings
    )
    return targets, notes


def render_data_source_page(target: str) -> str:
    """The Markdown page of one data source: what it is, its base search and field table."""
    source = data_source(target)
    lines = [f"# `{target}`: {source.title}", "", source.description, ""]
    lines += [f"Pipeline: `pipelines/{target}.yml` (pySigma plugin name `sigmakit_{target}`).", ""]
    if source.data_model:
        lines += [f"Searches run as `tstats` over the `{source.data_model}` data model.", ""]
    if source.base_conditions or source.event_code_field:
        lines += ["Every search starts with the conditions that select this source's events:", ""]
        for name, value in source.base_conditions.items():
            values = value if isinstance(value, list) else [value]
            lines.append(f"- `{name}` = " + " or ".join(f"`{v}`" for v in values))
        if source.event_code_field:
            lines.append(f"- `{source.event_code_field}` = the event code of the rule's log source category")
        lines.append("")
    categories = ", ".join(f"`{c}`" for c in source.covered_categories)
    services = ", ".join(f"`{s}`" for s in source.services)
    lines += [f"Log sources covered (product `windows`): categories {categories}"
              + (f"; services {services}" if services else "") + ". Other rules are skipped.", ""]
    lines += ["| Sigma field | field here | value conversion |", "|---|---|---|"]
    listed = list(process_creation_fields())
    listed += [row.sigma_field for row in source.field_rows if row.sigma_field not in listed]
    for sigma_field in listed:
        fields, notes = _mapping_cell(source, sigma_field)
        lines.append(f"| `{sigma_field}` | {fields} | {notes} |")
    lines.append("")
    if source.strict_fields:
        lines += [
            "Fields marked *not available* do not exist in this source. A rule that tests one "
            "loses the OR alternative holding the test (with a warning), and is refused when "
            "the test sits under `not` or is required by the whole condition.",
            "",
        ]
    lines += _result_field_lines(source)
    return "\n".join(lines)


def _result_field_lines(source: DataSource) -> list[str]:
    """The ES result fields a source's correlation searches compute (see docs/es-content.md)."""
    if not source.result_fields:
        return []
    lines = [
        "ES correlation searches (`sigmakit build`) add one `eval` before the filter macro so "
        "that risk objects, messages, notable fields and drilldowns find these CIM-named fields:",
        "",
        "| result field | computed from |",
        "|---|---|",
    ]
    for result in source.result_fields:
        sources = " or else ".join(f"`{name}`" for name in result.sources)
        origin = f"file name at the end of {sources}" if result.basename else sources
        lines.append(f"| `{result.name}` | {origin} |")
    return [*lines, ""]


def render_all_pages() -> dict[str, str]:
    """File name under docs/data-sources/ -> page text, for every target."""
    return {f"{target}.md": render_data_source_page(target) for target in TARGETS}
