"""``sigmakit build`` and ``convert --format savedsearches``: streams, files, exit codes."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from sigmakit.cli.main import cli
from sigmakit.output.conf import read_conf

from conftest import DISKSHADOW, PROJECT, RULES
from test_cli_convert import REFUSED_RULE


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_build_writes_the_app_and_prints_its_paths(tmp_path: Path) -> None:
    result = run("build", str(RULES), "-o", str(tmp_path / "dist"), "--package")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{tmp_path / 'dist' / 'sigmakit'}\n{tmp_path / 'dist' / 'sigmakit.tar.gz'}\n"
    assert result.stderr.splitlines()[-1] == (
        "1 rule(s), 4 rule/target pair(s): 4 converted, 0 skipped, 0 refused, 0 failed"
    )
    saved = (tmp_path / "dist/sigmakit/default/savedsearches.conf").read_text()
    assert saved == (PROJECT / "tests/golden/diskshadow.savedsearches.conf").read_text()


def test_build_app_name_and_target(tmp_path: Path) -> None:
    result = run("build", str(DISKSHADOW), "-o", str(tmp_path), "--app-name", "ACME_Content", "-t", "cim",
                 "--app-version", "2.3.0")
    assert result.exit_code == 0, result.stderr
    parsed = read_conf((tmp_path / "ACME_Content/default/savedsearches.conf").read_text())
    assert list(parsed) == ["ACME_Content - Windows Diskshadow Proxy Execution - Rule"]
    assert read_conf((tmp_path / "ACME_Content/default/app.conf").read_text())["id"]["version"] == "2.3.0"


def test_refused_rule_stops_the_build_unless_passed(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "refused.yml").write_text(REFUSED_RULE)
    (rules / "diskshadow.yml").write_text(DISKSHADOW.read_text())
    out = tmp_path / "dist"
    failed = run("build", str(rules), "-o", str(out), "-t", "security_4688")
    assert failed.exit_code == 1 and failed.stdout == "" and not out.exists()
    assert "refused: Needs Original Name [security_4688]: the rule cannot match" in failed.stderr
    assert failed.stderr.splitlines()[-1].startswith("nothing written: 1 rule/target pair(s) refused or failed")
    passed = run("build", str(rules), "-o", str(out), "-t", "security_4688", "--pass-on-error")
    assert passed.exit_code == 0 and passed.stdout == f"{out / 'sigmakit'}\n"
    assert list(read_conf((out / "sigmakit/default/savedsearches.conf").read_text())) == [
        "sigmakit - Windows Diskshadow Proxy Execution (security_4688) - Rule"
    ]


def test_build_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run("build", str(RULES)).exit_code == 2  # no -o
    bad = run("build", str(RULES), "-o", str(tmp_path), "--app-name", "no spaces")
    assert bad.exit_code == 2 and "app name 'no spaces'" in bad.stderr
    assert run("build", str(RULES), "-o", str(tmp_path), "-t", "splnk").exit_code == 2


def test_convert_format_savedsearches_prints_the_build_stanzas() -> None:
    result = run("convert", str(DISKSHADOW), "--format", "savedsearches")
    assert result.exit_code == 0
    assert result.stdout == (PROJECT / "tests/golden/diskshadow.savedsearches.conf").read_text()
    assert run("convert", str(DISKSHADOW), "--format", "savedsearches", "--json").exit_code == 2
