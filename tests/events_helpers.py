"""Builders for Windows event text in the forms the readers take (written for these tests)."""

from __future__ import annotations

from typing import Mapping
from xml.sax.saxutils import escape, quoteattr

NS = "http://schemas.microsoft.com/win/2004/08/events/event"
SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"


def xml_event(
    channel: str,
    event_id: int,
    data: Mapping[str, str],
    *,
    computer: str = "ws1.corp.example",
    record_id: int = 100,
    time: str = "2024-05-01T10:00:00.123456700Z",
    provider: str = "Microsoft-Windows-Sysmon",
) -> str:
    """One XmlWinEventLog line, in the style Splunk indexes it."""
    data_xml = "".join(f"<Data Name={quoteattr(k)}>{escape(v)}</Data>" for k, v in data.items())
    return (
        f"<Event xmlns='{NS}'><System><Provider Name='{provider}' Guid='{{5770385F-C22A-43E0-BF4C-06F5698FFBD9}}'/>"
        f"<EventID>{event_id}</EventID><Version>5</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode>"
        f"<Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime='{time}'/>"
        f"<EventRecordID>{record_id}</EventRecordID><Correlation/><Execution ProcessID='2000' ThreadID='3000'/>"
        f"<Channel>{channel}</Channel><Computer>{computer}</Computer><Security UserID='S-1-5-18'/></System>"
        f"<EventData>{data_xml}</EventData></Event>"
    )


def nested_json_event(
    channel: str, event_id: int, data: Mapping[str, object], *, computer: str = "ws1.corp.example",
    record_id: int = 100, time: str = "2024-05-01T10:00:00.123456Z",
) -> dict[str, object]:
    """The same event as an EVTX exporter's JSON (pyevtx-rs shape)."""
    return {
        "Event": {
            "#attributes": {"xmlns": NS},
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon",
                                             "Guid": "5770385F-C22A-43E0-BF4C-06F5698FFBD9"}},
                "EventID": event_id, "Version": 5, "Level": 4, "Task": 1, "Opcode": 0,
                "Keywords": "0x8000000000000000",
                "TimeCreated": {"#attributes": {"SystemTime": time}},
                "EventRecordID": record_id, "Correlation": None,
                "Execution": {"#attributes": {"ProcessID": 2000, "ThreadID": 3000}},
                "Channel": channel, "Computer": computer,
                "Security": {"#attributes": {"UserID": "S-1-5-18"}},
            },
            "EventData": dict(data),
        }
    }


SYSMON_DATA = {
    "RuleName": "-",
    "UtcTime": "2024-05-01 10:00:00.120",
    "ProcessGuid": "{11111111-2222-3333-4444-555555555555}",
    "ProcessId": "4242",
    "Image": "C:\\Windows\\System32\\diskshadow.exe",
    "OriginalFileName": "diskshadow.exe",
    "CommandLine": "diskshadow.exe /s C:\\Temp\\x.txt",
    "CurrentDirectory": "C:\\Temp\\",
    "User": "CORP\\alice",
    "IntegrityLevel": "High",
    "Hashes": "SHA1=AA,MD5=BB,SHA256=CC",
    "ParentProcessGuid": "{11111111-2222-3333-4444-666666666666}",
    "ParentProcessId": "1000",
    "ParentImage": "C:\\Windows\\System32\\cmd.exe",
    "ParentCommandLine": "cmd.exe",
}


# -- flat JSON Lines objects of the three sources, and a rule that all of them can hit -----------
WHOAMI_FEEDING_RULE = """
title: Any whoami
id: 00000000-0000-0000-0000-0000000000c1
name: any_whoami
logsource: {category: process_creation, product: windows}
detection:
  sel:
    CommandLine|contains: whoami
  condition: sel
"""


def security_4688_json(record_id: int, command: str) -> dict[str, object]:
    return {"Channel": "Security", "EventID": 4688, "EventRecordID": record_id, "Computer": "ws",
            "NewProcessName": "C:\\Windows\\System32\\whoami.exe", "CommandLine": command,
            "TimeCreated_SystemTime": "2024-06-03T08:00:00.000Z"}


def crowdstrike_json(command: str) -> dict[str, object]:
    """A ProcessRollup2 event: it has no Computer field."""
    return {"event_simpleName": "ProcessRollup2", "event_platform": "Win", "aid": "a1", "CommandLine": command,
            "ImageFileName": "\\Device\\HarddiskVolume2\\Windows\\System32\\whoami.exe",
            "timestamp": "1717401600000"}


def sysmon_json(record_id: int, command: str) -> dict[str, object]:
    return {"EventID": 1, "Channel": SYSMON_CHANNEL, "EventRecordID": record_id, "Computer": "ws",
            "Image": "C:\\cmd.exe", "CommandLine": command, "UtcTime": "2024-06-03 08:00:00.000"}
