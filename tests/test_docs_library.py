"""The examples of docs/library.md run and print what the page shows."""

from __future__ import annotations

import contextlib
import io
import os
import re

from conftest import PROJECT


def test_library_examples_print_what_the_page_says(monkeypatch) -> None:
    page = (PROJECT / "docs" / "library.md").read_text()
    blocks = re.findall(r"```(python|text)\n(.*?)```", page, re.S)
    monkeypatch.chdir(PROJECT)
    namespace: dict[str, object] = {}
    pending: str | None = None
    for kind, body in blocks:
        if kind == "python":
            output = io.StringIO()
            with contextlib.redirect_stdout(output):
                exec(compile(body, "docs/library.md", "exec"), namespace)  # noqa: S102 - the page's own examples
            pending = output.getvalue()
        else:
            assert pending is not None, "an output block must follow a python block"
            assert pending == body, f"docs/library.md shows:\n{body}\nbut the example printed:\n{pending}"
            pending = None
    assert os.getcwd() == str(PROJECT)
