"""Hostile rule text cannot change the structure of the .conf files or of the searches.

Hypothesis writes rules whose title, description, analytic story and detection values
hold newlines, brackets, quotes, backslashes (trailing too), backticks, ``$`` and pipes.
Every generated file must read back, with Splunk's parser library, as exactly the stanzas
and keys written; every search must have the same commands and macro calls as the same
rule with harmless text.
"""

from __future__ import annotations

import json

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigmakit.conversion import Status
from sigmakit.output.app import plan_app
from sigmakit.output.conf import library_reading, read_conf, single_line, verify_conf
from sigmakit.output.macros import macro_calls
from sigmakit.rules import load_rule_text

HOSTILE_TEXT = st.lists(
    st.sampled_from(list("\n\r\t[]\"'\\`$|;# =%()a") + ["\u2028", "rem ", "é", " \\"]), min_size=1, max_size=25,
).map("".join)


def hostile_rule(title: str, description: str, story: str, value: str, message: str) -> str:
    rule = {
        "title": f"T{title}",
        "id": "44444444-4444-4444-4444-444444444444",
        "description": description,
        "logsource": {"category": "process_creation", "product": "windows"},
        "detection": {
            "named": {"Image|endswith": "\\x.exe", "CommandLine|contains": value},
            "other": {"CommandLine|contains": ["-s", value]},
            "condition": "named and other",
        },
        "splunk_es": {
            "type": "TTP", "impact": 60, "confidence": 80,
            "risk_message": f"{message} on $dest$ by $user$",
            "risk_objects": [{"field": "dest", "type": "system"}],
            "analytic_stories": [f"S{story}"],
            "macros": {"named_selection": "named"},
        },
    }
    return yaml.safe_dump(rule, allow_unicode=True)


def outside_quotes(spl: str) -> str:
    """The SPL text with every double-quoted string removed (backslash escapes honoured)."""
    kept, in_string, index = [], False, 0
    while index < len(spl):
        char = spl[index]
        if in_string and char == "\\":
            index += 2
            continue
        if char == '"':
            in_string = not in_string
        elif not in_string:
            kept.append(char)
        index += 1
    assert not in_string, f"unbalanced quotes in {spl!r}"
    return "".join(kept)


def structure(spl: str, filter_macro: str = "") -> tuple[list[str], int, int]:
    """What hostile text must not change: macro calls (the rule's own filter macro as
    ``FILTER``, its name follows the title), pipes and subsearch brackets. The post-filter
    sigmakit adds when a value holds text no search term can (a newline, say) is its own
    command line, ``| where ...``, and not part of the structure compared."""
    spl = "\n".join(line for line in spl.split("\n") if not line.startswith("| where "))
    bare = outside_quotes(spl)
    calls = ["FILTER" if call == filter_macro else call for call in macro_calls(spl)]
    return calls, bare.count("|"), bare.count("[")


def _plan(text: str):
    rules = load_rule_text(text, "hostile.yml")
    assert not rules.errors, rules.errors
    return plan_app(rules)


BENIGN = _plan(hostile_rule("x", "x", "x", "x", "x"))
BENIGN_STRUCTURE = {s.result.target: structure(s.query, s.rule.filter_macro) for s in BENIGN.searches}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT.map(lambda t: t.replace("$", "")))
def test_hostile_metadata_cannot_change_structure(
    title: str, description: str, story: str, value: str, message: str
) -> None:
    plan = _plan(hostile_rule(title, description, story, value, message))
    built = [r for r in plan.results if r.status is Status.CONVERTED]
    for result in plan.results:  # a pair is built, or refused because its search cannot be written
        assert result.status is Status.CONVERTED or "search" in (result.error or "") or "macro" in (result.error or "")
    texts = {name: conf.render() for name, conf in plan.files.items()}
    for name, conf in plan.files.items():
        verify_conf(conf, texts[name])  # exactly the stanzas and keys written
    saved = read_conf(texts["default/savedsearches.conf"])
    assert list(saved) == [s.name for s in plan.searches] and len(saved) == len(built)
    macros = read_conf(texts["default/macros.conf"])
    for search in plan.searches:
        stanza = saved[search.name]
        assert structure(search.query, search.rule.filter_macro) == BENIGN_STRUCTURE[search.result.target]
        assert set(macro_calls(search.query)) <= set(macros)
        assert stanza["description"] == single_line(description)
        assert stanza["action.notable.param.rule_title"] == single_line(f"T{title}").replace("$", "$$")
        assert json.loads(stanza["action.correlationsearch.annotations"])["analytic_story"] == [f"S{story}"]
        if ";" not in search.query.partition("\n")[0]:
            assert stanza["search"] == search.query
    for name, definition in (m for s in plan.searches for m in s.result.macros.items()):
        # The parser library (not Splunk) ends a value at " ;"; conf.py models that reading.
        assert macros[name]["definition"] == library_reading(definition)
        assert structure(definition) == ([], 0, 0)
