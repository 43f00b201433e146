"""The founding detection: exact SPL for every target, faithful to the seed."""

from __future__ import annotations

from sigmakit.conversion import Status, convert_rules
from sigmakit.rules import load_rules

from conftest import DISKSHADOW

CIM = (
    "| tstats `security_content_summariesonly` count min(_time) as firstTime max(_time) as lastTime "
    "from datamodel=Endpoint.Processes where "
    "(Processes.process_name=diskshadow.exe OR Processes.original_file_name=diskshadow.exe) "
    "(Processes.process=*-s* OR Processes.process=*/s*) "
    "by Processes.dest Processes.user Processes.parent_process Processes.process_name "
    "Processes.process Processes.process_id Processes.parent_process_id\n"
    "| `drop_dm_object_name(Processes)`\n"
    "| `security_content_ctime(firstTime)`\n"
    "| `security_content_ctime(lastTime)`\n"
    "| `windows_diskshadow_proxy_execution_filter`"
)
SYSMON = (
    'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1 '
    '(Image="*\\\\diskshadow.exe" OR OriginalFileName=diskshadow.exe) '
    "(CommandLine=*-s* OR CommandLine=*/s*)\n"
    "| `windows_diskshadow_proxy_execution_filter`"
)
SECURITY_4688 = (
    'source="XmlWinEventLog:Security" EventCode=4688 NewProcessName="*\\\\diskshadow.exe" '
    "(CommandLine=*-s* OR CommandLine=*/s*)\n"
    "| `windows_diskshadow_proxy_execution_filter`"
)
CROWDSTRIKE = (
    'sourcetype="crowdstrike:events:sensor" '
    "(event_simpleName=ProcessRollup2 OR event_simpleName=SyntheticProcessRollup2) event_platform=Win "
    'ImageFileName="*\\\\diskshadow.exe" (CommandLine=*-s* OR CommandLine=*/s*)\n'
    "| `windows_diskshadow_proxy_execution_filter`"
)

# The seed's search with its process_diskshadow macro expanded (its definition is on the
# seed page); sigmakit's CIM search must be exactly this.
SEED_EXPANDED = (
    "| tstats `security_content_summariesonly` count min(_time) as firstTime max(_time) as lastTime "
    "from datamodel=Endpoint.Processes where `process_diskshadow` "
    "(Processes.process=*-s* OR Processes.process=*/s*) by Processes.dest Processes.user "
    "Processes.parent_process Processes.process_name Processes.process Processes.process_id "
    "Processes.parent_process_id | `drop_dm_object_name(Processes)` | `security_content_ctime(firstTime)` "
    "| `security_content_ctime(lastTime)` | `windows_diskshadow_proxy_execution_filter`"
).replace(
    "`process_diskshadow`",
    "(Processes.process_name=diskshadow.exe OR Processes.original_file_name=diskshadow.exe)",
)


def _results() -> dict[str, object]:
    rules = load_rules([DISKSHADOW])
    assert not rules.errors
    return {r.target: r for r in convert_rules(rules)}


def test_exact_spl_for_every_target() -> None:
    results = _results()
    assert {t: r.status for t, r in results.items()} == {
        "cim": Status.CONVERTED,
        "sysmon": Status.CONVERTED,
        "security_4688": Status.CONVERTED,
        "crowdstrike": Status.CONVERTED,
    }
    assert results["cim"].query == CIM
    assert results["sysmon"].query == SYSMON
    assert results["security_4688"].query == SECURITY_4688
    assert results["crowdstrike"].query == CROWDSTRIKE


def test_cim_search_is_the_seed_search() -> None:
    cim = _results()["cim"].query
    assert cim.replace("\n", " ") == SEED_EXPANDED


def test_original_file_name_dropped_with_a_warning_where_missing() -> None:
    results = _results()
    assert results["cim"].warnings == [] and results["sysmon"].warnings == []
    for target, source in (
        ("security_4688", "Windows Security 4688"),
        ("crowdstrike", "CrowdStrike FDR ProcessRollup2"),
    ):
        assert results[target].warnings == [
            f"OriginalFileName is not a field of {source} events: dropped that test from selection "
            "'process_diskshadow' (the search can only match less)"
        ]


def test_rule_metadata() -> None:
    rule = load_rules([DISKSHADOW]).rules[0]
    meta = rule.metadata
    assert rule.id == "58adae9e-8ea3-11ec-90f6-acde48001122"
    assert rule.filter_macro == "windows_diskshadow_proxy_execution_filter"
    assert (meta.type, meta.impact, meta.confidence, meta.risk_score) == ("TTP", 70, 70, 49)
    assert meta.risk_message == "Possible Signed Binary Proxy Execution on $dest$"
    assert [(o.field, o.type) for o in meta.risk_objects] == [("dest", "system")]
    assert meta.notable_fields == ("user", "dest")
    assert meta.analytic_stories == ("Living Off The Land",)
    assert meta.kill_chain_phases == ("Exploitation",)
    assert (meta.nist, meta.cis20) == (("DE.CM",), ("CIS 10",))
    assert meta.threat_actors == ("Lazarus Group", "Volt Typhoon")
    schedule = meta.schedule
    assert (schedule.cron_schedule, schedule.earliest_time, schedule.latest_time) == ("0 * * * *", "-70m@m", "-10m@m")
    assert schedule.schedule_window == "auto" and schedule.disabled is True
    assert meta.macros == {"process_diskshadow": "process_diskshadow"}
    assert rule.data["tags"] == ["attack.defense-evasion", "attack.t1218"]
