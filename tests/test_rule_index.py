"""The rule index: requirements found in rules, candidates never missing a match, and
hits identical with and without the index (corpus rules on synthetic Sysmon events)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigmakit.events import EventReader, ReadLog
from sigmakit.matching import Matcher
from sigmakit.matching.index import RuleIndex
from sigmakit.matching.requirements import Atom, Kind, required_substrings
from sigmakit.rules import load_rules
from sigmakit.verification.source_matching import SourceMatcher

from conftest import DISKSHADOW, shared_path


def requirement_of(detection: str, target: str | None = None) -> set[frozenset[tuple[str | None, str, str]]]:
    text = ("title: T\nlogsource: {category: process_creation, product: windows}\ndetection:\n"
            + "".join(f"  {line}\n" for line in detection.strip().splitlines()))
    matcher = Matcher.from_text(text, target)
    assert not matcher.errors, matcher.errors
    return {frozenset((a.field, a.kind.value, a.text) for a in clause) for clause in matcher.rules[0].detection.requirement}


def test_diskshadow_requires_its_image_and_one_of_its_switches() -> None:
    rule = Matcher.from_paths([DISKSHADOW], "sysmon").rules[0]
    found = {frozenset((a.field, a.kind.value, a.text) for a in clause) for clause in rule.detection.requirement}
    # The base search (source, EventCode) is left out: every Sysmon event holds it.
    assert found == {
        frozenset({("Image", "suffix", "\\diskshadow.exe"), ("OriginalFileName", "exact", "diskshadow.exe")}),
        frozenset({("CommandLine", "contains", "-s"), ("CommandLine", "contains", "/s")}),
    }


def test_value_shapes_give_their_pieces() -> None:
    assert requirement_of("sel: {Image: 'C:*Tools*.EXE'}\ncondition: sel") == {
        frozenset({("Image", "prefix", "c:")}), frozenset({("Image", "suffix", ".exe")}),
        frozenset({("Image", "contains", "tools")}),
    }
    assert requirement_of("sel: {CommandLine: 'a?cd*'}\ncondition: sel") == {
        frozenset({("CommandLine", "contains", "a")}), frozenset({("CommandLine", "contains", "cd")}),
    }


def test_negations_and_numbers_require_nothing() -> None:
    assert requirement_of("sel: {Image|endswith: '.exe'}\ncondition: not sel") == set()
    assert requirement_of("sel: {ProcessId: 4}\ncondition: sel") == set()


def test_or_distributes_over_the_branches_clauses() -> None:
    found = requirement_of("a: {Image|endswith: '\\x.exe', CommandLine|contains: 'evil'}\n"
                           "b: {CommandLine|contains: 'bad'}\ncondition: a or b")
    assert found == {
        frozenset({("Image", "suffix", "\\x.exe"), ("CommandLine", "contains", "bad")}),
        frozenset({("CommandLine", "contains", "evil"), ("CommandLine", "contains", "bad")}),
    }


def test_regex_literals() -> None:
    assert required_substrings(r"ipconfig\s+/all") == (frozenset({"ipconfig"}), frozenset({"/all"}))
    assert required_substrings(r"(?i)a(bc|de)?f") == (frozenset({"a"}), frozenset({"f"}))
    assert required_substrings(r"x(abc|de)+") == (frozenset({"x"}), frozenset({"abc", "de"}))
    # A POSIX class is read differently by Python's parser: nothing is taken from it.
    assert required_substrings(r"[[:alpha:]]+evil") == ()
    assert required_substrings(r"a\Qb") == ()  # not Python syntax: nothing is required


# -- soundness: the index never leaves out a rule that matches ---------------------------------------
VALUES = st.text(alphabet="aAbBcC\\. -*?ß", max_size=6)
EVENT_TEXT = st.text(alphabet="aAbBcC\\. -ßs", max_size=12)
MODIFIERS = st.sampled_from(["", "|contains", "|startswith", "|endswith", "|re"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=VALUES, second=VALUES, modifier=MODIFIERS, negate=st.booleans(),
       image=EVENT_TEXT, command=st.one_of(EVENT_TEXT, st.integers(0, 99), st.none()))
def test_candidates_include_every_matching_rule(value: str, second: str, modifier: str, negate: bool,
                                                image: str, command: object) -> None:
    if modifier == "|re":
        value = value.replace("*", ".").replace("?", ".").replace("\\", "\\\\")
    detection = {"sel": {f"Image{modifier}": value}, "other": {"CommandLine|contains": [second, "zz"]},
                 "condition": "(sel and other)" if not negate else "sel and not other"}
    text = yaml.safe_dump({"title": "P", "logsource": {"product": "test"}, "detection": detection})
    matcher = Matcher.from_text(text)
    if matcher.errors:
        return  # an invalid regular expression
    event = {"Image": image, "CommandLine": command}
    session = matcher.index.session(calibration=1)
    for _ in range(2):  # before and after calibration
        candidates = session.candidates(event)
        if matcher.rules[0].matches(event):
            assert 0 in candidates
    if matcher.rules[0].matches(event):
        assert session.screen(event)


def test_memo_never_shares_an_answer_between_a_number_a_boolean_and_a_text() -> None:
    matcher = Matcher.from_text("title: M\nlogsource: {product: test}\ndetection:\n"
                                "  sel: {F|contains: '1'}\n  condition: sel\n")
    events = [{"F": 1}, {"F": True}, {"F": "1"}, {"F": 1}, {"F": True}, {"F": "true"}]
    assert [bool(list(matcher.match([e]))) for e in events] == [True, False, True, True, False, False]
    session = matcher.session()
    assert [len(session.feed(e)) for e in events] == [1, 0, 1, 1, 0, 0]


# -- identical hits with and without the index -----------------------------------------------------------
def generated_events(tmp_path: Path, count: int) -> Path:
    tool = shared_path("tools", "gen_sysmon_events.py")
    out = tmp_path / f"sysmon_{count}.jsonl"
    subprocess.run([sys.executable, str(tool), "--events", str(count), "--seed", "1337", "--out", str(out)],
                   check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def corpus_sysmon() -> Matcher:
    corpus = shared_path("corpus", "sigmahq")
    rules = load_rules(sorted(p for p in corpus.rglob("*.yml") if "process_creation" in p.parts))
    return Matcher.compile(rules, "sysmon")


def assert_same_hits(matcher: Matcher, path: Path) -> int:
    reference = [(hit.rule_id, hit.event.line, hit.selections)
                 for hit in matcher.match(EventReader("auto").read([path]), indexed=False)]
    # The indexed run goes the way sigmakit match goes: the reader screens objects with
    # the index, the session evaluates the candidates.
    sources = SourceMatcher([], sources=())
    sources._compiled["sysmon"] = matcher
    indexed = []
    for batch in EventReader("auto", ReadLog(), keep=sources.keep).read_batches([path]):
        indexed.extend((hit.rule_id, hit.event.line, hit.selections) for hit in sources.feed_batch(batch))
    assert indexed == reference
    return len(reference)


def test_corpus_rules_hit_the_same_events_with_and_without_the_index(corpus_sysmon: Matcher, tmp_path: Path) -> None:
    assert len(corpus_sysmon.rules) == 1241
    assert assert_same_hits(corpus_sysmon, generated_events(tmp_path, 2000)) == 248


@pytest.mark.corpus
def test_corpus_rules_same_hits_on_100k_events(corpus_sysmon: Matcher, tmp_path: Path) -> None:
    assert assert_same_hits(corpus_sysmon, generated_events(tmp_path, 100_000)) == 11812


def test_the_index_keeps_rules_without_requirement_for_every_event() -> None:
    index = RuleIndex([(), (frozenset({Atom("Image", Kind.SUFFIX, "\\a.exe")}),)])
    session = index.session(calibration=0)
    assert session.candidates({"Image": "C:\\b.exe"}) == {0}
    assert session.candidates({"Image": "C:\\A.EXE"}) == {0, 1}
