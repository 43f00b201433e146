"""Hostile and broken event input: skipped, counted with file and line, never a crash.

Every case writes its own input. Each bad record must be reported with its file and
line, the good records around it must still be matched, the summary must count the
skipped records, and --strict must turn them into exit status 1.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sigmakit.cli.main import cli
from sigmakit.events import AUTO, EventReader, ReadLog

from conftest import DISKSHADOW, shared_path

GOOD_XML = (
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
    "<Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>4688</EventID>"
    "<EventRecordID>7</EventRecordID><Channel>Security</Channel><Computer>host1</Computer>"
    "<TimeCreated SystemTime='2024-01-01T00:00:00.000000000Z'/></System><EventData>"
    "<Data Name='NewProcessName'>C:\\Windows\\System32\\diskshadow.exe</Data>"
    "<Data Name='CommandLine'>diskshadow.exe /s x.txt</Data></EventData></Event>"
)
GOOD_JSON = json.dumps({
    "EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "host1",
    "Image": "C:\\Windows\\System32\\diskshadow.exe", "CommandLine": "diskshadow.exe /s x.txt",
})
SECRET = "sigmakit-secret-marker"
LAUGHS = (
    '<!DOCTYPE e [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
)


def run(*args: str):
    return CliRunner().invoke(cli, ["match", str(DISKSHADOW), *args])


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def external_entity(tmp_path: Path) -> str:
    secret = write(tmp_path, "secret.txt", SECRET)
    return f'<!DOCTYPE e [<!ENTITY x SYSTEM "file://{secret}">]>'


# (name, file name, content builder, good hits, bad line numbers, error text)
CASES = [
    ("malformed XML line", "a.xml", lambda t: f"{GOOD_XML}\n<Event><System><EventID>1</Ev\n{GOOD_XML}\n", 2, [2], "invalid XML"),
    ("billion laughs line", "b.xml",
     lambda t: GOOD_XML.replace("<Event ", LAUGHS + "<Event ").replace("x.txt", "&d;x.txt") + f"\n{GOOD_XML}\n", 1, [1],
     "a DOCTYPE is not allowed"),
    ("external entity line", "c.xml",
     lambda t: external_entity(t) + GOOD_XML.replace("x.txt", "&x;") + f"\n{GOOD_XML}\n", 1, [1], "a DOCTYPE is not allowed"),
    ("invalid JSON lines", "d.jsonl", lambda t: f"{GOOD_JSON}\n{{not json\n{GOOD_JSON}\n[1,2\n", 2, [2, 4], "invalid JSON"),
    ("JSON that is not an object", "e.jsonl", lambda t: f'{GOOD_JSON}\n"text"\n{GOOD_JSON}\n', 2, [2], "a JSON event must be an object"),
    ("bytes that are not UTF-8 (JSON)", "f.jsonl",
     lambda t: GOOD_JSON.encode() + b'\n{"CommandLine": "\xff\xfe"}\n' + GOOD_JSON.encode() + b"\n", 2, [2], "not UTF-8"),
    ("bytes that are not UTF-8 (XML)", "g.xml",
     lambda t: GOOD_XML.encode() + b"\n" + GOOD_XML.encode().replace(b"x.txt", b"\xff.txt") + b"\n", 1, [2], "not UTF-8"),
]


@pytest.mark.parametrize("name,file_name,build,hits,bad_lines,error", CASES, ids=[c[0] for c in CASES])
def test_bad_records_are_skipped_counted_and_strict_fails(
    tmp_path: Path, name: str, file_name: str, build, hits: int, bad_lines: list[int], error: str
) -> None:
    path = write(tmp_path, file_name, build(tmp_path))
    result = run("-e", str(path))
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == hits
    for line in bad_lines:
        assert f"error: {path}:{line}: {error}" in result.stderr
    assert f", {len(bad_lines)} unreadable record(s) skipped;" in result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    strict = run("-e", str(path), "--strict")
    assert strict.exit_code == 1
    assert strict.stdout == result.stdout


def test_dtd_in_an_xml_document_refuses_its_events_without_expanding(tmp_path: Path) -> None:
    document = f'<?xml version="1.0"?>\n{LAUGHS}\n<Events>\n{GOOD_XML.replace("x.txt", "&d;")}\n{GOOD_XML}\n</Events>\n'
    path = write(tmp_path, "doc.xml", document)
    result = run("-e", str(path), "--json")
    assert result.stdout == ""
    assert result.stderr.count("a DOCTYPE is not allowed in event XML") == 2
    assert "haha" not in result.stderr


def test_a_megabyte_field_value_is_matched(tmp_path: Path) -> None:
    event = json.loads(GOOD_JSON)
    event["CommandLine"] = "A" * (1024 * 1024) + " diskshadow.exe /s x.txt"
    path = write(tmp_path, "big.jsonl", json.dumps(event) + "\n")
    result = run("-e", str(path), "--json")
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 1
    assert ", 0 unreadable record(s) skipped;" in result.stderr


def test_events_with_no_fields_are_read_and_do_not_match(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.jsonl", "{}\n" + GOOD_JSON + "\n{}\n")
    result = run("-e", str(path))
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [f"{path}:2: Windows Diskshadow Proxy Execution (58adae9e-8ea3-11ec-90f6-acde48001122) [process_diskshadow, scripting_mode]"]
    assert "3 event(s) from 1 file(s), 0 unreadable record(s) skipped;" in result.stderr


def test_truncated_evtx_is_reported(tmp_path: Path) -> None:
    original = shared_path("data", "evtx", "security_4688_diskshadow_abuse.evtx").read_bytes()
    path = write(tmp_path, "cut.evtx", original[: len(original) // 2])
    result = run("-e", str(path))
    assert result.exit_code == 0
    assert f"error: {path}:1: truncated .evtx: its header announces 1 chunk(s) of records, the file holds 0 complete" in result.stderr
    assert run("-e", str(path), "--strict").exit_code == 1


def test_corrupt_evtx_chunk_is_reported(tmp_path: Path) -> None:
    damaged = bytearray(shared_path("data", "evtx", "security_4688_diskshadow_abuse.evtx").read_bytes())
    for offset in range(5000, 9000):
        damaged[offset] = (damaged[offset] * 7 + 3) % 256
    path = write(tmp_path, "damaged.evtx", bytes(damaged))
    result = run("-e", str(path))
    assert result.exit_code == 0
    assert f"error: {path}:1: damaged .evtx record" in result.stderr
    assert run("-e", str(path), "--strict").exit_code == 1


@pytest.mark.parametrize("content", [b"", b"\x00" * 4096, b"ElfFile\x00" + b"\xff" * 100, b"not an event file"])
def test_files_that_are_not_event_files(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path, "junk.evtx", content)
    result = run("-e", str(path))
    assert "Traceback" not in result.stderr
    assert f"error: {path}" in result.stderr
    assert run("-e", str(path), "--strict").exit_code == 1


@pytest.mark.parametrize("name, content", [("empty.jsonl", b""), ("blank.xml", b"\n  \r\n"),
                                           ("bom.json", b"\xef\xbb\xbf\n"), ("long.log", b"\n" * 200_000)])
def test_an_empty_log_holds_no_events_and_nothing_unreadable(tmp_path: Path, name: str, content: bytes) -> None:
    path = write(tmp_path, name, content)
    result = run("-e", str(path), "--strict")
    assert result.exit_code == 0
    assert "0 event(s) from 1 file(s), 0 unreadable record(s) skipped" in result.stderr


class ReadingStuck(BaseException):
    """Raised by the alarm; a BaseException, so no reader's error handling can swallow it."""


JSONISH = st.lists(st.sampled_from(list('{}[]",:\\ \n\tab01-.etrufalsn') + ['"x"', "true", "null", "1e5", "\\n"]), max_size=40).map("".join)
XMLISH = st.lists(st.sampled_from(list("<>/=' \n\"&;!?[]-ab") + ["<Event>", "</Event>", "<Data Name='x'>", "</Data>", "<!DOCTYPE", "<?xml"]), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(JSONISH, XMLISH, JSONISH.map(lambda tail: '{"a": 1}' + tail), XMLISH.map(lambda tail: "<Event>" + tail)))
@example(text='{"a": 1}\\n{"b": 2}\\n')  # a stray backslash between objects once stalled the scanner
def test_any_text_is_read_to_the_end_without_raising(text: str) -> None:
    """Fuzz the readers: whatever the bytes, reading ends, and every record is an event or a counted problem."""
    def stuck(signum: int, frame: object) -> None:
        raise ReadingStuck(f"reading {text!r} did not finish")

    log = ReadLog()
    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(5)
    try:
        events = list(EventReader(AUTO, log).read_text(text, "fuzz"))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert all(event.file == "fuzz" and event.line >= 1 for event in events)
    assert all(problem.file == "fuzz" for problem in log.problems)


def test_flat_sysmon_json_takes_its_time_from_utctime() -> None:
    log = ReadLog()
    text = json.dumps({"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "UtcTime": "2024-06-03 08:00:01.337"})
    (event,) = EventReader(AUTO, log).read_text(text + "\n", "flat.jsonl")
    assert event.fields["_time"] == "1717401601.337000"


@pytest.mark.parametrize("content,error", [
    ('<?xml version="1.0"?>\n<Root><Item>x</Item></Root>\n', "no <Event> element in this XML document"),
    ('<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "b">]>\n<Root>&a;</Root>\n', "a DOCTYPE is not allowed in event XML"),
])
def test_xml_without_events_is_reported(tmp_path: Path, content: str, error: str) -> None:
    path = write(tmp_path, "no_events.xml", content)
    result = run("-e", str(path))
    assert f"error: {path}:1: {error}" in result.stderr
    assert ", 1 unreadable record(s) skipped;" in result.stderr
