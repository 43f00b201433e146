"""Splunk ES content: DiskShadow's stanzas, macros, result fields, types, names, the app."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from sigmakit.conversion import Status, convert_rules
from sigmakit.errors import OutputError
from sigmakit.output import app as app_module
from sigmakit.output.app import AppSettings, plan_app, write_app
from sigmakit.output.conf import read_conf
from sigmakit.output.macros import macro_calls
from sigmakit.output.savedsearches import StanzaNames
from sigmakit.rules import load_rule_text, load_rules

from conftest import DISKSHADOW, PROJECT
from test_diskshadow import CIM

GOLDEN = PROJECT / "tests" / "golden"
CIM_STANZA = "sigmakit - Windows Diskshadow Proxy Execution - Rule"
SEED_MACRO = "(Processes.process_name=diskshadow.exe OR Processes.original_file_name=diskshadow.exe)"
TARGET_STANZAS = [CIM_STANZA] + [
    f"sigmakit - Windows Diskshadow Proxy Execution ({t}) - Rule" for t in ("sysmon", "security_4688", "crowdstrike")
]


@pytest.fixture(scope="module")
def diskshadow_app():
    return plan_app(load_rules([DISKSHADOW]))


def test_golden_savedsearches_and_macros(diskshadow_app) -> None:
    files = diskshadow_app.files
    assert files["default/savedsearches.conf"].render() == (GOLDEN / "diskshadow.savedsearches.conf").read_text()
    assert files["default/macros.conf"].render() == (GOLDEN / "diskshadow.macros.conf").read_text()
    assert files["metadata/default.meta"].render() == (GOLDEN / "default.meta").read_text()


def test_cim_correlation_search_carries_the_seed_settings(diskshadow_app) -> None:
    parsed = read_conf(diskshadow_app.files["default/savedsearches.conf"].render())
    assert list(parsed) == TARGET_STANZAS
    cim = parsed[CIM_STANZA]
    assert json.loads(cim["action.risk.param._risk"]) == [
        {"risk_object_field": "dest", "risk_object_type": "system", "risk_score": 49}
    ]
    assert cim["action.risk.param._risk_message"] == "Possible Signed Binary Proxy Execution on $dest$"
    assert cim["action.notable.param.nes_fields"] == "user,dest"
    assert (cim["cron_schedule"], cim["dispatch.earliest_time"], cim["dispatch.latest_time"]) == (
        "0 * * * *", "-70m@m", "-10m@m")
    assert (cim["schedule_window"], cim["disabled"], cim["enableSched"]) == ("auto", "1", "1")
    assert (cim["action.correlationsearch.enabled"], cim["action.risk"], cim["action.notable"]) == ("1", "1", "1")
    assert cim["action.notable.param.severity"] == "medium"
    assert cim["action.notable.param.security_domain"] == "endpoint"
    assert json.loads(cim["action.correlationsearch.annotations"]) == {
        "mitre_attack": ["T1218"], "kill_chain_phases": ["Exploitation"], "nist": ["DE.CM"],
        "cis20": ["CIS 10"], "analytic_story": ["Living Off The Land"],
        "data_source": ["Sysmon EventID 1", "Windows Event Log Security 4688", "CrowdStrike ProcessRollup2"],
        "confidence": 70, "impact": 70, "type": "TTP",
    }
    assert [d["name"] for d in json.loads(cim["action.notable.param.drilldown_searches"])] == [
        "Detection results for $dest$", "Risk events of the last 7 days for $dest$"]


def test_cim_search_calls_the_seed_macro_and_plain_convert_stays_inline(diskshadow_app) -> None:
    cim = diskshadow_app.searches[0]
    assert cim.query == CIM.replace(SEED_MACRO, "`process_diskshadow`")
    assert cim.result.macros == {"process_diskshadow": SEED_MACRO}
    plain = {r.target: r for r in convert_rules(load_rules([DISKSHADOW]))}
    assert plain["cim"].query == CIM and plain["cim"].macros == {}


def test_macros_conf_defines_every_macro_the_searches_call(diskshadow_app) -> None:
    macros = read_conf(diskshadow_app.files["default/macros.conf"].render())
    called = {call for s in diskshadow_app.searches for call in macro_calls(s.query)}
    assert called == {
        "security_content_summariesonly", "drop_dm_object_name(1)", "security_content_ctime(1)",
        "process_diskshadow", "windows_diskshadow_proxy_execution_filter",
    }
    assert called <= set(macros)
    assert macros["process_diskshadow"]["definition"] == SEED_MACRO
    assert macros["windows_diskshadow_proxy_execution_filter"]["definition"] == "search *"
    meta = read_conf(diskshadow_app.files["metadata/default.meta"].render())
    private = {name for name, settings in meta.items() if settings.get("export") == "none"}
    assert private == {"macros/security_content_summariesonly", "macros/security_content_ctime%281%29",
                       "macros/drop_dm_object_name%281%29"}


def test_raw_searches_yield_the_fields_es_reads_before_the_filter_macro(diskshadow_app) -> None:
    lines = {s.result.target: s.query.splitlines() for s in diskshadow_app.searches}
    assert lines["sysmon"][1].startswith("| eval dest=Computer, user=User, process_name=replace(Image, ")
    assert lines["security_4688"][1].startswith("| eval dest=Computer, user=SubjectUserName, ")
    assert lines["crowdstrike"][1].startswith(
        "| eval dest=coalesce(aid_computer_name, ComputerName, aid), user=coalesce(UserName, UserSid), ")
    for target in ("sysmon", "security_4688", "crowdstrike"):
        assert lines[target][2] == "| `windows_diskshadow_proxy_execution_filter`"


RULE = """\
title: {title}
id: 33333333-3333-3333-3333-333333333333
logsource:
    category: process_creation
    product: windows
detection:
    sel:
        Image|endswith: '\\x.exe'
    condition: sel
splunk_es:
{metadata}
"""


def _plan(metadata: str, title: str = "Test Rule", targets=("cim",)):
    rules = load_rule_text(RULE.format(title=title, metadata=metadata), "r.yml")
    assert not rules.errors, rules.errors
    return plan_app(rules, targets)


def _settings(plan) -> dict[str, str]:
    return read_conf(plan.files["default/savedsearches.conf"].render()).popitem()[1]


def test_type_defaults_anomaly_is_risk_only_and_hunting_neither() -> None:
    risk = "    impact: 40\n    confidence: 50\n    risk_message: On $dest$\n    risk_objects: [{field: dest, type: system}]"
    anomaly = _settings(_plan("    type: Anomaly\n" + risk))
    assert (anomaly["action.risk"], anomaly["action.notable"]) == ("1", "0")
    assert json.loads(anomaly["action.risk.param._risk"])[0]["risk_score"] == 20
    assert "action.notable.param.severity" not in anomaly
    hunting = _settings(_plan("    type: Hunting"))
    assert (hunting["action.risk"], hunting["action.notable"]) == ("0", "0")
    ttp = _settings(_plan("    type: TTP\n" + risk.replace("impact: 40", "impact: 90").replace("confidence: 50", "confidence: 90")))
    assert ttp["action.notable.param.severity"] == "critical"


def test_rules_without_metadata_are_hunting_searches() -> None:
    rules = load_rule_text(RULE.format(title="Bare", metadata="").replace("splunk_es:\n", ""), "r.yml")
    settings = _settings(plan_app(rules, ("cim",)))
    assert (settings["action.risk"], settings["action.notable"]) == ("0", "0")


def test_a_field_the_search_does_not_yield_refuses_the_pair() -> None:
    metadata = ("    type: TTP\n    impact: 50\n    confidence: 50\n    risk_message: Ran $CommandLine$\n"
                "    risk_objects: [{field: dest, type: system}]")
    plan = _plan(metadata, targets=("cim", "sysmon"))
    assert [(r.target, r.status) for r in plan.results] == [("cim", Status.REFUSED), ("sysmon", Status.REFUSED)]
    assert plan.results[0].error.startswith(
        "splunk_es names CommandLine, which the cim search does not yield (it yields dest, user, ")
    assert plan.searches == []


def test_stanza_names_stay_within_es_limit_and_unique() -> None:
    names = StanzaNames("sigmakit")
    long_title = "A very long detection title " * 5
    first = names.name(long_title, "cim", "endpoint")
    second = names.name(long_title, "cim", "endpoint")
    assert len(first) == len(second) == 99 - len("endpoint - ") - len(" - Rule")
    assert first.endswith("... - Rule") and second.endswith("... #2 - Rule") and first != second
    assert names.name("Same [x]", "sysmon", "endpoint") == "sigmakit - Same (x) (sysmon) - Rule"
    assert names.name("Same [x]", "sysmon", "endpoint") == "sigmakit - Same (x) #2 (sysmon) - Rule"


def test_write_app_and_package(tmp_path: Path, diskshadow_app) -> None:
    written = write_app(diskshadow_app, tmp_path, package=True)
    assert written == [tmp_path / "sigmakit", tmp_path / "sigmakit.tar.gz"]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "sigmakit").rglob("*") if p.is_file()) == [
        "sigmakit/default/analyticstories.conf", "sigmakit/default/app.conf", "sigmakit/default/macros.conf",
        "sigmakit/default/savedsearches.conf", "sigmakit/metadata/default.meta",
    ]
    with tarfile.open(tmp_path / "sigmakit.tar.gz") as archive:
        names = archive.getnames()
        assert names[0] == "sigmakit" and "sigmakit/default/savedsearches.conf" in names
        packed = archive.extractfile("sigmakit/default/savedsearches.conf").read().decode()
    assert packed == (tmp_path / "sigmakit/default/savedsearches.conf").read_text()
    stories = read_conf((tmp_path / "sigmakit/default/analyticstories.conf").read_text())
    assert json.loads(stories["analytic_story://Living Off The Land"]["searches"]) == TARGET_STANZAS
    app_conf = read_conf((tmp_path / "sigmakit/default/app.conf").read_text())
    assert app_conf["package"]["id"] == "sigmakit" and app_conf["launcher"]["version"] == "1.0.0"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_failed_write_leaves_the_earlier_app_and_no_half_written_folder(
    tmp_path: Path, diskshadow_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_app(diskshadow_app, tmp_path, package=True)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    other = plan_app(load_rules([DISKSHADOW]), ("cim",), AppSettings(version="2.0.0"))

    def broken_verify(build, folder) -> None:
        raise OutputError("holds 0 correlation searches, but 1 rule/target pairs were built")

    monkeypatch.setattr(app_module, "_verify_written", broken_verify)
    with pytest.raises(OutputError):
        write_app(other, tmp_path, package=True)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sigmakit", "sigmakit.tar.gz"]


def test_rebuild_replaces_the_app_folder(tmp_path: Path, diskshadow_app) -> None:
    write_app(diskshadow_app, tmp_path)
    (tmp_path / "sigmakit" / "stale.txt").write_text("old")
    write_app(plan_app(load_rules([DISKSHADOW]), ("cim",)), tmp_path)
    assert not (tmp_path / "sigmakit" / "stale.txt").exists()
    parsed = read_conf((tmp_path / "sigmakit/default/savedsearches.conf").read_text())
    assert list(parsed) == [CIM_STANZA]


def test_rebuild_keeps_the_apps_local_settings_out_of_the_archive(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from sigmakit.cli.main import cli

    out = tmp_path / "dist"
    assert CliRunner().invoke(cli, ["build", str(DISKSHADOW), "-o", str(out)]).exit_code == 0
    local = out / "sigmakit" / "local"
    local.mkdir()
    (local / "macros.conf").write_text("[windows_diskshadow_proxy_execution_filter]\ndefinition = search dest!=backup01\n")
    (out / "sigmakit" / "metadata" / "local.meta").write_text("[]\naccess = read : [ * ]\n")
    rebuilt = CliRunner().invoke(cli, ["build", str(DISKSHADOW), "-o", str(out), "--package"])
    assert rebuilt.exit_code == 0, rebuilt.stderr
    assert (local / "macros.conf").read_text().endswith("search dest!=backup01\n")
    assert (out / "sigmakit" / "metadata" / "local.meta").is_file()
    import tarfile

    with tarfile.open(out / "sigmakit.tar.gz") as archive:
        names = archive.getnames()
    assert "sigmakit/default/savedsearches.conf" in names
    assert not any(name.startswith(("sigmakit/local", "sigmakit/metadata/local.meta")) for name in names)
    assert (out / "sigmakit.tar.gz").stat().st_mode & 0o777 == 0o644
