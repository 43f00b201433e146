"""Correlation searches over an event stream: multisearch, sort, streamstats, stats, mvexpand."""

from __future__ import annotations

from spl_helpers import M, N, U, outcome, verdicts
from sigmakit.verification.spl import Status

EVENT_COUNT = (
    '| multisearch [ search EventCode=1 Image="*\\\\a.exe" | eval sigma_rule="a" ]'
    ' [ search EventCode=1 Image="*\\\\b.exe" | eval sigma_rule="b" ]\n'
    "| sort 0 _time\n"
    "| eval sigma_c_n=1\n"
    "| streamstats time_window=60s sum(sigma_c_n) as sigma_c_event_count by host\n"
    "| eval sigma_fired_c=if(sigma_c_n>0 AND sigma_c_event_count>=3, 1, 0)\n"
    "| where sigma_fired_c=1\n"
    "| stats count as sigma_matches min(_time) as firstTime max(_time) as lastTime by host"
)


def _event(host: str, time: int, image: str = "C:\\a.exe") -> dict[str, str]:
    return {"EventCode": "1", "Image": image, "host": host, "_time": str(time)}


def test_event_count_in_a_sliding_window() -> None:
    records = (
        _event("h1", 20), _event("h1", 0), _event("h1", 10, "C:\\b.exe"), _event("h1", 85),
        _event("h2", 0), _event("h2", 100), _event("h2", 200), _event("h1", 5, "C:\\c.exe"),
    )
    # h1 has a, b, a at 0, 10, 20: the third fires; 85 is alone in its window.
    assert verdicts(EVENT_COUNT, *records) == [M, N, N, N, N, N, N, N]
    result = outcome(EVENT_COUNT, *records)
    assert result.results == ({"host": "h1", "sigma_matches": 1, "firstTime": 20, "lastTime": 20},)


def test_the_window_boundary_is_undecided() -> None:
    records = (_event("h1", 0), _event("h1", 30), _event("h1", 60))
    assert verdicts(EVENT_COUNT, *records) == [N, N, U]


def test_value_count_with_dc() -> None:
    spl = (
        "EventCode=1 | sort 0 _time | streamstats time_window=1h dc(user) as users by host"
        " | where users>=2 | stats count by host"
    )
    records = (
        {"EventCode": "1", "host": "h", "user": "a", "_time": "0"},
        {"EventCode": "1", "host": "h", "user": "a", "_time": "100"},
        {"EventCode": "1", "host": "h", "user": "b", "_time": "200"},
        {"EventCode": "1", "host": "g", "user": "b", "_time": "200"},
    )
    assert verdicts(spl, *records) == [N, N, M, N]


def test_tstats_by_time_span_and_mvexpand() -> None:
    spl = (
        "| tstats count from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe "
        "by _time Processes.dest span=1s"
        ' | eval sigma_rule=mvappend(if(count>1, "burst", null()), "any")'
        " | mvexpand sigma_rule | where sigma_rule=\"burst\""
    )
    records = (
        {"Processes.process_name": "cmd.exe", "Processes.dest": "h", "_time": "10.2"},
        {"Processes.process_name": "cmd.exe", "Processes.dest": "h", "_time": "10.7"},
        {"Processes.process_name": "cmd.exe", "Processes.dest": "h", "_time": "11.1"},
    )
    assert verdicts(spl, *records, data_model="Endpoint.Processes") == [M, M, N]


def test_stats_without_by_returns_one_row() -> None:
    result = outcome("x=1 | stats count as n", {"x": "2"})
    assert result.status is Status.EVALUATED
    assert result.results == ({"n": 0},)


def test_percentiles_are_not_modelled() -> None:
    result = outcome("x=1 | streamstats perc95(y) as p", {"x": "1"})
    assert result.status is Status.CANNOT_EVALUATE
    assert result.reason is not None and result.reason.startswith("the statistics function perc95 is not modelled")


def test_multisearch_needs_streaming_subsearches() -> None:
    result = outcome("| multisearch [ search a=1 | stats count ] [ search b=1 ]", {"a": "1"})
    assert result.status is Status.INVALID
