"""Condition forms, rule errors, and rules compiled through the data-source pipelines."""

from __future__ import annotations

from typing import Any

import pytest

from sigmakit.errors import UnsupportedFeatureError
from sigmakit.matching import Matcher

from conftest import DISKSHADOW
from matching_support import compiled, matches, matching_lines, rule_text

SELECTIONS = "a: {A: 1}\nb: {B: 1}\nc: {C: 1}\n"

# (condition, event fields set to 1, expected)
CONDITIONS: list[tuple[str, set[str], bool]] = [
    ("a and b", {"A", "B"}, True),
    ("a and b", {"A"}, False),
    ("a or b", {"B"}, True),
    ("a or b", set(), False),
    ("not a", set(), True),
    ("not a", {"A"}, False),
    # Precedence, loosest first: or, and, not.
    ("a or b and c", {"A"}, True),  # a or (b and c)
    ("a or b and c", {"B"}, False),
    ("(a or b) and c", {"A"}, False),
    ("(a or b) and c", {"A", "C"}, True),
    ("not a and b", {"B"}, True),  # (not a) and b
    ("not a and b", {"A", "B"}, False),
    ("not (a and b)", {"A"}, True),
    ("not (a and b)", {"A", "B"}, False),
    ("a and not b or c", {"C", "B"}, True),  # (a and not b) or c
    ("a and not b or c", {"A", "B"}, False),
    ("not not a", {"A"}, True),
    # Quantifiers.
    ("1 of them", {"C"}, True),
    ("1 of them", set(), False),
    ("all of them", {"A", "B", "C"}, True),
    ("all of them", {"A", "B"}, False),
    ("any of them", {"B"}, True),
    ("1 of a*", {"A"}, True),
    ("all of *", {"A", "B", "C"}, True),
    ("not 1 of them", set(), True),
    ("not 1 of them", {"B"}, False),
    ("1 of them and not a", {"B"}, True),  # (1 of them) and (not a)
    ("1 of them and not a", {"A"}, False),
]


@pytest.mark.parametrize("condition, present, expected", CONDITIONS)
def test_condition(condition: str, present: set[str], expected: bool) -> None:
    event = {name: 1 for name in present}
    assert matches(SELECTIONS + f"condition: {condition}", event) is expected


def test_selector_patterns_match_identifier_parts() -> None:
    detection = "sel_img: {A: 1}\nsel_cli: {B: 1}\nfilter_x: {C: 1}\ncondition: all of sel_* and not 1 of filter_*"
    assert matching_lines(detection, [{"A": 1, "B": 1}, {"A": 1}, {"A": 1, "B": 1, "C": 1}]) == [1]


def test_them_leaves_out_underscore_selections() -> None:
    detection = "sel: {A: 1}\n_helper: {B: 1}\ncondition: 1 of them"
    assert matching_lines(detection, [{"B": 1}, {"A": 1}]) == [2]
    assert matching_lines("sel: {A: 1}\n_helper: {B: 1}\ncondition: all of them", [{"A": 1}]) == [1]


def test_underscore_pattern_reaches_underscore_selections() -> None:
    assert matches("sel: {A: 1}\n_helper: {B: 1}\ncondition: 1 of _h*", {"B": 1})


def test_all_of_one_list_selection_stays_or() -> None:
    assert matches("kw: [aaa, bbb]\ncondition: all of kw", {"F": "aaa"})


def test_quantifier_keeps_map_and_inside_list_of_maps() -> None:
    detection = "sel_a:\n  - {A: 1, B: 1}\n  - {C: 1}\nsel_b: {D: 1}\ncondition: 1 of sel_*"
    assert matching_lines(detection, [{"A": 1}, {"A": 1, "B": 1}, {"C": 1}, {"D": 1}]) == [2, 3, 4]


def test_condition_list_is_or() -> None:
    detection = "a: {A: 1}\nb: {B: 1}\ncondition:\n  - a\n  - b"
    assert matching_lines(detection, [{"A": 1}, {"B": 1}, {"C": 1}]) == [1, 2]


def test_selector_without_selection_is_an_error_not_a_silent_change() -> None:
    matcher = Matcher.from_text(rule_text("sel: {A: 1}\ncondition: sel and not 1 of filter_*"), path="r.yml")
    (error,) = matcher.errors
    assert isinstance(error, UnsupportedFeatureError)
    assert error.feature == "condition"
    assert "'1 of filter_*' names no selection" in str(error)
    assert str(error).startswith("r.yml:")
    assert matcher.rules == ()


def test_unresolved_placeholder_names_file_line_and_feature() -> None:
    text = rule_text("sel:\n  User|expand: '%Admins%'\ncondition: sel")
    matcher = Matcher.from_text(text, path="admins.yml")
    (error,) = matcher.errors
    assert isinstance(error, UnsupportedFeatureError)
    assert error.feature == "expand"
    assert str(error) == (
        "admins.yml:5: the matcher cannot evaluate this rule (expand): field 'User' uses placeholder "
        "%Admins% (expand modifier) without a value; give its values in a placeholders file (--placeholders)"
    )


def test_one_broken_rule_does_not_stop_the_others() -> None:
    text = rule_text("sel: {A: 1}\ncondition: sel", title="Good") + "---\n" + rule_text(
        "sel: {A|expand: '%x%'}\ncondition: sel", title="Bad")
    matcher = Matcher.from_text(text)
    assert [rule.title for rule in matcher.rules] == ["Good"]
    assert len(matcher.errors) == 1
    assert [hit.rule_title for hit in matcher.match([{"A": 1}])] == ["Good"]


def test_load_errors_are_kept_with_the_matcher() -> None:
    matcher = Matcher.from_text("title: x\ndetection: [1\n", path="broken.yml")
    assert [str(e).split(":")[0] for e in matcher.errors] == ["broken.yml"]


# -- data sources ------------------------------------------------------------------------------------

SYSMON_EVENT = {
    "source": "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational",
    "EventCode": "1",
    "Image": "C:\\Windows\\System32\\diskshadow.exe",
    "CommandLine": "diskshadow.exe /s C:\\x.txt",
}


def _diskshadow(target: str | None) -> Matcher:
    matcher = Matcher.from_paths([DISKSHADOW], target=target)
    assert not matcher.errors and len(matcher.rules) == 1
    return matcher


def test_sysmon_pipeline_adds_its_base_search() -> None:
    matcher = _diskshadow("sysmon")
    assert [h.rule_title for h in matcher.match([SYSMON_EVENT])] == ["Windows Diskshadow Proxy Execution"]
    without_base = {k: v for k, v in SYSMON_EVENT.items() if k not in ("source", "EventCode")}
    assert list(matcher.match([without_base])) == []
    assert list(matcher.match([{**SYSMON_EVENT, "EventCode": 11}])) == []


def test_sigma_source_has_no_pipeline() -> None:
    without_base = {k: v for k, v in SYSMON_EVENT.items() if k not in ("source", "EventCode")}
    (hit,) = _diskshadow(None).match([without_base])
    assert hit.source == "sigma"
    assert hit.selections == ("process_diskshadow", "scripting_mode")


def test_security_4688_pipeline_maps_fields() -> None:
    event = {
        "source": "XmlWinEventLog:Security", "EventCode": 4688,
        "NewProcessName": "C:\\Windows\\System32\\diskshadow.exe", "CommandLine": "diskshadow -s x.txt",
    }
    (hit,) = _diskshadow("security_4688").match([event])
    assert hit.source == "security_4688"
    assert list(_diskshadow("security_4688").match([{**event, "CommandLine": "diskshadow"}])) == []


def test_crowdstrike_pipeline_maps_fields_and_base_search() -> None:
    event = {
        "sourcetype": "crowdstrike:events:sensor", "event_simpleName": "ProcessRollup2", "event_platform": "Win",
        "ImageFileName": "\\Device\\HarddiskVolume3\\Windows\\System32\\diskshadow.exe",
        "CommandLine": "diskshadow.exe /s script.txt",
    }
    assert len(list(_diskshadow("crowdstrike").match([event]))) == 1
    assert list(_diskshadow("crowdstrike").match([{**event, "event_simpleName": "DnsRequest"}])) == []


def test_cim_pipeline_uses_data_model_fields() -> None:
    event = {"Processes.process_name": "diskshadow.exe", "Processes.process": "diskshadow.exe -s x"}
    assert len(list(_diskshadow("cim").match([event]))) == 1


def test_out_of_scope_rule_is_skipped_not_failed() -> None:
    text = rule_text("sel: {A: 1}\ncondition: sel", logsource="{product: linux, category: process_creation}")
    matcher = Matcher.from_text(text, target="sysmon")
    assert matcher.errors == [] and matcher.rules == ()
    (skipped,) = matcher.skipped
    assert "not carried by Sysmon events" in skipped.reason


def test_unknown_target_is_a_usage_error() -> None:
    from sigmakit.errors import UsageError

    with pytest.raises(UsageError, match="did you mean 'sysmon'"):
        Matcher.from_text(rule_text("sel: {A: 1}\ncondition: sel"), target="sysmn")


def test_plain_mappings_and_events_both_accepted() -> None:
    from sigmakit.events import Event

    matcher = compiled("sel: {A: 1}\ncondition: sel")
    hits = list(matcher.match([Event({"A": 1}, "f.jsonl", 7), {"A": 1}]))
    assert [(h.event.file, h.event.line) for h in hits] == [("f.jsonl", 7), ("<events>", 2)]


def test_compiled_rule_exposes_required_literals() -> None:
    matcher = compiled("sel:\n  Image|endswith: ['\\cmd.exe', '\\pwsh.exe']\n  CommandLine|contains: 'x'\n"
                       "condition: sel")
    assert matcher.rules[0].literals == frozenset({"\\cmd.exe", "\\pwsh.exe"})
    assert compiled("sel: {A: 1}\ncondition: not sel").rules[0].literals is None


@pytest.mark.parametrize("event, expected", [({"A": "x", "B": "y"}, True), ({"A": "x"}, False)])
def test_matches_on_compiled_rule(event: dict[str, Any], expected: bool) -> None:
    rule = compiled("sel: {A: x, B: y}\ncondition: sel").rules[0]
    assert rule.matches(event) is expected


def test_base_search_is_tested_after_the_rules_own_tests() -> None:
    from sigmakit.matching import EventView

    read: list[str] = []

    class Recording(dict):  # type: ignore[type-arg]
        def __missing__(self, key: Any) -> tuple[Any, ...]:
            read.append(key[0] if isinstance(key, tuple) else key)
            return ()

    view = EventView({})
    view.text, view.numbers = Recording(), Recording()  # type: ignore[assignment]
    rule = _diskshadow("sysmon").rules[0]
    assert rule.detection.predicate(view) is False
    # Cheapest first (an exact name before a suffix); the rule rejected the event before
    # its base search (source, EventCode) was read.
    assert read == ["OriginalFileName", "Image"]


def test_required_literals_come_from_the_rule_not_the_base_search() -> None:
    (rule,) = _diskshadow("sysmon").rules
    # The most selective of the rule's own needs, not the Sysmon source every event holds.
    assert rule.literals == frozenset({"\\diskshadow.exe", "diskshadow.exe"})
