"""``sigmakit convert --backend``: the same rule for another SIEM's pySigma backend."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sigmakit.cli.main import cli

from conftest import DISKSHADOW

LOGSCALE = (
    "event_platform=/^Win$/i #event_simpleName=/^ProcessRollup2$/i or #event_simpleName=/^SyntheticProcessRollup2$/i "
    "ImageFileName=/\\\\diskshadow\\.exe$/i or OriginalFilename=/^diskshadow\\.exe$/i "
    "CommandLine=/-s/i or CommandLine=/\\/s/i"
)


def run(*args: str):
    return CliRunner().invoke(cli, ["convert", str(DISKSHADOW), *args])


def test_logscale_through_the_crowdstrike_falcon_pipeline() -> None:
    pytest.importorskip("sigma.backends.crowdstrike", reason="pysigma-backend-crowdstrike is not installed")
    result = run("--backend", "log_scale", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [{
        "rule_id": "58adae9e-8ea3-11ec-90f6-acde48001122", "rule_title": "Windows Diskshadow Proxy Execution",
        "target": "log_scale", "status": "converted", "query": LOGSCALE, "warnings": [], "error": None,
    }]


def test_unknown_backend_gets_a_suggestion_and_the_list_command() -> None:
    result = run("--backend", "logscale")
    assert result.exit_code == 2
    assert "unknown backend 'logscale'; did you mean 'log_scale'? run 'sigmakit list backends'" in result.stderr


def test_backend_excludes_targets_and_pipeline_needs_backend() -> None:
    assert run("--backend", "splunk", "--target", "cim").exit_code == 2
    assert run("--pipeline", "sysmon").exit_code == 2


def test_unknown_pipeline_is_a_usage_error() -> None:
    result = run("--backend", "splunk", "--pipeline", "sysmn")
    assert result.exit_code == 2
    assert "unknown pipeline 'sysmn'; did you mean 'sysmon'?" in result.stderr
