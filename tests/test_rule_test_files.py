"""The rule-test file format: validation with file and line, never "no tests"."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigmakit.errors import RuleTestError
from sigmakit.rules import load_rules, test_file_for
from sigmakit.verification.rule_tests import load_test_file

from conftest import DISKSHADOW, RULES


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rule.tests.yml"
    path.write_text(text)
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(RuleTestError) as caught:
        load_test_file(path)
    return str(caught.value).splitlines()


def test_diskshadow_tests_cover_all_four_sources_and_auto() -> None:
    tests = load_test_file(test_file_for(DISKSHADOW))
    assert sorted({case.source for case in tests.cases}) == ["auto", "cim", "crowdstrike", "security_4688", "sysmon"]
    assert [(case.source, case.hits) for case in tests.cases] == [
        ("sysmon", 3), ("sysmon", 0), ("security_4688", 2), ("security_4688", 0), ("security_4688", 0),
        ("crowdstrike", 2), ("crowdstrike", 0), ("crowdstrike", 0), ("crowdstrike", 0),
        ("cim", 7), ("cim", 0), ("auto", 7),
    ]
    inline = tests.cases[7]
    assert len(inline.events) == 5 and inline.events[0][1] == 45
    assert str(tests.cases[0].location) == f"{tests.path}:9"


def test_the_rule_walk_does_not_read_test_files_or_event_files() -> None:
    rules = load_rules([RULES])
    assert [r.path.name for r in rules] == ["windows_diskshadow_proxy_execution.yml"]
    assert not rules.errors


@pytest.mark.parametrize("text,expected", [
    ("", "rule.tests.yml: the rule-test file is empty (it must list test cases)"),
    ("# only a comment\n", "rule.tests.yml: the rule-test file is empty (it must list test cases)"),
    ("tests: []\n", "rule.tests.yml:1: 'tests' must be a list with at least one test case"),
    ("- a\n", "rule.tests.yml:1: a rule-test file must be a map with a 'tests' list"),
    ("tests:\n  - name: x\n    name: y\n", "rule.tests.yml:3: duplicate key 'name' (first defined on line 2); YAML keys must be unique, "
     "use a second modifier or selection instead"),
    ("test:\n  - {}\n", "rule.tests.yml:1: unknown key 'test' (a rule-test file has only 'tests')"),
])
def test_empty_and_malformed_files_are_errors(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    assert errors_of(path)[0] == f"{tmp_path}/{expected}"


def test_every_case_error_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, (
        "tests:\n"
        "  - name: one\n"
        "    source: sysmn\n"
        "    hits: -1\n"
        "    raw: '<Event/>'\n"
        "  - name: two\n"
        "    source: cim\n"
        "    hits: yes\n"
        "    events: [a]\n"
        "    fil: x.xml\n"
        "  - source: sysmon\n"
        "    hits: 1\n"
        "    raw: x\n"
        "    events: [{a: 1}]\n"
        "  - name: four\n"
        "    source: auto\n"
        "    hits: 0\n"
        "    file: [missing.xml]\n"
    ))
    assert errors_of(path) == [
        f"{path}:3: 'source' must be one of auto, sysmon, security_4688, crowdstrike, cim, sigma; did you mean 'sysmon'?",
        f"{path}:4: 'hits' must be 0 or more",
        f"{path}:8: 'hits' must be a whole number, not True",
        f"{path}:9: 'events' must be a list of maps (one per event)",
        f"{path}:10: unknown key 'fil' in test case 2; did you mean 'file'?",
        f"{path}:11: test case 3 has no 'name'",
        f"{path}:11: test case 3 needs exactly one of events, raw, file (it has events, raw)",
        f"{path}:15: test case 'four': no such event file {tmp_path}/missing.xml",
    ]


def test_a_valid_file_gives_cases_with_paths_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "e.xml").write_text("<Event/>\n")
    path = write(tmp_path, "tests:\n  - name: n\n    source: sigma\n    hits: 2\n    file: e.xml\n    rule: abc\n")
    (case,) = load_test_file(path).cases
    assert (case.name, case.source, case.hits, case.files, case.rule, case.kind) == (
        "n", "sigma", 2, (tmp_path / "e.xml",), "abc", "true positive")
