"""Rule files: YAML errors with lines, duplicate keys, metadata validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigmakit.errors import MetadataError, RuleError
from sigmakit.rules import load_rule_text, load_rules, parse_metadata
from sigmakit.rules.yaml_source import load_yaml_documents

from conftest import DISKSHADOW


def test_yaml_error_names_file_and_line() -> None:
    rules = load_rule_text("title: x\ndetection:\n  sel: [a\n", "bad.yml")
    assert len(rules.errors) == 1
    assert str(rules.errors[0]).startswith("bad.yml:4: invalid YAML")


def test_duplicate_keys_are_errors() -> None:
    with pytest.raises(RuleError) as caught:
        load_yaml_documents("a: 1\nb:\n  c: 1\n  c: 2\n", "dup.yml")
    assert str(caught.value) == (
        "dup.yml:4: duplicate key 'c' (first defined on line 3); YAML keys must be unique, "
        "use a second modifier or selection instead"
    )


def test_broken_rule_error_has_line_and_id() -> None:
    text = DISKSHADOW.read_text().replace("condition: process_diskshadow and scripting_mode", "condition: process_diskshadow and missing_selection")
    rules = load_rule_text(text, "r.yml")
    assert not rules.rules
    error = rules.errors[0]
    assert error.location.line == text.splitlines().index("    condition: process_diskshadow and missing_selection") + 1
    assert error.rule_id == "58adae9e-8ea3-11ec-90f6-acde48001122"


def _metadata_error(raw: dict, text_key: str) -> str:
    with pytest.raises(MetadataError) as caught:
        parse_metadata(raw, None, "rule.yml")
    assert text_key in str(caught.value)
    return str(caught.value)


GOOD = {"type": "TTP", "impact": 70, "confidence": 70, "risk_message": "On $dest$",
        "risk_objects": [{"field": "dest", "type": "system"}]}


@pytest.mark.parametrize("change,key", [
    ({"type": "Weird"}, "splunk_es.type: must be one of TTP, Anomaly, Hunting, Correlation"),
    ({"impact": 170}, "splunk_es.impact: must be a whole number from 1 to 100"),
    ({"confidence": "high"}, "splunk_es.confidence: must be a whole number from 1 to 100"),
    ({"risk_message": None}, "splunk_es.risk_message: is required"),
    ({"risk_objects": [{"field": "dest", "type": "host"}]}, "splunk_es.risk_objects.0.type: must be system, user, other"),
    ({"nist": ["DECM"]}, "splunk_es.nist.0: 'DECM' is not valid here"),
    ({"cis20": ["CIS 99"]}, "splunk_es.cis20.0"),
    ({"kill_chain_phases": ["Exploitaiton"]}, "splunk_es.kill_chain_phases.0: 'Exploitaiton' is not one of"),
    ({"schedule": {"cron_schedule": "hourly"}}, "splunk_es.schedule.cron_schedule: 'hourly' is not a five-field cron"),
    ({"schedule": {"earliest_time": "yesterday"}}, "splunk_es.schedule.earliest_time"),
    ({"impakt": 3}, "splunk_es.impakt: unknown key"),
    ({"risk_message": "on $de st$"}, "splunk_es.risk_message: $de st$ is not a $field$ token"),
])
def test_metadata_errors_name_the_key(change: dict, key: str) -> None:
    _metadata_error({**GOOD, **change}, key)


def test_metadata_error_in_file_has_file_and_line(tmp_path: Path) -> None:
    text = DISKSHADOW.read_text().replace("    impact: 70", "    impact: 700")
    path = tmp_path / "rule.yml"
    path.write_text(text)
    rules = load_rules([path])
    line = text.splitlines().index("    impact: 700") + 1
    assert [str(e) for e in rules.errors] == [
        f"{path}:{line}: splunk_es.impact: must be a whole number from 1 to 100, not 700 "
        "(rule 58adae9e-8ea3-11ec-90f6-acde48001122)"
    ]


def test_macro_must_name_a_selection(tmp_path: Path) -> None:
    text = DISKSHADOW.read_text().replace("process_diskshadow: process_diskshadow", "process_diskshadow: missing")
    rules = load_rule_text(text, "r.yml")
    assert "splunk_es.macros.process_diskshadow: the rule has no selection named 'missing'" in str(rules.errors[0])


def test_anomaly_and_hunting_defaults() -> None:
    hunting = parse_metadata({"type": "Hunting"})
    assert (hunting.creates_risk, hunting.creates_notable, hunting.risk_score) == (False, False, None)
    anomaly = parse_metadata({**GOOD, "type": "Anomaly"})
    assert (anomaly.creates_risk, anomaly.creates_notable, anomaly.risk_score) == (True, False, 49)
