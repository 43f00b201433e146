"""The whole shared SigmaHQ corpus through every target (``pytest -m corpus``; slow).

No crash, every rule converted, skipped or refused with a reason of a known kind, and
every search lexically sound. benchmarks/convert_corpus.py reports the same run as a
table, with speeds and the stock pipelines' figures.
"""

from __future__ import annotations

import re

import pytest

from sigmakit.conversion import Converter, Status
from sigmakit.pipelines import TARGETS
from sigmakit.rules import RuleSet, load_rules

from conftest import shared_path

pytestmark = pytest.mark.corpus

# Why a process_creation rule may be refused for the data model: it needs a field that
# Endpoint.Processes does not have, or a placeholder value nobody defined.
_CIM_REFUSALS = re.compile(
    r"is not a field of the CIM Endpoint\.Processes data model|"
    r"cannot be compared in the CIM Endpoint\.Processes data model's fields|placeholder %"
)


def lexical_problems(spl: str) -> list[str]:
    """Unbalanced quotes or parentheses, and empty commands between pipes (outside strings)."""
    problems = []
    depth, quote, escaped = 0, "", False
    pipes, content = 0, True  # content: something since the last pipe outside strings
    for char in spl:
        if escaped:
            escaped = False
        elif char == "\\" and quote:
            escaped = True
        elif quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote, content = char, True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                problems.append("')' without '('")
        elif char == "|":
            if pipes and not content:
                problems.append("empty command between pipes")
            pipes, content = pipes + 1, False
        elif not char.isspace():
            content = True
    if quote:
        problems.append(f"unclosed {quote}")
    if depth > 0:
        problems.append("'(' without ')'")
    if pipes and not content:
        problems.append("empty command between pipes")
    return problems


@pytest.fixture(scope="module")
def corpus() -> RuleSet:
    return load_rules([shared_path("corpus", "sigmahq")])


@pytest.mark.parametrize("target", TARGETS)
def test_every_rule_has_an_outcome_and_a_sound_search(corpus: RuleSet, target: str) -> None:
    assert len(corpus) == 3022 and not corpus.errors
    results = Converter((target,)).convert_all(corpus)
    assert len(results) == len(corpus)
    for result in results:
        assert result.status is not Status.FAILED, result.error
        if result.status is Status.CONVERTED:
            assert result.query and not lexical_problems(result.query), (result.rule_title, result.query)
        else:
            assert result.error and result.query is None


def test_cim_converts_every_process_creation_rule_whose_fields_it_has(corpus: RuleSet) -> None:
    converter = Converter(("cim",))
    folder = [rule for rule in corpus if "process_creation" in rule.path.parts]
    assert len(folder) == 1242
    refused = [converter.convert(rule, "cim") for rule in folder]
    reasons = [r.error or "" for r in refused if r.status is not Status.CONVERTED]
    assert all(_CIM_REFUSALS.search(reason) for reason in reasons), reasons
    assert len(reasons) == 21


def test_lexical_check_finds_what_it_looks_for() -> None:
    assert lexical_problems('a="x(" (b OR c) | where match(f, "\\"(") | x="a || b"') == []
    assert lexical_problems("a=(b") == ["'(' without ')'"]
    assert lexical_problems('a="b') == ['unclosed "']
    assert lexical_problems("a | | where b") == ["empty command between pipes"]
