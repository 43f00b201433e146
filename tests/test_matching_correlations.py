"""Correlation rules over hand-made event streams: window edges, order, groups, chaining."""

from __future__ import annotations

import random
import textwrap
from typing import Any

import pytest

from sigmakit.errors import UnsupportedFeatureError
from sigmakit.matching import CorrelationHit, Hit, Matcher

BASE_RULES = """
title: Logon failed
name: failed
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4625}
  condition: sel
---
title: Logon succeeded
name: succeeded
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4624}
  condition: sel
---
title: Share accessed
name: share
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 5140}
  condition: sel
"""


def correlation(body: str, title: str = "Correlated", extra: str = "") -> Matcher:
    text = BASE_RULES + "---\n" + f"title: {title}\n" + textwrap.dedent(extra) + "correlation:\n" + textwrap.indent(
        textwrap.dedent(body).strip(), "  ") + "\n"
    matcher = Matcher.from_text(text, path="correlation.yml")
    assert not matcher.errors, [str(e) for e in matcher.errors]
    return matcher


def event(event_id: int, time: Any, **fields: Any) -> dict[str, Any]:
    return {"EventID": event_id, "_time": time, **fields}


def correlation_hits(matcher: Matcher, events: list[dict[str, Any]]) -> list[CorrelationHit]:
    return [r for r in matcher.match(events) if isinstance(r, CorrelationHit)]


def lines(hit: CorrelationHit) -> list[int]:
    return sorted(line for _, line in hit.events)


EVENT_COUNT = """
type: event_count
rules: [failed]
group-by: [User]
timespan: 10s
condition: {gte: 3}
"""


def test_event_count_fires_with_both_window_ends_included() -> None:
    events = [event(4625, 0, User="a"), event(4625, 5, User="a"), event(4625, 10, User="a")]
    (hit,) = correlation_hits(correlation(EVENT_COUNT), events)
    assert (hit.group, lines(hit), hit.start, hit.end, hit.value) == ({"User": "a"}, [1, 2, 3], 0, 10, 3)


def test_event_count_does_not_fire_just_past_the_window() -> None:
    events = [event(4625, 0, User="a"), event(4625, 5, User="a"), event(4625, 10.001, User="a")]
    assert correlation_hits(correlation(EVENT_COUNT), events) == []


def test_event_count_is_the_same_for_any_input_order() -> None:
    events = [event(4625, t, User="a") for t in (0, 3, 6, 9, 30, 31)] + [event(4625, 32, User="a")]
    expected = [(lines(h), h.start, h.end) for h in correlation_hits(correlation(EVENT_COUNT), events)]
    assert expected == [([1, 2, 3, 4], 0, 9), ([5, 6, 7], 30, 32)]
    for seed in range(5):
        shuffled = list(enumerate(events, start=1))
        random.Random(seed).shuffle(shuffled)
        hits = correlation_hits(correlation(EVENT_COUNT), [e for _, e in shuffled])
        positions = [number for number, _ in shuffled]
        got = [(sorted(positions[line - 1] for _, line in h.events), h.start, h.end) for h in hits]
        assert got == expected


def test_event_count_groups_are_separate_and_case_insensitive() -> None:
    events = [event(4625, 0, User="Alice"), event(4625, 1, User="bob"), event(4625, 2, User="alice"),
              event(4625, 3, User="ALICE")]
    (hit,) = correlation_hits(correlation(EVENT_COUNT), events)
    assert hit.group == {"User": "Alice"} and lines(hit) == [1, 3, 4]


def test_event_count_leaves_out_hits_without_group_value_or_time() -> None:
    matcher = correlation(EVENT_COUNT)
    session = matcher.session()
    session.feed_batch([event(4625, 0, User="a"), event(4625, 1), event(4625, 2, User="a"),
                        {"EventID": 4625, "User": "a"}])
    assert session.finish() == []
    assert session.dropped == [2]


def test_event_count_lt_condition() -> None:
    body = EVENT_COUNT.replace("{gte: 3}", "{lt: 2}")
    hits = correlation_hits(correlation(body), [event(4625, 0, User="a"), event(4625, 100, User="b"),
                                                event(4625, 101, User="b")])
    # Every occurrence ends a window [t - 10s, t]: b's first event alone is such a window
    # (as in pySigma's SQL backends), its second is not (two events).
    assert [(h.group, lines(h)) for h in hits] == [({"User": "a"}, [1]), ({"User": "b"}, [2])]


def test_event_count_without_group_by_counts_everything() -> None:
    body = "type: event_count\nrules: failed\ntimespan: 1m\ncondition: {eq: 2}"
    (hit,) = correlation_hits(correlation(body), [event(4625, 0, User="a"), event(4625, 60, User="b")])
    assert hit.group == {} and lines(hit) == [1, 2]


def test_value_count_counts_distinct_values() -> None:
    body = "type: value_count\nrules: [failed]\ngroup-by: [Ip]\ntimespan: 1m\ncondition: {gte: 3, field: User}"
    events = [event(4625, 0, Ip="10.0.0.1", User="a"), event(4625, 1, Ip="10.0.0.1", User="A"),
              event(4625, 2, Ip="10.0.0.1", User="b"), event(4625, 3, Ip="10.0.0.2", User="c")]
    assert correlation_hits(correlation(body), events) == []
    (hit,) = correlation_hits(correlation(body), [*events, event(4625, 60, Ip="10.0.0.1", User="c")])
    assert hit.value == 3 and lines(hit) == [1, 2, 3, 5]
    # At 62 the window [2, 62] holds only b and c: the earlier a/A are out.
    assert correlation_hits(correlation(body), [*events, event(4625, 62, Ip="10.0.0.1", User="c")]) == []


TEMPORAL = """
type: temporal
rules: [failed, succeeded]
group-by: [User]
timespan: 10s
"""


@pytest.mark.parametrize("times, fires", [
    ((0, 10), True),  # the later rule exactly at the window's end
    ((0, 10.5), False),
    ((10, 0), True),  # any order
    ((0, 0), True),
])
def test_temporal_window_edges(times: tuple[float, float], fires: bool) -> None:
    events = [event(4625, times[0], User="a"), event(4624, times[1], User="a")]
    assert bool(correlation_hits(correlation(TEMPORAL), events)) is fires


def test_temporal_needs_the_same_group() -> None:
    assert correlation_hits(correlation(TEMPORAL), [event(4625, 0, User="a"), event(4624, 1, User="b")]) == []


def test_temporal_with_aliases_groups_across_field_names() -> None:
    body = TEMPORAL.replace("group-by: [User]", "group-by: [account]") + textwrap.dedent("""
        aliases:
          account:
            failed: TargetUserName
            succeeded: SubjectUserName
    """)
    events = [event(4625, 0, TargetUserName="Eve"), event(4624, 5, SubjectUserName="eve"),
              event(4624, 6, TargetUserName="eve")]
    (hit,) = correlation_hits(correlation(body), events)
    assert hit.group == {"account": "Eve"} and lines(hit) == [1, 2]


ORDERED = """
type: temporal_ordered
rules: [failed, succeeded, share]
group-by: [User]
timespan: 1m
"""


@pytest.mark.parametrize("sequence, fires", [
    ([(4625, 0), (4624, 1), (5140, 2)], True),
    ([(4625, 0), (5140, 1), (4624, 2)], False),
    ([(4624, 0), (4625, 1), (5140, 2)], False),
    ([(4624, 0), (4625, 1), (4624, 2), (5140, 3)], True),  # a later success completes the order
    ([(4625, 0), (4624, 1), (5140, 61)], False),  # the share is outside the minute
    ([(4625, 0), (4624, 1), (5140, 60)], True),
])
def test_temporal_ordered(sequence: list[tuple[int, float]], fires: bool) -> None:
    events = [event(code, time, User="a") for code, time in sequence]
    assert bool(correlation_hits(correlation(ORDERED), events)) is fires


def test_temporal_ordered_equal_times_follow_input_order() -> None:
    body = "type: temporal_ordered\nrules: [failed, succeeded]\ngroup-by: [User]\ntimespan: 1m"
    assert correlation_hits(correlation(body), [event(4625, 5, User="a"), event(4624, 5, User="a")])
    assert not correlation_hits(correlation(body), [event(4624, 5, User="a"), event(4625, 5, User="a")])


def test_temporal_ordered_is_the_same_for_any_input_order() -> None:
    events = [event(4625, 0, User="a"), event(4624, 1, User="a"), event(5140, 2, User="a")]
    for permutation in ([2, 0, 1], [1, 2, 0], [2, 1, 0]):
        assert len(correlation_hits(correlation(ORDERED), [events[i] for i in permutation])) == 1


def test_one_event_cannot_be_two_ordered_steps() -> None:
    text = BASE_RULES + textwrap.dedent("""
        ---
        title: Any logon event
        name: any_logon
        logsource: {product: windows, service: security}
        detection:
          sel: {EventID: [4624, 4625]}
          condition: sel
        ---
        title: Ordered
        correlation:
          type: temporal_ordered
          rules: [failed, any_logon]
          timespan: 1m
    """)
    matcher = Matcher.from_text(text)
    assert not [r for r in matcher.match([event(4625, 0)]) if isinstance(r, CorrelationHit)]
    assert [r for r in matcher.match([event(4625, 0), event(4624, 1)]) if isinstance(r, CorrelationHit)]


@pytest.mark.parametrize("kind, condition, values, fires", [
    ("value_sum", "{gte: 100, field: Bytes}", [40, "60", "x"], True),
    ("value_sum", "{gte: 100, field: Bytes}", [40, 59], False),
    ("value_avg", "{gt: 50, field: Bytes}", [40, 70], True),
    ("value_avg", "{gt: 55, field: Bytes}", [40, 70], False),
    ("value_median", "{eq: 20, field: Bytes}", [10, 20, 90], True),
    ("value_percentile", "{gte: 76, field: Bytes, percentile: 90}", [10, 20, 90], True),
    ("value_percentile", "{gt: 76, field: Bytes, percentile: 90}", [10, 20, 90], False),
])
def test_value_aggregations(kind: str, condition: str, values: list[Any], fires: bool) -> None:
    body = f"type: {kind}\nrules: [failed]\ngroup-by: [User]\ntimespan: 1m\ncondition: {condition}"
    events = [event(4625, index, User="a", Bytes=value) for index, value in enumerate(values)]
    assert bool(correlation_hits(correlation(body), events)) is fires


def test_value_percentile_interpolates_between_ranks() -> None:
    body = "type: value_percentile\nrules: [failed]\ntimespan: 1m\ncondition: {gte: 0, field: Bytes, percentile: 90}"
    (hit,) = correlation_hits(correlation(body), [event(4625, i, Bytes=v) for i, v in enumerate([10, 20, 90])])
    assert hit.value == pytest.approx(76.0)  # rank 1.8: 20 + 0.8 * (90 - 20)


def test_generate_false_hides_the_referenced_rules() -> None:
    results = list(correlation(EVENT_COUNT).match([event(4625, t, User="a") for t in (0, 1, 2)]))
    assert [type(r) for r in results] == [CorrelationHit]


def test_generate_true_reports_the_referenced_rules_too() -> None:
    results = list(correlation(EVENT_COUNT + "generate: true\n").match([event(4625, t, User="a") for t in (0, 1, 2)]))
    assert [type(r) for r in results] == [Hit, Hit, Hit, CorrelationHit]


def test_rules_not_referenced_still_report() -> None:
    results = list(correlation(EVENT_COUNT).match([event(4624, 0, User="a")]))
    assert [r.rule_title for r in results] == ["Logon succeeded"]


def test_correlation_of_a_correlation() -> None:
    text = BASE_RULES + textwrap.dedent("""
        ---
        title: Burst of failures
        name: burst
        correlation:
          type: event_count
          rules: [failed]
          group-by: [User]
          timespan: 10s
          condition: {gte: 2}
        ---
        title: Burst then success
        correlation:
          type: temporal_ordered
          rules: [burst, succeeded]
          group-by: [User]
          timespan: 1m
    """)
    matcher = Matcher.from_text(text)
    assert not matcher.errors
    events = [event(4625, 0, User="a"), event(4625, 5, User="a"), event(4624, 30, User="a"), event(4624, 1, User="b")]
    (hit,) = [r for r in matcher.match(events) if isinstance(r, CorrelationHit)]
    assert hit.rule_title == "Burst then success" and lines(hit) == [1, 2, 3]


def test_extended_temporal_condition() -> None:
    body = "type: temporal\nrules: [failed, succeeded]\ngroup-by: [User]\ntimespan: 10s\ncondition: failed and not succeeded"
    events = [event(4625, 0, User="a"), event(4625, 0, User="b"), event(4624, 5, User="b")]
    hits = correlation_hits(correlation(body), events)
    assert [h.group for h in hits] == [{"User": "a"}, {"User": "b"}]
    assert [lines(h) for h in hits] == [[1], [2]]  # b's failure alone, before its success came


def test_time_formats_and_time_field() -> None:
    events = [{"EventID": 4625, "User": "a", "UtcTime": "2024-06-03 08:00:00.000"},
              {"EventID": 4625, "User": "a", "@timestamp": "2024-06-03T08:00:05Z"},
              {"EventID": 4625, "User": "a", "timestamp": "1717401610000"}]
    (hit,) = correlation_hits(correlation(EVENT_COUNT), events)
    assert (hit.start, hit.end) == (1717401600.0, 1717401610.0)
    custom = [{"EventID": 4625, "User": "a", "When": t, "_time": 0} for t in (0, 100, 200)]
    assert correlation_hits(correlation(EVENT_COUNT), custom)
    assert not [r for r in correlation(EVENT_COUNT).match(custom, time_field="When") if isinstance(r, CorrelationHit)]


def test_hit_json_shape() -> None:
    (hit,) = correlation_hits(correlation(EVENT_COUNT), [event(4625, t, User="a") for t in (0, 1, 2)])
    assert hit.to_json() == {
        "rule_id": None, "rule_title": "Correlated", "group": {"User": "a"},
        "events": [{"file": "<events>", "line": 1}, {"file": "<events>", "line": 2}, {"file": "<events>", "line": 3}],
    }


def test_unknown_rule_reference_is_an_error() -> None:
    text = BASE_RULES + "---\ntitle: Bad\ncorrelation:\n  type: event_count\n  rules: [nope]\n  timespan: 1m\n" \
                        "  condition: {gte: 1}\n"
    matcher = Matcher.from_text(text, path="c.yml")
    (error,) = matcher.errors
    assert "refers to rule 'nope', which is not among the rules loaded" in str(error)


def test_extended_temporal_ordered_is_refused_by_name() -> None:
    text = BASE_RULES + "---\ntitle: Bad\ncorrelation:\n  type: temporal_ordered\n  rules: [failed, succeeded]\n" \
                        "  timespan: 1m\n  condition: failed and succeeded\n"
    (error,) = Matcher.from_text(text, path="c.yml").errors
    assert isinstance(error, UnsupportedFeatureError)
    assert error.feature == "extended correlation condition"
