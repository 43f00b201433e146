#!/usr/bin/env python3
"""Regenerate the documentation pages that are derived from code.

    python scripts/generate_docs.py

writes docs/data-sources/<target>.md from the pipeline definitions and
docs/cim-records.md from the CIM derivation table. The test suite regenerates them in
memory and fails when the committed pages differ.
"""

from __future__ import annotations

from pathlib import Path

from sigmakit.events.cim import cim_page
from sigmakit.output import write_text_atomic
from sigmakit.pipelines.describe import render_all_pages

DOCS = Path(__file__).resolve().parents[1] / "docs"


def main() -> None:
    for name, text in render_all_pages().items():
        write_text_atomic(DOCS / "data-sources" / name, text)
        print(f"wrote docs/data-sources/{name}")
    write_text_atomic(DOCS / "cim-records.md", cim_page())
    print("wrote docs/cim-records.md")


if __name__ == "__main__":
    main()
