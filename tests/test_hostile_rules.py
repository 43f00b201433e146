"""Broken and hostile rule files: every one is an error with file, line and rule id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sigmakit.cli.main import cli
from sigmakit.rules import load_rule_text, load_rules

from conftest import DISKSHADOW

RULE_ID = "11111111-1111-1111-1111-111111111111"
BASE = (
    f"title: T\nid: {RULE_ID}\nlogsource:\n  category: process_creation\n  product: windows\n"
    "detection:\n  sel:\n    Image|endswith: x\n  condition: sel\n"
)

CASES = [
    # (name, rule text, expected error text after "name.yml:")
    ("invalid_yaml", BASE.replace("  sel:\n", "  sel: [\n"), "9: invalid YAML"),
    ("duplicate_key", BASE.replace("  condition: sel\n", "  sel:\n    Image: y\n  condition: sel\n"),
     "9: duplicate key 'sel' (first defined on line 7)"),
    ("unknown_modifier", BASE.replace("Image|endswith", "Image|endswiht"), f"8: Unknown modifier 'endswiht' (rule {RULE_ID})"),
    ("bad_condition", BASE.replace("condition: sel", "condition: sel and and"),
     f"9: Detection 'and' not defined in detections (rule {RULE_ID})"),
    ("missing_detection", BASE.split("detection:")[0], f"1: Sigma rule must have a detection definitions (rule {RULE_ID})"),
    ("title_not_string", BASE.replace("title: T", "title: [a, b]"), f"1: Sigma rule title must be a string (rule {RULE_ID})"),
    ("tags_not_list", BASE + "tags: 5\n", f"10: Sigma tags fields must be a list (rule {RULE_ID})"),
    ("logsource_not_map", BASE.replace("logsource:\n  category: process_creation\n  product: windows\n", "logsource: windows\n"),
     f"3: Sigma logsource must be a valid YAML map (rule {RULE_ID})"),
    ("id_not_uuid", BASE.replace(f"id: {RULE_ID}", "id: 12"), "1: not a valid Sigma rule (AttributeError"),
    ("bad_date", BASE + "date: 2024-99-99\n", "10: invalid YAML value: month must be in 1..12"),
    ("bad_regex", BASE.replace("Image|endswith: x", "Image|re: '(['"), "8: Regular expression '([' is invalid"),
    ("bad_cidr", BASE.replace("Image|endswith: x", "Image|cidr: nope"), "8: Invalid CIDR expression: 'nope'"),
    ("deep_yaml", BASE + "x: " + "[" * 5000 + "]" * 5000 + "\n", "10: invalid YAML: exceeded maximum nesting depth"),
    ("deep_condition", BASE.replace("condition: sel", "condition: " + "not " * 3000 + "sel"),
     f"9: the condition is nested too deeply to parse (rule {RULE_ID})"),
    ("not_a_map", "- a\n- b\n", "1: a rule document must be a YAML map"),
    ("empty", "", "1: the file holds no rule"),
    ("huge", BASE + "# " + "x" * (1024 * 1024) + "\n", "1: rule file is 1.0 MiB; sigmakit refuses rule files over 1 MiB"),
]


@pytest.mark.parametrize("name,text,expected", CASES, ids=[c[0] for c in CASES])
def test_broken_rule_gives_located_error(name: str, text: str, expected: str) -> None:
    rules = load_rule_text(text, f"{name}.yml")
    assert rules.rules == []
    assert len(rules.errors) == 1
    assert str(rules.errors[0]).startswith(f"{name}.yml:{expected}")


def test_folder_with_broken_rules_converts_the_good_ones_and_lists_every_broken_one(tmp_path: Path) -> None:
    for name, text, _ in CASES:
        (tmp_path / f"{name}.yml").write_text(text)
    (tmp_path / "good.yml").write_text(DISKSHADOW.read_text())
    result = CliRunner().invoke(cli, ["convert", str(tmp_path), "--target", "cim", "--json"])
    assert result.exit_code == 1
    output = json.loads(result.stdout)
    assert [o["status"] for o in output].count("converted") == 1
    failed = [o["error"] for o in output if o["status"] == "failed"]
    assert len(failed) == len(CASES)
    for name, _, _ in CASES:
        assert sum(f"{name}.yml:" in error for error in failed) == 1, name
        assert f"failed: {tmp_path / name}.yml" in result.stderr


def test_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.yml"
    path.write_text(BASE + "# " + "x" * (10 * 1024 * 1024) + "\n")
    rules = load_rules([path])
    assert str(rules.errors[0]) == f"{path}:1: rule file is 10.0 MiB; sigmakit refuses rule files over 1 MiB (Sigma rules are a few kilobytes)"


def test_bytes_that_are_not_utf8_are_placed_on_their_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes(b"title: T\nlogsource: {product: windows}\ndescription: caf\xe9\n")
    rules = load_rules([path])
    assert str(rules.errors[0]) == f"{path}:3: not UTF-8 text (invalid continuation byte at byte 55)"


@pytest.mark.parametrize("condition", ["selection and notepad", "selection and not notepad", "(notepad)"])
def test_a_selection_name_pysigma_reads_as_not_is_refused_at_the_condition(tmp_path: Path, condition: str) -> None:
    path = tmp_path / "rule.yml"
    path.write_text("title: T\nlogsource: {product: windows}\ndetection:\n  selection:\n    Image: a\n"
                    f"  notepad:\n    Image: b\n  epad:\n    Image: c\n  condition: {condition}\n")
    rules = load_rules([path])
    assert [str(error) for error in rules.errors] == [
        f"{path}:10: selection 'notepad' starts with 'not', which pySigma's condition parser reads as 'not epad'; "
        "rename the selection"]


def test_a_selection_name_starting_with_not_is_fine_after_of(tmp_path: Path) -> None:
    path = tmp_path / "rule.yml"
    path.write_text("title: T\nlogsource: {product: windows}\ndetection:\n  selection:\n    Image: a\n"
                    "  notepad:\n    Image: b\n  condition: selection and 1 of  notepad or 1 of notepad*\n")
    assert not load_rules([path]).errors
