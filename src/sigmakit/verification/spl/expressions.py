"""Eval expressions compiled into functions of one record, with Splunk's null logic.

Values are ``None`` (null), strings, numbers, booleans, or tuples (multivalue fields).
Null propagates as in SQL: a comparison with null is null, ``NOT null`` is null,
``null AND false`` is false and ``null OR true`` is true; ``where`` keeps a result only
when its expression is true, so ``where NOT match(f, "x")`` drops results without ``f``.

Comparisons are case-sensitive (SPL reference, "where"). Two values compare as numbers
when both are numbers, where a field value written as a number counts as one (field
values are typed by their text); otherwise they compare as strings. Regular expressions
run on the ``regex`` module, whose syntax covers the PCRE features detection content
uses (named groups ``(?<n>...)``, inline flags, lookarounds, possessive quantifiers).

A multivalue field reaching a function or operator other than ``isnull``,
``isnotnull``, ``mvcount``, ``coalesce`` or ``if``'s branches makes that record
undecided: eval's treatment of multivalue operands varies by function and is not
modelled.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any, Callable, Final

import regex

from sigmakit.matching.regex import ascii_classes
from sigmakit.verification.spl.errors import CannotEvaluate, SplSyntaxError, UndecidedRecord
from sigmakit.verification.spl.eval_syntax import Binary, Call, EvalNode, FieldRef, InList, Literal, Unary
from sigmakit.verification.spl.values import parse_number

Evaluator = Callable[[Any], Any]


class FieldText(str):
    """A string read from a field: compares as a number when it is written as one."""

    __slots__ = ()


def compile_expression(node: EvalNode) -> Evaluator:
    """A function computing *node*'s value for one record."""
    if isinstance(node, Literal):
        value = node.value
        return lambda record: value
    if isinstance(node, FieldRef):
        return _field(node.name)
    if isinstance(node, Unary):
        return _unary(node)
    if isinstance(node, Binary):
        return _binary(node)
    if isinstance(node, InList):
        return _in_list(node)
    if isinstance(node, Call):
        return _call(node)
    raise TypeError(f"not an eval node: {node!r}")


def compile_condition(node: EvalNode) -> Callable[[Any], bool]:
    """``where``'s test: true only when the expression evaluates to true."""
    evaluate = compile_expression(node)

    def test(record: Any) -> bool:
        result = evaluate(record)
        if result is None:
            return False
        if isinstance(result, bool):
            return result
        raise UndecidedRecord(f"the where expression gave {result!r}, not a boolean")

    return test


def _field(name: str) -> Evaluator:
    def value(record: Any) -> Any:
        raw = record.get(name)
        if raw is None:
            return None
        if isinstance(raw, str):
            return FieldText(raw)
        if isinstance(raw, (list, tuple)):
            values = tuple(FieldText(v) if isinstance(v, str) else v for v in raw if v is not None)
            if not values:
                return None
            return values[0] if len(values) == 1 else values
        return raw

    return value


def _single(value: Any, what: str) -> Any:
    if isinstance(value, tuple):
        raise UndecidedRecord(f"a multivalue field reaches {what}, whose multivalue semantics are not modelled")
    return value


def _boolean(value: Any, what: str) -> bool | None:
    value = _single(value, what)
    if value is None or isinstance(value, bool):
        return value
    raise UndecidedRecord(f"{what} needs a boolean, got {value!r}")


def _unary(node: Unary) -> Evaluator:
    operand = compile_expression(node.operand)
    if node.op == "NOT":
        def negate(record: Any) -> Any:
            value = _boolean(operand(record), "NOT")
            return None if value is None else not value
        return negate

    def minus(record: Any) -> Any:
        number = _as_number(_single(operand(record), "unary -"))
        return None if number is None else -number
    return minus


def _binary(node: Binary) -> Evaluator:
    left = compile_expression(node.left)
    right = compile_expression(node.right)
    op = node.op
    if op == "AND":
        return lambda record: _and(left, right, record)
    if op == "OR":
        return lambda record: _or(left, right, record)
    if op == "XOR":
        def xor(record: Any) -> Any:
            a, b = _boolean(left(record), "XOR"), _boolean(right(record), "XOR")
            return None if a is None or b is None else a != b
        return xor
    if op == "LIKE":
        return _like_operator(left, node.right, right)
    if op in _COMPARE:
        compare = _COMPARE[op]
        def comparison(record: Any) -> Any:
            a, b = _single(left(record), op), _single(right(record), op)
            if a is None or b is None:
                return None
            return compare(*_comparable(a, b))
        return comparison
    return _arithmetic(op, left, right)


def _and(left: Evaluator, right: Evaluator, record: Any) -> bool | None:
    a = _boolean(left(record), "AND")
    if a is False:
        return False
    b = _boolean(right(record), "AND")
    if b is False:
        return False
    return None if a is None or b is None else True


def _or(left: Evaluator, right: Evaluator, record: Any) -> bool | None:
    a = _boolean(left(record), "OR")
    if a is True:
        return True
    b = _boolean(right(record), "OR")
    if b is True:
        return True
    return None if a is None or b is None else False


_COMPARE: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _as_number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, FieldText):
        return parse_number(value)
    return None


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    number_a, number_b = _as_number(a), _as_number(b)
    if number_a is not None and number_b is not None:
        return number_a, number_b
    return as_text(a), as_text(b)


def as_text(value: Any) -> str:
    """The string form of a value, as eval writes it (``1`` not ``1.0``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _arithmetic(op: str, left: Evaluator, right: Evaluator) -> Evaluator:
    def compute(record: Any) -> Any:
        a, b = _single(left(record), op), _single(right(record), op)
        if a is None or b is None:
            return None
        if op == ".":
            return as_text(a) + as_text(b)
        number_a, number_b = _as_number(a), _as_number(b)
        if number_a is None or number_b is None:
            if op == "+" and isinstance(a, str) and isinstance(b, str):
                return a + b
            return None
        if op == "+":
            return number_a + number_b
        if op == "-":
            return number_a - number_b
        if op == "*":
            return number_a * number_b
        if number_b == 0:
            return None
        return number_a / number_b if op == "/" else number_a % number_b
    return compute


def _in_list(node: InList) -> Evaluator:
    operand = compile_expression(node.operand)
    values = [compile_expression(v) for v in node.values]

    def member(record: Any) -> Any:
        value = _single(operand(record), "IN")
        if value is None:
            return None
        return any(_equal(value, _single(v(record), "IN")) for v in values)
    return member


def _equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    x, y = _comparable(a, b)
    return bool(x == y)


# Functions ----------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def compile_regex(pattern: str) -> "regex.Pattern[str]":
    """A PCRE pattern as the ``regex`` module compiles it (cached), with PCRE's ASCII
    ``\\d \\w \\s \\b`` (the module's own are Unicode)."""
    try:
        return regex.compile(ascii_classes(pattern), regex.VERSION0)
    except regex.error as error:
        raise CannotEvaluate(f"the regular expression {pattern!r} is not accepted by the local engine: {error}") from None


@lru_cache(maxsize=4096)
def like_regex(pattern: str) -> "re.Pattern[str]":
    """``like()`` patterns: ``%`` any run of characters, ``_`` exactly one, case-sensitive."""
    if "\\%" in pattern or "\\_" in pattern:
        raise CannotEvaluate(f"escaped wildcards in the like() pattern {pattern!r} are not modelled")
    parts = []
    for char in pattern:
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def _literal_text(node: EvalNode) -> str | None:
    return node.value if isinstance(node, Literal) and isinstance(node.value, str) else None


def _pattern_test(name: str, subject: Evaluator, pattern_node: EvalNode, pattern: Evaluator,
                  compile_pattern: Callable[[str], Any], test: Callable[[Any, str], bool]) -> Evaluator:
    """like()/match(): the pattern compiled once when it is a literal, else per record."""
    constant = _literal_text(pattern_node)
    compiled = compile_pattern(constant) if constant is not None else None

    def evaluate(record: Any) -> Any:
        value = _single(subject(record), f"{name}()")
        if value is None:
            return None
        rx = compiled
        if rx is None:
            text = _single(pattern(record), f"{name}()")
            if text is None:
                return None
            rx = compile_pattern(as_text(text))
        return test(rx, as_text(value))
    return evaluate


def _like_operator(left: Evaluator, pattern_node: EvalNode, pattern: Evaluator) -> Evaluator:
    return _pattern_test("like", left, pattern_node, pattern, like_regex, lambda rx, text: rx.fullmatch(text) is not None)


def _call(node: Call) -> Evaluator:
    builder = _FUNCTIONS.get(node.function)
    if builder is None:
        raise CannotEvaluate(f"the eval function {node.function}() is outside the evaluator's subset", node.offset)
    low, high, build = builder
    count = len(node.arguments)
    if count < low or (high is not None and count > high):
        raise SplSyntaxError(f"{node.function}() takes {_arity(low, high)} argument(s), not {count}", node.offset)
    return build(node)


def _arity(low: int, high: int | None) -> str:
    if high is None:
        return f"at least {low}"
    return str(low) if low == high else f"{low} to {high}"


def _build_match(node: Call) -> Evaluator:
    return _pattern_test("match", compile_expression(node.arguments[0]), node.arguments[1],
                         compile_expression(node.arguments[1]), compile_regex,
                         lambda rx, text: rx.search(text) is not None)


def _build_like(node: Call) -> Evaluator:
    return _like_operator(compile_expression(node.arguments[0]), node.arguments[1],
                          compile_expression(node.arguments[1]))


def _build_cidrmatch(node: Call) -> Evaluator:
    cidr = compile_expression(node.arguments[0])
    address = compile_expression(node.arguments[1])

    def cidrmatch(record: Any) -> Any:
        network_text, value = _single(cidr(record), "cidrmatch()"), _single(address(record), "cidrmatch()")
        if network_text is None or value is None:
            return None
        try:
            network = ipaddress.ip_network(as_text(network_text).strip(), strict=False)
        except ValueError:
            raise UndecidedRecord(f"cidrmatch() got {network_text!r}, which is not a network") from None
        try:
            return ipaddress.ip_address(as_text(value).strip()) in network
        except ValueError:
            return False
    return cidrmatch


def _text_function(transform: Callable[[str], Any], name: str) -> Callable[[Call], Evaluator]:
    def build(node: Call) -> Evaluator:
        operand = compile_expression(node.arguments[0])

        def apply(record: Any) -> Any:
            value = _single(operand(record), f"{name}()")
            return None if value is None else transform(as_text(value))
        return apply
    return build


def _build_isnull(node: Call) -> Evaluator:
    operand = compile_expression(node.arguments[0])
    return lambda record: operand(record) is None


def _build_isnotnull(node: Call) -> Evaluator:
    operand = compile_expression(node.arguments[0])
    return lambda record: operand(record) is not None


def _build_if(node: Call) -> Evaluator:
    condition, then, otherwise = (compile_expression(a) for a in node.arguments)

    def choose(record: Any) -> Any:
        return then(record) if _boolean(condition(record), "if()") is True else otherwise(record)
    return choose


def _build_case(node: Call) -> Evaluator:
    if len(node.arguments) % 2:
        raise SplSyntaxError("case() takes condition/value pairs", node.offset)
    pairs = [(compile_expression(node.arguments[i]), compile_expression(node.arguments[i + 1]))
             for i in range(0, len(node.arguments), 2)]

    def choose(record: Any) -> Any:
        for condition, value in pairs:
            if _boolean(condition(record), "case()") is True:
                return value(record)
        return None
    return choose


def _build_coalesce(node: Call) -> Evaluator:
    operands = [compile_expression(a) for a in node.arguments]

    def first(record: Any) -> Any:
        for operand in operands:
            value = operand(record)
            if value is not None:
                return value
        return None
    return first


def _build_in(node: Call) -> Evaluator:
    return _in_list(InList(node.arguments[0], node.arguments[1:]))


def _build_mvcount(node: Call) -> Evaluator:
    operand = compile_expression(node.arguments[0])

    def count(record: Any) -> Any:
        value = operand(record)
        if value is None:
            return None
        return len(value) if isinstance(value, tuple) else 1
    return count


def _constant(value: Any) -> Callable[[Call], Evaluator]:
    return lambda node: (lambda record: value)


def _build_tostring(node: Call) -> Evaluator:
    operand = compile_expression(node.arguments[0])

    def convert(record: Any) -> Any:
        value = _single(operand(record), "tostring()")
        return None if value is None else as_text(value)
    return convert


def _build_replace(node: Call) -> Evaluator:
    """``replace(text, regex, replacement)``: every match replaced; ``\\1``..``\\9`` refer to groups."""
    subject, pattern, replacement = (compile_expression(a) for a in node.arguments)

    def substitute(record: Any) -> Any:
        value = _single(subject(record), "replace()")
        regex_text = _single(pattern(record), "replace()")
        template = _single(replacement(record), "replace()")
        if value is None or regex_text is None or template is None:
            return None
        compiled = compile_regex(as_text(regex_text))
        template_text = as_text(template)
        return compiled.sub(lambda found: _expand_template(template_text, found), as_text(value))
    return substitute


_BACKREFERENCE: Final = re.compile(r"\\(\d)")


def _expand_template(template: str, found: "regex.Match[str]") -> str:
    return _BACKREFERENCE.sub(lambda ref: found.group(int(ref.group(1))) or "", template)


def _build_substr(node: Call) -> Evaluator:
    """``substr(text, start[, length])``: 1-based; a negative start counts from the end."""
    subject, start = compile_expression(node.arguments[0]), compile_expression(node.arguments[1])
    length = compile_expression(node.arguments[2]) if len(node.arguments) == 3 else None

    def cut(record: Any) -> Any:
        value, first = _single(subject(record), "substr()"), _as_number(_single(start(record), "substr()"))
        count = None if length is None else _as_number(_single(length(record), "substr()"))
        if value is None or first is None or (length is not None and count is None):
            return None
        text, first = as_text(value), int(first)
        if first == 0:
            raise UndecidedRecord("substr() with start 0 is not modelled")
        begin = first - 1 if first > 0 else max(len(text) + first, 0)
        return text[begin:] if count is None else text[begin:begin + max(int(count), 0)]
    return cut


def _build_tonumber(node: Call) -> Evaluator:
    if len(node.arguments) > 1:
        raise CannotEvaluate("tonumber() with a base is outside the evaluator's subset", node.offset)
    operand = compile_expression(node.arguments[0])

    def convert(record: Any) -> Any:
        value = _single(operand(record), "tonumber()")
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, (int, float)):
            return value
        number = parse_number(value)
        if number is None:
            return None
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    return convert


def _build_mvappend(node: Call) -> Evaluator:
    operands = [compile_expression(a) for a in node.arguments]

    def append(record: Any) -> Any:
        values: list[Any] = []
        for operand in operands:
            value = operand(record)
            if isinstance(value, tuple):
                values.extend(value)
            elif value is not None:
                values.append(value)
        if not values:
            return None
        return values[0] if len(values) == 1 else tuple(values)
    return append


_FUNCTIONS: Final[dict[str, tuple[int, int | None, Callable[[Call], Evaluator]]]] = {
    "match": (2, 2, _build_match),
    "like": (2, 2, _build_like),
    "cidrmatch": (2, 2, _build_cidrmatch),
    "lower": (1, 1, _text_function(str.lower, "lower")),
    "upper": (1, 1, _text_function(str.upper, "upper")),
    "len": (1, 1, _text_function(len, "len")),
    "isnull": (1, 1, _build_isnull),
    "isnotnull": (1, 1, _build_isnotnull),
    "if": (3, 3, _build_if),
    "case": (2, None, _build_case),
    "coalesce": (1, None, _build_coalesce),
    "in": (2, None, _build_in),
    "mvcount": (1, 1, _build_mvcount),
    "tostring": (1, 1, _build_tostring),
    "replace": (3, 3, _build_replace),
    "substr": (2, 3, _build_substr),
    "tonumber": (1, 2, _build_tonumber),
    "mvappend": (1, None, _build_mvappend),
    "true": (0, 0, _constant(True)),
    "false": (0, 0, _constant(False)),
    "null": (0, 0, _constant(None)),
}
