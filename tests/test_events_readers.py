"""Event readers: every format, positions, index-time fields, problems, source detection."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from sigmakit.events import EventReader, ReadLog, read_events
from sigmakit.events import json_records
from sigmakit.errors import UsageError

from conftest import shared_path
from events_helpers import NS, SYSMON_CHANNEL, SYSMON_DATA, nested_json_event, xml_event

SYSMON_SOURCE = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"


def read(path: Path, source: str = "auto") -> tuple[list, ReadLog]:
    log = ReadLog()
    return list(read_events([path], source, log)), log


def test_xml_lines_give_flat_fields_index_fields_and_lines(tmp_path: Path) -> None:
    line = xml_event(SYSMON_CHANNEL, 1, SYSMON_DATA, record_id=77)
    path = tmp_path / "sysmon.xml"
    path.write_text("\n" + line + "\n<Event broken\n" + line.replace(">77<", ">78<") + "\n")
    events, log = read(path)
    assert [(e.line, e.record_id, e.source) for e in events] == [(2, 77, "sysmon"), (4, 78, "sysmon")]
    fields = events[0].fields
    assert fields["Image"] == "C:\\Windows\\System32\\diskshadow.exe"
    assert fields["EventID"] == "1" and fields["EventCode"] == "1"
    assert fields["Provider_Name"] == "Microsoft-Windows-Sysmon"
    assert fields["Execution_ProcessID"] == "2000" and fields["Security_UserID"] == "S-1-5-18"
    assert (fields["source"], fields["sourcetype"], fields["host"]) == (SYSMON_SOURCE, "XmlWinEventLog", "ws1.corp.example")
    assert fields["_time"] == "1714557600.123456"
    assert fields["_raw"] == line
    assert log.problem_count == 1
    assert str(log.problems[0]).startswith(f"{path}:3: invalid XML")


def test_nested_json_twin_has_the_same_fields_as_the_xml_line(tmp_path: Path) -> None:
    xml_path, json_path = tmp_path / "a.xml", tmp_path / "a.jsonl"
    xml_path.write_text(xml_event(SYSMON_CHANNEL, 1, SYSMON_DATA) + "\n")
    data = {**SYSMON_DATA, "ProcessId": 4242, "ProcessGuid": "11111111-2222-3333-4444-555555555555"}
    json_path.write_text(json.dumps({"_source_file": "x.evtx", **nested_json_event(SYSMON_CHANNEL, 1, data)}) + "\n")
    (from_xml,), _ = read(xml_path)
    (from_json,), _ = read(json_path)
    skip = {"_raw", "TimeCreated_SystemTime", "_source_file"}
    assert {k: v for k, v in from_json.fields.items() if k not in skip} == {
        k: v for k, v in from_xml.fields.items() if k not in skip
    }
    assert from_json.fields["_source_file"] == "x.evtx"
    assert from_json.fields["ProcessGuid"] == "{11111111-2222-3333-4444-555555555555}"


def test_multi_event_xml_document_uses_record_numbers(tmp_path: Path) -> None:
    first = xml_event("Security", 4688, {"NewProcessName": "C:\\a.exe"}, record_id=5)
    second = xml_event("Security", 4688, {"NewProcessName": "C:\\b.exe"}, record_id=6)
    path = tmp_path / "events.xml"
    path.write_text(f"<?xml version='1.0' encoding='utf-8'?>\n<Events>\n{first}\n{second}\n</Events>\n")
    events, log = read(path)
    assert [(e.line, e.record_id, e.fields["NewProcessName"]) for e in events] == [(1, 5, "C:\\a.exe"), (2, 6, "C:\\b.exe")]
    assert events[0].source == "security_4688"
    assert events[0].fields["_raw"].startswith(f'<Event xmlns="{NS}"><System>')
    assert log.problem_count == 0


def test_xml_with_a_doctype_is_refused_and_no_entity_is_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    path = tmp_path / "xxe.xml"
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE Events [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        f"<Events><Event xmlns='{NS}'><System><Channel>&x;</Channel><EventID>1</EventID></System></Event></Events>\n"
    )
    events, log = read(path)
    assert events == []
    assert log.problem_count == 1
    assert "DOCTYPE is not allowed" in log.problems[0].reason


def test_truncated_xml_document_is_reported_with_its_line(tmp_path: Path) -> None:
    event = xml_event("Security", 4688, {"NewProcessName": "C:\\a.exe"})
    path = tmp_path / "cut.xml"
    path.write_text(f"<Events>\n{event}\n<Event xmlns='{NS}'><System>\n")
    events, log = read(path)
    assert len(events) == 1
    assert log.problem_count == 1
    assert log.problems[0].line == 2 and "the rest of the file is not read" in log.problems[0].reason


def test_json_array_elements_have_record_numbers_and_bad_elements_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text(
        '[\n  {"a": "x[{\\"}]", "n": 1},\n  {"a": tru},\n  {"b": {"c": [1, {"d": null}]}},\n  [1]\n]\n'
    )
    events, log = read(path)
    assert [(e.line, e.source) for e in events] == [(1, "sigma"), (3, "sigma")]
    assert events[0].fields["a"] == 'x[{"}]' and events[0].fields["n"] == "1"
    assert events[1].fields["b.c"] == "1" and events[1].fields["b.c{}.d"] is None
    assert events[0].fields["source"] == str(path) and events[0].fields["sourcetype"] == "_json"
    assert [(p.line, p.reason.split(":")[0]) for p in log.problems] == [(2, "invalid JSON"), (4, "a JSON event must be an object, not list")]


@pytest.mark.parametrize("chunk", [3, 7, 64])
def test_json_scanner_is_independent_of_chunk_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    records = [{"k": f"v{i}\\\"[]{{}}", "nested": {"list": [i, "x"]}} for i in range(20)]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(records, indent=2))
    expected = [e.fields for e in read(path)[0]]
    monkeypatch.setattr(json_records, "CHUNK_CHARS", chunk)
    events, log = read(path)
    assert [e.fields for e in events] == expected
    assert [e.line for e in events] == list(range(1, 21)) and log.problem_count == 0


def test_pretty_printed_objects_one_after_another_carry_their_first_line(tmp_path: Path) -> None:
    path = tmp_path / "objects.json"
    path.write_text('{\n  "a": 1\n}\n{\n  "a": 2\n}\n')
    events, _ = read(path)
    assert [(e.line, e.fields["a"]) for e in events] == [(1, "1"), (4, "2")]


def test_broken_json_array_structure_stops_the_file_with_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('[{"a": 1} {"a": 2}]')
    events, log = read(path)
    assert len(events) == 1
    assert "expected ',' or ']' after array element 1" in log.problems[0].reason


def test_crowdstrike_events_are_detected_with_host_and_time(tmp_path: Path) -> None:
    path = tmp_path / "fdr.jsonl"
    event = {"event_simpleName": "ProcessRollup2", "event_platform": "Win", "aid": "abc123",
             "timestamp": "1682368416719", "ImageFileName": "\\Device\\HarddiskVolume2\\x.exe"}
    path.write_text(json.dumps(event) + "\n")
    (read_event,), _ = read(path)
    assert read_event.source == "crowdstrike"
    fields = read_event.fields
    assert (fields["source"], fields["sourcetype"], fields["host"], fields["_time"]) == (
        "crowdstrike", "crowdstrike:events:sensor", "abc123", "1682368416.719000")
    assert "EventCode" not in fields


def test_forcing_a_source_fills_in_a_generic_event_but_never_contradicts_content(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    flat = {"EventID": 1, "Image": "C:\\x.exe", "Computer": "h1"}
    security = nested_json_event("Security", 4688, {"NewProcessName": "C:\\x.exe"})
    path.write_text(json.dumps(flat) + "\n" + json.dumps(security) + "\n")
    (generic, other), log = read(path, "sysmon")
    assert generic.source == other.source == "sysmon"
    assert (generic.fields["source"], generic.fields["EventCode"], generic.fields["host"]) == (SYSMON_SOURCE, "1", "h1")
    assert (other.fields["source"], other.fields["EventCode"]) == ("XmlWinEventLog:Security", "4688")
    assert log.mismatched == {("sysmon", "security_4688"): 1}
    auto_events, _ = read(path)
    assert [e.source for e in auto_events] == ["sigma", "security_4688"]


def test_gzip_files_are_read_and_unknown_content_is_a_problem(tmp_path: Path) -> None:
    packed = tmp_path / "events.jsonl.gz"
    with gzip.open(packed, "wt") as stream:
        stream.write(json.dumps({"a": 1}) + "\n")
    (text := tmp_path / "notes.log").write_text("hello\n")
    (folder_event,) = [e for e in read_events([tmp_path]) if e.file == str(packed)]
    assert folder_event.fields["a"] == "1"
    events, log = read(text)
    assert events == [] and log.problems[0].reason.startswith("not an event file sigmakit reads")


def test_non_utf8_line_is_a_problem_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"a": "x"}\n{"a": "\xff"}\n{"a": "z"}\n')
    events, log = read(path)
    assert [e.fields["a"] for e in events] == ["x", "z"]
    assert log.problems[0].line == 2 and log.problems[0].reason.startswith("not UTF-8")


def test_missing_path_and_unknown_source_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file or folder"):
        list(read_events([tmp_path / "nope.xml"]))
    with pytest.raises(UsageError, match="did you mean 'sysmon'"):
        EventReader("sysmn")


def test_damaged_evtx_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "broken.evtx"
    path.write_bytes(b"ElfFile\x00" + b"\x00" * 200)
    events, log = read(path)
    assert events == [] and log.problem_count == 1


def test_evtx_records_match_their_xmlwineventlog_rendering() -> None:
    evtx_path = shared_path("data", "evtx", "security_4688_diskshadow_abuse.evtx")
    xml_path = shared_path("data", "diskshadow_positives", "security_4688_diskshadow_s_shadow_txt.xml")
    events, log = read(evtx_path)
    (line_event,), _ = read(xml_path)
    assert len(events) == 4 and log.problem_count == 0
    (same,) = [e for e in events if e.record_id == 155520909]
    assert same.line == 1 and same.source == "security_4688"
    skip = {"_raw", "TimeCreated_SystemTime"}
    assert {k: v for k, v in same.fields.items() if k not in skip} == {
        k: v for k, v in line_event.fields.items() if k not in skip
    }
    assert same.fields["_raw"].startswith(f'<Event xmlns="{NS}"><System><Provider')
