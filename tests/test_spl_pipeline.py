"""where, eval, regex, rex, rename, fields/table/convert and tstats on hand-written SPL."""

from __future__ import annotations

import pytest

from spl_helpers import M, N, U, outcome, verdicts
from sigmakit.verification.spl import MacroSet, Status

# --- where: eval precedence and semantics --------------------------------------------------


def test_where_binds_and_tighter_than_or() -> None:
    spl = '* | where a="1" OR b="2" AND c="3"'  # a OR (b AND c)
    assert verdicts(spl, {"a": "1"}, {"b": "2"}, {"b": "2", "c": "3"}) == [M, N, M]


def test_where_is_case_sensitive() -> None:
    assert verdicts('* | where x="abc"', {"x": "abc"}, {"x": "ABC"}) == [M, N]


def test_where_bare_words_are_field_names() -> None:
    assert verdicts("* | where x=y", {"x": "a", "y": "a"}, {"x": "a", "y": "b"}, {"x": "a"}) == [M, N, N]


def test_where_compares_numbers_as_numbers() -> None:
    assert verdicts("* | where n > 9", {"n": "10"}, {"n": "9"}) == [M, N]
    assert verdicts('* | where n="1"', {"n": "1"}, {"n": "1.0"}) == [M, N]
    assert verdicts("* | where n=1", {"n": "1.0"}) == [M]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('match(x, "(?i)-S")', [M, M, N, N]),
        ('match(x, "-s")', [M, N, N, N]),
        ('like(x, "a%-_ b")', [M, N, N, N]),
        ('like(x, "%-s%")', [M, N, N, N]),
        ('lower(x)="a -s b"', [M, M, N, N]),
        ("isnull(x)", [N, N, N, M]),
        ("isnotnull(x)", [M, M, M, N]),
        ('NOT match(x, "-s")', [N, M, M, N]),
        ('isnull(x) OR NOT match(x, "-s")', [N, M, M, M]),
        ('x LIKE "A%"', [N, M, N, N]),
        ('in(x, "a -s b", "zzz")', [M, N, M, N]),
        ('x IN ("zzz", "A -S B")', [N, M, M, N]),
        ('if(match(x, "^a"), "yes", "no")="yes"', [M, N, N, N]),
    ],
)
def test_where_functions(expression: str, expected: list[str]) -> None:
    records = ({"x": "a -s b"}, {"x": "A -S B"}, {"x": "zzz"}, {})
    assert verdicts(f"* | where {expression}", *records) == expected


def test_where_quoted_field_names_and_regex_backslashes() -> None:
    # In SPL a regex literal backslash needs four backslashes: the string loses half,
    # the regex engine the other half.
    spl = r"""* | where match('Processes.process_path', "^C:\\\\Windows\\\\")"""
    records = ({"Processes.process_path": "C:\\Windows\\cmd.exe"}, {"Processes.process_path": "C:/Windows/cmd.exe"})
    assert verdicts(spl, *records) == [M, N]


def test_where_cidrmatch() -> None:
    spl = '* | where cidrmatch("192.168.0.0/16", ip)'
    assert verdicts(spl, {"ip": "192.168.4.1"}, {"ip": "10.0.0.1"}, {"ip": "x"}, {}) == [M, N, N, N]


def test_where_on_a_multivalue_field_is_undecided() -> None:
    assert verdicts('* | where match(x, "a")', {"x": ["a", "b"]}, {"x": "a"}) == [U, M]


def test_unknown_eval_function_cannot_be_evaluated() -> None:
    result = outcome("* | where mvfind(x, \"a\")=0", {"x": "a"})
    assert result.status is Status.CANNOT_EVALUATE
    assert result.reason == "the eval function mvfind() is outside the evaluator's subset (at offset 10)"


# --- regex and rex -------------------------------------------------------------------------


def test_regex_command_filters_and_its_negation_keeps_missing_fields() -> None:
    records = ({"x": "abc123"}, {"x": "abc"}, {})
    assert verdicts(r'* | regex x="\d{3}"', *records) == [M, N, N]
    assert verdicts(r'* | regex x!="\d{3}"', *records) == [N, M, M]


def test_regex_shorthand_classes_are_ascii_as_in_splunk_pcre() -> None:
    records = ({"x": "\u0663\u0663\u0663"}, {"x": "123"}, {"x": "\u00e9"}, {"x": "e"})
    assert verdicts(r'* | regex x="^\d{3}$"', *records) == [N, M, N, N]
    assert verdicts(r'* | where match(x, "^\w$")', *records) == [N, N, N, M]


def test_regex_command_defaults_to_raw() -> None:
    assert verdicts('* | regex "err(or)?"', {"_raw": "an error"}, {"_raw": "fine"}) == [M, N]


def test_rex_eval_search_post_filter() -> None:
    # The shape pySigma gives OR-ed regular expressions.
    spl = (
        'source=a\n'
        '| rex field=CommandLine "(?<CommandLineMatch>-enc\\\\s)"\n'
        '| eval CommandLineCondition=if(isnotnull(CommandLineMatch), "true", "false")\n'
        '| search CommandLineCondition="true" OR Image="*\\\\pwsh.exe"'
    )
    records = (
        {"source": "a", "CommandLine": "powershell -enc AAA", "Image": "C:\\p.exe"},
        {"source": "a", "CommandLine": "powershell -e AAA", "Image": "C:\\pwsh.exe"},
        {"source": "a", "CommandLine": "powershell -e AAA", "Image": "C:\\p.exe"},
        {"source": "b", "CommandLine": "powershell -enc AAA"},
    )
    assert verdicts(spl, *records) == [M, M, N, N]


def test_eval_assigns_and_removes_fields() -> None:
    spl = '* | eval y=lower(x), z=null() | search y=abc NOT z=*'
    assert verdicts(spl, {"x": "ABC", "z": "1"}, {"x": "abd"}) == [M, N]


# --- commands that do not change a match, and rename ---------------------------------------


def test_table_fields_and_convert_keep_the_match() -> None:
    spl = 'x=1 | table x, y | fields - y | convert ctime(x) | search *'
    assert verdicts(spl, {"x": "1", "y": "2"}, {"x": "2"}) == [M, N]


def test_fields_removes_what_a_later_search_needs() -> None:
    assert verdicts("x=1 | fields y | search x=1", {"x": "1", "y": "2"}) == [N]


def test_rename_with_wildcards() -> None:
    spl = "* | rename Processes.* AS * | search process_name=cmd.exe"
    assert verdicts(spl, {"Processes.process_name": "cmd.exe"}, {"process_name": "x"}) == [M, N]


# --- tstats over CIM records ----------------------------------------------------------------

MACROS = MacroSet.from_text(
    """
[security_content_summariesonly]
definition = summariesonly=false allow_old_summaries=true fillnull_value=null

[security_content_ctime(1)]
args = field
definition = convert timeformat="%Y-%m-%dT%H:%M:%S" ctime($field$)

[drop_dm_object_name(1)]
args = object
definition = rename $object$.* AS *

[test_filter]
definition = search *
""",
    "test-macros.conf",
)

TSTATS = (
    "| tstats `security_content_summariesonly` count min(_time) as firstTime max(_time) as lastTime "
    "from datamodel=Endpoint.Processes where (Processes.process_name=diskshadow.exe OR "
    "Processes.original_file_name=diskshadow.exe) (Processes.process=*-s* OR Processes.process=*/s*) "
    "by Processes.dest Processes.user Processes.process_name Processes.process\n"
    "| `drop_dm_object_name(Processes)`\n| `security_content_ctime(firstTime)`\n"
    "| `security_content_ctime(lastTime)`\n| `test_filter`"
)


def _cim(**fields: str | float) -> dict[str, str | float]:
    return {("_time" if k == "_time" else f"Processes.{k}"): v for k, v in fields.items()}


def test_tstats_then_macros() -> None:
    records = (
        _cim(process_name="diskshadow.exe", process="diskshadow.exe -S a.txt", dest="h1", user="u", _time=10),
        _cim(process_name="diskshadow.exe", process="diskshadow.exe -S a.txt", dest="h1", user="u", _time=20),
        _cim(process_name="diskshadow.exe", process="diskshadow.exe", dest="h1", user="u", _time=5),
        _cim(process_name="cmd.exe", original_file_name="diskshadow.exe", process="x /s", _time=7),
    )
    assert verdicts(TSTATS, *records, macros=MACROS, data_model="Endpoint.Processes") == [M, M, N, M]


def test_tstats_drops_null_by_fields_unless_fillnull() -> None:
    spl = "| tstats count from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe by Processes.user"
    records = (_cim(process_name="cmd.exe", user="u"), _cim(process_name="cmd.exe"))
    assert verdicts(spl, *records, data_model="Endpoint.Processes") == [M, N]
    filled = spl.replace("tstats count", "tstats fillnull_value=null count")
    assert verdicts(filled, *records, data_model="Endpoint.Processes") == [M, M]


def test_tstats_keeps_only_by_fields_for_later_filters() -> None:
    base = ("| tstats count from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe "
            "by Processes.process")
    records = (_cim(process_name="cmd.exe", process="cmd /c whoami", process_path="C:\\cmd.exe"),)
    assert verdicts(base + " | where match('Processes.process', \"whoami\")", *records,
                    data_model="Endpoint.Processes") == [M]
    # process_path is not a by-field, so the filter sees null and drops the row
    assert verdicts(base + " | where match('Processes.process_path', \"cmd\")", *records,
                    data_model="Endpoint.Processes") == [N]


def test_tstats_statistics_and_ctime() -> None:
    from sigmakit.verification.spl import compile_spl

    search = compile_spl(TSTATS, MACROS)
    records = [
        _cim(process_name="diskshadow.exe", process="d -s", dest="h", user="u", _time=86400),
        _cim(process_name="diskshadow.exe", process="d -s", dest="h", user="u", _time=90000),
    ]
    evaluation = search.run(records, "Endpoint.Processes")
    assert evaluation.matched == frozenset({0, 1})
    assert evaluation.results == ({
        "dest": "h", "user": "u", "process_name": "diskshadow.exe", "process": "d -s",
        "count": 2, "firstTime": "1970-01-02T00:00:00", "lastTime": "1970-01-02T01:00:00",
    },)


def test_tstats_over_raw_events_cannot_be_evaluated() -> None:
    result = outcome("| tstats count from datamodel=Endpoint.Processes by Processes.dest", {"x": "1"})
    assert result.status is Status.CANNOT_EVALUATE
    assert "raw events" in (result.reason or "")


def test_tstats_field_outside_the_dataset_cannot_be_evaluated() -> None:
    result = outcome("| tstats count from datamodel=Endpoint.Processes where nodename=Processes by Processes.dest",
                     {}, data_model="Endpoint.Processes")
    assert result.status is Status.CANNOT_EVALUATE
    assert result.reason == "tstats field 'nodename' is neither a Endpoint.Processes field nor an internal field"


def test_eval_result_fields_of_the_es_searches() -> None:
    spl = (
        '* | eval process_name=replace(Image, "^.*\\\\\\\\", ""), dest=coalesce(aid_computer_name, aid),'
        ' head=substr(lower(Image), 1, 3), tail=substr(Image, -3), pid=tonumber(ProcessId) + 1'
        ' | search process_name=cmd.exe dest=h1 head="c:\\\\" tail=exe pid=5'
    )
    assert verdicts(spl, {"Image": "C:\\Windows\\cmd.exe", "aid": "h1", "ProcessId": "4"},
                    {"Image": "C:\\Windows\\cmd.exe", "aid_computer_name": "h2", "aid": "h1", "ProcessId": "4"}) == [M, N]


def test_replace_with_group_references() -> None:
    spl = r'* | eval y=replace(x, "(\w+)@(\w+)", "\2/\1") | search y="b/a c"'
    assert verdicts(spl, {"x": "a@b c"}) == [M]


def test_rename_onto_an_existing_field_replaces_it() -> None:
    assert verdicts("* | rename a AS b | search b=1 NOT a=*", {"a": "1", "b": "2"}, {"b": "1"}) == [M, M]
