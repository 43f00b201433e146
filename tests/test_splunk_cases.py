"""Every case of ../shared/cases/splunk_conversion.yaml, as sigmakit's corrected SPL.

The cases name pySigma's stock pipelines; each runs through the sigmakit target that
carries the same data: ``sysmon`` (and ``splunk_windows`` on top of it) through sysmon,
``splunk_cim`` through cim, ``windows-audit`` through security_4688. The expected SPL is
written here, reviewed against each case's ``expected_semantics``; the case file only
supplies the rules.

The correlation cases (S09, S18, S23) correlate Windows Security log rules, a log source
none of sigmakit's four process-creation targets carries, so they are skipped with that
reason; the same correlations over process-creation rules are converted below.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from sigmakit.conversion import Converter, Status
from sigmakit.rules import load_rule_text

from conftest import shared_path

CASE_TARGETS = {"sysmon": "sysmon", "splunk_cim": "cim", "windows-audit": "security_4688", "splunk_windows": "sysmon"}

SYSMON_1 = 'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1 '
CIM_HEAD = (
    "| tstats `security_content_summariesonly` count min(_time) as firstTime max(_time) as lastTime "
    "from datamodel=Endpoint.Processes "
)
CIM_BY = (
    "by Processes.dest Processes.user Processes.parent_process Processes.process_name "
    "Processes.process Processes.process_id Processes.parent_process_id"
)
CIM_TAIL = (
    "| `drop_dm_object_name(Processes)`\n"
    "| `security_content_ctime(firstTime)`\n"
    "| `security_content_ctime(lastTime)`\n"
)
NOT_SYSMON = "log source {product: windows, service: security} is not carried by Sysmon events"

# case id -> rule title -> (status, SPL or the reason up to its list of covered sources)
EXPECTED: dict[str, dict[str, tuple[str, str]]] = {
    # Backslashes doubled inside quoted values.
    "S01": {"case": ("converted", SYSMON_1 + 'ParentImage="*\\\\WINWORD.EXE" Image="*\\\\cmd.exe"\n| `case_filter`')},
    # A literal * cannot be escaped in a search term: wildcard there, exact regex after.
    "S02": {"case": ("converted", SYSMON_1 + 'Image="*\\\\schtasks.exe" CommandLine="* /delete *" CommandLine="*/tn *" '
                     'CommandLine="* /f*"\n| where match(CommandLine, "(?i)/tn \\\\*")\n| `case_filter`')},
    # Explicit parentheses whatever the precedence.
    # (ParentProcessName is a 4688 field, not a Sysmon one: the field policy drops that
    # alternative with a warning; test_explicit_parentheses_keep_or_inside_and shows the
    # grouping with a Sysmon field.)
    "S04": {"case": ("converted", SYSMON_1 + '(Image="*\\\\powershell.exe" OR Image="*\\\\cmd.exe") '
                     "(CommandLine=*payload1* OR CommandLine=*payload2*)\n"
                     "| `case_filter`")},
    # tstats WHERE parenthesised.
    "S05": {"case": ("converted", CIM_HEAD + "where (Processes.process=schtasks.exe OR Processes.original_file_name="
                     'schtasks.exe) Processes.process="*/create *" Processes.process="*/ru system" ' + CIM_BY + "\n"
                     + CIM_TAIL + "| `case_filter`")},
    # The OR stays one OR: the search holds both alternatives widened, the where both exactly.
    "S06": {"case": ("converted", SYSMON_1 + '(Image="*\\\\a.exe" OR Image="*\\\\b.exe")\n'
                     '| where match(Image, "(?i)\\\\\\\\a\\\\.exe$") OR (match(Image, "(?i)\\\\\\\\b\\\\.exe$") '
                     'AND match(CommandLine, "x.y"))\n| `case_filter`')},
    # The search starts with the base search, never with a pipe.
    "S07": {"case": ("converted", SYSMON_1.rstrip() + '\n| where match(CommandLine, "sus") OR match(Image, "sus")\n'
                     "| `case_filter`")},
    # Regexes after tstats, on 'Processes.x' names; their fields join the by-clause.
    "S08": {"case": ("converted", CIM_HEAD + "where Processes.process_name=x.exe " + CIM_BY
                     + " Processes.parent_process_path\n"
                     "| where match('Processes.process', \"a.b\") OR match('Processes.parent_process_path', \"zz\")\n"
                     + CIM_TAIL + "| `case_filter`")},
    "S09": {
        "Brute then success": ("skipped", f"rule 'Failed login': {NOT_SYSMON}"),
        "Many failed logons": ("skipped", f"rule 'Failed login': {NOT_SYSMON}"),
        "Failed login": ("skipped", NOT_SYSMON),
        "Success login": ("skipped", NOT_SYSMON),
    },
    # CIDR values in the search command, quoted.
    "S12": {"case": ("converted", ('source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=3 '
                     'Image="*\\\\wscript.exe" NOT (DestinationIp="10.0.0.0/8" OR DestinationIp="192.168.0.0/16" '
                     'OR DestinationIp="fe80::/10")\n| `case_filter`'))},
    "S13": {"case": ("converted", ('source="XmlWinEventLog:Security" EventCode=4688 NewProcessName="*\\\\whoami.exe"\n'
                     "| `case_filter`"))},
    # Hashes reach the CIM's multivalue process_hash by digest.
    "S14": {"case": ("converted", CIM_HEAD + "where Processes.original_file_name=adplus.exe "
                     "Processes.process_hash=*F4F684066175B77E0C3A000549D2922C* " + CIM_BY + "\n" + CIM_TAIL
                     + "| `case_filter`")},
    # cased: case-insensitive search, then a case-sensitive regex.
    "S16": {"case": ("converted", SYSMON_1 + 'CommandLine=*EnCoded*\n| where match(CommandLine, "EnCoded")\n'
                     "| `case_filter`")},
    "S18": {
        "Logon from many": ("skipped", f"rule 'r1': {NOT_SYSMON}"),
        "r1": ("skipped", NOT_SYSMON),
        "r2": ("converted", SYSMON_1 + 'Image="*\\\\mstsc.exe"\n| `r2_filter`'),
    },
    "S19": {
        "load error": ("failed", "S19.yml:9: Timespan '-5m' is invalid. (rule 44444444-4444-4444-4444-444444444444)"),
        "r": ("skipped", NOT_SYSMON),
    },
    "S20": {"case": ("converted", SYSMON_1 + "ParentCommandLine=*cmd* ParentCommandLine=*/c* CommandLine=*/../../*\n"
                     "| `case_filter`")},
    "S21": {"case": ("converted", SYSMON_1 + 'CommandLine="*C:\\\\Temp\\\\*" CurrentDirectory="C:\\\\Users\\\\*"\n'
                     "| `case_filter`")},
    # Missing or empty: NOT f=* (f!=* never matches), parenthesised under the base AND.
    "S22": {"case": ("converted", SYSMON_1 + '(NOT Image=* OR Image="")\n| `case_filter`')},
    "S23": {
        "ordered": ("skipped", f"rule 'a': {NOT_SYSMON}"),
        "a": ("skipped", NOT_SYSMON),
        "b": ("skipped", NOT_SYSMON),
    },
}


def _cases() -> list[dict[str, Any]]:
    return yaml.safe_load(shared_path("cases", "splunk_conversion.yaml").read_text(encoding="utf-8"))


def _outcomes(case: dict[str, Any], text: str | None = None, target: str | None = None) -> dict[str, tuple[str, str]]:
    rules = load_rule_text(text if text is not None else case["rule"], f"{case['id']}.yml")
    target = target or CASE_TARGETS[case["pipeline"][0]]
    converter = Converter((target,))
    outcomes = {"load error": ("failed", "; ".join(str(error) for error in rules.errors))} if rules.errors else {}
    for rule in rules:
        result = converter.convert(rule, target, rules)
        value = result.query if result.status is Status.CONVERTED else (result.error or "").split(" (it covers")[0]
        outcomes[rule.title] = (result.status.value, value or "")
    return outcomes


def test_every_shared_case_has_expected_spl() -> None:
    assert sorted(case["id"] for case in _cases()) == sorted(EXPECTED)


@pytest.mark.parametrize("case_id", sorted(EXPECTED))
def test_shared_case(case_id: str) -> None:
    case = next(c for c in _cases() if c["id"] == case_id)
    assert _outcomes(case) == EXPECTED[case_id]


# The shared correlation cases with their base rules moved to process creation (the
# correlation itself unchanged), so they convert; sysmon keeps every field as it is.
# The Security-log correlation cases, moved to a Sysmon log source (network_connection,
# event 3) that sigmakit's sysmon target carries and whose fields it does not restrict.
ADAPTED_SYSMON_1 = 'search source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=3 '
ADAPTED: dict[str, dict[str, str]] = {
    "S09": {
        # Nested: the inner event_count fires on failed logons; the outer temporal looks for a
        # firing and a success within an hour, both by sliding windows.
        "Brute then success": (
            "| multisearch "
            f"[ {ADAPTED_SYSMON_1}EventID=4625 | eval sigma_rule=\"failed_login\" ] "
            f"[ {ADAPTED_SYSMON_1}EventID=4624 | eval sigma_rule=\"ok_login\" ]\n"
            "| sort 0 _time\n"
            '| eval sigma_many_failed_n=if(sigma_rule="failed_login", 1, 0)\n'
            "| streamstats time_window=10m sum(sigma_many_failed_n) as sigma_many_failed_event_count by TargetUserName\n"
            "| eval sigma_fired_many_failed=if(sigma_many_failed_n>0 AND sigma_many_failed_event_count>=10, 1, 0)\n"
            "| eval sigma_brute_then_success_1=if(sigma_fired_many_failed=1, 1, 0), "
            'sigma_brute_then_success_2=if(sigma_rule="ok_login", 1, 0)\n'
            "| streamstats time_window=1h max(sigma_brute_then_success_1) as sigma_brute_then_success_seen_1 "
            "max(sigma_brute_then_success_2) as sigma_brute_then_success_seen_2 by TargetUserName\n"
            "| eval sigma_brute_then_success_event_type_count=sigma_brute_then_success_seen_1 + "
            "sigma_brute_then_success_seen_2\n"
            '| eval sigma_fired_brute_then_success=if((sigma_fired_many_failed=1 OR sigma_rule="ok_login") '
            "AND sigma_brute_then_success_event_type_count>=2, 1, 0)\n"
            "| where sigma_fired_brute_then_success=1\n"
            "| stats count as sigma_matches min(_time) as firstTime max(_time) as lastTime "
            "max(sigma_brute_then_success_event_type_count) as event_type_count by TargetUserName\n"
            "| `brute_then_success_filter`"
        ),
    },
    "S18": {
        # Aliases: each rule's own field becomes the group-by field acct.
        "Logon from many": (
            "| multisearch "
            f"[ {ADAPTED_SYSMON_1}EventID=4624 LogonType=10 | eval sigma_rule=\"r1\" ] "
            f"[ search {SYSMON_1}Image=\"*\\\\mstsc.exe\" | eval sigma_rule=\"r2\" ]\n"
            "| sort 0 _time\n"
            '| eval acct=case(sigma_rule="r1", TargetUserName, sigma_rule="r2", User)\n'
            '| eval sigma_logon_from_many_value=if(sigma_rule="r1" OR sigma_rule="r2", Computer, null())\n'
            "| streamstats time_window=24h dc(sigma_logon_from_many_value) as sigma_logon_from_many_value_count by acct\n"
            '| eval sigma_fired_logon_from_many=if((sigma_rule="r1" OR sigma_rule="r2") '
            "AND sigma_logon_from_many_value_count>=10, 1, 0)\n"
            "| where sigma_fired_logon_from_many=1\n"
            "| stats count as sigma_matches min(_time) as firstTime max(_time) as lastTime "
            "max(sigma_logon_from_many_value_count) as value_count by acct\n"
            "| `logon_from_many_filter`"
        ),
    },
    "S23": {
        # Ordered: b counts only when an a of the same user came before it within 10 minutes.
        "ordered": (
            "| multisearch "
            f"[ {ADAPTED_SYSMON_1}EventID=4625 | eval sigma_rule=\"a\" ] "
            f"[ {ADAPTED_SYSMON_1}EventID=4624 | eval sigma_rule=\"b\" ]\n"
            "| sort 0 _time\n"
            '| eval sigma_ordered_t1=if(sigma_rule="a", _time, null())\n'
            "| streamstats time_window=10m max(sigma_ordered_t1) as sigma_ordered_start1 by User\n"
            '| eval sigma_fired_ordered=if(sigma_rule="b" AND isnotnull(sigma_ordered_start1) '
            "AND _time-sigma_ordered_start1<=600, 1, 0)\n"
            "| where sigma_fired_ordered=1\n"
            "| stats count as sigma_matches min(_time) as firstTime max(_time) as lastTime by User\n"
            "| `ordered_filter`"
        ),
    },
}


@pytest.mark.parametrize("case_id", sorted(ADAPTED))
def test_shared_correlation_over_sysmon_rules(case_id: str) -> None:
    case = next(c for c in _cases() if c["id"] == case_id)
    text = case["rule"].replace("service: security", "category: network_connection")
    outcomes = _outcomes(case, text, "sysmon")
    for title, query in ADAPTED[case_id].items():
        assert outcomes[title] == ("converted", query)
