#!/usr/bin/env python3
"""Regenerate the documentation pages that are derived from code.

    python scripts/generate_docs.py

writes docs/data-sources/<target>.md from the pipeline definitions, docs/cim-records.md
from the CIM derivation table and docs/cli.md from the click commands. The test suite
regenerates them in memory (``pages()``) and fails when a committed page differs.
"""

from __future__ import annotations

from pathlib import Path

from sigmakit.cli.reference import render_cli_reference
from sigmakit.events.cim import cim_page
from sigmakit.output import write_text_atomic
from sigmakit.pipelines.describe import render_all_pages

DOCS = Path(__file__).resolve().parents[1] / "docs"


def pages() -> dict[str, str]:
    """Path under docs/ -> the page's text, for every generated page."""
    generated = {f"data-sources/{name}": text for name, text in render_all_pages().items()}
    generated["cim-records.md"] = cim_page()
    generated["cli.md"] = render_cli_reference()
    return generated


def main() -> None:
    for name, text in pages().items():
        write_text_atomic(DOCS / name, text)
        print(f"wrote docs/{name}")


if __name__ == "__main__":
    main()
