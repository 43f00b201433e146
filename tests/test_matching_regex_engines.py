"""The matcher's two regex engines (matching/regex.py) give the same answers: the regex
package, used where RE2 refuses a pattern or for PCRE's ``$`` before a final newline,
reads ``\\d \\w \\s \\b`` as RE2 and PCRE do, as ASCII classes."""

from __future__ import annotations

import re2
import regex
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sigmakit.matching import Matcher
from sigmakit.matching.regex import ascii_classes

# Characters where Unicode and ASCII readings, or case folding, differ. The Turkish i
# (ı, İ) is left out: the engines differ on it under case-insensitivity (limitations.md).
TRICKY = ["a", "Z", "_", "0", "9", " ", "\t", "\n", "\x0b", "é", "É", "K", "\u212a", "s", "\u017f", "ß",
          "\u1e9e", "σ", "ς", "\u0663", "\u00a0", "\u2028", "-", "."]
TOKENS = [*(regex.escape(c) for c in TRICKY), r"\d", r"\D", r"\w", r"\W", r"\s", r"\S", r"\b", r"\B",
          r"[\d_]", r"[^\w]", r"[\sé]", r"[^\d\s]", ".", "+", "*", "?"]


@settings(max_examples=400, deadline=None)
@given(prefix=st.sampled_from(["", "(?i)", "(?s)"]), tokens=st.lists(st.sampled_from(TOKENS), min_size=1, max_size=6),
       text=st.text(alphabet=TRICKY, max_size=12))
def test_the_regex_package_reads_shorthand_classes_as_re2_does(prefix: str, tokens: list[str], text: str) -> None:
    pattern = prefix + "".join(tokens)
    # RE2 works on UTF-8 bytes and finds \B between the two bytes of a character such as
    # U+00A0: a quirk of RE2's, not PCRE's meaning, so not one to copy.
    assume(not ("\\B" in pattern and not text.isascii()))
    try:
        expected = re2.search(pattern, text) is not None
    except re2.error:  # a quantifier after nothing, say: not a pattern to compare
        return
    assert (regex.search(ascii_classes(pattern), text, flags=regex.VERSION0) is not None) == expected, pattern


def test_escaped_backslashes_posix_classes_and_class_edges_are_kept() -> None:
    assert ascii_classes(r"\\d") == r"\\d"
    assert ascii_classes(r"[]\d]") == "[]0-9]"
    assert ascii_classes(r"[^]\s]") == "[^]\\t\\n\\f\\r ]"
    assert ascii_classes(r"[\W]") == r"[\W]"
    assert ascii_classes(r"[[:alpha:]]\d") == r"[[:alpha:]]\d"
    # a '-' after a class spelt out inside a class stays a character, not a range
    assert ascii_classes(r"[\s-x]") == "[\\t\\n\\f\\r \\-x]"
    assert regex.search(ascii_classes(r"^[\w-.]+$"), "a-.") is not None
    assert regex.search(ascii_classes(r"^[\s-x]+$"), "ABC") is None
    # comments, where a '[' opens no class, are left as they are
    for pattern in [r"(?<=a)(?#[)\w", "(?x)a # one [digit\n\\w"]:
        assert ascii_classes(pattern) == pattern


def _lines(detection: str, values: list[str]) -> list[int]:
    """The lines of *values* the rule hits, the same with and without the rule index."""
    matcher = Matcher.from_text("title: R\nlogsource: {product: test}\ndetection:\n" + detection)
    assert not matcher.errors
    events = [{"CommandLine": value} for value in values]
    lines = [hit.event.line for hit in matcher.match(events)]
    assert lines == [hit.event.line for hit in matcher.match(events, indexed=False)]
    return lines


def test_a_rule_on_the_backtracking_engine_reads_word_and_digit_classes_as_ascii() -> None:
    # a lookahead: RE2 refuses it, so the regex package runs it
    assert _lines("  sel:\n    CommandLine|re: '^\\w+(?=\\.exe)'\n  condition: sel\n",
                  ["é.exe", "a.exe", "\u0663.exe"]) == [2]
    assert _lines("  sel:\n    CommandLine|re: '\\d(?=x)'\n  condition: sel\n", ["\u0663x", "3x"]) == [2]
    # '$' before a final newline: RE2 first, then the regex package
    assert _lines("  sel:\n    CommandLine|re: '^\\w$'\n  condition: sel\n", ["é\n", "e\n", "é"]) == [2]
