"""sigmakit verify: the matcher and the SPL evaluator on real DiskShadow data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sigmakit.cli.main import cli
from sigmakit.events import EventReader
from sigmakit.rules import load_rules
from sigmakit.verification.verify import PairStatus, verify

from conftest import DISKSHADOW, PROJECT, shared_path

# The real DiskShadow positive (host rootdc1) is line 1155 of this file.
POSITIVE = "evtx-to-mitre-attack.xml"
POSITIVE_LINE = 1155


def _event_files() -> list[Path]:
    """Every real Sysmon 1 and Security 4688 event, in the XmlWinEventLog renderings."""
    folder = shared_path("data")
    return [*sorted((folder / "security_4688").glob("*.xml")), *sorted((folder / "sysmon_eid1").glob("*.xml"))]


def _run(*arguments: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in arguments])
    return result.exit_code, result.stdout, result.stderr


def _events_arguments() -> list[str | Path]:
    return [part for path in _event_files() for part in ("--events", path)]


def test_diskshadow_agrees_on_every_target_with_real_events() -> None:
    events = list(EventReader().read(_event_files()))
    report = verify(load_rules([DISKSHADOW]), events)
    assert [(p.target, p.status) for p in report.pairs] == [
        ("cim", PairStatus.AGREE), ("sysmon", PairStatus.AGREE),
        ("security_4688", PairStatus.AGREE), ("crowdstrike", PairStatus.AGREE),
    ]
    by_target = {p.target: p for p in report.pairs}
    # The one real positive is a 4688 event: the 4688 search and the CIM search find it.
    assert by_target["security_4688"].matcher_matches == by_target["security_4688"].evaluator_matches == 1
    assert by_target["cim"].matcher_matches == by_target["cim"].evaluator_matches == 1
    assert report.events == {"cim": 3020, "sysmon": 3020, "security_4688": 3020, "crowdstrike": 3020}


def test_verify_cli_exit_zero_and_summary() -> None:
    code, out, err = _run("verify", DISKSHADOW, *_events_arguments())
    assert code == 0, err
    assert out.splitlines()[-1] == (
        "1 rule(s), 4 rule/target pair(s) verified on 12080 record(s): 2 match(es) by the matcher, "
        "2 by the SPL; 0 disagreement(s) in 0 pair(s), 0 cannot evaluate, 0 with undecided events, "
        "0 invalid search(es); 0 not built, 0 not compiled by the matcher"
    )
    assert "3020 event(s) from 6 file(s) (security_4688 1364, sysmon 1656)" in err


def test_a_filter_macro_that_drops_a_true_positive_is_a_disagreement(tmp_path: Path) -> None:
    macros = tmp_path / "macros.conf"
    macros.write_text("[windows_diskshadow_proxy_execution_filter]\ndefinition = search NOT dest=rootdc1*\n",
                      encoding="utf-8")
    code, out, _ = _run("verify", DISKSHADOW, "--target", "security_4688", "--macros", macros,
                        *_events_arguments())
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == ("disagree: Windows Diskshadow Proxy Execution [security_4688]: 1 event(s) judged "
                        "differently (matcher 1 match(es), SPL 0)")
    assert lines[1].endswith(f"{POSITIVE}:{POSITIVE_LINE}: matcher match, SPL no_match")


def test_json_lists_each_disagreeing_event(tmp_path: Path) -> None:
    macros = tmp_path / "macros.conf"
    macros.write_text("[windows_diskshadow_proxy_execution_filter]\ndefinition = search NOT dest=rootdc1*\n",
                      encoding="utf-8")
    code, out, _ = _run("verify", DISKSHADOW, "-t", "cim", "-t", "security_4688", "--macros", macros,
                        "--json", *_events_arguments())
    assert code == 1
    report = json.loads(out)
    assert report["totals"]["disagreements"] == 2
    disagreements = [d for p in report["pairs"] for d in p["disagreements"]]
    assert {(d["line"], d["matcher"], d["evaluator"]) for d in disagreements} == {(POSITIVE_LINE, "match", "no_match")}
    assert all(d["file"].endswith(POSITIVE) for d in disagreements)


@pytest.mark.parametrize(
    ("definition", "strict", "code", "status"),
    [
        ("dedup dest", False, 0, "cannot_evaluate"),
        ("dedup dest", True, 1, "cannot_evaluate"),
        ("search (dest=x", False, 1, "invalid"),
    ],
)
def test_searches_outside_the_subset_and_invalid_ones(tmp_path: Path, definition: str, strict: bool,
                                                      code: int, status: str) -> None:
    macros = tmp_path / "macros.conf"
    macros.write_text(f"[windows_diskshadow_proxy_execution_filter]\ndefinition = {definition}\n", encoding="utf-8")
    arguments = ["verify", DISKSHADOW, "-t", "sysmon", "--macros", macros, "--json", *_events_arguments()]
    result_code, out, _ = _run(*arguments, *(["--strict"] if strict else []))
    assert result_code == code
    assert [p["status"] for p in json.loads(out)["pairs"]] == [status]


def test_unknown_target_is_a_usage_error() -> None:
    code, _, err = _run("verify", DISKSHADOW, "--target", "sysmom", *_events_arguments())
    assert code == 2
    assert "did you mean 'sysmon'?" in err


CORRELATION_RULES = """\
title: Many whoami
name: many_whoami
correlation:
  type: event_count
  rules: [whoami_run]
  group-by: [User, Computer]
  timespan: 5m
  condition:
    gte: 3
---
title: Whoami run
name: whoami_run
logsource: {category: process_creation, product: windows}
detection:
  sel:
    Image|endswith: '\\whoami.exe'
  condition: sel
"""


def _whoami_events(folder: Path) -> Path:
    """Three whoami runs within 5 minutes on WS-1 (the correlation fires), two on WS-2."""
    lines = []
    for number, (host, seconds) in enumerate([("WS-1", 0), ("WS-1", 60), ("WS-1", 150), ("WS-2", 0),
                                              ("WS-2", 540), ("WS-1", 1200)], start=1):
        lines.append(json.dumps({
            "EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": host,
            "Image": "C:\\Windows\\System32\\whoami.exe", "CommandLine": "whoami", "User": "CORP\\alice",
            "EventRecordID": number, "_time": str(1717401600 + seconds),
        }))
    path = folder / "whoami.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("generate", [False, True])
def test_correlations_agree_on_the_groups_that_fire(tmp_path: Path, generate: bool) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(CORRELATION_RULES.replace("  timespan: 5m\n", f"  timespan: 5m\n  generate: {str(generate).lower()}\n"),
                     encoding="utf-8")
    events = list(EventReader().read([_whoami_events(tmp_path)]))
    report = verify(load_rules([rules]), events, ("sysmon", "cim"))
    outcome = {(p.rule_title, p.target): (p.status, p.matcher_matches, p.evaluator_matches) for p in report.pairs}
    expected = {
        ("Many whoami", "sysmon"): (PairStatus.AGREE, 1, 1),
        ("Many whoami", "cim"): (PairStatus.AGREE, 1, 1),
    }
    if generate:  # the base rule alerts on its own too, so it has its own search
        expected[("Whoami run", "sysmon")] = (PairStatus.AGREE, 6, 6)
        expected[("Whoami run", "cim")] = (PairStatus.AGREE, 6, 6)
    assert outcome == expected


def test_a_correlation_group_firing_on_one_side_is_a_disagreement(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(CORRELATION_RULES, encoding="utf-8")
    macros = tmp_path / "macros.conf"
    macros.write_text("[many_whoami_filter]\ndefinition = search NOT Computer=WS-1\n", encoding="utf-8")
    code, out, _ = _run("verify", rules, "-t", "sysmon", "--macros", macros, "--json",
                        "--events", _whoami_events(tmp_path))
    assert code == 1
    pair = next(p for p in json.loads(out)["pairs"] if p["rule_title"] == "Many whoami")
    assert pair["status"] == "disagree"
    assert pair["group_disagreements"] == [{"group": ["corp\\alice", "ws-1"], "matcher": "fires",
                                            "evaluator": "silent"}]


def test_text_output_names_the_group(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(CORRELATION_RULES, encoding="utf-8")
    macros = tmp_path / "macros.conf"
    macros.write_text("[many_whoami_filter]\ndefinition = search NOT Computer=WS-1\n", encoding="utf-8")
    code, out, _ = _run("verify", rules, "-t", "sysmon", "--macros", macros, "--events", _whoami_events(tmp_path))
    assert code == 1
    assert out.splitlines()[:2] == [
        "disagree: Many whoami [sysmon]: 1 group(s) fire on one side only (matcher 1 group(s), SPL 0)",
        "  group corp\\alice, ws-1: matcher fires, SPL silent",
    ]


def test_user_macros_must_define_something_and_typos_are_warned(tmp_path) -> None:
    from click.testing import CliRunner

    from sigmakit.cli.main import cli

    events = PROJECT / "sigma_rules" / "events" / "windows_diskshadow_proxy_execution"
    typo = tmp_path / "typo.conf"
    typo.write_text("[windows_diskshadow_proxy_exection_filter]\ndefinition = search *\n")
    result = CliRunner().invoke(cli, ["verify", str(PROJECT / "sigma_rules"), "-e", str(events), "--macros", str(typo)])
    assert result.exit_code == 0
    assert "macro 'windows_diskshadow_proxy_exection_filter' is not called by any search of these rules" in result.stderr
    empty = tmp_path / "empty.conf"
    empty.write_text("# no stanza\n")
    result = CliRunner().invoke(cli, ["verify", str(PROJECT / "sigma_rules"), "-e", str(events), "--macros", str(empty)])
    assert result.exit_code == 2
    assert "no macro stanza in the file" in result.stderr
