"""Regular expressions from rules cannot hang the matcher."""

from __future__ import annotations

import json
import time
from pathlib import Path

from click.testing import CliRunner

from sigmakit.cli.main import cli

RULE = """title: {title}
id: {id}
logsource:
    category: process_creation
    product: windows
detection:
    sel:
        CommandLine|re: '{pattern}'
    condition: sel
"""
NESTED_QUANTIFIERS = "^(a+)+$"  # RE2 runs it in linear time
BACKREFERENCE = "^(a|a)*\\1$"  # RE2 refuses backreferences: the backtracking engine, with its timeout


def write_rule(folder: Path, name: str, title: str, rule_id: str, pattern: str) -> Path:
    path = folder / name
    path.write_text(RULE.format(title=title, id=rule_id, pattern=pattern))
    return path


def test_catastrophic_patterns_finish_and_the_stalled_rule_is_named(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    write_rule(rules, "linear.yml", "Nested Quantifiers", "00000000-0000-0000-0000-00000000000a", NESTED_QUANTIFIERS)
    write_rule(rules, "stall.yml", "Backreference", "00000000-0000-0000-0000-00000000000b", BACKREFERENCE)
    write_rule(rules, "plain.yml", "Plain", "00000000-0000-0000-0000-00000000000c", "ab")
    stalling = "a" * 28 + "!"  # enough to stall a backtracking engine for minutes
    long_value = "a" * 100_000 + "!"  # exponential for backtracking nested quantifiers, linear in RE2
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps({"CommandLine": v}) + "\n" for v in (stalling, long_value, "xaby")))
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["match", str(rules), "-e", str(events), "--source", "sigma"])
    elapsed = time.monotonic() - started
    assert elapsed < 20, f"matching took {elapsed:.1f}s"
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [f"{events}:3: Plain (00000000-0000-0000-0000-00000000000c) [sel]"]
    assert "Backreference" in result.stderr and "took longer than" in result.stderr
    assert "Nested Quantifiers" not in result.stderr.split("hit(s)")[0].split("error")[-1]
