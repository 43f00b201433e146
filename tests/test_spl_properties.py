"""The generated search functions agree with a plain tree walk of the same syntax tree.

``compile_search`` writes one Python function per search, with shared field reads and
grouped OR tests for speed; this checks it against the obvious recursive reading of the
search command's semantics on random trees and records.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sigmakit.verification.spl.errors import UndecidedRecord
from sigmakit.verification.spl.predicates import compile_search
from sigmakit.verification.spl.search_syntax import And, Comparison, Membership, Not, Or, SearchNode, Value

FIELDS = ("x", "y", "Z")
PATTERNS = ("a", "A", "ab", "a*", "*b", "*a*", "a*b", "*", "", "10.0.0.0/8", "b*a*")
TEXTS = ("a", "A", "ab", "AB", "ba", "b", "", "10.1.2.3", "aXb", "bca")


def _values(record: dict[str, Any], name: str) -> list[str] | None:
    value = record.get(name)
    if value is None:
        return None
    values = [str(v) for v in (value if isinstance(value, list) else [value]) if v is not None]
    return values or None


def _equal(pattern: Value, text: str) -> bool:
    if not pattern.case_sensitive and pattern.text == "10.0.0.0/8":
        return text.startswith("10.")
    if pattern.case_sensitive:
        return fnmatch.fnmatchcase(text, pattern.text.replace("[", "[[]"))
    return fnmatch.fnmatchcase(text.lower(), pattern.text.lower())


def reference(node: SearchNode, record: dict[str, Any]) -> bool:
    if isinstance(node, And):
        return all(reference(n, record) for n in node.operands)
    if isinstance(node, Or):
        return any(reference(n, record) for n in node.operands)
    if isinstance(node, Not):
        return not reference(node.operand, record)
    if isinstance(node, Membership):
        return any(reference(Comparison(node.field, "=", v), record) for v in node.values)
    assert isinstance(node, Comparison)
    values = _values(record, node.field)
    if values is None:
        return False
    verdicts = {_equal(node.value, v) for v in values}
    if node.op == "=":
        return True in verdicts
    if len(verdicts) > 1:
        raise UndecidedRecord("mixed")
    return not verdicts.pop()


values = st.builds(Value, st.sampled_from(PATTERNS), st.just(False), st.booleans())
leaves = st.one_of(
    st.builds(Comparison, st.sampled_from(FIELDS), st.sampled_from(("=", "!=")), values),
    st.builds(Membership, st.sampled_from(FIELDS), st.lists(values, min_size=1, max_size=3).map(tuple)),
)
trees = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.lists(inner, min_size=2, max_size=4).map(lambda ops: And(tuple(ops))),
        st.lists(inner, min_size=2, max_size=4).map(lambda ops: Or(tuple(ops))),
    ),
    max_leaves=10,
)
field_value = st.one_of(st.none(), st.sampled_from(TEXTS), st.lists(st.sampled_from(TEXTS), min_size=1, max_size=3))
records = st.fixed_dictionaries({}, optional={name: field_value for name in FIELDS})


def _outcome(function: Any, *arguments: Any) -> bool | str:
    try:
        return bool(function(*arguments))
    except UndecidedRecord:
        return "undecided"


@settings(max_examples=400, deadline=None)
@given(trees, st.lists(records, min_size=1, max_size=5))
def test_generated_code_matches_the_tree_walk(tree: SearchNode, samples: list[dict[str, Any]]) -> None:
    test = compile_search(tree)
    for record in samples:
        expected = _outcome(reference, tree, record)
        if expected == "undecided":
            continue  # the generated code may short-circuit before the undecided test
        assert _outcome(test, record) == expected, (tree, record)
