"""``sigmakit match`` with every reader: formats, --source auto/cim, record ids, summary."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from sigmakit.cli.main import cli

from conftest import DISKSHADOW, RULES, shared_path

EVENTS = RULES / "events" / "windows_diskshadow_proxy_execution"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, ["match", *map(str, args)])


def test_every_format_in_a_folder_with_detection_and_a_per_rule_summary() -> None:
    result = run(DISKSHADOW, "-e", EVENTS)
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 7
    assert f"{EVENTS / 'sysmon_positives.xml'}:1 (EventRecordID 5101): Windows Diskshadow Proxy Execution" in result.stdout
    lines = result.stderr.splitlines()
    assert lines[-2] == (f"      7 hit(s)  Windows Diskshadow Proxy Execution  [{DISKSHADOW}] "
                         "(crowdstrike 2, security_4688 2, sysmon 3)")
    assert lines[-1] == ("19 event(s) from 7 file(s), 0 unreadable record(s) skipped; source auto (crowdstrike 3, "
                         "security_4688 8, sysmon 8); 1 rule(s) compiled, 0 rule error(s), 0 skipped; 7 hit(s), "
                         "0 correlation hit(s)")
    assert "reading:" not in result.stderr  # no progress line when stderr is not a terminal


def test_cim_records_and_json_hits_carry_the_evtx_event_record_id() -> None:
    evtx = shared_path("data", "evtx", "security_4688_diskshadow_abuse.evtx")
    result = run(DISKSHADOW, "-e", evtx, "--source", "cim", "--json")
    assert result.exit_code == 0
    (hit,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert (hit["source"], hit["file"], hit["line"], hit["record_id"]) == ("cim", str(evtx), 1, 155520909)
    assert hit["event"]["Processes.process"] == "diskshadow.exe  /s shadow.txt"
    assert hit["event"]["Processes.dest"] == "rootdc1.offsec.lan"
    assert "4 event(s) from 1 file(s), 0 unreadable record(s) skipped; source cim (cim 4);" in result.stderr


def test_unreadable_records_are_reported_with_file_and_line_and_fail_only_when_strict(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text((EVENTS / "sysmon_positives.xml").read_text() + "<Event oops\n")
    result = run(DISKSHADOW, "-e", broken)
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 3
    assert f"error: {broken}:4: invalid XML" in result.stderr
    assert ", 1 unreadable record(s) skipped;" in result.stderr
    strict = run(DISKSHADOW, "-e", broken, "--strict")
    assert strict.exit_code == 1
    assert strict.stdout == result.stdout
