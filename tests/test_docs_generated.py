"""Documentation derived from code must match the code it describes."""

from __future__ import annotations

import importlib.util

import pytest

from conftest import PROJECT


def _generated_pages() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("generate_docs", PROJECT / "scripts" / "generate_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.pages()


@pytest.mark.parametrize("name,text", sorted(_generated_pages().items()))
def test_generated_pages_match_the_code(name: str, text: str) -> None:
    page = PROJECT / "docs" / name
    assert page.read_text() == text, f"docs/{name} is out of date: run python scripts/generate_docs.py"
