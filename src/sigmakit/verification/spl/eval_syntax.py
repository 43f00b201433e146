"""The eval expression language of ``where`` and ``eval``, parsed into a syntax tree.

Unlike the search command, eval uses the conventional precedence (SPL reference, "where"
and "Boolean expressions"): ``NOT`` binds tightest, then ``AND``, then ``OR``, and ``XOR``
last. Double quotes make a string, single quotes a field name (``'Processes.process'``),
and a bare word is a field name too, never a string. Keywords are accepted in any case.

    expression := xor
    xor        := or ("XOR" or)*
    or         := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT" not | comparison
    comparison := additive [("=" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "LIKE") additive
                            | "IN" "(" expression ("," expression)* ")"]
    additive   := product (("+" | "-" | ".") product)*
    product    := unary (("*" | "/" | "%") unary)*
    unary      := "-" unary | primary
    primary    := number | string | field | name "(" [expression ("," expression)*] ")"
                  | "(" expression ")"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Final, Union

from sigmakit.verification.spl.errors import SplSyntaxError
from sigmakit.verification.spl.text import unescape


class EvalKind(Enum):
    NUMBER = "number"
    STRING = "string"
    FIELD = "quoted field name"
    NAME = "name"
    OP = "operator"
    END = "end of expression"


@dataclass(frozen=True, slots=True)
class EvalToken:
    kind: EvalKind
    text: str
    offset: int

    def keyword(self) -> str | None:
        """The upper-cased text when this name is an operator keyword."""
        if self.kind is EvalKind.NAME and self.text.upper() in _KEYWORDS:
            return self.text.upper()
        return None

    def describe(self) -> str:
        return self.kind.value if self.kind is EvalKind.END else repr(self.text)


_KEYWORDS: Final = frozenset({"AND", "OR", "NOT", "XOR", "LIKE", "IN"})
_NUMBER: Final = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS: Final = ("==", "!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "%", ".", "(", ")", ",")


def tokenize_eval(text: str, base: int = 0) -> list[EvalToken]:
    tokens: list[EvalToken] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
            continue
        if char in "\"'":
            end = _closing_quote(text, index, base)
            body = text[index + 1:end]
            if char == '"':
                tokens.append(EvalToken(EvalKind.STRING, unescape(body), base + index))
            else:
                tokens.append(EvalToken(EvalKind.FIELD, body.replace("\\'", "'"), base + index))
            index = end + 1
            continue
        number = _NUMBER.match(text, index)
        if number and not (char == "." and tokens and tokens[-1].kind is not EvalKind.OP):
            tokens.append(EvalToken(EvalKind.NUMBER, number.group(), base + index))
            index = number.end()
            continue
        name = _NAME.match(text, index)
        if name:
            tokens.append(EvalToken(EvalKind.NAME, name.group(), base + index))
            index = name.end()
            continue
        operator = next((op for op in _OPERATORS if text.startswith(op, index)), None)
        if operator is None:
            raise SplSyntaxError(f"unexpected character {char!r} in eval expression", base + index)
        tokens.append(EvalToken(EvalKind.OP, operator, base + index))
        index += len(operator)
    tokens.append(EvalToken(EvalKind.END, "", base + len(text)))
    return tokens


def _closing_quote(text: str, start: int, base: int) -> int:
    quote = text[start]
    index = start + 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == quote:
            return index
        index += 1
    raise SplSyntaxError("unterminated quoted string in eval expression", base + start)


@dataclass(frozen=True)
class Literal:
    value: str | int | float


@dataclass(frozen=True)
class FieldRef:
    name: str


@dataclass(frozen=True)
class Call:
    function: str
    arguments: tuple["EvalNode", ...]
    offset: int


@dataclass(frozen=True)
class Unary:
    op: str  # "NOT" or "-"
    operand: "EvalNode"


@dataclass(frozen=True)
class Binary:
    op: str  # AND OR XOR = == != < <= > >= LIKE + - . * / %
    left: "EvalNode"
    right: "EvalNode"


@dataclass(frozen=True)
class InList:
    operand: "EvalNode"
    values: tuple["EvalNode", ...]


EvalNode = Union[Literal, FieldRef, Call, Unary, Binary, InList]

_COMPARISONS: Final = frozenset({"=", "==", "!=", "<", "<=", ">", ">="})


class _Parser:
    def __init__(self, tokens: list[EvalToken]) -> None:
        self.tokens = tokens
        self.position = 0

    def peek(self) -> EvalToken:
        return self.tokens[self.position]

    def next(self) -> EvalToken:
        token = self.tokens[self.position]
        if token.kind is not EvalKind.END:
            self.position += 1
        return token

    def expect_op(self, op: str) -> None:
        token = self.next()
        if token.kind is not EvalKind.OP or token.text != op:
            raise SplSyntaxError(f"expected {op!r}, found {token.describe()}", token.offset)

    def is_op(self, *ops: str) -> bool:
        token = self.peek()
        return token.kind is EvalKind.OP and token.text in ops

    def expression(self) -> EvalNode:
        return self._binary_chain("XOR", self._or)

    def _or(self) -> EvalNode:
        return self._binary_chain("OR", self._and)

    def _and(self) -> EvalNode:
        return self._binary_chain("AND", self._not)

    def _binary_chain(self, keyword: str, operand: Callable[[], EvalNode]) -> EvalNode:
        node = operand()
        while self.peek().keyword() == keyword:
            self.next()
            node = Binary(keyword, node, operand())
        return node

    def _not(self) -> EvalNode:
        if self.peek().keyword() == "NOT":
            self.next()
            return Unary("NOT", self._not())
        return self._comparison()

    def _comparison(self) -> EvalNode:
        left = self._additive()
        token = self.peek()
        if token.kind is EvalKind.OP and token.text in _COMPARISONS:
            self.next()
            return Binary("=" if token.text == "==" else token.text, left, self._additive())
        if token.keyword() == "LIKE":
            self.next()
            return Binary("LIKE", left, self._additive())
        if token.keyword() == "IN":
            self.next()
            self.expect_op("(")
            values = self._arguments()
            return InList(left, values)
        return left

    def _additive(self) -> EvalNode:
        node = self._product()
        while self.is_op("+", "-", "."):
            op = self.next().text
            node = Binary(op, node, self._product())
        return node

    def _product(self) -> EvalNode:
        node = self._unary()
        while self.is_op("*", "/", "%"):
            op = self.next().text
            node = Binary(op, node, self._unary())
        return node

    def _unary(self) -> EvalNode:
        if self.is_op("-"):
            self.next()
            return Unary("-", self._unary())
        return self._primary()

    def _arguments(self) -> tuple[EvalNode, ...]:
        """Comma-separated expressions up to the closing parenthesis (already opened)."""
        if self.is_op(")"):
            self.next()
            return ()
        arguments = [self.expression()]
        while self.is_op(","):
            self.next()
            arguments.append(self.expression())
        self.expect_op(")")
        return tuple(arguments)

    def _primary(self) -> EvalNode:
        token = self.next()
        if token.kind is EvalKind.NUMBER:
            number = float(token.text)
            return Literal(int(number) if number.is_integer() and "." not in token.text else number)
        if token.kind is EvalKind.STRING:
            return Literal(token.text)
        if token.kind is EvalKind.FIELD:
            return FieldRef(token.text)
        if token.kind is EvalKind.NAME and token.keyword() in (None, "LIKE", "IN") and self.is_op("("):
            self.next()  # like(...) and in(...) are functions as well as operators
            return Call(token.text.lower(), self._arguments(), token.offset)
        if token.kind is EvalKind.NAME and token.keyword() is None:
            return FieldRef(token.text)
        if token.kind is EvalKind.OP and token.text == "(":
            node = self.expression()
            self.expect_op(")")
            return node
        raise SplSyntaxError(f"expected a value in eval expression, found {token.describe()}", token.offset)


def parse_eval(text: str, base: int = 0) -> EvalNode:
    """Parse one eval expression (the argument of ``where``, or one ``eval`` assignment)."""
    parser = _Parser(tokenize_eval(text, base))
    node = parser.expression()
    token = parser.peek()
    if token.kind is not EvalKind.END:
        raise SplSyntaxError(f"unexpected {token.describe()} in eval expression", token.offset)
    return node


def parse_assignments(text: str, base: int = 0) -> list[tuple[str, EvalNode]]:
    """``name=expression, name=expression...``, the arguments of ``eval``."""
    parser = _Parser(tokenize_eval(text, base))
    assignments: list[tuple[str, EvalNode]] = []
    while True:
        token = parser.next()
        if token.kind not in (EvalKind.NAME, EvalKind.FIELD, EvalKind.STRING):
            raise SplSyntaxError(f"expected a field name to assign, found {token.describe()}", token.offset)
        parser.expect_op("=")
        assignments.append((token.text, parser.expression()))
        if parser.is_op(","):
            parser.next()
            continue
        end = parser.peek()
        if end.kind is not EvalKind.END:
            raise SplSyntaxError(f"unexpected {end.describe()} after eval assignment", end.offset)
        return assignments
