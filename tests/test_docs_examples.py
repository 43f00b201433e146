"""The rule written in docs/writing-rules.md works as the page says."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from sigmakit.cli.main import cli
from sigmakit.rules.metadata import EsMetadata

from conftest import PROJECT

PAGE = PROJECT / "docs" / "writing-rules.md"


def yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", PAGE.read_text(), re.S)


def test_metadata_table_lists_every_key() -> None:
    table_keys = set(re.findall(r"^\| `([a-z0-9_]+)`(?:, `([a-z0-9_]+)`)? \|", PAGE.read_text(), re.M))
    listed = {key for pair in table_keys for key in pair if key}
    assert listed == set(EsMetadata.__dataclass_fields__)


def test_the_page_rule_checks_converts_tests_and_builds(tmp_path: Path) -> None:
    rule, metadata, tests = yaml_blocks()
    folder = tmp_path / "sigma_rules"
    folder.mkdir()
    (folder / "certutil_urlcache.yml").write_text(rule + metadata)
    (folder / "certutil_urlcache.tests.yml").write_text(tests)
    runner = CliRunner()
    converted = runner.invoke(cli, ["convert", str(folder), "--json"])
    assert converted.exit_code == 0, converted.stderr
    assert "OriginalFileName is not a field of Windows Security 4688 events" in converted.stderr
    tested = runner.invoke(cli, ["test", str(folder)])
    assert tested.exit_code == 0, tested.stdout + tested.stderr
    assert "2 passed, 0 failed" in tested.stdout + tested.stderr
    built = runner.invoke(cli, ["build", str(folder), "-o", str(tmp_path / "dist")])
    assert built.exit_code == 0, built.stderr
    macros = (tmp_path / "dist" / "sigmakit" / "default" / "macros.conf").read_text()
    assert "[process_certutil]" in macros
