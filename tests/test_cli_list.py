"""``sigmakit list``: targets, backends, pipelines, and a hint for a mistyped kind."""

from __future__ import annotations

from click.testing import CliRunner

from sigmakit.cli.main import cli


def run(*args: str):
    return CliRunner().invoke(cli, ["list", *args])


def test_list_targets() -> None:
    result = run("targets")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "cim            CIM Endpoint.Processes data model",
        "sysmon         Sysmon, as XmlWinEventLog",
        "security_4688  Windows Security 4688, as XmlWinEventLog",
        "crowdstrike    CrowdStrike FDR ProcessRollup2",
    ]


def test_list_backends_and_pipelines() -> None:
    backends = run("backends")
    assert backends.exit_code == 0
    assert "splunk         Splunk SPL & tstats data model queries" in backends.stdout.splitlines()
    pipelines = run("pipelines")
    assert pipelines.exit_code == 0
    assert "sigmakit_cim             sigmakit CIM Endpoint.Processes" in pipelines.stdout.splitlines()


def test_unknown_kind_suggests_the_command() -> None:
    result = run("pipelins")
    assert result.exit_code == 2
    assert "did you mean 'sigmakit list pipelines'?" in result.stderr
