"""The documentation builds with MkDocs in strict mode, without a warning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PROJECT


def test_mkdocs_builds_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="MkDocs is not installed (pip install '.[docs]')")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=PROJECT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert built.returncode == 0, built.stderr
    noise = [line for line in built.stderr.splitlines() if line.startswith(("WARNING", "ERROR"))
             or "unrecognized relative link" in line or "not found" in line]
    assert noise == []
    assert (tmp_path / "site" / "data-sources" / "cim" / "index.html").is_file()
