"""``sigmakit test``: per-rule and per-source report, JUnit, JSON, exit codes."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("sigmakit.matching", reason="rule tests need the matcher (sigmakit.matching)")

from sigmakit.cli.main import cli  # noqa: E402

from conftest import DISKSHADOW, RULES  # noqa: E402

TEST_FILE = DISKSHADOW.with_name(DISKSHADOW.stem + ".tests.yml")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def copy_rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    return folder


def test_bundled_rules_pass_with_a_per_rule_and_per_source_report() -> None:
    code, out, _ = run("test", str(RULES))
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == f"Windows Diskshadow Proxy Execution ({DISKSHADOW})"
    assert lines[1] == "  PASS  [sysmon] Sysmon - atomic -S run, /s run, renamed copy (OriginalFileName): 3 hit(s), expected 3"
    assert lines[-2] == ("per source (passed/cases): auto 1/1, cim 2/2, crowdstrike 4/4, "
                         "security_4688 3/3, sysmon 2/2")
    assert lines[-1] == "12 passed, 0 failed"


def test_a_wrong_expected_count_fails_readably_and_junit_shows_it(tmp_path: Path) -> None:
    folder = copy_rules(tmp_path)
    tests = folder / TEST_FILE.name
    tests.write_text(tests.read_text().replace("    source: security_4688\n    hits: 2\n",
                                               "    source: security_4688\n    hits: 3\n"))
    junit = tmp_path / "junit.xml"
    code, out, err = run("test", str(folder), "--junit", str(junit))
    assert code == 1
    assert "  FAIL  [security_4688] 4688 - atomic -S run and /s run: 2 hit(s), expected 3" in out
    events = folder / "events" / "windows_diskshadow_proxy_execution" / "security_4688_positives.xml"
    message = (f"expected 3 hit(s), got 2 (of 2 event(s)); matched: {events}:1 (EventRecordID 88101), "
               f"{events}:2 (EventRecordID 88102)")
    assert f"        {tests}:19: {message}" in out
    assert out.splitlines()[-1] == "11 passed, 1 failed"
    assert f"wrote JUnit XML to {junit}" in err
    root = ElementTree.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures")) == ("12", "1")
    (failure,) = root.iter("failure")
    assert failure.get("message") == message
    (failed_case,) = [case for case in root.iter("testcase") if case.find("failure") is not None]
    assert (failed_case.get("classname"), failed_case.get("line")) == (
        "windows_diskshadow_proxy_execution.security_4688", "19")


@pytest.mark.parametrize("content,expected", [
    (None, "no rule-test file windows_diskshadow_proxy_execution.tests.yml beside the rule (every rule needs tests)"),
    ("", "the rule-test file is empty (it must list test cases)"),
    ("tests:\n  - name: x\n", "test case 1 has no 'source'"),
])
def test_missing_empty_or_malformed_test_files_fail(tmp_path: Path, content: str | None, expected: str) -> None:
    folder = copy_rules(tmp_path)
    tests = folder / TEST_FILE.name
    if content is None:
        tests.unlink()
    else:
        tests.write_text(content)
    code, out, _ = run("test", str(folder))
    assert code == 1
    assert expected in out.splitlines()[0]
    assert out.splitlines()[0].startswith("ERROR ")
    assert out.splitlines()[-1].endswith("0 passed, 1 failed") or "failed" in out.splitlines()[-1]


def test_json_output_and_a_test_file_named_directly() -> None:
    code, out, err = run("test", str(TEST_FILE), "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["passed"], data["failed"], data["errors"]) == (12, 0, [])
    first = data["results"][0]
    assert (first["source"], first["kind"], first["expected_hits"], first["hits"], first["passed"]) == (
        "sysmon", "true positive", 3, 3, True)
    assert [m["record_id"] for m in first["matched"]] == [5101, 5102, 5103]
    assert err.strip() == "12 passed, 0 failed"


def test_unreadable_events_fail_the_case(tmp_path: Path) -> None:
    folder = copy_rules(tmp_path)
    events = folder / "events" / "windows_diskshadow_proxy_execution" / "sysmon_negatives.xml"
    events.write_text(events.read_text() + "<Event broken\n")
    code, out, _ = run("test", str(folder))
    assert code == 1
    assert f"unreadable event {events}:6: invalid XML" in out


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("test", str(tmp_path / "nope"))
    assert code == 2
    assert "no such file or folder" in err


def test_a_case_whose_events_are_another_source_fails(tmp_path: Path) -> None:
    (tmp_path / "diskshadow.yml").write_text(DISKSHADOW.read_text())
    (tmp_path / "diskshadow.tests.yml").write_text(
        "tests:\n  - name: Sysmon events given as 4688\n    source: security_4688\n    hits: 0\n    events:\n"
        "      - {EventID: 1, Channel: Microsoft-Windows-Sysmon/Operational, Image: 'C:\\\\x\\\\diskshadow.exe', "
        "CommandLine: 'diskshadow /s x'}\n"
    )
    result = CliRunner().invoke(cli, ["test", str(tmp_path)])
    assert result.exit_code == 1
    assert "1 event(s) of the case are sysmon events, not security_4688 events" in result.stdout + result.stderr
