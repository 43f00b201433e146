"""``sigmakit check``: pySigma validators plus sigmakit's checks, exit codes and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sigma.data import mitre_attack
from sigma.validators.core.tags import DuplicateTagIssue

from sigmakit.cli.main import cli

from conftest import DISKSHADOW


@pytest.fixture()
def attack_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep pySigma's ATT&CK cache (normally in ~/.cache) inside the test's folder."""
    monkeypatch.setattr(mitre_attack, "_cache", None)
    monkeypatch.setattr(mitre_attack, "_custom_cache_dir", tmp_path / "attack-cache")
    monkeypatch.setattr(mitre_attack, "_custom_url", str(tmp_path / "no-attack-data.json"))
    return tmp_path


def stix(*objects: dict) -> str:
    return json.dumps({"type": "bundle", "objects": list(objects)})


def attack_object(kind: str, external_id: str, **extra: str) -> dict:
    return {"type": kind, "external_references": [{"source_name": "mitre-attack", "external_id": external_id}], **extra}


def run(*args: str):
    return CliRunner().invoke(cli, ["check", *args])


def rule_folder(tmp_path: Path, text: str | None = None, with_tests: bool = True) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    (folder / "diskshadow.yml").write_text(text if text is not None else DISKSHADOW.read_text())
    if with_tests:
        (folder / "diskshadow.tests.yml").write_text("tests: []\n")
    return folder


def test_clean_rule_passes(attack_cache: Path) -> None:
    result = run(str(rule_folder(attack_cache)))
    assert result.exit_code == 0
    assert result.stdout == (
        "(all rules): informational: attack_tag: ATT&CK technique ids were checked for form only: "
        "MITRE's ATT&CK data could not be loaded (offline?); pass --attack-data enterprise-attack.json to check them\n"
    )
    assert result.stderr == "1 rule(s) checked, 0 broken rule file(s): 1 informational, 0 low, 0 medium, 0 high\n"


def test_missing_tests_and_metadata_fail_unless_passed(attack_cache: Path) -> None:
    text = DISKSHADOW.read_text().split("# Splunk Enterprise Security settings")[0]
    folder = rule_folder(attack_cache, text, with_tests=False)
    result = run(str(folder), "--json")
    assert result.exit_code == 1
    issues = {(i["check"], i["severity"], i["line"]) for i in json.loads(result.stdout)}
    assert ("rule_tests", "medium", 1) in issues and ("es_metadata", "medium", 1) in issues
    assert run(str(folder), "--pass-on-issues").exit_code == 0


def test_bad_attack_tag_with_line(attack_cache: Path) -> None:
    text = DISKSHADOW.read_text().replace("    - attack.t1218\n", "    - attack.t1218\n    - attack.t12\n    - attack.evasion\n")
    folder = rule_folder(attack_cache, text)
    result = run(str(folder))
    assert result.exit_code == 1
    line = text.splitlines().index("    - attack.t12") + 1
    assert f"{folder / 'diskshadow.yml'}:{line}: medium: attack_tag: tag 'attack.t12' is not an ATT&CK tag" in result.stdout
    assert f"{folder / 'diskshadow.yml'}:{line + 1}: medium: attack_tag: tag 'attack.evasion' is not an ATT&CK tactic" in result.stdout


def test_attack_data_file_checks_technique_ids(attack_cache: Path) -> None:
    data = attack_cache / "enterprise-attack.json"
    data.write_text(stix(
        attack_object("x-mitre-tactic", "TA0005", x_mitre_shortname="defense-evasion"),
        attack_object("attack-pattern", "T1218", name="System Binary Proxy Execution"),
    ))
    text = DISKSHADOW.read_text().replace("    - attack.t1218\n", "    - attack.t1218\n    - attack.t9999\n")
    folder = rule_folder(attack_cache, text)
    result = run(str(folder), "--attack-data", str(data))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{folder / 'diskshadow.yml'}:{text.splitlines().index('    - attack.t9999') + 1}: medium: attack_tag: "
        "tag 'attack.t9999' is not in MITRE ATT&CK (rule 58adae9e-8ea3-11ec-90f6-acde48001122)"
    ]


def test_duplicate_titles_share_a_filter_macro(attack_cache: Path) -> None:
    folder = rule_folder(attack_cache)
    (folder / "copy.yml").write_text(DISKSHADOW.read_text().replace("58adae9e-8ea3-11ec-90f6-acde48001122", "58adae9e-8ea3-11ec-90f6-acde48001123"))
    (folder / "copy.tests.yml").write_text("tests: []\n")
    result = run(str(folder), "--json")
    assert result.exit_code == 1
    macro_issues = [i for i in json.loads(result.stdout) if i["check"] == "filter_macro"]
    assert len(macro_issues) == 2
    assert "filter macro 'windows_diskshadow_proxy_execution_filter' is shared with" in macro_issues[0]["message"]


def test_pysigma_validators_run(attack_cache: Path) -> None:
    text = DISKSHADOW.read_text().replace("    - attack.t1218\n", "    - attack.t1218\n    - attack.t1218\n")
    result = run(str(rule_folder(attack_cache, text)), "--json")
    assert result.exit_code == 1
    duplicates = [i for i in json.loads(result.stdout) if i["check"] == "duplicate_tag"]
    assert [(d["severity"], d["line"], d["rule_id"]) for d in duplicates] == [
        ("medium", 1, "58adae9e-8ea3-11ec-90f6-acde48001122")
    ]
    assert duplicates[0]["message"] == DuplicateTagIssue.description + " (tag=attack.t1218)"


def test_broken_rule_always_fails(attack_cache: Path) -> None:
    folder = rule_folder(attack_cache, "title: [broken\n")
    result = run(str(folder), "--pass-on-issues")
    assert result.exit_code == 1
    assert "high: rule: invalid YAML" in result.stdout
