"""Search-language syntax trees compiled into record tests.

A compiled test takes one record (a mapping from field name to value) and returns True
or False; it raises ``UndecidedRecord`` when Splunk's documented semantics do not settle
the answer for that record. Field names are case-sensitive (``record.get(name)``).

``field=value`` is false when the field is absent; ``field!=value`` is also false when the
field is absent (Search Manual, "Difference between != and NOT"), while ``NOT field=value``
is true. ``field!=value`` on a multivalue field whose values disagree (some match, some
do not) is undecided: the manual does not say which way Splunk resolves it.

Speed matters here (a rule corpus times a hundred thousand events), so the tree is turned
into the source of one Python function and compiled: each field is read and lower-cased
at most once per record, and the common value shapes (exact, prefix, suffix, substring)
become plain string operations. Shapes that need more (regular-expression wildcards, CIDR,
``!=``, ordering, bare terms) call a helper built from the same tree node.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
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
    text_of,
    wildcard_test,
)

RecordTest = Callable[[Any], bool]


def compile_search(node: SearchNode) -> RecordTest:
    """A record test equivalent to the search expression *node*."""
    if isinstance(node, RawTerm) and node.value.text and node.value.text.strip("*") == "":
        return _match_all  # `search *`, the body of every filter macro
    builder = _Builder(_field_uses(node))
    body = builder.expression(node)
    lines = ["def search_test(record):"]
    lines += [f"    {name} = _UNSET" for name in builder.field_slots.values()]
    lines.append(f"    return {body}")
    namespace: dict[str, Any] = {"_UNSET": _UNSET, "_folded": folded_value, "_plain": plain_value, **builder.constants}
    exec(compile("\n".join(lines), "<search expression>", "exec"), namespace)
    test: RecordTest = namespace["search_test"]
    return test


_UNSET = object()


def _match_all(record: Any) -> bool:
    return True


def _field_uses(node: SearchNode) -> Counter[tuple[str, bool]]:
    """How often each (field, case-sensitive) pair is read by the generated equality tests."""
    uses: Counter[tuple[str, bool]] = Counter()
    if isinstance(node, Or):
        grouped = {(o.field, o.value.case_sensitive) for o in node.operands
                   if isinstance(o, Comparison) and o.op == "="}
        grouped |= {(o.field, v.case_sensitive) for o in node.operands if isinstance(o, Membership) for v in o.values}
        uses.update(grouped)
        for operand in node.operands:
            if not (isinstance(operand, Membership) or (isinstance(operand, Comparison) and operand.op == "=")):
                uses.update(_field_uses(operand))
    elif isinstance(node, And):
        for operand in node.operands:
            uses.update(_field_uses(operand))
    elif isinstance(node, Not):
        uses.update(_field_uses(node.operand))
    elif isinstance(node, Comparison) and node.op == "=":
        uses[(node.field, node.value.case_sensitive)] += 1
    elif isinstance(node, Membership):
        uses.update({(node.field, value.case_sensitive) for value in node.values})
    return uses


def folded_value(value: Any) -> str | tuple[str, ...] | None:
    """A field value lower-cased: a string, a tuple for multivalue fields, or None."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, (list, tuple)):
        values = tuple(text_of(v).lower() for v in value if v is not None)
        return values or None
    return text_of(value).lower()


def plain_value(value: Any) -> str | tuple[str, ...] | None:
    """A field value as text (case kept): a string, a tuple, or None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        values = tuple(text_of(v) for v in value if v is not None)
        return values or None
    return text_of(value)


@dataclass
class _Builder:
    """Writes the Python expression for a tree, collecting constants and field slots."""

    uses: Counter[tuple[str, bool]]
    constants: dict[str, Any] = field(default_factory=dict)
    field_slots: dict[tuple[str, bool], str] = field(default_factory=dict)
    counter: int = 0

    def name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def constant(self, value: Any) -> str:
        name = self.name("k")
        self.constants[name] = value
        return name

    def expression(self, node: SearchNode) -> str:
        if isinstance(node, And):
            return "(" + " and ".join(self.expression(n) for n in node.operands) + ")"
        if isinstance(node, Or):
            return "(" + " or ".join(self.alternatives(node.operands)) + ")"
        if isinstance(node, Not):
            return f"(not {self.expression(node.operand)})"
        if isinstance(node, Comparison):
            return self.comparison(node)
        if isinstance(node, Membership):
            return "(" + " or ".join(self.alternatives((node,))) + ")"
        if isinstance(node, RawTerm):
            return f"{self.constant(_raw_term(node.value))}(record)"
        raise TypeError(f"not a search node: {node!r}")

    def alternatives(self, operands: tuple[SearchNode, ...]) -> list[str]:
        """OR-ed operands; equality tests on one field share one read of it (``a=x OR a=y``)."""
        shared: dict[tuple[str, bool], list[Value]] = {}
        others: list[SearchNode] = []
        for operand in operands:
            if isinstance(operand, Comparison) and operand.op == "=":
                shared.setdefault((operand.field, operand.value.case_sensitive), []).append(operand.value)
            elif isinstance(operand, Membership):
                for value in operand.values:
                    shared.setdefault((operand.field, value.case_sensitive), []).append(value)
            else:
                others.append(operand)
        texts = [self.equality(name, values) for (name, _), values in shared.items()]
        return texts + [self.expression(n) for n in others]

    def comparison(self, node: Comparison) -> str:
        if node.op == "=":
            return self.equality(node.field, [node.value])
        if node.op == "!=":
            helper = self.constant(_not_equal(node))
            return f"{helper}(record)"
        return f"{self.constant(_ordering(node))}(record)"

    def field_value(self, name: str, case_sensitive: bool) -> str:
        """An expression for the field's (folded or plain) value.

        A field the expression reads more than once gets a slot, filled on first use, so
        it is lower-cased once per record; one read once is computed in place.
        """
        reader = "_plain" if case_sensitive else "_folded"
        if self.uses[(name, case_sensitive)] == 1:
            if case_sensitive:
                return f"_plain(record.get({name!r}))"
            raw = self.name("r")
            return f"({raw}.lower() if type({raw} := record.get({name!r})) is str else _folded({raw}))"
        slot = self.field_slots.get((name, case_sensitive))
        if slot is None:
            slot = self.field_slots[(name, case_sensitive)] = self.name("f")
        return f"({slot} if {slot} is not _UNSET else ({slot} := {reader}(record.get({name!r}))))"

    def equality(self, name: str, values: list[Value]) -> str:
        """``field=v1 OR field=v2...`` (all of one case sensitivity): string tests on the value,
        or on each value of a multivalue field."""
        current = self.name("v")
        tests = [self.string_test(value, current) for value in values]
        test = tests[0] if len(tests) == 1 else "(" + " or ".join(tests) + ")"
        return (
            f"({test} if type({current} := {self.field_value(name, values[0].case_sensitive)}) is str"
            f" else (type({current}) is tuple and any({test} for {current} in {current})))"
        )

    def string_test(self, value: Value, variable: str) -> str:
        """Python text testing the string in *variable* against *value*."""
        network = None if value.case_sensitive else cidr_network(value.text)
        if network is not None:
            return f"{self.constant(cidr_test(network))}({variable})"
        pattern = value.text if value.case_sensitive else value.text.lower()
        pieces = pattern.split("*")
        if len(pieces) == 1:
            text = f"{variable} == {pattern!r}"
        elif all(piece == "" for piece in pieces):
            text = "True"
        elif len(pieces) == 2 and pieces[0] == "":
            text = f"{variable}.endswith({pieces[1]!r})"
        elif len(pieces) == 2 and pieces[1] == "":
            text = f"{variable}.startswith({pieces[0]!r})"
        elif len(pieces) == 3 and pieces[0] == "" and pieces[2] == "":
            text = f"({pieces[1]!r} in {variable})"
        else:
            helper = self.constant(wildcard_test(pattern, case_sensitive=True))
            text = f"{helper}({variable})"
        return text


def _not_equal(node: Comparison) -> RecordTest:
    test = _value_test(node.value)
    name = node.field

    def differs(record: Any) -> bool:
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

    return differs


def _value_test(value: Value) -> StringTest:
    network = None if value.case_sensitive else cidr_network(value.text)
    if network is not None:
        return cidr_test(network)
    return wildcard_test(value.text, value.case_sensitive)


def _raw_term(value: Value) -> RecordTest:
    if value.text == "":
        raise CannotEvaluate('the empty search term "" is outside the evaluator\'s subset')
    return raw_term_test(value.text, value.case_sensitive, value.term)


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
