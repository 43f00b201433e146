"""Hostile rule values cannot change the structure or meaning of the SPL.

For generated values full of SPL and .conf syntax (quotes, backslashes, newlines,
backticks, pipes, brackets, ``$``, wildcards), a rule ``CommandLine|contains: <value>`` is
converted and its SPL run by sigmakit's SPL evaluator next to the matcher (``verify``):
the search must parse, agree with the rule on every event, and find exactly the event
that holds the value.
"""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigmakit.events import Event
from sigmakit.rules import load_rule_text
from sigmakit.verification.verify import PairStatus, verify

PIECES = list("ab \"'`|[]{}()$=\\*?!;,#%&<>^~\t\n") + ["\\\\", "\\*", "| delete", "`macro`", "$dest$", "\" OR 1=1", "]]", "\r\n"]
HOSTILE = st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join).filter(lambda s: s.strip(" \t\r\n") != "")


def sigma_literal(text: str) -> str:
    """*text* as a Sigma string that means exactly that text (no wildcards)."""
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


def sysmon_event(number: int, command_line: str) -> Event:
    fields = {
        "source": "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational", "sourcetype": "xmlwineventlog",
        "EventCode": "1", "EventID": "1", "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Computer": "host1", "Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": command_line,
        "_time": "1717401601.000000",
    }
    fields["_raw"] = repr(fields)
    return Event(fields, "generated.jsonl", number, source="sysmon")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=HOSTILE)
def test_hostile_values_keep_the_search_meaning(value: str) -> None:
    rule = {
        "title": "Hostile Value", "id": "00000000-0000-0000-0000-0000000000d1",
        "logsource": {"category": "process_creation", "product": "windows"},
        "detection": {"sel": {"CommandLine|contains": sigma_literal(value)}, "condition": "sel"},
    }
    rules = load_rule_text(yaml.safe_dump(rule, allow_unicode=True))
    assert not rules.errors
    events = [sysmon_event(1, f"cmd.exe /c {value} end"), sysmon_event(2, "cmd.exe /c nothing here")]
    report = verify(rules, events, targets=("sysmon", "cim"))
    assert sorted(pair.target for pair in report.pairs) == ["cim", "sysmon"]
    for pair in report.pairs:
        assert pair.status is PairStatus.AGREE, (pair.target, pair.status, pair.reason, pair.search)
        assert (pair.matcher_matches, pair.evaluator_matches) == (1, 1), (pair.target, pair.search)
