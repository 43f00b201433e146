"""``sigmakit match --jobs``: the same output, byte for byte, as one process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sigmakit.cli.main import cli
from sigmakit.verification import parallel

from events_helpers import WHOAMI_FEEDING_RULE, crowdstrike_json, security_4688_json

RULES = """
title: Whoami
id: 00000000-0000-0000-0000-0000000000a1
name: whoami
logsource: {category: process_creation, product: windows}
detection:
  sel:
    CommandLine|contains: whoami
  condition: sel
---
title: Many whoami
id: 00000000-0000-0000-0000-0000000000a2
correlation:
  type: event_count
  rules: [whoami]
  group-by: [User]
  timespan: 1h
  condition: {gte: 3}
"""


def events_file(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "events.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for n in range(1, count + 1):
            command = "whoami /all" if n % 7 == 0 else f"cmd /c echo {n}"
            out.write(json.dumps({"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                                  "EventRecordID": n, "Computer": "ws", "Image": "C:\\cmd.exe",
                                  "CommandLine": command, "User": f"user{n % 3}",
                                  "UtcTime": f"2024-06-03 08:{n // 60 % 60:02d}:{n % 60:02d}.000"}) + "\n")
        out.write("{not json\n")
    return path


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, ["match", *map(str, args)])


@pytest.mark.parametrize("as_json", [True, False])
def test_two_processes_print_what_one_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_json: bool) -> None:
    monkeypatch.setattr(parallel, "SPLIT_BYTES", 1)
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES, encoding="utf-8")
    events = events_file(tmp_path, 700)
    flags = ["--json"] if as_json else []
    one = run(rules, "--events", events, *flags)
    assert len(parallel.plan_parts([events], 3)) == 3
    for jobs in ("2", "3"):
        many = run(rules, "--events", events, "--jobs", jobs, *flags)
        assert many.exit_code == one.exit_code == 0
        assert many.stdout == one.stdout
        assert many.stderr == one.stderr
    # The whoami hits feed the correlation only (generate: false): one hit per user.
    assert one.stdout.count("\n") == 3
    assert "    100 hit(s)  Whoami" in one.stderr
    assert "1 unreadable record(s) skipped" in one.stderr


def test_standard_input_cannot_be_split(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES, encoding="utf-8")
    result = CliRunner().invoke(cli, ["match", str(rules), "--events", "-", "--jobs", "2"], input="{}\n")
    assert result.exit_code == 2
    assert "--jobs cannot split standard input" in result.stderr


def test_two_processes_print_what_one_prints_also_for_styled_and_non_ascii_titles(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One process writes through click, which strips terminal styling off a stream that
    # is no terminal; the parts' bytes must come out the same.
    monkeypatch.setattr(parallel, "SPLIT_BYTES", 1)
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES.split("---")[0].replace("title: Whoami", 'title: "\\e[31mWhoami\\e[0m Évil 😀"'),
                     encoding="utf-8")
    events = events_file(tmp_path, 50)
    for flags in ([], ["--json"]):
        one = run(rules, "--events", events, *flags)
        many = run(rules, "--events", events, "--jobs", "2", *flags)
        assert one.exit_code == many.exit_code == 0
        assert "\x1b" not in one.stdout and "Évil 😀" in one.stdout
        assert many.stdout == one.stdout


def test_parts_start_at_whole_lines_with_their_line_numbers_whatever_the_read_size(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "SPLIT_BYTES", 1)
    events = events_file(tmp_path, 300)
    lines = events.read_bytes().splitlines(keepends=True)
    for chunk in (7, 4096, 1 << 20):  # reads ending inside lines, and the whole file at once
        monkeypatch.setattr(parallel, "_COUNT_CHUNK", chunk)
        parts = parallel.plan_parts([events], 4)
        assert len(parts) == 4 and parts[0].start == 0 and parts[-1].end == len(b"".join(lines))
        for part in parts:
            before = b"".join(lines[:part.first_line - 1])
            assert part.start == len(before), (chunk, part)  # the part starts where its first line does
        assert [part.end for part in parts[:-1]] == [part.start for part in parts[1:]]
        # planned in another process (while the rules compile): the same parts
        assert parallel.PartsPlan([events], 4).parts() == parts


def test_a_plan_that_fails_in_its_process_raises_the_error_here(tmp_path: Path) -> None:
    from sigmakit.errors import UsageError
    with pytest.raises(UsageError, match="no such file or folder: .*missing.jsonl"):
        parallel.PartsPlan([tmp_path / "missing.jsonl"], 2).parts()


def test_a_large_file_gets_up_to_two_parts_per_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "SPLIT_BYTES", 1)
    events = events_file(tmp_path, 300)
    size = events.stat().st_size
    assert len(parallel.plan_parts([events], 2)) == 2  # small: one part per process
    monkeypatch.setattr(parallel, "MIN_EXTRA_PART", size // 3)
    assert len(parallel.plan_parts([events], 2)) == 3
    monkeypatch.setattr(parallel, "MIN_EXTRA_PART", 1)
    assert len(parallel.plan_parts([events], 2)) == 4 == 2 * parallel.PARTS_PER_JOB
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES, encoding="utf-8")
    one = run(rules, "--events", events, "--json")
    assert run(rules, "--events", events, "--json", "--jobs", "2").stdout == one.stdout


MIXED_RULES = WHOAMI_FEEDING_RULE.replace("0000000000c1", "0000000000b1") + """---
title: Whoami seen
id: 00000000-0000-0000-0000-0000000000b2
correlation:
  type: event_count
  rules: [any_whoami]
  timespan: 3650d
  condition: {gte: 1}
---
title: Parent command line and company
id: 00000000-0000-0000-0000-0000000000b3
logsource: {category: process_creation, product: windows}
detection:
  sel:
    ParentCommandLine|contains: zzqq
    Company: Evil Corp
  condition: sel
"""


def mixed_sources_file(tmp_path: Path, count: int) -> Path:
    """A Security 4688 event, then a CrowdStrike one, then only 4688 events."""
    events = [security_4688_json(1, "whoami /1"), crowdstrike_json("whoami"),
              *(security_4688_json(n, f"whoami /{n}") for n in range(3, count + 1))]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in events), encoding="utf-8")
    return path


def test_sources_are_reported_in_the_same_order_however_the_input_is_cut(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One process meets the sources in its own order; each part meets them in another.
    monkeypatch.setattr(parallel, "SPLIT_BYTES", 1)
    rules = tmp_path / "rules.yml"
    rules.write_text(MIXED_RULES, encoding="utf-8")
    events = mixed_sources_file(tmp_path, 600)
    one = run(rules, "--events", events)
    assert one.exit_code == 1  # the third rule cannot be compiled for either source
    correlations = [line.split(":")[0] for line in one.stdout.splitlines()]
    assert correlations == ["Whoami seen (00000000-0000-0000-0000-0000000000b2) (event_count, all events)"] * 2
    errors = [line for line in one.stderr.splitlines() if line.startswith("error:")]
    assert [line.rsplit("(for ", 1)[1] for line in errors] == ["crowdstrike events)", "security_4688 events)"]
    assert "source auto (crowdstrike 1, security_4688 599)" in one.stderr
    for jobs in ("2", "3"):
        many = run(rules, "--events", events, "--jobs", jobs)
        assert many.exit_code == 1
        assert many.stdout == one.stdout
        assert many.stderr == one.stderr


def test_a_file_named_twice_is_read_and_counted_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "SPLIT_BYTES", 1)
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES.split("---")[0], encoding="utf-8")
    events = events_file(tmp_path, 70)
    one = run(rules, "--events", events, "--events", events)
    assert "140 event(s) from 2 file(s), 2 unreadable record(s) skipped" in one.stderr
    many = run(rules, "--events", events, "--events", events, "--jobs", "2")
    assert (many.exit_code, many.stdout, many.stderr) == (one.exit_code, one.stdout, one.stderr)


def test_sources_are_sampled_across_a_split_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 4688 events, one CrowdStrike event, then Sysmon events far past the first events:
    # sampled, their rules are compiled once before the processes fork.
    monkeypatch.setattr(parallel, "SPLIT_BYTES", 1)
    monkeypatch.setattr(parallel, "SAMPLE_SPACING", 4096)
    path = mixed_sources_file(tmp_path, 300)
    (tmp_path / "sysmon").mkdir()
    with path.open("ab") as out:
        out.write(events_file(tmp_path / "sysmon", 300).read_bytes())
    parts = parallel.plan_parts([path], 2)
    # the lone CrowdStrike event (line 2) is for the probe of the first events to find
    assert parallel.sample_sources(parts, "auto") == {"security_4688", "sysmon"}
    assert parallel.sample_sources(parts, "sysmon") == {"sysmon"}
    plan = parallel.PartsPlan([path], 2, "auto").plan()
    assert (plan.parts, plan.sources) == (parts, {"security_4688", "sysmon"})
    rules = tmp_path / "rules.yml"
    rules.write_text(MIXED_RULES, encoding="utf-8")
    one = run(rules, "--events", path)
    many = run(rules, "--events", path, "--jobs", "2")
    assert "source auto (crowdstrike 1, security_4688 299, sysmon 300)" in one.stderr
    assert (many.exit_code, many.stdout, many.stderr) == (one.exit_code, one.stdout, one.stderr)


def test_a_sampled_line_counts_only_if_the_file_would_read_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A '[...]' line in JSON Lines is an unreadable record, though alone it is a JSON
    # array holding a CrowdStrike event: no source, no rule errors, that one process lacks.
    monkeypatch.setattr(parallel, "SPLIT_BYTES", 1)
    monkeypatch.setattr(parallel, "SAMPLE_SPACING", 1)  # then SAMPLES_PER_FILE sets it: every line
    path = mixed_sources_file(tmp_path, 40)
    lines = path.read_text(encoding="utf-8").splitlines()
    crowdstrike = lines.pop(1)
    lines.insert(20, f"[{crowdstrike}]")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    parts = parallel.plan_parts([path], 2)
    assert parallel.sample_sources(parts, "auto") == {"security_4688"}
    rules = tmp_path / "rules.yml"
    rules.write_text(MIXED_RULES, encoding="utf-8")
    one = run(rules, "--events", path)
    assert "crowdstrike" not in one.stderr and "1 unreadable record(s) skipped" in one.stderr
    many = run(rules, "--events", path, "--jobs", "2")
    assert (many.exit_code, many.stdout, many.stderr) == (one.exit_code, one.stdout, one.stderr)
