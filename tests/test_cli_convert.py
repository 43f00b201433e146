"""``sigmakit convert``: output streams, JSON shape, files and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sigmakit.cli.main import cli

from conftest import DISKSHADOW, RULES
from test_diskshadow import CIM, CROWDSTRIKE, SECURITY_4688, SYSMON

BROKEN_RULE = "title: Broken\nlogsource:\n    category: process_creation\n    product: windows\ndetection:\n    condition: sel\n"
REFUSED_RULE = (
    "title: Needs Original Name\nid: 22222222-2222-2222-2222-222222222222\n"
    "logsource:\n    category: process_creation\n    product: windows\n"
    "detection:\n    sel:\n        OriginalFileName: x.exe\n    condition: sel\n"
)


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_text_output_prints_four_searches() -> None:
    result = run("convert", str(RULES))
    assert result.exit_code == 0
    expected = "".join(
        f"# Windows Diskshadow Proxy Execution [{target}]\n{query}\n\n"
        for target, query in (("cim", CIM), ("sysmon", SYSMON), ("security_4688", SECURITY_4688), ("crowdstrike", CROWDSTRIKE))
    )
    assert result.stdout == expected
    assert result.stderr.splitlines()[-1] == (
        "1 rule(s), 4 rule/target pair(s): 4 converted, 0 skipped, 0 refused, 0 failed"
    )


def test_json_output_shape() -> None:
    result = run("convert", str(DISKSHADOW), "--target", "cim", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [{
        "rule_id": "58adae9e-8ea3-11ec-90f6-acde48001122",
        "rule_title": "Windows Diskshadow Proxy Execution",
        "target": "cim",
        "status": "converted",
        "query": CIM,
        "warnings": [],
        "error": None,
    }]


def test_output_folder_gets_one_file_per_target(tmp_path: Path) -> None:
    result = run("convert", str(RULES), "-o", str(tmp_path / "spl"))
    assert result.exit_code == 0
    files = sorted(p.name for p in (tmp_path / "spl").iterdir())
    assert files == [f"windows_diskshadow_proxy_execution.{t}.spl" for t in ("cim", "crowdstrike", "security_4688", "sysmon")]
    assert (tmp_path / "spl" / "windows_diskshadow_proxy_execution.cim.spl").read_text() == CIM + "\n"


def test_refused_and_failed_rules_exit_1_and_others_still_convert(tmp_path: Path) -> None:
    (tmp_path / "refused.yml").write_text(REFUSED_RULE)
    (tmp_path / "broken.yml").write_text(BROKEN_RULE)
    (tmp_path / "diskshadow.yml").write_text(DISKSHADOW.read_text())
    result = run("convert", str(tmp_path), "--target", "security_4688", "--json")
    assert result.exit_code == 1
    by_status = {(o["rule_title"], o["status"]) for o in json.loads(result.stdout)}
    assert by_status == {
        (None, "failed"),
        ("Needs Original Name", "refused"),
        ("Windows Diskshadow Proxy Execution", "converted"),
    }
    failed = [o for o in json.loads(result.stdout) if o["status"] == "failed"][0]
    assert failed["query"] is None and "broken.yml" in failed["error"]
    assert "refused: Needs Original Name [security_4688]: the rule cannot match" in result.stderr
    assert result.stderr.splitlines()[-1] == "3 rule(s), 3 rule/target pair(s): 1 converted, 0 skipped, 1 refused, 1 failed"


def test_skipped_rules_do_not_fail(tmp_path: Path) -> None:
    (tmp_path / "file_event.yml").write_text(
        "title: F\nlogsource:\n    category: file_event\n    product: windows\n"
        "detection:\n    sel:\n        TargetFilename: x\n    condition: sel\n"
    )
    result = run("convert", str(tmp_path), "--json")
    assert result.exit_code == 0
    assert [o["status"] for o in json.loads(result.stdout)] == ["skipped", "converted", "skipped", "skipped"]


def test_rule_tests_beside_rules_are_not_rules(tmp_path: Path) -> None:
    (tmp_path / "diskshadow.yml").write_text(DISKSHADOW.read_text())
    (tmp_path / "diskshadow.tests.yml").write_text("not: [a rule")
    result = run("convert", str(tmp_path), "-t", "sysmon")
    assert result.exit_code == 0
    assert result.stdout == f"# Windows Diskshadow Proxy Execution [sysmon]\n{SYSMON}\n\n"


def test_usage_errors_exit_2() -> None:
    unknown = run("convert", str(RULES), "--target", "splnk")
    assert unknown.exit_code == 2
    assert "unknown target 'splnk'" in unknown.stderr
    assert run("convert").exit_code == 2
    missing = run("convert", "no/such/folder")
    assert missing.exit_code == 2
    assert "no such file or folder: no/such/folder" in missing.stderr


def test_an_empty_rule_folder_fails_every_command(tmp_path: Path) -> None:
    empty = tmp_path / "rules"
    empty.mkdir()
    events = tmp_path / "events.jsonl"
    events.write_text('{"CommandLine": "x"}\n')
    for command in (["convert"], ["check"], ["test"], ["build", "-o", str(tmp_path / "out")],
                    ["match", "-e", str(events)], ["verify", "-e", str(events)]):
        result = CliRunner().invoke(cli, [command[0], str(empty), *command[1:]])
        assert result.exit_code == 1, command
        assert f"no Sigma rule files (*.yml, *.yaml) found in {empty}" in result.stderr, command
