"""CIM Endpoint.Processes records from raw Sysmon, 4688 and CrowdStrike events."""

from __future__ import annotations

import json
from pathlib import Path

from sigmakit.events import DERIVATIONS, ReadLog, read_events
from sigmakit.events.cim import calculated_fields, executable_of
from sigmakit.pipelines import data_source

from events_helpers import SYSMON_CHANNEL, SYSMON_DATA, xml_event


def cim(path: Path) -> tuple[list[dict], ReadLog]:
    log = ReadLog()
    events = list(read_events([path], "cim", log))
    assert all(e.source == "cim" for e in events)
    return [dict(e.fields) for e in events], log


def test_sysmon_record(tmp_path: Path) -> None:
    path = tmp_path / "s.xml"
    path.write_text(xml_event(SYSMON_CHANNEL, 1, SYSMON_DATA) + "\n")
    (record,), _ = cim(path)
    assert record == {
        "Processes.dest": "ws1.corp.example",
        "Processes.user": "CORP\\alice",
        "Processes.process_path": "C:\\Windows\\System32\\diskshadow.exe",
        "Processes.process_name": "diskshadow.exe",
        "Processes.process": "diskshadow.exe /s C:\\Temp\\x.txt",
        "Processes.original_file_name": "diskshadow.exe",
        "Processes.process_id": "4242",
        "Processes.process_guid": "{11111111-2222-3333-4444-555555555555}",
        "Processes.process_current_directory": "C:\\Temp\\",
        "Processes.process_integrity_level": "high",
        "Processes.process_hash": ["SHA1=AA", "MD5=BB", "SHA256=CC"],
        "Processes.parent_process_path": "C:\\Windows\\System32\\cmd.exe",
        "Processes.parent_process_name": "cmd.exe",
        "Processes.parent_process": "cmd.exe",
        "Processes.parent_process_id": "1000",
        "Processes.parent_process_guid": "{11111111-2222-3333-4444-666666666666}",
        "Processes.parent_user": "unknown",
        "_time": "1714557600.123456",
    }


def test_security_4688_record_converts_hex_ids_and_the_mandatory_label(tmp_path: Path) -> None:
    data = {"SubjectUserSid": "S-1-5-18", "SubjectUserName": "WS1$", "NewProcessId": "0xda8",
            "NewProcessName": "C:\\Windows\\System32\\diskshadow.exe", "ProcessId": "0x11c0",
            "CommandLine": "", "MandatoryLabel": "S-1-16-16384"}
    path = tmp_path / "s.xml"
    path.write_text(xml_event("Security", 4688, data, provider="Microsoft-Windows-Security-Auditing") + "\n")
    (record,), _ = cim(path)
    assert record == {
        "Processes.dest": "ws1.corp.example",
        "Processes.user": "S-1-5-18",
        "Processes.process_path": "C:\\Windows\\System32\\diskshadow.exe",
        "Processes.process_name": "diskshadow.exe",
        "Processes.process": "unknown",
        "Processes.original_file_name": "unknown",
        "Processes.process_id": "3496",
        "Processes.process_integrity_level": "system",
        "Processes.parent_process_name": "unknown",
        "Processes.parent_process": "unknown",
        "Processes.parent_process_id": "4544",
        "Processes.parent_user": "unknown",
        "_time": "1714557600.123456",
    }


def test_crowdstrike_record(tmp_path: Path) -> None:
    event = {"event_simpleName": "ProcessRollup2", "event_platform": "Win", "aid": "a1", "timestamp": "1000",
             "ImageFileName": "\\Device\\HarddiskVolume3\\Windows\\System32\\diskshadow.exe",
             "CommandLine": "diskshadow.exe /s x.txt", "ParentBaseFileName": "cmd.exe", "RawProcessId": "77",
             "ParentProcessId": "4370948876", "UserSid": "S-1-5-21-1-2-3-500", "IntegrityLevel": "12288",
             "MD5HashData": "ab", "SHA1HashData": "0000000000000000000000000000000000000000",
             "SHA256HashData": "cd"}
    other = {**event, "event_simpleName": "NetworkConnectIP4"}
    mac = {**event, "event_platform": "Mac"}
    path = tmp_path / "fdr.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in (event, other, mac)))
    (record,), log = cim(path)
    assert record == {
        "Processes.dest": "unknown",
        "Processes.user": "S-1-5-21-1-2-3-500",
        "Processes.process_path": "\\Device\\HarddiskVolume3\\Windows\\System32\\diskshadow.exe",
        "Processes.process_name": "diskshadow.exe",
        "Processes.process": "diskshadow.exe /s x.txt",
        "Processes.original_file_name": "unknown",
        "Processes.process_id": "77",
        "Processes.process_integrity_level": "high",
        "Processes.process_hash": "cd",
        "Processes.parent_process_name": "cmd.exe",
        "Processes.parent_process": "unknown",
        "Processes.parent_process_id": "4370948876",
        "Processes.parent_user": "unknown",
        "_time": "1.000000",
    }
    assert sum(log.skipped.values()) == 2


def test_process_name_falls_back_to_the_command_line_and_other_events_are_skipped(tmp_path: Path) -> None:
    data = {k: v for k, v in SYSMON_DATA.items() if k not in ("Image", "ParentImage")}
    data["CommandLine"] = '"C:\\Program Files\\App\\app.exe" --run'
    path = tmp_path / "s.xml"
    network = xml_event(SYSMON_CHANNEL, 3, {"Image": "C:\\x.exe"})
    path.write_text(xml_event(SYSMON_CHANNEL, 1, data) + "\n" + network + "\n")
    (record,), log = cim(path)
    assert record["Processes.process_name"] == "app.exe"
    assert record["Processes.parent_process_name"] == "cmd.exe"
    assert "Processes.process_path" not in record
    assert log.skipped == {"not a process-creation event of sysmon, security_4688 or crowdstrike (no CIM record)": 1}


def test_executable_of_command_lines() -> None:
    assert executable_of('"C:\\a b\\c.exe" x') == "c.exe"
    assert executable_of("C:\\Windows\\cmd.exe /c x") == "cmd.exe"
    assert executable_of("diskshadow.exe  /s shadow.txt") == "diskshadow.exe"
    assert executable_of("   ") is None


def test_record_fields_are_the_fields_the_cim_pipeline_maps_to() -> None:
    mapped = {name for row in data_source("cim").field_rows for m in row.mappings for name in m.target_fields}
    produced = {f"Processes.{cim_field.name}" for cim_field in DERIVATIONS}
    assert produced == mapped
    assert calculated_fields() <= produced
