"""The search command on hand-written SPL with known answers."""

from __future__ import annotations

import pytest

from spl_helpers import M, N, U, outcome, verdicts
from sigmakit.verification.spl import Status

# --- precedence: NOT, then OR, then AND --------------------------------------------------


def test_or_binds_tighter_than_implicit_and() -> None:
    # A=1 B=2 OR C=3 means A=1 AND (B=2 OR C=3)
    spl = "A=1 B=2 OR C=3"
    assert verdicts(spl, {"A": "1", "C": "3"}, {"A": "1"}, {"B": "2", "C": "3"}, {"C": "3"}) == [M, N, N, N]


def test_or_binds_tighter_than_explicit_and() -> None:
    spl = "A=1 OR B=2 AND C=3"  # (A OR B) AND C
    assert verdicts(spl, {"A": "1"}, {"A": "1", "C": "3"}, {"B": "2", "C": "3"}) == [N, M, M]


def test_not_binds_to_the_next_term_only() -> None:
    # error NOT 403 OR 404 means error AND ((NOT 403) OR 404)
    spl = "error NOT 403 OR 404"
    raws = ["error 403", "error 404", "error 403 404", "error 500", "ok 500"]
    assert verdicts(spl, *({"_raw": r} for r in raws)) == [N, M, M, M, N]


def test_parentheses_override_precedence() -> None:
    spl = "(A=1 B=2) OR C=3"
    assert verdicts(spl, {"C": "3"}, {"A": "1", "B": "2"}, {"A": "1"}) == [M, M, N]


def test_lower_case_or_is_a_search_term() -> None:
    spl = "A=1 or B=2"  # A=1 AND "or" in _raw AND B=2
    assert verdicts(spl, {"A": "1", "_raw": "x"}, {"A": "1", "B": "2", "_raw": "this or that"}) == [N, M]


def test_not_of_a_group() -> None:
    spl = "A=1 NOT (B=2 OR C=3)"
    assert verdicts(spl, {"A": "1"}, {"A": "1", "B": "2"}, {"A": "1", "C": "4"}) == [M, N, M]


# --- field values: wildcards, case --------------------------------------------------------


def test_values_ignore_case_and_field_names_do_not() -> None:
    assert verdicts("Image=CMD.EXE", {"Image": "cmd.exe"}, {"image": "cmd.exe"}) == [M, N]


def test_a_value_matches_the_whole_field() -> None:
    assert verdicts("x=abc", {"x": "abc"}, {"x": "xabc"}, {"x": "abcd"}) == [M, N, N]


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*-s*", "diskshadow.exe -S x.txt", M),
        ("*-s*", "diskshadow.exe /s x.txt", N),
        ("diskshadow*", "DiskShadow.exe", M),
        ("*.exe", "a.exe", M),
        ("*.exe", "a.exe.bak", N),
        ("a*b*c", "aXXbYYc", M),
        ("a*b*c", "acb", N),
        ("a*c", "ac", M),
        ("*", "", M),
    ],
)
def test_wildcards(pattern: str, value: str, expected: str) -> None:
    assert verdicts(f'x="{pattern}"', {"x": value}) == [expected]


def test_star_alone_means_the_field_exists() -> None:
    assert verdicts("x=*", {"x": "a"}, {"y": "a"}, {"x": None}) == [M, N, N]


def test_numbers_in_records_compare_as_text() -> None:
    assert verdicts("EventCode=1", {"EventCode": 1}, {"EventCode": "1"}, {"EventCode": 11}) == [M, M, N]


# --- quoting and backslash escapes --------------------------------------------------------


def test_doubled_backslashes_are_one_backslash() -> None:
    spl = r'Image="C:\\Windows\\System32\\cmd.exe"'
    assert verdicts(spl, {"Image": "C:\\Windows\\System32\\cmd.exe"}) == [M]


def test_an_unknown_backslash_sequence_is_kept() -> None:
    # \W is no escape, so the value holds a backslash followed by W
    assert verdicts(r'Image="C:\Windows"', {"Image": "C:\\Windows"}, {"Image": "C:Windows"}) == [M, N]


def test_escaped_quote_and_pipe() -> None:
    assert verdicts(r'x="say \"hi\""', {"x": 'say "hi"'}) == [M]
    assert verdicts(r'x="a\|b"', {"x": "a|b"}) == [M]


def test_backslash_cannot_escape_the_asterisk() -> None:
    # "*\**": anything, a literal backslash, anything (the star stays a wildcard)
    assert verdicts(r'x="*\**"', {"x": "a\\b"}, {"x": "a*b"}) == [M, N]


def test_unquoted_values_take_escapes_too() -> None:
    assert verdicts(r"x=C:\\temp\\*", {"x": "c:\\TEMP\\a.txt"}) == [M]


def test_quoted_field_names() -> None:
    assert verdicts('"Process Name"=cmd.exe', {"Process Name": "CMD.exe"}) == [M]


# --- IN, CASE(), TERM(), CIDR, ordering ----------------------------------------------------


def test_in_list_with_wildcards_and_quotes() -> None:
    spl = 'x IN (a, "b c", d*)'
    assert verdicts(spl, {"x": "A"}, {"x": "b c"}, {"x": "dog"}, {"x": "e"}, {}) == [M, M, M, N, N]


def test_case_makes_a_value_case_sensitive() -> None:
    assert verdicts("x=CASE(ABC*)", {"x": "ABCD"}, {"x": "abcd"}) == [M, N]


def test_cidr_value() -> None:
    spl = 'ip="10.0.0.0/8"'
    assert verdicts(spl, {"ip": "10.1.2.3"}, {"ip": "11.0.0.1"}, {"ip": "host"}) == [M, N, N]


def test_numeric_ordering_when_both_sides_are_numbers() -> None:
    assert verdicts("n>5", {"n": "10"}, {"n": "3"}, {"n": "abc"}, {}) == [M, N, M, N]


# --- NOT and != on missing fields ----------------------------------------------------------


def test_not_equal_excludes_missing_fields_but_not_does_not() -> None:
    records = ({"x": "1"}, {"x": "2"}, {})
    assert verdicts("x!=1", *records) == [N, M, N]
    assert verdicts("NOT x=1", *records) == [N, M, M]


def test_field_not_equal_star_never_matches() -> None:
    assert verdicts("x!=*", {"x": "1"}, {}) == [N, N]
    assert verdicts("NOT x=*", {"x": "1"}, {}) == [N, M]


def test_multivalue_fields() -> None:
    record = {"x": ["a", "b"]}
    assert verdicts("x=b", record) == [M]
    assert verdicts("x!=c", record) == [M]
    assert verdicts("x!=a", record) == [U]  # one value matches, one does not: not settled


# --- bare terms over _raw --------------------------------------------------------------------


def test_bare_terms_match_indexed_terms_not_substrings() -> None:
    records = ({"_raw": "found Kryptik.A here"}, {"_raw": "found Krypt here"})
    assert verdicts("Krypt", *records) == [N, M]
    assert verdicts("Kryptik", *records) == [M, N]
    assert verdicts("krypt*", *records) == [M, M]
    assert verdicts("kryptik.a", *records) == [M, N]


def test_quoted_phrases() -> None:
    records = ({"_raw": "a web error b"}, {"_raw": "web, error"}, {"_raw": "webs error"})
    assert verdicts('"web error"', *records) == [M, N, N]
    assert verdicts("web error", *records) == [M, M, N]


def test_term_needs_major_breakers() -> None:
    records = ({"_raw": "src 10.0.0.1 port"}, {"_raw": "ip=10.0.0.1 port"})
    assert verdicts("TERM(10.0.0.1)", *records) == [M, N]
    assert verdicts("10.0.0.1", *records) == [M, M]


def test_star_matches_results_without_raw() -> None:
    assert verdicts("*", {"x": "1"}) == [M]
    assert verdicts("x=1 hello", {"x": "1"}) == [U]


# --- outside the subset, and invalid SPL ----------------------------------------------------


def test_subsearch_cannot_be_evaluated() -> None:
    result = outcome("x=1 [search y=2 | fields x]", {"x": "1"})
    assert result.status is Status.CANNOT_EVALUATE
    assert "subsearch" in (result.reason or "")


def test_unknown_command_cannot_be_evaluated() -> None:
    result = outcome("x=1 | dedup x", {"x": "1"})
    assert result.status is Status.CANNOT_EVALUATE
    assert result.reason == "the dedup command is outside the evaluator's subset (at offset 6)"


@pytest.mark.parametrize(
    ("spl", "message"),
    [
        ('x="abc', "unterminated quoted string (at offset 2)"),
        ("(x=1", "expected ')' closing the group, found end of input (at offset 4)"),
        ("x=1 )", "unexpected ')' in search expression (at offset 4)"),
        ("| rex field=x \"(?<a>.)\"", "a search starting with '|' must start with a generating command, not 'rex' (at offset 2)"),
        ("x=", "expected a value after x=, found end of input (at offset 2)"),
    ],
)
def test_malformed_spl_is_invalid(spl: str, message: str) -> None:
    result = outcome(spl, {"x": "1"})
    assert result.status is Status.INVALID
    assert result.reason == message


def test_or_groups_mixing_fields_and_multivalues() -> None:
    # Equalities on one field share one read of it; the result must not change.
    spl = 'x=a OR y=b OR x="c*" OR NOT z=1 OR x IN (d, CASE(E))'
    records = ({"x": ["q", "cat"], "z": "1"}, {"y": "B", "z": "1"}, {"z": "1"}, {}, {"x": "e", "z": "1"},
               {"x": "E", "z": "1"}, {"x": "D", "z": "1"})
    assert verdicts(spl, *records) == [M, M, N, M, N, M, M]
