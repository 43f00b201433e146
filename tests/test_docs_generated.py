"""Documentation derived from code must match the code it describes."""

from __future__ import annotations

import pytest

from sigmakit.events.cim import cim_page
from sigmakit.pipelines.describe import render_all_pages

from conftest import PROJECT


@pytest.mark.parametrize("name,text", sorted(render_all_pages().items()))
def test_data_source_pages_match_the_pipelines(name: str, text: str) -> None:
    page = PROJECT / "docs" / "data-sources" / name
    assert page.read_text() == text, f"{page} is out of date: run python scripts/generate_docs.py"


def test_cim_derivation_table_matches_the_code() -> None:
    page = PROJECT / "docs" / "cim-records.md"
    assert page.read_text() == cim_page(), f"{page} is out of date: run python scripts/generate_docs.py"
