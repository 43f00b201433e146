"""SPL that means what the Sigma rule means: one group of cases per kind of fault.

Each kind: literal ``*`` and ``?`` wildcards, regular expressions in OR branches, under
``not`` and under tstats, ``cased``, field references, missing values in the data model,
field names with spaces, keywords, and parenthesised AND/OR. The last tests check the
two invariants everything rests on against independent oracles: the search term is a
superset of the Sigma pattern, and the post-filter's regex is exactly it.
"""

from __future__ import annotations

import re

import pytest
from sigma.types import SigmaString

from sigmakit.conversion import Status
from sigmakit.conversion.condition import Glob
from sigmakit.conversion.lowering import Lowering
from sigmakit.conversion.nulls import RAW_EVENTS
from sigmakit.conversion.search import approximate, search_value
from sigmakit.conversion.where import WhereRenderer

from conftest import convert_text, process_rule

SYSMON_1 = 'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1'
CIM_HEAD = (
    "| tstats `security_content_summariesonly` count min(_time) as firstTime max(_time) as lastTime "
    "from datamodel=Endpoint.Processes"
)
CIM_BY = (
    "by Processes.dest Processes.user Processes.parent_process Processes.process_name "
    "Processes.process Processes.process_id Processes.parent_process_id"
)


def lines(target: str, detection: str) -> list[str]:
    """The converted search's lines without the final filter macro line."""
    result = convert_text(process_rule(detection), target)
    assert result.status is Status.CONVERTED, result.error
    assert result.query is not None
    spl = result.query.splitlines()
    assert spl[-1] == "| `test_rule_filter`"
    return spl[:-1]


def cim_lines(detection: str) -> list[str]:
    """A cim search without the ES tail after the post-filter."""
    spl = lines("cim", detection)
    assert spl[-3:] == [
        "| `drop_dm_object_name(Processes)`",
        "| `security_content_ctime(firstTime)`",
        "| `security_content_ctime(lastTime)`",
    ]
    return spl[:-3]


def refusal(target: str, detection: str) -> str:
    result = convert_text(process_rule(detection), target)
    assert result.status is Status.REFUSED and result.query is None
    return result.error or ""


# -- wildcards the search command cannot express -------------------------------------------
WILDCARDS = [
    # Sigma value, search term, post-filter
    ("CommandLine|contains: 'a?b'", "CommandLine=*a*b*", 'match(CommandLine, "(?is)a.b")'),
    ("CommandLine: 'x\\*y'", "CommandLine=x*y", 'lower(CommandLine)=="x*y"'),
    ("CommandLine|endswith: ' \\*'", 'CommandLine="* *"', 'match(CommandLine, "(?i) \\\\*$")'),
    ("CommandLine|startswith: '??x'", "CommandLine=*x*", 'match(CommandLine, "(?is)^..x")'),
    ("CommandLine: 'C:\\Temp\\\\?.exe'", 'CommandLine="C:\\\\Temp\\\\*.exe"',
     'match(CommandLine, "(?is)^C:\\\\\\\\Temp\\\\\\\\.\\\\.exe$")'),
]


@pytest.mark.parametrize("value,search,where", WILDCARDS)
def test_unexpressible_wildcards_get_a_wide_term_and_an_exact_filter(value: str, search: str, where: str) -> None:
    assert lines("sysmon", f"sel:\n    {value}\ncondition: sel") == [f"{SYSMON_1} {search}", f"| where {where}"]


def test_escaped_question_mark_is_a_literal_search_needs_no_filter() -> None:
    assert lines("sysmon", "sel:\n    CommandLine: 'C:\\Temp\\?.exe'\ncondition: sel") == [
        f'{SYSMON_1} CommandLine="C:\\\\Temp?.exe"'
    ]


def test_literal_star_under_not_is_not_searched_and_filtered_exactly() -> None:
    # Widening under not would drop events the rule keeps: the search says nothing there.
    assert lines("sysmon", "sel:\n    Image|endswith: '\\x.exe'\nfilter:\n    CommandLine|contains: '/tn \\*'\n"
                 "condition: sel and not filter") == [
        f'{SYSMON_1} Image="*\\\\x.exe"',
        '| where (isnull(CommandLine) OR NOT match(CommandLine, "(?i)/tn \\\\*"))',
    ]


def test_control_characters_never_reach_a_search_string() -> None:
    assert lines("sysmon", "sel:\n    CommandLine|contains: \"line1\\nline2\"\n    Product: \"tab\\there\"\n"
                 "condition: sel") == [
        f"{SYSMON_1} CommandLine=*line1*line2* Product=tab*here",
        '| where match(CommandLine, "(?i)line1\\\\nline2") AND match(Product, "(?i)^tab\\\\there$")',
    ]


# -- regular expressions ---------------------------------------------------------------------
def test_regex_inside_or_keeps_the_or() -> None:
    assert lines("sysmon", "a:\n    Image|endswith: '\\a.exe'\nb:\n    CommandLine|re: 'b'\n"
                 "c:\n    ParentImage|endswith: '\\c.exe'\nd:\n    CommandLine|contains: 'd'\n"
                 "condition: (a and b) or (c and d)") == [
        f'{SYSMON_1} (Image="*\\\\a.exe" OR (ParentImage="*\\\\c.exe" CommandLine=*d*))',
        ('| where (match(Image, "(?i)\\\\\\\\a\\\\.exe$") AND match(CommandLine, "b")) OR '
        '(match(ParentImage, "(?i)\\\\\\\\c\\\\.exe$") AND match(CommandLine, "(?i)d"))'),
    ]


def test_negated_regex_holds_for_a_missing_field() -> None:
    assert lines("sysmon", "sel:\n    Image|endswith: '\\x.exe'\nfilter:\n    CommandLine|re: '^-\\w+'\n"
                 "condition: sel and not filter") == [
        f'{SYSMON_1} Image="*\\\\x.exe"',
        '| where (isnull(CommandLine) OR NOT match(CommandLine, "^-\\\\w+"))',
    ]


def test_regex_flags_become_inline_flags() -> None:
    assert lines("sysmon", "sel:\n    CommandLine|re|i: 'abc'\nsel2:\n    CommandLine|re|s|m: 'a.b'\n"
                 "condition: sel or sel2") == [
        SYSMON_1, '| where match(CommandLine, "(?i)abc") OR match(CommandLine, "(?ms)a.b")',
    ]


def test_regex_under_tstats_runs_on_the_rows_with_its_field_as_a_by_field() -> None:
    assert cim_lines("sel:\n    Image|endswith: '\\x.exe'\nsel2:\n    CurrentDirectory|re: 'Temp'\n"
                     "condition: sel and sel2") == [
        f"{CIM_HEAD} where Processes.process_name=x.exe {CIM_BY} Processes.process_current_directory",
        "| where match('Processes.process_current_directory', \"Temp\")",
    ]


def test_regex_alone_under_tstats_has_no_where_clause() -> None:
    assert cim_lines("sel:\n    CommandLine|re: 'a.b'\ncondition: sel") == [
        f"{CIM_HEAD} {CIM_BY}", "| where match('Processes.process', \"a.b\")",
    ]


# -- cased -------------------------------------------------------------------------------------
def test_cased_strings_are_searched_case_insensitively_then_compared_exactly() -> None:
    assert lines("sysmon", "sel:\n    CommandLine|cased: 'RunMe'\ncondition: sel") == [
        f"{SYSMON_1} CommandLine=RunMe", '| where CommandLine=="RunMe"',
    ]
    assert lines("sysmon", "sel:\n    Image|endswith: '\\x.exe'\nfilter:\n    CommandLine|cased|contains: 'ABC'\n"
                 "condition: sel and not filter") == [
        f'{SYSMON_1} Image="*\\\\x.exe"', '| where (isnull(CommandLine) OR NOT match(CommandLine, "ABC"))',
    ]


# -- field references ---------------------------------------------------------------------------
def test_or_ed_field_references_in_every_form() -> None:
    assert lines("sysmon", "sel:\n    Image|fieldref: ParentImage\nsel2:\n    CommandLine|fieldref|startswith: "
                 "ParentCommandLine\nsel3:\n    User|fieldref|endswith: ParentUser\ncondition: sel or sel2 or sel3") == [
        SYSMON_1,
        ("| where lower(Image)==lower(ParentImage) OR "
        "substr(lower(CommandLine), 1, len(ParentCommandLine))==lower(ParentCommandLine) OR "
        "(len(User)>=len(ParentUser) AND substr(lower(User), len(User)-len(ParentUser)+1)==lower(ParentUser))"),
    ]


def test_negated_field_reference_holds_when_either_field_is_missing() -> None:
    assert lines("sysmon", "sel:\n    Image|endswith: '\\x.exe'\nfilter:\n    User|fieldref: ParentUser\n"
                 "condition: sel and not filter")[1] == (
        "| where (isnull(User) OR isnull(ParentUser) OR lower(User)!=lower(ParentUser))"
    )


def test_field_reference_contains_is_refused_with_its_reason() -> None:
    assert refusal("sysmon", "sel:\n    Image|fieldref|contains: ParentImage\ncondition: sel") == (
        "Image|fieldref|contains ParentImage: SPL's eval language has no exact "
        "'contains the value of another field' test"
    )


def test_field_reference_in_the_data_model_ignores_unknown_values() -> None:
    assert cim_lines("sel:\n    User|fieldref: ParentUser\ncondition: sel") == [
        f"{CIM_HEAD} where Processes.user!=unknown Processes.parent_user!=unknown {CIM_BY} Processes.parent_user",
        "| where lower('Processes.user')==lower('Processes.parent_user')",
    ]


# -- missing values in the data model -------------------------------------------------------------
CIM_MISSING = [
    # calculated field: null is stored as "unknown"
    ("sel:\n    Image|endswith: '\\x.exe'\n    OriginalFileName: null\ncondition: sel",
     "where Processes.process_name=x.exe Processes.original_file_name=unknown"),
    ("sel:\n    Image|endswith: '\\x.exe'\nfilter:\n    OriginalFileName: null\ncondition: sel and not filter",
     "where Processes.process_name=x.exe Processes.original_file_name!=unknown"),
    # an empty value is stored as "unknown" too
    ("sel:\n    Image|endswith: '\\x.exe'\n    OriginalFileName: ''\ncondition: sel",
     "where Processes.process_name=x.exe Processes.original_file_name=unknown"),
    # plain field: absent
    ("sel:\n    Image|endswith: '\\x.exe'\n    CurrentDirectory: null\ncondition: sel",
     "where Processes.process_name=x.exe NOT Processes.process_current_directory=*"),
    ("sel:\n    OriginalFileName|exists: true\n    CurrentDirectory|exists: false\ncondition: sel",
     "where Processes.original_file_name!=unknown NOT Processes.process_current_directory=*"),
    # a pattern that matches the text "unknown" must not match a missing value
    ("sel:\n    CommandLine|contains: 'now'\ncondition: sel",
     "where Processes.process=*now* Processes.process!=unknown"),
    ("sel:\n    Image|endswith: '\\x.exe'\nfilter:\n    User|contains: 'kno'\ncondition: sel and not filter",
     "where Processes.process_name=x.exe NOT (Processes.user=*kno* Processes.user!=unknown)"),
]


@pytest.mark.parametrize("detection,where", CIM_MISSING)
def test_missing_values_in_the_data_model(detection: str, where: str) -> None:
    assert cim_lines(detection) == [f"{CIM_HEAD} {where} {CIM_BY}"]


def test_post_filter_sees_missing_by_fields_as_null_text() -> None:
    # After tstats a missing by-field reads "null" (fillnull_value); the regex "ul" matches
    # that text, so a missing directory must still satisfy "not filter".
    assert cim_lines("sel:\n    Image|endswith: '\\x.exe'\nfilter:\n    CurrentDirectory|re: 'ul'\n"
                     "condition: sel and not filter") == [
        f"{CIM_HEAD} where Processes.process_name=x.exe {CIM_BY} Processes.process_current_directory",
        ("| where NOT match('Processes.process_current_directory', \"ul\") OR "
        "'Processes.process_current_directory'==\"null\""),
    ]


# -- field names -------------------------------------------------------------------------------
SYSMON_REGISTRY = 'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" (EventCode=12 OR EventCode=13 OR EventCode=14)'


def registry_lines(detection: str) -> list[str]:
    """A Sysmon registry rule's search lines (a log source whose field names are not restricted)."""
    rule = process_rule(detection).replace("category: process_creation", "category: registry_event")
    result = convert_text(rule, "sysmon")
    assert result.status is Status.CONVERTED, result.error
    return result.query.splitlines()[:-1]


def test_field_names_with_spaces_and_dashes_are_quoted_for_search_and_where() -> None:
    assert registry_lines("sel:\n    'Command Line|contains': 'x y'\n    'Process-Name': 'a.exe'\n"
                          "condition: sel") == [f'{SYSMON_REGISTRY} "Command Line"="*x y*" "Process-Name"=a.exe']
    assert registry_lines("sel:\n    'Command Line|contains': 'x y'\nsel2:\n    'Process-Name|re': 'z'\n"
                          "condition: sel or sel2") == [
        SYSMON_REGISTRY, "| where match('Command Line', \"(?i)x y\") OR match('Process-Name', \"z\")",
    ]


def test_explicit_parentheses_keep_or_inside_and() -> None:
    assert lines("sysmon", "selection:\n    Image|endswith: '\\cmd.exe'\nselection2:\n    CommandLine|contains: p1\n"
                 "selection3:\n    ParentImage|endswith: 'browser.exe'\ncondition: selection and (selection2 or selection3)") == [
        f'{SYSMON_1} Image="*\\\\cmd.exe" (CommandLine=*p1* OR ParentImage=*browser.exe)'
    ]


def test_unknown_sysmon_fields_follow_the_field_policy() -> None:
    result = convert_text(process_rule("sel:\n    Image|endswith: '\\cmd.exe'\nfilter:\n    ParentImagee: x\n"
                                       "condition: sel and not filter"), "sysmon")
    assert result.status is Status.REFUSED
    assert result.error.startswith("ParentImagee is not a field of Sysmon process creation events (event 1); "
                                   "selection 'filter' uses it under 'not'")
    dropped = convert_text(process_rule("sel:\n    - Image|endswith: '\\cmd.exe'\n    - GrandParentImage: x\n"
                                        "condition: sel"), "sysmon")
    assert dropped.status is Status.CONVERTED and "GrandParentImage" not in dropped.query
    assert dropped.warnings == ["GrandParentImage is not a field of Sysmon process creation events (event 1): "
                                "dropped that test from selection 'sel' (the search can only match less)"]


def test_values_with_operators_and_backticks_are_quoted() -> None:
    assert lines("sysmon", "sel:\n    Description: 'OR'\n    CommandLine|contains: 'a`b'\ncondition: sel") == [
        f'{SYSMON_1} Description="OR" CommandLine="*a`b*"'
    ]


# -- keywords ----------------------------------------------------------------------------------
def test_keyword_without_breakers_is_an_exact_substring_term() -> None:
    assert lines("sysmon", "keywords:\n    - 'evil.exe'\ncondition: keywords") == [f"{SYSMON_1} *evil.exe*"]


def test_keyword_with_breakers_searches_its_pieces_and_filters_the_raw_event() -> None:
    assert lines("sysmon", "keywords:\n    - 'mimikatz'\n    - 'sekurlsa::logonpasswords'\ncondition: keywords") == [
        f"{SYSMON_1} (*mimikatz* OR (*sekurlsa* *logonpasswords*))",
        '| where match(_raw, "(?i)mimikatz") OR match(_raw, "(?i)sekurlsa::logonpasswords")',
    ]


def test_negated_keyword_with_breakers_is_only_filtered() -> None:
    assert lines("sysmon", "keywords:\n    - 'evil.exe'\nfilter:\n    - 'not this one'\n"
                 "condition: keywords and not filter") == [
        f"{SYSMON_1} *evil.exe*", '| where NOT match(_raw, "(?i)not this one")',
    ]


def test_keywords_are_dropped_from_the_data_model_like_any_missing_field() -> None:
    result = convert_text(process_rule("sel:\n    Image|endswith: '\\x.exe'\nkw:\n    - 'foo'\n"
                                       "condition: sel or kw"), "cim")
    assert result.status is Status.CONVERTED
    assert result.warnings == [
        ("keyword searches need the raw event, which the CIM Endpoint.Processes data model does not hold: "
        "dropped that test from selection 'kw' (the search can only match less)")
    ]
    assert refusal("cim", "kw:\n    - 'foo'\ncondition: kw") == (
        "the rule cannot match in the CIM Endpoint.Processes data model: keyword searches need the raw event, "
        "which the CIM Endpoint.Processes data model does not hold"
    )


# -- AND/OR precedence -------------------------------------------------------------------------
def test_mixed_groups_are_parenthesised_in_search_and_where() -> None:
    assert lines("sysmon", "a:\n    Image|endswith: '\\a.exe'\nb:\n    CommandLine|contains: 'b'\n"
                 "c:\n    ParentImage|endswith: '\\c.exe'\ncondition: (a and b) or c") == [
        f'{SYSMON_1} ((Image="*\\\\a.exe" CommandLine=*b*) OR ParentImage="*\\\\c.exe")'
    ]
    assert cim_lines("a:\n    Image|endswith: '\\a.exe'\nb:\n    CommandLine|contains: 'b'\n"
                     "c:\n    ParentImage|endswith: '\\c.exe'\ncondition: (a and b) or c")[0] == (
        f"{CIM_HEAD} where (Processes.process_name=a.exe Processes.process=*b*) OR "
        f"Processes.parent_process_name=c.exe {CIM_BY}"
    )


# -- numbers, CIDR, placeholders ------------------------------------------------------------------
def test_numeric_comparisons_and_neq() -> None:
    assert lines("sysmon", "sel:\n    ProcessId|gt: 4\n    TerminalSessionId|neq: 0\ncondition: sel") == [
        f"{SYSMON_1} ProcessId>4 NOT TerminalSessionId=0"
    ]


def test_cidr_inside_an_or_with_a_regex_uses_cidrmatch() -> None:
    rule = process_rule("sel:\n    DestinationIp|cidr: '10.0.0.0/8'\nsel2:\n    DestinationHostname|re: 'evil'\n"
                        "condition: sel or sel2").replace("process_creation", "network_connection")
    result = convert_text(rule, "sysmon")
    assert result.query == (
        'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=3\n'
        '| where cidrmatch("10.0.0.0/8", DestinationIp) OR match(DestinationHostname, "evil")\n'
        "| `test_rule_filter`"
    )


def test_placeholders_without_values_are_refused() -> None:
    assert refusal("sysmon", "sel:\n    CommandLine|expand: '%admins%'\ncondition: sel") == (
        "placeholder %admins% (expand modifier) needs a site-specific value list, which sigmakit does not have"
    )


# -- the two invariants, against independent oracles ---------------------------------------------
SIGMA_VALUES = ["a?b", "x\\*y", "*\\schtasks.exe", "C:\\Temp\\?.exe", "*/tn \\**", "a*b?c", "\\\\*x", "lit.eral+"]
EVENT_VALUES = [
    "a", "ab", "axb", "AXB", "axxb", "x*y", "xzy", "X*Y", "C:\\Windows\\schtasks.exe", "c:\\temp\\a.exe",
    "C:\\Temp\\ab.exe", "/tn *", "schtasks /tn * /f", "/tn x", "abzc", "a12b3c", "\\x", "\\\\zx", "lit.eral+",
    "litxeral+", "line\nbreak",
]


def _sigma_matches(value: str, event: str) -> bool:
    """pySigma's own reading of a Sigma string, as a regex (case-insensitive)."""
    pattern = SigmaString(value).to_regex().regexp.to_plain_regex()
    return re.fullmatch(pattern, event, re.IGNORECASE | re.DOTALL) is not None


def _search_term_matches(term: str, event: str) -> bool:
    """Splunk's search-term matching: quotes and escapes removed, ``*`` any run, no case."""
    if term.startswith('"'):
        term = term[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    pattern = ".*".join(re.escape(piece) for piece in term.split("*"))
    return re.fullmatch(pattern, event, re.IGNORECASE | re.DOTALL) is not None


def _spl_string(text: str) -> str:
    """The value of the body of an SPL double-quoted string."""
    return re.sub(r"\\(.)", r"\1", text)


def _filter_matches(where: str, event: str) -> bool:
    """Evaluate the two where forms a one-field pattern takes: match() and lower()==."""
    matched = re.fullmatch(r'match\(f, "(.*)"\)', where)
    if matched:
        return re.search(_spl_string(matched.group(1)), event) is not None
    compared = re.fullmatch(r'lower\(f\)=="(.*)"', where)
    assert compared, where
    return event.lower() == _spl_string(compared.group(1))


@pytest.mark.parametrize("value", SIGMA_VALUES)
def test_search_term_is_a_superset_and_filter_is_exact(value: str) -> None:
    glob = Lowering(RAW_EVENTS).field_value("f", SigmaString(value))
    assert isinstance(glob, Glob)
    approximation, exact = approximate(glob)
    assert isinstance(approximation, Glob)
    term = search_value(approximation.parts)
    where = WhereRenderer(RAW_EVENTS).render(glob)
    for event in EVENT_VALUES:
        sigma = _sigma_matches(value, event)
        if sigma:
            assert _search_term_matches(term, event), (value, event, term)
        if exact:
            assert _search_term_matches(term, event) == sigma, (value, event, term)
        assert _filter_matches(where, event) == sigma, (value, event, where)
