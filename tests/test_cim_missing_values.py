"""The CIM data model's "unknown" means missing, for the matcher as for the SPL."""

from __future__ import annotations

import pytest

from sigmakit.events import Event
from sigmakit.matching import Matcher
from sigmakit.rules import load_rule_text

RULE = """title: Empty Command Line
id: 00000000-0000-0000-0000-0000000000c1
logsource:
    category: process_creation
    product: windows
detection:
    sel:
        CommandLine{modifier}: {value}
    condition: sel
"""
RECORD_UNKNOWN = {"Processes.process": "unknown", "Processes.process_name": "x.exe"}
RECORD_TEXT = {"Processes.process": "x.exe /unknown", "Processes.process_name": "x.exe"}


@pytest.mark.parametrize("modifier,value,on_unknown,on_text", [
    ("", "null", True, False),
    ("", "''", True, False),
    ("|contains", "nkno", False, True),
    ("|endswith", "unknown", False, True),
    ("|exists", "true", False, True),
])
def test_unknown_is_missing_on_cim(modifier: str, value: str, on_unknown: bool, on_text: bool) -> None:
    matcher = Matcher.compile(load_rule_text(RULE.format(modifier=modifier, value=value)), "cim")
    assert not matcher.errors
    rule = matcher.rules[0]
    hits = [
        rule.matches(matcher.fields_of(Event(fields, "records", number)))
        for number, fields in enumerate((RECORD_UNKNOWN, RECORD_TEXT), start=1)
    ]
    assert hits == [on_unknown, on_text]
