"""Search-language syntax trees compiled into record tests.

A compiled test takes one record (a mapping from field name to value) and returns True
or False; it raises ``UndecidedRecord`` when Splunk's documented semantics do not settle
the answer for that record. Field names are case-sensitive (``record.get(name)``).

``field=value`` is false when the field is absent; ``field!=value`` is also false when the
field is absent (Search Manual, "Difference between != and NOT"), while ``NOT field=value``
is true. ``field!=value`` on a multivalue field whose values disagree (some match, some
do not) is undecided: the manual does not say which way Splunk resolves it.
"""

from __future__ import annotations

from typing import Any, Callable

from sigmakit.verification.spl.errors import CannotEvaluate, UndecidedRecord
from sigmakit.verification.spl.search_syntax import (
    And,
    Comparison,
    Membership,
    Not,
    Or,
    RawTerm,
    SearchNode,
    Value,
)
from sigmakit.verification.spl.values import (
    StringTest,
    cidr_network,
    cidr_test,
    field_values,
    parse_number,
    raw_term_test,
    wildcard_test,
)

RecordTest = Callable[[Any], bool]


def compile_search(node: SearchNode) -> RecordTest:
    """A record test equivalent to the search expression *node*."""
    if isinstance(node, And):
        return _all([compile_search(n) for n in node.operands])
    if isinstance(node, Or):
        return _any([compile_search(n) for n in node.operands])
    if isinstance(node, Not):
        inner = compile_search(node.operand)
        return lambda record: not inner(record)
    if isinstance(node, Comparison):
        return _comparison(node)
    if isinstance(node, Membership):
        return _membership(node)
    if isinstance(node, RawTerm):
        return _raw_term(node.value)
    raise TypeError(f"not a search node: {node!r}")


def _all(tests: list[RecordTest]) -> RecordTest:
    if len(tests) == 2:
        first, second = tests
        return lambda record: first(record) and second(record)
    return lambda record: all(test(record) for test in tests)


def _any(tests: list[RecordTest]) -> RecordTest:
    if len(tests) == 2:
        first, second = tests
        return lambda record: first(record) or second(record)
    return lambda record: any(test(record) for test in tests)


def value_test(value: Value) -> StringTest:
    """The test one field value must pass to equal *value* in the search command."""
    network = None if value.case_sensitive else cidr_network(value.text)
    if network is not None:
        return cidr_test(network)
    return wildcard_test(value.text, value.case_sensitive)


def _comparison(node: Comparison) -> RecordTest:
    name = node.field
    if node.op in ("=", "!="):
        test = value_test(node.value)
        if node.op == "=":
            return lambda record: _matches_any(record, name, test)
        return lambda record: _differs(record, name, test, node)
    return _ordering(node)


def _matches_any(record: Any, name: str, test: StringTest) -> bool:
    value = record.get(name)
    if value is None:
        return False
    if isinstance(value, str):
        return test(value)
    values = field_values(record, name)
    return values is not None and any(test(v) for v in values)


def _differs(record: Any, name: str, test: StringTest, node: Comparison) -> bool:
    values = field_values(record, name)
    if values is None:
        return False
    verdicts = {test(v) for v in values}
    if len(verdicts) > 1:
        raise UndecidedRecord(
            f"{node.field}!={node.value.text} on a multivalue field with matching and "
            "non-matching values"
        )
    return not verdicts.pop()


def _membership(node: Membership) -> RecordTest:
    tests = [value_test(v) for v in node.values]
    name = node.field
    return lambda record: any(_matches_any(record, name, test) for test in tests)


def _raw_term(value: Value) -> RecordTest:
    if value.text == "":
        raise CannotEvaluate('the empty search term "" is outside the evaluator\'s subset')
    return raw_term_test(value.text, value.quoted, value.case_sensitive, value.term)


def _ordering(node: Comparison) -> RecordTest:
    """``<``, ``<=``, ``>``, ``>=``: numeric when both sides are numbers, else as text."""
    if "*" in node.value.text:
        raise CannotEvaluate(f"a wildcard in an ordering comparison ({node.field}{node.op}{node.value.text})")
    bound_text = node.value.text
    bound_number = parse_number(bound_text)
    compare = _ORDERINGS[node.op]
    name = node.field

    def test(record: Any) -> bool:
        values = field_values(record, name)
        if values is None:
            return False
        for value in values:
            number = parse_number(value)
            if bound_number is not None and number is not None:
                if compare(number, bound_number):
                    return True
            elif compare(value, bound_text):
                return True
        return False

    return test


_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
