"""The .conf writer: what it refuses, how prose and JSON are made fit, and read-back."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmakit.errors import OutputError
from sigmakit.output.conf import (
    ConfFile,
    Stanza,
    check_value,
    conf_json,
    library_reading,
    read_conf,
    single_line,
    verify_conf,
)

# Characters the issue names as hostile, plus the ones the .conf format and its parser
# library treat specially, plus ordinary text.
HOSTILE = st.lists(
    st.sampled_from(list("\n\r\t[]\"'\\`$|;#*= :%(),ab1") + ["\u2028", "\x00", "\x85", "rem ", "é"]),
    max_size=40,
).map("".join)


def _one(key: str, value: str) -> ConfFile:
    return ConfFile("t.conf", (Stanza.of("s", {key: value, "after": "kept"}),))


def test_multi_line_value_is_continued_and_read_back_with_its_line_breaks() -> None:
    conf = _one("search", 'index=a "x ; y"\n| stats count\n| `m`')
    text = conf.render()
    assert text == '[s]\nsearch = index=a "x ; y"\\\n| stats count\\\n| `m`\nafter = kept\n'
    assert read_conf(text) == {"s": {"search": 'index=a "x\n| stats count\n| `m`', "after": "kept"}}
    verify_conf(conf, text)  # the library's reading of " ;" on the key line is modelled


@pytest.mark.parametrize("value,message", [
    ("a\\", "ends with a backslash"),
    ("a\nb\\", "line 2 of the value: ends with a backslash"),
    ("a\n#b", "starts like a comment"),
    ("a\n[b]", "starts like a comment or stanza"),
    ("a\nrem b", "starts like a comment"),
    ("a\n", "is empty"),
    (" a", "starts or ends with whitespace"),
    ("a\r\nb", "U+000D"),
    ("a\u2028b", "U+2028"),
])
def test_values_the_format_cannot_carry_are_refused(value: str, message: str) -> None:
    with pytest.raises(OutputError) as caught:
        _one("k", value).render()
    assert message in str(caught.value)


def test_stanza_names_and_keys_are_checked() -> None:
    with pytest.raises(OutputError, match="stanza name"):
        ConfFile("t.conf", (Stanza.of("a]b", {}),)).render()
    with pytest.raises(OutputError, match="written twice"):
        ConfFile("t.conf", (Stanza.of("a", {}), Stanza.of("a", {}))).render()
    with pytest.raises(OutputError, match="bad or repeated key"):
        ConfFile("t.conf", (Stanza.of("a", {"x = y": "1"}),)).render()


def test_single_line_keeps_words_and_defuses_the_format() -> None:
    assert single_line("Line one\n  line [two]; ok ; x\t$y$ C:\\Temp\\") == "Line one line [two]; ok; x $y$ C:\\Temp\\."
    assert single_line("a\x00b\u2028c") == "a b c"


def test_read_back_catches_a_value_that_swallows_the_next_line() -> None:
    conf = _one("k", "v")
    tampered = conf.render().replace("k = v", "k = v\\")
    with pytest.raises(OutputError, match=r"\[s\] reads back differently in after, k"):
        verify_conf(conf, tampered)


@settings(max_examples=300, deadline=None)
@given(HOSTILE)
def test_prose_and_json_always_round_trip_exactly(text: str) -> None:
    prose, data = single_line(text), conf_json({"name": text, "list": [text]})
    conf = ConfFile("t.conf", (Stanza.of(single_line(text.replace("[", "(").replace("]", ")")) or "x",
                                         {"prose": prose, "json": data, "after": "kept"}),))
    parsed = read_conf(conf.render())
    assert list(parsed.values()) == [{"prose": prose, "json": data, "after": "kept"}]
    assert json.loads(parsed.popitem()[1]["json"]) == {"name": text, "list": [text]}


@settings(max_examples=300, deadline=None)
@given(st.lists(HOSTILE, min_size=1, max_size=4).map("\n".join))
def test_any_value_is_either_refused_or_read_back_as_written(value: str) -> None:
    try:
        check_value(value, "k")
    except OutputError:
        return
    conf = _one("k", value)
    parsed = read_conf(conf.render())
    assert parsed == {"s": {"k": library_reading(value), "after": "kept"}}
    if ";" not in value.partition("\n")[0] and value != '""':
        assert parsed["s"]["k"] == value
