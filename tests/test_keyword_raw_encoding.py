"""Keywords are matched in the raw event as its format writes them (XML entities, JSON escapes)."""

from __future__ import annotations

from pathlib import Path

from sigmakit.events import read_events
from sigmakit.rules import load_rule_text
from sigmakit.verification.verify import PairStatus, verify

RULE = """title: Keywords With Specials
id: 00000000-0000-0000-0000-0000000000e1
logsource: {category: process_creation, product: windows}
detection:
    keywords:
        - '\\\\Temp\\\\evil.exe'
        - 'echo a > b.txt & "q"'
        - 'café'
    condition: keywords
"""
CROWDSTRIKE = (
    '{"event_simpleName": "ProcessRollup2", "event_platform": "Win", "aid": "a1", "timestamp": "1717401601000", '
    '"CommandLine": %s}\n'
)
SYSMON = (
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
    "<Provider Name='Microsoft-Windows-Sysmon'/><EventID>1</EventID><EventRecordID>%d</EventRecordID>"
    "<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>h</Computer>"
    "<TimeCreated SystemTime='2024-01-01T00:00:00.000000000Z'/></System><EventData>"
    "<Data Name='CommandLine'>%s</Data></EventData></Event>\n"
)


def test_keywords_agree_on_json_and_xml_raw_events(tmp_path: Path) -> None:
    json_lines = [r'"C:\\Users\\x\\Temp\\evil.exe /q"', r'"cmd /c echo a > b.txt & \"q\""', r'"cmd /c caf\u00e9"', '"cmd /c nothing"']
    (tmp_path / "cs.jsonl").write_text("".join(CROWDSTRIKE % line for line in json_lines))
    xml_values = ["cmd /c echo a &gt; b.txt &amp; \"q\"", "C:\\Temp\\evil.exe", "caf&#233;", "nothing"]
    (tmp_path / "sysmon.xml").write_text("".join(SYSMON % (n, v) for n, v in enumerate(xml_values, start=1)))
    events = list(read_events([tmp_path / "cs.jsonl", tmp_path / "sysmon.xml"]))
    report = verify(load_rule_text(RULE), events, targets=("sysmon", "crowdstrike"))
    results = {pair.target: (pair.status, pair.matcher_matches, pair.evaluator_matches) for pair in report.pairs}
    assert results == {"sysmon": (PairStatus.AGREE, 3, 3), "crowdstrike": (PairStatus.AGREE, 3, 3)}
