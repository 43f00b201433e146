"""``sigmakit match``: both output streams, the JSON shape, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sigmakit.cli.main import cli

from conftest import DISKSHADOW
from events_helpers import WHOAMI_FEEDING_RULE, crowdstrike_json, security_4688_json, sysmon_json

RULE = """
title: Whoami
id: 00000000-0000-0000-0000-000000000001
logsource: {category: process_creation, product: windows}
detection:
  sel:
    CommandLine|contains: whoami
  condition: sel
"""
EVENTS = [
    {"CommandLine": "cmd /c WHOAMI", "User": "a", "_time": 0},
    {"CommandLine": "hostname", "User": "a", "_time": 1},
    {"CommandLine": "whoami /all", "User": "a", "_time": 2},
]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def jsonl(tmp_path: Path, events: list[Any], name: str = "events.jsonl") -> Path:
    return write(tmp_path, name, "".join(json.dumps(e) + "\n" for e in events))


def run(*args: str | Path, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["match", *map(str, args)], input=stdin)


def test_hits_to_stdout_summary_to_stderr(tmp_path: Path) -> None:
    rule, events = write(tmp_path, "whoami.yml", RULE), jsonl(tmp_path, EVENTS)
    result = run(rule, "--events", events)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"{events}:1: Whoami (00000000-0000-0000-0000-000000000001) [sel]",
        f"{events}:3: Whoami (00000000-0000-0000-0000-000000000001) [sel]",
    ]
    assert result.stderr.splitlines() == [
        f"      2 hit(s)  Whoami  [{rule}]",
        "3 event(s) from 1 file(s), 0 unreadable record(s) skipped; source auto (sigma 3); 1 rule(s) compiled, 0 rule error(s), "
        "0 skipped; 2 hit(s), 0 correlation hit(s)",
    ]


def test_json_lines_output(tmp_path: Path) -> None:
    events = jsonl(tmp_path, EVENTS)
    result = run(write(tmp_path, "whoami.yml", RULE), "--events", events, "--json")
    assert result.exit_code == 0
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first == {
        "rule_id": "00000000-0000-0000-0000-000000000001",
        "rule_title": "Whoami",
        "source": "sigma",
        "file": str(events),
        "line": 1,
        "record_id": None,
        # As Splunk holds it: values as text, plus the index-time fields.
        "event": {"CommandLine": "cmd /c WHOAMI", "User": "a", "_time": "0", "_raw": json.dumps(EVENTS[0]),
                  "source": str(events), "sourcetype": "_json"},
        "selections": ["sel"],
    }
    assert second["line"] == 3


def test_correlation_hits_in_json(tmp_path: Path) -> None:
    rules = write(tmp_path, "rules.yml", RULE.replace("title: Whoami", "title: Whoami\nname: whoami") + """
---
title: Whoami twice
correlation:
  type: event_count
  rules: [whoami]
  group-by: [User]
  timespan: 5s
  condition: {gte: 2}
""")
    events = jsonl(tmp_path, EVENTS)
    result = run(rules, "-e", events, "--json")
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{
        "rule_id": None, "rule_title": "Whoami twice", "group": {"User": "a"},
        "events": [{"file": str(events), "line": 1}, {"file": str(events), "line": 3}],
    }]
    assert "      2 hit(s)  Whoami  [" in result.stderr and "(feeds a correlation; not reported alone)" in result.stderr
    assert "      1 hit(s)  Whoami twice  [correlation: event_count]" in result.stderr


def test_time_field_option(tmp_path: Path) -> None:
    rules = write(tmp_path, "rules.yml", RULE.replace("title: Whoami", "title: Whoami\nname: whoami") + """
---
title: Whoami twice
correlation: {type: event_count, rules: [whoami], timespan: 5s, condition: {gte: 2}}
""")
    events = jsonl(tmp_path, [{**e, "When": e["_time"] * 10} for e in EVENTS])
    assert "Whoami twice" in run(rules, "-e", events).stdout
    assert run(rules, "-e", events, "--time-field", "When").stdout == ""


def test_fail_on_match(tmp_path: Path) -> None:
    rule = write(tmp_path, "whoami.yml", RULE)
    assert run(rule, "-e", jsonl(tmp_path, EVENTS), "--fail-on-match").exit_code == 1
    assert run(rule, "-e", jsonl(tmp_path, EVENTS[1:2], "quiet.jsonl"), "--fail-on-match").exit_code == 0
    assert run(rule, "-e", jsonl(tmp_path, EVENTS), "--pass-on-match").exit_code == 0


def test_rule_that_cannot_compile_fails_but_others_run(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    write(tmp_path, "rules/good.yml", RULE)
    write(tmp_path, "rules/bad.yml", RULE.replace("CommandLine|contains: whoami", "User|expand: '%Admins%'"))
    result = run(tmp_path / "rules", "-e", jsonl(tmp_path, EVENTS))
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 2
    assert (f"error: {tmp_path / 'rules' / 'bad.yml'}:6: the matcher cannot evaluate this rule (expand): "
            "field 'User' uses placeholder %Admins%") in result.stderr
    assert "1 rule(s) compiled, 1 rule error(s), 0 skipped" in result.stderr


def test_placeholders_file(tmp_path: Path) -> None:
    rule = write(tmp_path, "admins.yml", RULE.replace("CommandLine|contains: whoami", "User|expand: '%Admins%'"))
    values = write(tmp_path, "placeholders.yml", "Admins: [a, root]\n")
    result = run(rule, "-e", jsonl(tmp_path, EVENTS), "--placeholders", values)
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 3


def test_bad_placeholders_file_is_a_usage_error(tmp_path: Path) -> None:
    values = write(tmp_path, "placeholders.yml", "Admins: [a, root]\nOther: {x: 1}\n")
    result = run(write(tmp_path, "whoami.yml", RULE), "-e", jsonl(tmp_path, EVENTS), "--placeholders", values)
    assert result.exit_code == 2
    assert f"{values}:2: placeholder 'Other' must map a name to a string or number" in result.stderr


def test_unreadable_event_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    events = write(tmp_path, "events.jsonl", '{"CommandLine": "whoami"}\nnot json\n\n[1, 2]\n{"CommandLine": "whoami"}\n')
    result = run(write(tmp_path, "whoami.yml", RULE), "-e", events)
    assert result.exit_code == 0
    assert run(write(tmp_path, "whoami.yml", RULE), "-e", events, "--strict").exit_code == 1
    assert result.stdout.splitlines() == [
        f"{events}:1: Whoami (00000000-0000-0000-0000-000000000001) [sel]",
        f"{events}:5: Whoami (00000000-0000-0000-0000-000000000001) [sel]",
    ]
    assert f"error: {events}:2: invalid JSON: invalid literal" in result.stderr
    assert f"error: {events}:4: a JSON event must be an object, not list" in result.stderr
    assert "2 event(s) from 1 file(s), 2 unreadable record(s) skipped;" in result.stderr


def test_several_event_files_and_stdin(tmp_path: Path) -> None:
    rule = write(tmp_path, "whoami.yml", RULE)
    first = jsonl(tmp_path, EVENTS[:1], "a.jsonl")
    result = run(rule, "-e", first, "-e", "-", stdin=json.dumps(EVENTS[2]) + "\n")
    assert result.stdout.splitlines() == [
        f"{first}:1: Whoami (00000000-0000-0000-0000-000000000001) [sel]",
        "-:1: Whoami (00000000-0000-0000-0000-000000000001) [sel]",
    ]


def test_source_runs_the_data_source_pipeline(tmp_path: Path) -> None:
    # A flat event read as sysmon gets Sysmon's index-time fields (source, EventCode from
    # EventID); an event whose content says it is a Security event keeps its own, so the
    # sysmon base search does not match it.
    event = {"EventID": 1, "Image": "C:\\Windows\\System32\\diskshadow.exe", "CommandLine": "diskshadow /s x"}
    events = jsonl(tmp_path, [event, {**event, "Channel": "Security"}])
    result = run(DISKSHADOW, "-e", events, "--source", "sysmon", "--json")
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(h["line"], h["source"], h["event"]["source"]) for h in hits] == [
        (1, "sysmon", "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational")]
    assert ("note: 1 event(s) read as sysmon are security_4688 events: they keep their own source fields, "
            "so sysmon's base search does not match them (use --source auto)") in result.stderr


def test_nested_evtx_json_is_read_as_a_windows_event(tmp_path: Path) -> None:
    nested = {"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                                   "Computer": "h1", "EventRecordID": 7},
                        "EventData": {"Image": "C:\\Windows\\System32\\diskshadow.exe",
                                      "CommandLine": "diskshadow /s x"}}}
    result = run(DISKSHADOW, "-e", jsonl(tmp_path, [nested]), "--json")
    assert result.exit_code == 0
    (hit,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert (hit["source"], hit["record_id"], hit["event"]["EventCode"], hit["event"]["host"]) == ("sysmon", 7, "1", "h1")


@pytest.mark.parametrize("args, message", [
    (["--source", "splunk"], "Invalid value for '--source'"),
    (["-e", "missing.jsonl"], "does not exist"),
    ([], "Missing option '--events'"),
])
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    if "-e" not in args and "--events" not in args and args:
        args = [*args, "-e", str(jsonl(tmp_path, EVENTS))]
    result = run(write(tmp_path, "whoami.yml", RULE), *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_missing_rule_path_exits_2(tmp_path: Path) -> None:
    result = run(tmp_path / "nothing-here", "-e", jsonl(tmp_path, EVENTS))
    assert result.exit_code == 2
    assert "no such file or folder" in result.stderr


def test_hits_print_on_a_standard_output_that_is_not_utf_8(tmp_path: Path) -> None:
    # Hits are written a block at a time, through click, which writes text a stream's
    # encoding cannot hold as UTF-8 (a misconfigured ASCII terminal) instead of failing.
    rule = write(tmp_path, "r.yml", """\
        title: Évil 😀 image
        logsource: {product: test}
        detection:
          sel: {Image|endswith: evil.exe}
          condition: sel
        """)
    events = jsonl(tmp_path, [{"Image": "C:\\x\\evil.exe", "User": "Jürgen"}])
    command = [sys.executable, "-c", "from sigmakit.cli.main import main; main()", "match", str(rule),
               "--events", str(events), "--json"]
    result = subprocess.run(command, capture_output=True, env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0, result.stderr
    hit = json.loads(result.stdout.decode("utf-8"))
    assert (hit["rule_title"], hit["event"]["User"]) == ("Évil 😀 image", "Jürgen")


SUMMARY_RULES = WHOAMI_FEEDING_RULE + """---
title: Whoami per computer
id: 00000000-0000-0000-0000-0000000000c2
correlation:
  type: event_count
  rules: [any_whoami]
  group-by: [Computer]
  timespan: 1h
  condition: {gte: 1}
"""


def three_sources(tmp_path: Path) -> Path:
    """Three 4688 events, a CrowdStrike one (which has no 'Computer' to group by), two Sysmon."""
    events = [*(security_4688_json(n, f"whoami /{n}") for n in (1, 2, 3)), crowdstrike_json("whoami"),
              sysmon_json(1, "whoami /all"), sysmon_json(2, "whoami /all")]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in events), encoding="utf-8")
    return path


def test_the_summary_adds_up_every_source_and_says_where_a_rule_is_reported_alone(tmp_path: Path) -> None:
    rules = write(tmp_path, "rules.yml", SUMMARY_RULES)
    events = three_sources(tmp_path)
    result = CliRunner().invoke(cli, ["match", str(rules), "--events", str(events), "--time-field", "nosuch"])
    assert result.exit_code == 1  # the correlation cannot be compiled for CrowdStrike events
    assert result.stdout == f"{events}:4: Any whoami (00000000-0000-0000-0000-0000000000c1) [sel]\n"
    lines = result.stderr.splitlines()
    assert (f"      6 hit(s)  Any whoami  [{rules}] (crowdstrike 1, security_4688 3, sysmon 2) "
            "(feeds a correlation; reported alone for crowdstrike)") in lines
    assert ("      0 hit(s)  Whoami per computer  [correlation: event_count] (security_4688 0, sysmon 0) "
            "(5 rule hit(s) without a time or group-by value left out)") in lines


def test_a_pipe_given_as_an_event_file_is_a_usage_error(tmp_path: Path) -> None:
    pipe = tmp_path / "events.pipe"
    os.mkfifo(pipe)
    result = CliRunner().invoke(cli, ["match", str(DISKSHADOW), "--events", str(pipe)])
    assert result.exit_code == 2
    assert f"not a file or folder: {pipe} (give standard input as -)" in result.stderr
    assert "Traceback" not in result.stderr
