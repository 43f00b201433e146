"""Macro expansion from a macros.conf, as Splunk does it before parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from spl_helpers import M, N, outcome, verdicts
from sigmakit.verification.spl import MacroFileError, MacroSet, Status, expand_macros

CONF = """\
# test macros
[base]
definition = source=a

[pick(2)]
args = field, value
definition = $field$="$value$*"

[nested]
definition = `base` `pick(x, ab)`

[loop]
definition = `loop`

[multi_line]
definition = x=1 \\
    OR x=2

[evaluated]
definition = "x=1"
iseval = 1
"""


@pytest.fixture(scope="module")
def macros() -> MacroSet:
    return MacroSet.from_text(CONF, "macros.conf")


def test_arguments_are_substituted_even_inside_quotes(macros: MacroSet) -> None:
    assert expand_macros("`pick(CommandLine, -enc)`", macros) == 'CommandLine="-enc*"'


def test_calls_inside_quoted_strings_are_left_alone(macros: MacroSet) -> None:
    assert expand_macros('x="`base`" `base`', macros) == 'x="`base`" source=a'


def test_nested_macros_expand(macros: MacroSet) -> None:
    assert verdicts("`nested`", {"source": "a", "x": "abc"}, {"source": "a", "x": "b"}, macros=macros) == [M, N]


def test_continued_lines_join(macros: MacroSet) -> None:
    assert verdicts("`multi_line`", {"x": "2"}, {"x": "3"}, macros=macros) == [M, N]


def test_unknown_macro_is_invalid_and_names_the_arity(macros: MacroSet) -> None:
    result = outcome("`pick(x)`", {}, macros=macros)
    assert result.status is Status.INVALID
    assert result.reason == "macro `pick(1)` is not defined in macros.conf; defined: pick(2) (at offset 0)"


def test_recursive_macro_is_invalid(macros: MacroSet) -> None:
    result = outcome("`loop`", {}, macros=macros)
    assert result.status is Status.INVALID
    assert "deeper than 32 levels" in (result.reason or "")


def test_eval_macros_cannot_be_evaluated(macros: MacroSet) -> None:
    assert outcome("`evaluated`", {}, macros=macros).status is Status.CANNOT_EVALUATE


def test_a_bad_stanza_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "macros.conf"
    path.write_text("[ok]\ndefinition = x\n\n[bad(2)]\nargs = a\ndefinition = $a$\n", encoding="utf-8")
    with pytest.raises(MacroFileError) as caught:
        MacroSet.from_file(path)
    assert str(caught.value) == f"{path}:4: [bad(2)] declares 2 argument(s) but args lists 1"


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(MacroFileError, match="cannot read macros"):
        MacroSet.from_file(tmp_path / "absent.conf")


def test_a_semicolon_after_a_space_is_not_a_comment() -> None:
    # The parser library cuts "x ;y" at " ;"; Splunk reads the whole line.
    macros = MacroSet.from_text('[pester]\ndefinition = cmd="*-EnableExit ;*" OR cmd=b\n', "m.conf")
    assert macros[("pester", 0)].definition == 'cmd="*-EnableExit ;*" OR cmd=b'
    assert verdicts("`pester`", {"cmd": "x -EnableExit ; y"}, {"cmd": "b"}, {"cmd": "c"}, macros=macros) == [M, M, N]
