"""Property tests: compiled predicates agree with a plain reference interpretation of Sigma.

The reference below is written from the specification, independently of pySigma's
parser and of the matcher's shortcuts: it reads the rule text itself (escapes and
wildcards), folds case character by character and matches by dynamic programming.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from sigmakit.matching import EventView, Matcher
from sigmakit.matching.literals import might_match

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters that stress the matcher: case pairs, a character whose folding is longer
# ("ß" -> "ss"), a non-ASCII letter, wildcard and escape characters, separators.
RULE_TEXT = st.text(alphabet="aAbBsßé*?\\- ", max_size=8)
EVENT_TEXT = st.text(alphabet="aAbBsSßé*?\\- ", max_size=10)


def reference_tokens(value: str, cased: bool) -> list[tuple[str, str]]:
    """Sigma string value -> ("lit", char) / ("star", "") / ("one", "") tokens."""
    tokens: list[tuple[str, str]] = []
    index = 0
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value) and value[index + 1] in "*?\\":
            literal, index = value[index + 1], index + 2
        elif char in "*?":
            tokens.append(("star" if char == "*" else "one", ""))
            index += 1
            continue
        else:
            literal, index = char, index + 1
        tokens.extend(("lit", c) for c in (literal if cased else literal.casefold()))
    return tokens


def reference_match(tokens: list[tuple[str, str]], text: str) -> bool:
    @lru_cache(maxsize=None)
    def at(t: int, position: int) -> bool:
        if t == len(tokens):
            return position == len(text)
        kind, char = tokens[t]
        if kind == "star":
            return at(t + 1, position) or (position < len(text) and at(t, position + 1))
        if position == len(text):
            return False
        return (kind == "one" or text[position] == char) and at(t + 1, position + 1)

    return at(0, 0)


def reference_value(value: str, text: str, modifier: str | None, cased: bool) -> bool:
    tokens = reference_tokens(value, cased)
    star = [("star", "")]
    tokens = {None: tokens, "contains": star + tokens + star, "startswith": tokens + star,
              "endswith": star + tokens}[modifier]
    return reference_match(tokens, text if cased else text.casefold())


def compile_rule(detection: dict[str, Any]) -> Matcher:
    text = yaml.safe_dump({"title": "Property", "logsource": {"product": "test"},
                           "detection": {**detection, "condition": "sel"}}, allow_unicode=True)
    matcher = Matcher.from_text(text)
    assert not matcher.errors, [str(e) for e in matcher.errors]
    return matcher


def compiled_match(detection: dict[str, Any], event: dict[str, Any]) -> bool:
    matcher = compile_rule(detection)
    hit = bool(list(matcher.match([event])))
    # A literal prefilter built from the rule must never reject an event it matches.
    assert not hit or might_match(matcher.rules[0].literals, EventView(event))
    return hit


@SETTINGS
@given(value=RULE_TEXT, text=EVENT_TEXT, modifier=st.sampled_from([None, "contains", "startswith", "endswith"]),
       cased=st.booleans())
def test_string_values_match_like_the_reference(value: str, text: str, modifier: str | None, cased: bool) -> None:
    key = "F" + (f"|{modifier}" if modifier else "") + ("|cased" if cased else "")
    assert compiled_match({"sel": {key: value}}, {"F": text}) is reference_value(value, text, modifier, cased)


@SETTINGS
@given(values=st.lists(RULE_TEXT, min_size=1, max_size=4), text=EVENT_TEXT, every=st.booleans(),
       modifier=st.sampled_from([None, "contains", "endswith"]))
def test_value_lists_are_or_and_all_is_and(values: list[str], text: str, every: bool, modifier: str | None) -> None:
    key = "F" + (f"|{modifier}" if modifier else "") + ("|all" if every else "")
    assume(not every or len(values) > 1)  # the spec forbids 'all' on a single value
    results = [reference_value(v, text, modifier, False) for v in values]
    assert compiled_match({"sel": {key: values}}, {"F": text}) is (all(results) if every else any(results))


@SETTINGS
@given(value=RULE_TEXT, texts=st.lists(EVENT_TEXT, max_size=3), other=EVENT_TEXT)
def test_list_valued_fields_match_when_any_element_does(value: str, texts: list[str], other: str) -> None:
    expected = any(reference_value(value, t, None, False) for t in texts)
    assert compiled_match({"sel": {"F": value}}, {"F": texts, "G": other}) is expected


@SETTINGS
@given(value=RULE_TEXT, values=st.lists(EVENT_TEXT, max_size=3))
def test_keywords_search_every_value(value: str, values: list[str]) -> None:
    assume(value.strip("*"))
    event = {f"F{i}": v for i, v in enumerate(values)}
    expected = any(reference_value(value, v, "contains", False) for v in values)
    assert compiled_match({"sel": [value]}, event) is expected


NUMBERS = st.integers(min_value=-50, max_value=50)
EVENT_NUMBERS = st.one_of(NUMBERS, NUMBERS.map(str), NUMBERS.map(lambda n: f" {n} "),
                          st.floats(min_value=-50, max_value=50, allow_nan=False), st.sampled_from(["x", "", "1e", None]))


@SETTINGS
@given(bound=NUMBERS, value=EVENT_NUMBERS, op=st.sampled_from(["lt", "lte", "gt", "gte"]))
def test_numeric_comparisons_compare_numbers(bound: int, value: Any, op: str) -> None:
    try:
        number = float(value) if not isinstance(value, bool) and value is not None else None
    except ValueError:
        number = None
    compare = {"lt": float.__lt__, "lte": float.__le__, "gt": float.__gt__, "gte": float.__ge__}[op]
    expected = number is not None and compare(number, float(bound))
    assert compiled_match({"sel": {f"N|{op}": bound}}, {"N": value}) is expected


@SETTINGS
@given(rule=NUMBERS, value=EVENT_NUMBERS)
def test_numbers_equal_across_types(rule: int, value: Any) -> None:
    try:
        expected = value is not None and float(value) == rule
    except ValueError:
        expected = False
    assert compiled_match({"sel": {"N": rule}}, {"N": value}) is expected


# Small regexes over a small alphabet, with the flags Sigma allows, against Python's re.
REGEX_PIECES = st.sampled_from(["a", "b", ".", "a*", "b+", "[ab]", "^", "$", "\\n", "(a|b)", "a?", "A", "\\w", "\\d"])
REGEX_TEXT = st.text(alphabet="abAB1 \n", max_size=8)
# A final newline is where engines differ on "$" (PCRE and Python: it matches before it).
REGEX_TEXTS = st.one_of(REGEX_TEXT, REGEX_TEXT.map(lambda text: text + "\n"))


@SETTINGS
@given(pieces=st.lists(REGEX_PIECES, min_size=1, max_size=5), text=REGEX_TEXTS,
       flags=st.sets(st.sampled_from(["i", "m", "s"])))
@example(pieces=["a", "$"], text="a\n", flags=set())
def test_regexes_search_like_python_re(pieces: list[str], text: str, flags: set[str]) -> None:
    pattern = "".join(pieces)
    python_flags = 0
    for flag in flags:
        python_flags |= {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}[flag]
    expected = re.search(pattern, text, python_flags) is not None
    key = "F|re" + "".join(f"|{flag}" for flag in sorted(flags))
    assert compiled_match({"sel": {key: pattern}}, {"F": text}) is expected
