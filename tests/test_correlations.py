"""Correlation rules: valid SPL with sliding windows for every target, or a clear refusal."""

from __future__ import annotations

import textwrap

import pytest

from sigmakit.conversion import ConversionResult, Converter, Status
from sigmakit.rules import RuleSet, load_rule_text

BASE_RULES = """
---
title: Whoami run
name: whoami_run
logsource: {category: process_creation, product: windows}
detection:
  sel:
    Image|endswith: '\\whoami.exe'
  condition: sel
---
title: Net user add
name: net_user_add
logsource: {category: process_creation, product: windows}
detection:
  sel:
    Image|endswith: '\\net.exe'
    CommandLine|re: 'user\\s+\\S+\\s+/add'
  condition: sel
---
title: Security logon
name: logon
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 4624
  condition: sel
"""
SYSMON_1 = 'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1'
CIM_TAIL = [
    "| `drop_dm_object_name(Processes)`",
    "| `security_content_ctime(firstTime)`",
    "| `security_content_ctime(lastTime)`",
]
_converter = Converter()


def load(correlation: str) -> RuleSet:
    rules = load_rule_text(textwrap.dedent(correlation).strip() + "\n" + BASE_RULES, "correlation.yml")
    assert not rules.errors, rules.errors
    return rules


def convert(correlation: str, target: str) -> ConversionResult:
    rules = load(correlation)
    return _converter.convert(rules.rules[0], target, rules)


def spl(correlation: str, target: str) -> list[str]:
    result = convert(correlation, target)
    assert result.status is Status.CONVERTED, result.error
    assert result.query is not None
    return result.query.splitlines()


EVENT_COUNT = """
    title: Many whoami
    name: many_whoami
    correlation:
      type: event_count
      rules: [whoami_run]
      group-by: [User, Computer]
      timespan: 5m
      condition:
        gte: 3
"""


def test_event_count_is_a_sliding_window_per_group() -> None:
    assert spl(EVENT_COUNT, "sysmon") == [
        f'{SYSMON_1} Image="*\\\\whoami.exe"',
        '| eval sigma_rule="whoami_run"',
        "| sort 0 _time",
        '| eval sigma_many_whoami_n=if(sigma_rule="whoami_run", 1, 0)',
        "| streamstats time_window=5m sum(sigma_many_whoami_n) as sigma_many_whoami_event_count by User Computer",
        "| eval sigma_fired_many_whoami=if(sigma_many_whoami_n>0 AND sigma_many_whoami_event_count>=3, 1, 0)",
        "| where sigma_fired_many_whoami=1",
        ("| stats count as sigma_matches min(_time) as firstTime max(_time) as lastTime "
        "max(sigma_many_whoami_event_count) as event_count by User Computer"),
        "| `many_whoami_filter`",
    ]


def test_event_count_on_the_data_model_counts_tstats_rows_by_their_count() -> None:
    assert spl(EVENT_COUNT, "cim") == [
        ("| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes "
        "where Processes.process_name=whoami.exe by _time span=1s Processes.user Processes.dest"),
        '| eval sigma_rule="whoami_run"',
        "| sort 0 _time",
        '| eval sigma_many_whoami_n=if(sigma_rule="whoami_run", count, 0)',
        ("| streamstats time_window=5m sum(sigma_many_whoami_n) as sigma_many_whoami_event_count "
        "by Processes.user Processes.dest"),
        "| eval sigma_fired_many_whoami=if(sigma_many_whoami_n>0 AND sigma_many_whoami_event_count>=3, 1, 0)",
        "| where sigma_fired_many_whoami=1",
        ("| stats count as sigma_matches min(_time) as firstTime max(_time) as lastTime "
        "max(sigma_many_whoami_event_count) as event_count by Processes.user Processes.dest"),
        *CIM_TAIL,
        "| `many_whoami_filter`",
    ]


ORDERED = """
    title: Discovery then account creation
    correlation:
      type: temporal_ordered
      rules: [whoami_run, net_user_add]
      group-by: [User]
      timespan: 10m
"""


def test_temporal_ordered_keeps_each_rules_post_filter_inside_its_subsearch() -> None:
    assert spl(ORDERED, "sysmon") == [
        (f'| multisearch [ search {SYSMON_1} Image="*\\\\whoami.exe" | eval sigma_rule="whoami_run" ] '
         f'[ search {SYSMON_1} Image="*\\\\net.exe" | where match(CommandLine, "user\\\\s+\\\\S+\\\\s+/add") '
         '| eval sigma_rule="net_user_add" ]'),
        "| sort 0 _time",
        '| eval sigma_discovery_then_account_c_t1=if(sigma_rule="whoami_run", _time, null())',
        ("| streamstats time_window=10m max(sigma_discovery_then_account_c_t1) as "
        "sigma_discovery_then_account_c_start1 by User"),
        ('| eval sigma_fired_discovery_then_account_c=if(sigma_rule="net_user_add" AND '
        "isnotnull(sigma_discovery_then_account_c_start1) AND _time-sigma_discovery_then_account_c_start1<=600, 1, 0)"),
        "| where sigma_fired_discovery_then_account_c=1",
        "| stats count as sigma_matches min(_time) as firstTime max(_time) as lastTime by User",
        "| `discovery_then_account_creation_filter`",
    ]


def test_several_rules_on_the_data_model_share_one_tstats_and_are_tagged_exactly() -> None:
    assert spl(ORDERED, "cim")[:4] == [
        ("| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes "
        "where (Processes.process_name=whoami.exe) OR (Processes.process_name=net.exe) "
        "by _time span=1s Processes.user Processes.process_name Processes.process"),
        ("| eval sigma_rule=mvappend(if(lower('Processes.process_name')==\"whoami.exe\", \"whoami_run\", null()), "
        "if(lower('Processes.process_name')==\"net.exe\" AND match('Processes.process', \"user\\\\s+\\\\S+\\\\s+/add\"), "
        '"net_user_add", null()))'),
        "| where isnotnull(sigma_rule)",
        "| mvexpand sigma_rule",
    ]


def test_three_rules_in_order_chain_their_start_times() -> None:
    lines = spl("""
        title: Chain
        correlation:
          type: temporal_ordered
          rules: [whoami_run, net_user_add, whoami_run2]
          timespan: 1h
        ---
        title: Whoami again
        name: whoami_run2
        logsource: {category: process_creation, product: windows}
        detection:
          sel:
            Image|endswith: '\\whoami.exe'
          condition: sel
    """, "sysmon")
    assert lines[2:8] == [
        '| eval sigma_chain_t1=if(sigma_rule="whoami_run", _time, null())',
        "| streamstats time_window=1h max(sigma_chain_t1) as sigma_chain_start1",
        '| eval sigma_chain_t2=if(sigma_rule="net_user_add" AND isnotnull(sigma_chain_start1), sigma_chain_start1, null())',
        "| streamstats time_window=1h max(sigma_chain_t2) as sigma_chain_start2",
        ('| eval sigma_fired_chain=if(sigma_rule="whoami_run2" AND isnotnull(sigma_chain_start2) '
        "AND _time-sigma_chain_start2<=3600, 1, 0)"),
        "| where sigma_fired_chain=1",
    ]
    # Without group-by, stats returns a row even for no matches; the guard drops it.
    assert lines[-3:] == [
        "| stats count as sigma_matches min(_time) as firstTime max(_time) as lastTime",
        "| where sigma_matches>0",
        "| `chain_filter`",
    ]


def test_extended_temporal_condition() -> None:
    lines = spl("""
        title: Whoami without net
        correlation:
          type: temporal
          rules: [whoami_run, net_user_add]
          group-by: [Computer]
          timespan: 1d
          condition: whoami_run and not net_user_add
    """, "sysmon")
    assert lines[2:6] == [
        ('| eval sigma_whoami_without_net_1=if(sigma_rule="whoami_run", 1, 0), '
        'sigma_whoami_without_net_2=if(sigma_rule="net_user_add", 1, 0)'),
        ("| streamstats time_window=1d max(sigma_whoami_without_net_1) as sigma_whoami_without_net_seen_1 "
        "max(sigma_whoami_without_net_2) as sigma_whoami_without_net_seen_2 by Computer"),
        ('| eval sigma_fired_whoami_without_net=if((sigma_rule="whoami_run" OR sigma_rule="net_user_add") AND '
        "(sigma_whoami_without_net_seen_1=1 AND NOT (sigma_whoami_without_net_seen_2=1)), 1, 0)"),
        "| where sigma_fired_whoami_without_net=1",
    ]


@pytest.mark.parametrize("kind,aggregation", [
    ("value_count", "dc(sigma_v_value) as sigma_v_value_count"),
    ("value_median", "median(sigma_v_value) as sigma_v_value_median"),
    ("value_percentile", "perc95(sigma_v_value) as sigma_v_value_percentile"),
])
def test_value_metrics(kind: str, aggregation: str) -> None:
    lines = spl(f"""
        title: V
        correlation:
          type: {kind}
          rules: [whoami_run]
          group-by: [Computer]
          timespan: 2w
          condition:
            field: User
            percentile: 95
            gt: 2
    """, "sysmon")
    assert lines[3:7] == [
        '| eval sigma_v_value=if(sigma_rule="whoami_run", User, null())',
        f"| streamstats time_window=14d {aggregation} by Computer",
        f'| eval sigma_fired_v=if((sigma_rule="whoami_run") AND sigma_v_{kind}>2, 1, 0)',
        "| where sigma_fired_v=1",
    ]


def test_value_sum_on_the_data_model_weights_rows_by_count() -> None:
    lines = spl("""
        title: S
        correlation:
          type: value_sum
          rules: [whoami_run]
          timespan: 1M
          condition:
            field: ProcessId
            gte: 100
    """, "cim")
    assert lines[3:7] == [
        '| eval sigma_s_value=if(sigma_rule="whoami_run", \'Processes.process_id\', null())',
        ("| eval sigma_s_weighted=tonumber(sigma_s_value)*count, "
        "sigma_s_events=if(isnotnull(tonumber(sigma_s_value)), count, 0)"),
        "| streamstats time_window=2629746s sum(sigma_s_weighted) as sigma_s_sum",
        "| eval sigma_s_value_sum=sigma_s_sum",
    ]


REFUSALS = [
    ("cim", """
        title: M
        correlation:
          type: value_median
          rules: [whoami_run]
          timespan: 1h
          condition: {field: User, gt: 1}
    """, "correlation m: value_median needs single events, and the data model search counts them in groups"),
    ("sysmon", """
        title: O
        correlation:
          type: temporal_ordered
          rules: [whoami_run, net_user_add]
          timespan: 1h
          condition: {gte: 1}
    """, "correlation o: temporal_ordered converts only with its default condition (every rule, in order)"),
    ("sysmon", """
        title: Missing
        correlation:
          type: event_count
          rules: [no_such_rule]
          timespan: 1h
          condition: {gte: 1}
    """, "the correlation refers to rule 'no_such_rule', which is not among the rules given"),
    ("security_4688", EVENT_COUNT,
     "Windows Security 4688 events has no single field for 'User', used in the correlation"),
    ("sysmon", """
        title: Loop
        name: loop
        correlation:
          type: event_count
          rules: [loop2]
          timespan: 1h
          condition: {gte: 1}
        ---
        title: Loop 2
        name: loop2
        correlation:
          type: event_count
          rules: [loop]
          timespan: 1h
          condition: {gte: 1}
    """, "correlation 'loop' refers to itself through loop -> loop2"),
]


@pytest.mark.parametrize("target,correlation,reason", REFUSALS)
def test_refusals_say_why(target: str, correlation: str, reason: str) -> None:
    result = convert(correlation, target)
    assert (result.status, result.error, result.query) == (Status.REFUSED, reason, None)


def test_a_rule_out_of_the_targets_scope_skips_the_correlation() -> None:
    result = convert("""
        title: Logons and whoami
        correlation:
          type: temporal
          rules: [logon, whoami_run]
          timespan: 1h
    """, "sysmon")
    assert result.status is Status.SKIPPED
    assert (result.error or "").startswith(
        "rule 'Security logon': log source {product: windows, service: security} is not carried by Sysmon events"
    )


def test_convert_all_gives_correlations_their_rule_set() -> None:
    results = _converter.convert_all(load(EVENT_COUNT))
    statuses = {(r.rule_title, r.target): r.status for r in results}
    assert statuses[("Many whoami", "sysmon")] is Status.CONVERTED
    assert statuses[("Many whoami", "cim")] is Status.CONVERTED
    assert statuses[("Many whoami", "crowdstrike")] is Status.REFUSED
