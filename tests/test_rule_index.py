"""The rule index: requirements found in rules, candidates never missing a match, and
hits identical with and without the index (corpus rules on synthetic Sysmon events)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigmakit.events import EventReader, ReadLog
from sigmakit.events.json_records import fields_from_object
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


def exclusion_of(detection: str, target: str | None = None) -> set[tuple[str | None, str, str]]:
    text = ("title: T\nlogsource: {category: process_creation, product: windows}\ndetection:\n"
            + "".join(f"  {line}\n" for line in detection.strip().splitlines()))
    matcher = Matcher.from_text(text, target)
    assert not matcher.errors, matcher.errors
    return {(a.field, a.kind.value, a.text) for a in matcher.rules[0].detection.exclusion}


def test_diskshadow_requires_its_image_and_one_of_its_switches() -> None:
    rule = Matcher.from_paths([DISKSHADOW], "sysmon").rules[0]
    found = {frozenset((a.field, a.kind.value, a.text) for a in clause) for clause in rule.detection.requirement}
    # The base search (source, EventCode) is left out: every Sysmon event holds it.
    assert found == {
        frozenset({("Image", "suffix", "\\diskshadow.exe"), ("OriginalFileName", "exact", "diskshadow.exe")}),
        frozenset({("CommandLine", "contains", "-s"), ("CommandLine", "contains", "/s")}),
    }


def test_a_case_insensitive_regex_requires_no_text_across_the_letters_i() -> None:
    # 'I' may find 'ı' (regex package): the strongest piece between them is required
    assert requirement_of("sel: {CommandLine|re|i: 'MIMIKATZ'}\ncondition: sel") == {
        frozenset({("CommandLine", "contains", "katz")})}
    assert requirement_of("sel: {CommandLine|re: 'x(?i:DIRS)'}\ncondition: sel") == {
        frozenset({("CommandLine", "contains", "x")}), frozenset({("CommandLine", "contains", "rs")})}
    assert requirement_of("sel: {CommandLine|re|i: 'ii+'}\ncondition: sel") == set()
    assert requirement_of("sel: {CommandLine|re: 'MIMIKATZ'}\ncondition: sel") == {
        frozenset({("CommandLine", "contains", "mimikatz")})}


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


def test_exclusions_take_only_values_the_matcher_decides_with_one_folded_comparison() -> None:
    found = exclusion_of("sel: {Image|endswith: ['.EXE', '.Com'], OriginalFileName: 'Cmd.Exe'}\n"
                         "f1: {Image|startswith: 'C:\\Program Files\\'}\nf2: {Image|contains: '\\'}\n"
                         "condition: not sel and not 1 of f*")
    # sel is an AND of two fields: no single atom makes it true.
    assert found == {("Image", "prefix", "c:\\program files\\"), ("Image", "contains", "\\")}
    assert exclusion_of("sel: {Image|endswith: ['.EXE', '.Com']}\ncondition: not sel") == {
        ("Image", "suffix", ".exe"), ("Image", "suffix", ".com")}
    assert exclusion_of("sel: {Image: 'Straße'}\ncondition: not sel") == {("Image", "exact", "strasse")}
    # Not sufficient: inner wildcards, '?', regexes, cased and base64 values, numbers,
    # null, field references, keywords, an empty value.
    for value in ("{Image: 'C:\\\\*.exe'}", "{Image: 'C:*.exe'}", "{Image: 'a*b*c'}", "{Image|endswith: 'wsl?.exe'}",
                  "{Image|re: 'abc'}", "{Image|cased: 'Abc'}", "{Image|startswith|cased: 'Abc'}",
                  "{Image|base64: 'abc'}", "{Image|base64offset|contains: 'abc'}", "{ProcessId: 4}",
                  "{Image: null}", "{Image|fieldref: ParentImage}", "['evil']", "{Image: ''}",
                  "{Image|contains: ''}", "{Image|gt: 3}", "{Image|cidr: '10.0.0.0/8'}", "{Image|exists: true}"):
        assert exclusion_of(f"sel: {value}\ncondition: not sel") == set(), value


def test_exclusions_through_and_or_and_double_negation() -> None:
    parts = "a: {Image|endswith: '.a'}\nb: {Image|endswith: '.b'}\nc: {Image|endswith: '.c'}\n"
    assert exclusion_of(parts + "condition: not a or not b") == set()
    assert exclusion_of(parts + "condition: (not a and not c) or (not b and not c)") == {("Image", "suffix", ".c")}
    assert exclusion_of(parts + "condition: not (a or b)") == {("Image", "suffix", ".a"), ("Image", "suffix", ".b")}
    assert exclusion_of(parts + "condition: not (a and b)") == set()
    assert exclusion_of(parts + "condition: not (a and not b)") == set()
    assert exclusion_of(parts + "condition: not (a or not (b or c))") == {("Image", "suffix", ".a")}
    assert exclusion_of(parts + "condition: a and not b") == {("Image", "suffix", ".b")}


def test_a_rule_with_an_exclusion_is_a_candidate_unless_one_of_its_atoms_holds() -> None:
    atom = Atom("Image", Kind.SUFFIX, ".exe")
    index = RuleIndex([(), (), (frozenset({Atom("Image", Kind.SUFFIX, "\\a.exe")}),)],
                      [frozenset({atom}), frozenset(), frozenset({Atom("Image", Kind.PREFIX, "c:\\windows\\")})])
    assert index.always == (1,)  # rule 2 keeps its positive trigger, and its exclusion
    session = index.session(calibration=0)
    assert session.candidates({"Image": "C:\\b.EXE"}) == {1}
    # rule 2: its trigger holds, its exclusion does not (and then does)
    assert session.candidates({"Image": "D:\\a.exe"}) == {1, 2}
    assert session.candidates({"Image": "C:\\Windows\\a.exe"}) == {1}
    for fields in ({}, {"Image": None}, {"Image": "C:\\b.dll"}, {"Image": 5}, {"Image": []},
                   {"Image": {"x": "a.exe"}}, {"Image": ["a.dll", None]}):
        assert session.candidates(fields) == {0, 1}, fields
    assert session.candidates({"Image": ["a.dll", ["b.exe"]]}) == {1}
    assert session.summary().excluding == 1  # one negative trigger


def test_the_screen_keeps_an_object_only_for_a_rule_not_certainly_excluded() -> None:
    trigger = (frozenset({Atom("Image", Kind.SUFFIX, "\\svchost.exe")}),)
    filter_ = frozenset({Atom("Image", Kind.PREFIX, "c:\\windows\\system32\\")})
    session = RuleIndex([trigger], [filter_]).session(calibration=0)
    assert session.screen({"Image": "C:\\Temp\\svchost.exe"})
    assert not session.screen({"Image": "C:\\Windows\\System32\\svchost.exe"})
    assert not session.screen({"Image": "C:\\Temp\\cmd.exe"})
    # a list: its texts trigger, but never exclude
    assert session.screen({"Image": ["C:\\Windows\\System32\\svchost.exe"]})
    # the same trigger on a second rule without exclusion keeps the object
    both = RuleIndex([trigger, trigger], [filter_, frozenset()]).session(calibration=0)
    assert both.screen({"Image": "C:\\Windows\\System32\\svchost.exe"})
    assert both.candidates({"Image": "C:\\Windows\\System32\\svchost.exe"}) == {1}


def test_marks_in_a_value_or_an_atom_never_fake_an_atom() -> None:
    atoms = [Atom("F", Kind.PREFIX, "ab"), Atom("F", Kind.SUFFIX, "yz"), Atom("F", Kind.CONTAINS, "\x02q"),
             Atom("F", Kind.PREFIX, "r\x03"), Atom("F", Kind.SUFFIX, "\x02s")]
    index = RuleIndex([()] * len(atoms), [frozenset({atom}) for atom in atoms])
    session = index.session(calibration=0)
    everyone = set(range(len(atoms)))
    for value, holding in (("ab", {0}), ("x\x02ab", set()), ("yz\x03x", set()), ("abyz", {0, 1}),
                           ("q", set()), ("\x02q", {2}), ("r", set()), ("r\x03", {3}), ("\x02sr\x03", set()),
                           ("a\x02s", {4})):
        assert session.candidates({"F": value}) == everyone - holding, repr(value)


def test_the_screen_excludes_only_by_text_values_the_rules_see() -> None:
    host, image = Atom("host", Kind.EXACT, "pc"), Atom("Image", Kind.EXACT, "unknown")
    index = RuleIndex([(), ()], [frozenset({host}), frozenset({image, Atom("Image", Kind.EXACT, "5")})],
                      hidden={"Image": "unknown"})
    session = index.session(calibration=0)
    # Index-time fields may be added or kept differently by the reader; a stand-in is
    # hidden from the rules, and numbers become text later.
    for document in ({"host": "pc", "Image": "unknown"}, {"host": "pc", "Image": 5}, {"host": "pc"},
                     {"Image": "Unknown", "host": 5}):
        assert session.screen(document), document
    assert session.candidates({"host": "pc", "Image": "unknown"}) == set()  # fields as the rules see them
    plain = RuleIndex([()], [frozenset({image})]).session(calibration=0)
    assert not plain.screen({"Image": "UNKNOWN"})
    assert plain.screen({"Image": ["unknown"]}) and plain.screen({"Image": None}) and plain.screen({})


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


NEGATED_VALUES = st.text(alphabet="aAbB\\.-*?ßİﬃΣς\u212a\x02\x03", max_size=5)
NEGATED_MODIFIERS = st.sampled_from(["", "|contains", "|startswith", "|endswith", "|re", "|cased",
                                     "|startswith|cased", "|base64", "|contains|windash"])
NEGATED_TEXT = st.text(alphabet="aAbB\\.-ßsSİiı\u0307Σσςﬃfk\u212a\x02\x03", max_size=8)
NEGATED_VALUE = st.one_of(NEGATED_TEXT, st.integers(-2, 12), st.none(), st.booleans(), st.just("MISSING"),
                          st.lists(st.one_of(NEGATED_TEXT, st.integers(0, 9), st.none(),
                                             st.lists(NEGATED_TEXT, max_size=2)), max_size=3))
NEGATED_CONDITIONS = st.sampled_from([
    "not sel", "ref and not sel", "not sel and not other", "not (sel or other)", "not (sel and other)",
    "not sel or ref", "(not sel and not other) or (not sel and ref)", "not (ref or not sel)", "not (not sel)",
    # a trigger and an exclusion
    "other and not sel", "sel and not other", "(other or ref) and not sel", "other and not (sel and ref)",
    "(other and not sel) or (sel and not other)",
])


# Event texts made from a rule's values: cases changed, wildcards filled, text around.
VARIANTS = st.sampled_from([str.upper, str.lower, str.casefold, str.swapcase, lambda v: v, lambda v: "x" + v,
                            lambda v: v + "\\", lambda v: "\x02" + v.upper() + "\x03"])


def event_value(data: st.DataObject, values: list[str]) -> object:
    def variant(value: str) -> str:
        filled = value.replace("*", data.draw(st.sampled_from(["", "b", "*"]))).replace("?", "K")
        return data.draw(VARIANTS)(filled)  # type: ignore[no-any-return]

    made = st.sampled_from(values).map(variant)
    return data.draw(st.one_of(NEGATED_VALUE, made, st.lists(st.one_of(made, NEGATED_TEXT), max_size=3)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(VALUES, min_size=1, max_size=2), second=VALUES, modifier=MODIFIERS,
       condition=st.sampled_from(["sel and other", "sel and other and not third", "(sel or third) and other"]),
       repeats=st.lists(st.integers(1, 7), min_size=2, max_size=4), data=st.data())
def test_second_clauses_learnt_from_any_events_never_miss_a_matching_rule(
        values: list[str], second: str, modifier: str, condition: str, repeats: list[int],
        data: st.DataObject) -> None:
    rule_values = [v.replace("*", ".").replace("?", ".").replace("\\", "\\\\") for v in values] \
        if modifier == "|re" else values
    detection = {"sel": {f"Image{modifier}": rule_values}, "other": {"CommandLine|contains": [second, "zz"]},
                 "third": {"ParentImage|endswith": ["a", "b"]}, "condition": condition}
    text = yaml.safe_dump({"title": "S", "logsource": {"product": "test"}, "detection": detection})
    matcher = Matcher.from_text(text)
    if matcher.errors:
        return
    rule = matcher.rules[0]
    # Events made from the rule's values, each repeated, so that triggers reach
    # PAIR_AFTER and second clauses are learnt from them.
    def value(rule_texts: list[str]) -> object:  # often one of the rule's values as it is
        kind = data.draw(st.integers(0, 3))
        if kind < 2:
            return data.draw(st.sampled_from(rule_texts)).replace("*", "").replace("?", "K")
        return data.draw(EVENT_TEXT) if kind == 2 else event_value(data, rule_texts)

    events = [{"Image": value(values), "CommandLine": value([second, "zz"]), "ParentImage": value(["a", "b"])}
              for _ in repeats]
    calibration = [event for event, count in zip(events, repeats) for _ in range(count)]
    session = matcher.index.session(calibration=len(calibration))
    for event in calibration:
        session.candidates(event)
    for event in events:
        if rule.matches(event):
            assert 0 in session.candidates(event), event
            plain = not any(isinstance(value, (list, dict)) for value in event.values())
            assert not plain or session.screen(dict(event)), event


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(NEGATED_VALUES, min_size=1, max_size=2), second=NEGATED_VALUES, modifier=NEGATED_MODIFIERS,
       condition=NEGATED_CONDITIONS, data=st.data())
def test_negative_triggers_never_miss_a_matching_rule(values: list[str], second: str, modifier: str, condition: str,
                                                      data: st.DataObject) -> None:
    rule_values = [v.replace("*", ".").replace("?", ".").replace("\\", "\\\\") for v in values] \
        if modifier == "|re" else values
    detection = {"sel": {f"Image{modifier}": rule_values}, "other": {"CommandLine|endswith": [second, "zz"]},
                 "ref": {"Image|fieldref": "ParentImage"}, "condition": condition}
    text = yaml.safe_dump({"title": "N", "logsource": {"product": "test"}, "detection": detection})
    matcher = Matcher.from_text(text)
    if matcher.errors:
        return  # an invalid regular expression or base64 of an empty value
    image, parent = event_value(data, values), event_value(data, values)
    command = event_value(data, [second])
    document = {name: value for name, value in (("Image", image), ("CommandLine", command),
                                                ("ParentImage", parent)) if value != "MISSING"}
    # What the reader makes of the object: the object itself when it holds no list or
    # object (numbers stay numbers), else its flattened fields.
    plain = not any(isinstance(value, (list, dict)) for value in document.values())
    read = [document] if plain else [fields_from_object(document)]
    rule = matcher.rules[0]
    session = matcher.index.session(calibration=1)
    for _ in range(2):  # before and after calibration
        for fields in (document, *read):
            if rule.matches(fields):
                assert 0 in session.candidates(fields), fields
    if any(rule.matches(fields) for fields in read):
        assert session.screen(document)


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
    # Two rules made only of negations have negative triggers; a field reference is a
    # trigger; many rules have a trigger and an exclusion ("selection and not filter").
    index = corpus_sysmon.index
    assert index.always == ()
    assert sum(not index.rule_clauses[rule] for rule, _ in index.exclusions) == 2
    assert len(index.exclusions) == 213
    assert assert_same_hits(corpus_sysmon, generated_events(tmp_path, 2000)) == 248


@pytest.mark.corpus
def test_corpus_rules_same_hits_on_100k_events(corpus_sysmon: Matcher, tmp_path: Path) -> None:
    assert assert_same_hits(corpus_sysmon, generated_events(tmp_path, 100_000)) == 11812


def test_the_index_keeps_rules_without_requirement_for_every_event() -> None:
    index = RuleIndex([(), (frozenset({Atom("Image", Kind.SUFFIX, "\\a.exe")}),)])
    session = index.session(calibration=0)
    assert session.candidates({"Image": "C:\\b.exe"}) == {0}
    assert session.candidates({"Image": "C:\\A.EXE"}) == {0, 1}


# -- kinds of holes a review found: names the index must not confuse, values it cannot search --
def _sigma_rule(detection: str) -> Matcher:
    matcher = Matcher.from_text("title: H\nlogsource: {product: test}\ndetection:\n" + detection)
    assert not matcher.errors
    return matcher


def _lines(matcher: Matcher, events: list[dict[str, Any]], indexed: bool) -> list[int]:
    return [hit.event.line for hit in matcher.match(events, indexed=indexed)]


@pytest.mark.parametrize("detection, events, expected", [
    # a field named '*' is a field, not the keyword pseudo-field: its exclusion holds on it alone
    ("  sel:\n    '*': x\n  condition: not sel\n", [{"A": "x"}, {"A": "y"}], [1, 2]),
    # ... and an event's field named '*' does not stand for every value of the event
    ("  keywords:\n    - foo\n  condition: keywords\n", [{"*": "bar", "A": "foo"}, {"*": None, "A": "foo"}], [1, 2]),
    # a dotted name read through nested objects: the memo's flat key cannot tell them apart
    ("  sel:\n    a.b: x\n  filter:\n    c.d: z\n  condition: sel and not filter\n",
     [{"a": {"b": "x"}, "c": {"d": "z"}}, {"a": {"b": "x"}, "c": {"d": "w"}}], [2]),
    # a lone surrogate, which the automaton cannot take: the atoms are tested one by one
    ("  sel:\n    Image|endswith: .exe\n  condition: not sel\n", [{"Image": "\ud800x"}, {"Image": "a\ud800.exe"}], [1]),
    ("  sel:\n    Image|endswith: .exe\n  condition: sel\n", [{"Image": "\ud800x"}, {"Image": "a\ud800.EXE"}], [2]),
    # a case-insensitive regex on the backtracking engine (lookahead; '$' before a final
    # newline) takes 'I' for 'ı' and 'i' for 'İ', which casefold() keeps apart
    ("  sel:\n    CommandLine|re|i: 'MIMIKATZ(?!\\.txt)'\n  condition: sel\n",
     [{"CommandLine": "run mımıkatz now"}, {"CommandLine": "mimikatz.txt"}], [1]),
    ("  sel:\n    CommandLine|re|i: 'MIMIKATZ$'\n  condition: sel\n",
     [{"CommandLine": "run mımıkatz\n"}, {"CommandLine": "run MIMIKATZ"}], [1, 2]),
    ("  sel:\n    CommandLine|re: '(?i)mimikatz(?=!)'\n  condition: sel\n",
     [{"CommandLine": "MİMİKATZ!"}, {"CommandLine": "MİMİKATZ"}], [1]),
])
def test_indexed_hits_equal_unindexed_on_names_and_values_the_index_must_not_confuse(
        detection: str, events: list[dict[str, Any]], expected: list[int]) -> None:
    matcher = _sigma_rule(detection)
    assert _lines(matcher, events, indexed=False) == expected
    assert _lines(matcher, events, indexed=True) == expected


def test_a_field_named_star_through_the_reader_s_screen(tmp_path: Path) -> None:
    matcher = _sigma_rule("  sel:\n    '*': x\n  condition: not sel\n")
    path = tmp_path / "events.jsonl"
    path.write_text('{"A": "y"}\n{"A": "x"}\n{"A": "z"}\n')
    sources = SourceMatcher([])
    sources._compiled["sigma"] = matcher
    screened = [hit.event.line for batch in EventReader("auto", ReadLog(), keep=sources.keep).read_batches([path])
                for hit in sources.feed_batch(batch)]
    assert screened == [1, 2, 3]


def test_a_field_reference_is_a_trigger_tested_by_comparing_the_two_values() -> None:
    assert requirement_of("sel: {Image|fieldref: ParentImage}\ncondition: sel") == {
        frozenset({("Image", "same as", "ParentImage")})}
    assert requirement_of("sel: {Image|fieldref|endswith: ParentImage}\ncondition: sel") == set()
    matcher = _sigma_rule("  sel:\n    Image|fieldref: ParentImage\n  condition: sel\n")
    session = matcher.index.session(calibration=0)
    for fields, candidate in (({"Image": "C:\\A.exe", "ParentImage": "c:\\a.EXE"}, True),
                              ({"Image": "C:\\A.exe", "ParentImage": "C:\\B.exe"}, False),
                              ({"Image": "C:\\A.exe"}, False), ({"Image": None, "ParentImage": None}, False),
                              ({"Image": ["x", "C:\\A.exe"], "ParentImage": "c:\\a.exe"}, True),
                              ({"Image": 5, "ParentImage": "5"}, True), ({"Image": 5, "ParentImage": 6}, False)):
        assert (0 in session.candidates(fields)) is candidate, fields
        assert matcher.rules[0].matches(fields) is candidate, fields
        assert session.screen(fields) or not candidate, fields
    assert not session.screen({"Image": "a", "ParentImage": "b"})
    assert session.screen({"Image": ["a"], "ParentImage": "a"})


def test_a_frequent_trigger_gets_a_second_clause_learnt_from_the_calibration_events() -> None:
    image, command = Atom("Image", Kind.SUFFIX, "\\a.exe"), Atom("CommandLine", Kind.CONTAINS, "zz")
    index = RuleIndex([(frozenset({image}), frozenset({command}))])
    session = index.session(calibration=11)
    alone = {"Image": "C:\\a.exe", "CommandLine": "a.exe"}
    both = {"Image": "C:\\a.exe", "CommandLine": "a.exe zz"}
    assert session.candidates(alone) == {0}  # before calibration: the strongest clause alone
    for fields in [alone] * 4 + [{"Image": "C:\\b.exe", "CommandLine": "b.exe zz"}] * 6:
        session.candidates(fields)
    # Learnt: the image (5 events) is the trigger, the command line its second clause,
    # which never held with it.
    assert session.summary().calibrated and session.seconds[0] is not None
    assert session.candidates(alone) == set() and not session.screen(alone)
    assert session.candidates(both) == {0} and session.screen(both)
    assert session.candidates({"Image": "C:\\a.exe", "CommandLine": ["x", "zz"]}) == {0}


def _screened_lines(matcher: Matcher, path: Path) -> list[int]:
    """Hit lines the way sigmakit match finds them: the reader screens, the session feeds."""
    sources = SourceMatcher([])
    sources._compiled["sigma"] = matcher
    return [hit.event.line for batch in EventReader("auto", ReadLog(), keep=sources.keep).read_batches([path])
            for hit in sources.feed_batch(batch)]


def test_a_field_flattening_names_from_a_list_of_lists_is_not_read_from_the_object(tmp_path: Path) -> None:
    # "A{}" is the flattened name of a list inside the list of key "A": the screen cannot
    # read it from the parsed object as a key, so it keeps the object.
    matcher = _sigma_rule("  sel:\n    A{}: z\n  condition: sel\n")
    path = tmp_path / "events.jsonl"
    path.write_text("".join('{"A": "a", "B": "b"}\n' for _ in range(1100)) + '{"A": [["z"]], "B": "b"}\n')
    unindexed = [hit.event.line for hit in matcher.match(EventReader("auto").read([path]), indexed=False)]
    assert unindexed == [1101]
    assert _screened_lines(matcher, path) == [1101]


def test_a_library_caller_may_change_an_object_after_the_screen() -> None:
    # Only the reader's keep asks the screen to remember its candidates; a caller of
    # MatchSession.screen may still change the object before feeding it.
    matcher = Matcher.from_text("title: Evil image\nlogsource: {product: test}\ndetection:\n"
                                "  sel: {Image|endswith: '\\evil.exe'}\n  condition: sel\n---\n"
                                "title: Admin user\nlogsource: {product: test}\ndetection:\n"
                                "  sel: {User: admin}\n  condition: sel\n")
    session = matcher.session()
    for _ in range(1000):  # past calibration, so that the screen is on
        session.feed({"Image": "C:\\ok.exe", "User": "bob"})
    document = {"Image": "C:\\x\\evil.exe", "User": "bob"}
    assert session.screen(document)
    document["User"] = "admin"
    assert [hit.rule_title for hit in session.feed(document)] == ["Evil image", "Admin user"]


# -- the screen's fast path (bits, value classes) gives in_document's answer exactly ------------------
SCREEN_TEXT = st.sampled_from(["C:\\w\\a.exe", "c:\\W\\A.EXE", "C:\\t\\a.exe", "a -x b", "-X", "b", "p", "P",
                               "pc", "unknown", "Unknown", "", "ß", "SS", "\x02p"])
# Mostly texts, so that most objects take the fast path (every field a text).
SCREEN_VALUE = st.one_of(*[SCREEN_TEXT] * 30, st.integers(0, 3), st.none(), st.just("MISSING"),
                         st.lists(SCREEN_TEXT, max_size=2))


# Objects every field of which is a text: each rule's case, a stand-in, an index-time field.
SCREEN_CASES = [
    {"Image": "C:\\t\\a.exe", "CommandLine": "a -x", "ParentImage": "q", "User": "u", "host": "h"},
    {"Image": "C:\\w\\a.exe", "CommandLine": "b", "ParentImage": "q", "User": "u", "host": "h"},
    {"Image": "x", "CommandLine": "z", "ParentImage": "y", "User": "unknown", "host": "h"},
    {"Image": "x", "CommandLine": "z", "ParentImage": "y", "User": "pc", "host": "pc"},
    {"Image": "p", "CommandLine": "z", "ParentImage": "P", "User": "u", "host": "h"},
    {"Image": "p", "CommandLine": "z", "ParentImage": "P", "User": "u", "host": "pc"},
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents=st.lists(st.fixed_dictionaries({name: SCREEN_VALUE for name in
                                                  ("Image", "CommandLine", "ParentImage", "User", "host")}),
                          min_size=1, max_size=6),
       hidden=st.booleans(), paired=st.booleans())
def test_the_bit_screen_gives_what_in_document_gives(documents: list[dict[str, Any]], hidden: bool,
                                                     paired: bool) -> None:
    image, command = Atom("Image", Kind.SUFFIX, "\\a.exe"), Atom("CommandLine", Kind.CONTAINS, "-x")
    requirements = [
        (frozenset({image}), frozenset({command})),                  # 0: a trigger, maybe a second clause
        (frozenset({Atom("CommandLine", Kind.CONTAINS, "b")}),),     # 1: excluded by an image path
        (),                                                          # 2: a negative trigger
        (frozenset({Atom("Image", Kind.SAME_AS, "ParentImage")}),),  # 3: a field reference
        (frozenset({Atom("ParentImage", Kind.EXACT, "p"), Atom("User", Kind.PREFIX, "ss")}),),  # 4
    ]
    exclusions = [frozenset(), frozenset({Atom("Image", Kind.PREFIX, "c:\\w\\")}),
                  frozenset({Atom("User", Kind.EXACT, "unknown"), Atom("ParentImage", Kind.EXACT, "pc")}),
                  frozenset({Atom("User", Kind.EXACT, "pc"), Atom("host", Kind.EXACT, "pc")}), frozenset()]
    index = RuleIndex(requirements, exclusions, hidden={"User": "unknown"} if hidden else None)
    triggers = [clauses[0] if clauses else None for clauses in index.rule_clauses]
    seconds = [index.rule_clauses[0][1] if paired else None, None, None, None, None]
    lookup, _ = index.triggers_lookup(triggers, seconds)
    assert len(lookup.relations) == 1 and len(lookup.paired) == paired
    screen = lookup.bit_screen()
    for document in [*SCREEN_CASES, *documents] * 2:  # again: from the caches
        document = {name: value for name, value in document.items() if value != "MISSING"}
        expected = lookup.in_document(document)
        bits = screen(document)
        assert (None if bits is None else screen.ids(bits)) == expected, document
