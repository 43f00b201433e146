"""JSON Lines the fast way: events whose fields are built on first use are the events
the general way reads, the objects a keep filter turns down are still counted, and a
file read in byte ranges gives the events of the whole file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sigmakit.events import EventReader, ReadLog
from sigmakit.events.json_records import json_lines
from sigmakit.events.reader import _records_of, Format
from sigmakit.matching import EventView
from sigmakit.verification.parallel import _split

SYSMON = {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "ws1",
          "EventRecordID": 7, "Image": "C:\\Windows\\System32\\cmd.exe", "ProcessId": 4242,
          "CommandLine": "cmd /c \"whoami\" \u00e9\u00ae", "Flag": True, "Ratio": 1.5, "Empty": None}
LINES = [
    {"note": "first line goes the general way"},
    SYSMON,
    {**SYSMON, "Tags": ["a", 1, None, {"k": "v"}, [2]], "Nested": {"x": {"y": 3}}},
    {"Event": {"System": {"EventID": 4688, "Channel": "Security", "Computer": "dc1"},
               "EventData": {"NewProcessName": "C:\\x.exe"}}},
    {"event_simpleName": "ProcessRollup2", "aid_computer_name": "h1", "timestamp": "1700000000000",
     "ImageFileName": "\\Device\\x.exe"},
    {"Channel": {"odd": "object"}, "EventID": 1},
    {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "source": "own", "_raw": "mine"},
]


def write_lines(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.jsonl"
    text = "".join(json.dumps(line) + "\n" for line in LINES[:3]) + "\n   \n{broken\n"
    text += "".join(json.dumps(line) + "\n" for line in LINES[3:])
    path.write_text(text, encoding="utf-8")
    return path


def general_way(path: Path, source: str = "auto") -> tuple[list[tuple[Any, ...]], ReadLog]:
    """The events as the record path reads every line (no fields left unbuilt)."""
    reader = EventReader(source, ReadLog())
    with open(path, "rb") as stream:
        events = [reader._event_of(record, str(path)) for record in _records_of(Format.JSON_LINES, stream, path)]
    return [describe(e) for e in events if e is not None], reader.log


def describe(event: Any) -> tuple[Any, ...]:
    return (event.file, event.line, event.record_id, event.source, dict(event.fields))


def test_lazy_events_are_the_general_way_s_events(tmp_path: Path) -> None:
    path = write_lines(tmp_path)
    for source in ("auto", "sysmon", "sigma"):
        log = ReadLog()
        lazy = [describe(e) for e in EventReader(source, log).read([path])]
        expected, expected_log = general_way(path, source)
        assert lazy == expected
        assert (log.events, log.problem_count, log.mismatched) == (
            expected_log.events, expected_log.problem_count, expected_log.mismatched)


def test_matching_fields_read_like_the_fields(tmp_path: Path) -> None:
    path = write_lines(tmp_path)
    for event in EventReader("auto").read([path]):
        plain = EventView(event.matching_fields())
        names = set(plain.fields) | {"Tags", "Nested.x.y", "Nested", "missing"}
        full = EventView(event.fields)
        for name in names:
            assert plain.text[name] == full.text[name], name
            assert plain.numbers[name] == full.numbers[name], name
            assert (plain.has(name), plain.is_null(name)) == (full.has(name), full.is_null(name)), name
        assert sorted(plain.keyword_texts()) == sorted(full.keyword_texts())


def test_turned_down_objects_are_counted_not_read(tmp_path: Path) -> None:
    path = write_lines(tmp_path)
    seen: list[tuple[str, Any]] = []

    def keep(document: Any, source: str) -> bool:
        seen.append((source, document.get("EventRecordID")))
        return False

    log = ReadLog()
    events = list(EventReader("auto", log, keep=keep).read([path]))
    # Only the lines the general way reads are left: the first and the nested Windows event.
    assert [(e.line, e.source) for e in events] == [(1, "sigma"), (7, "security_4688"), (9, "sigma")]
    assert log.event_count == 7 and log.problem_count == 1
    assert ("sysmon", 7) in seen


def test_byte_ranges_give_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps({**SYSMON, "EventRecordID": n}) + "\n" for n in range(1, 501)), encoding="utf-8")
    whole = [describe(e) for e in EventReader("auto").read([path])]
    for jobs in (2, 3, 7):
        parts = _split(path, path.stat().st_size, jobs)
        assert parts[0].start == 0 and parts[-1].end == path.stat().st_size
        reader = EventReader("auto")
        pieces = [describe(e) for part in parts
                  for batch in reader.range_batches(part.path, part.start, part.end or 0, part.first_line)
                  for e in batch]
        assert pieces == whole


def test_json_lines_count_from_the_first_line_given(tmp_path: Path) -> None:
    assert [r.position for r in json_lines([b"{}\n", b"{}\n"], 41)] == [41, 42]


RAW_RULE = """title: Raw Text
id: 00000000-0000-0000-0000-0000000000aa
logsource: {{category: process_creation, product: windows}}
detection:
    sel:
        {field}: '{value}'
    condition: sel
"""


def test_raw_is_decoded_for_matching_only_when_a_rule_reads_it(tmp_path: Path) -> None:
    from sigmakit.matching import Matcher

    path = tmp_path / "sysmon.jsonl"
    path.write_text("\n" + json.dumps(SYSMON) + "\n", encoding="utf-8")  # line 2: the fast way
    reads_raw = Matcher.from_text(RAW_RULE.format(field="_raw|contains", value="whoami"))
    reads_image = Matcher.from_text(RAW_RULE.format(field="Image|endswith", value="\\cmd.exe"))
    assert (reads_raw.reads("_raw"), reads_image.reads("_raw")) == (True, False)
    for matcher in (reads_raw, reads_image):
        (event,) = EventReader("auto").read([path])
        fields = matcher.fields_of(event)
        assert ("_raw" in fields) is matcher.reads("_raw")
        hits = list(matcher.match([event]))
        assert [hit.event.line for hit in hits] == [2]
        assert hits[0].event.fields["_raw"] == json.dumps(SYSMON)  # the hit's event is whole
        # ... with its fields in the order the general way gives them (hits print in it)
        (general,) = [e for e in general_way(path)[0] if e[1] == 2]
        assert list(hits[0].event.fields) == list(general[4])
