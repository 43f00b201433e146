"""The search command's boolean language, parsed into a syntax tree.

Grammar (Search Manual, "Boolean expressions"): parentheses first, then ``NOT`` (binds to
the next term only), then ``OR``, then ``AND``; juxtaposition is an implicit ``AND``. So
``A B OR C`` is ``A AND (B OR C)`` and ``error NOT 403 OR 404`` is
``error AND ((NOT 403) OR 404)``::

    expression := disjunction (["AND"] disjunction)*
    disjunction := negation ("OR" negation)*
    negation   := "NOT" negation | primary
    primary    := "(" expression ")" | comparison | membership | term
    comparison := field ("=" | "!=" | "<" | "<=" | ">" | ">=") value
    membership := field "IN" "(" value ("," value)* ")"
    value      := word | quoted | "CASE(" value ")" | "TERM(" value ")"

The same language is the ``WHERE`` clause of ``tstats`` and the argument of ``search``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Union

from sigmakit.verification.spl.errors import SplSyntaxError
from sigmakit.verification.spl.lexer import Kind, Token, TokenStream, tokenize
from sigmakit.verification.spl.text import unescape

COMPARISONS: Final = frozenset({"=", "!=", "<", "<=", ">", ">="})


@dataclass(frozen=True)
class Value:
    """A value as the search command sees it, escapes applied.

    Every ``*`` in ``text`` is a wildcard (SPL has no way to escape it). ``case_sensitive``
    comes from ``CASE()``, ``term`` from ``TERM()``; ``quoted`` tells a phrase from a word.
    """

    text: str
    quoted: bool = False
    case_sensitive: bool = False
    term: bool = False


@dataclass(frozen=True)
class Comparison:
    """``field op value``; the field name is case-sensitive, the value is not."""

    field: str
    op: str
    value: Value


@dataclass(frozen=True)
class Membership:
    """``field IN (v1, v2...)``: ``field=v1 OR field=v2...``, wildcards allowed."""

    field: str
    values: tuple[Value, ...]


@dataclass(frozen=True)
class RawTerm:
    """A value without a field: searched for in ``_raw`` as indexed terms."""

    value: Value


@dataclass(frozen=True)
class Not:
    operand: "SearchNode"


@dataclass(frozen=True)
class And:
    operands: tuple["SearchNode", ...]


@dataclass(frozen=True)
class Or:
    operands: tuple["SearchNode", ...]


SearchNode = Union[Comparison, Membership, RawTerm, Not, And, Or]

_KEYWORDS: Final = frozenset({"AND", "OR", "NOT"})


def parse_search(text: str, base: int = 0) -> SearchNode:
    """Parse search-language *text* (offsets in errors count from *base*)."""
    stream = TokenStream(tokenize(text, base))
    node = parse_expression(stream)
    if not stream.at_end():
        token = stream.peek()
        raise SplSyntaxError(f"unexpected {token.describe()} in search expression", token.offset)
    return node


def parse_expression(stream: TokenStream, stop_words: frozenset[str] = frozenset()) -> SearchNode:
    """Parse a search expression from *stream*, stopping before a word in *stop_words*.

    *stop_words* (compared ignoring case) let a command such as ``tstats`` end its
    ``WHERE`` clause at ``by``.
    """
    operands = [_disjunction(stream, stop_words)]
    while True:
        token = stream.peek()
        if token.is_word("AND"):
            stream.next()
            operands.append(_disjunction(stream, stop_words))
        elif _starts_operand(token, stop_words):
            operands.append(_disjunction(stream, stop_words))
        else:
            break
    return operands[0] if len(operands) == 1 else And(tuple(operands))


def _starts_operand(token: Token, stop_words: frozenset[str]) -> bool:
    if token.kind is Kind.LPAREN:
        return True
    if token.kind is Kind.STRING:
        return True
    if token.kind is not Kind.WORD:
        return False
    return token.text not in ("AND", "OR") and token.text.lower() not in stop_words


def _disjunction(stream: TokenStream, stop_words: frozenset[str]) -> SearchNode:
    operands = [_negation(stream, stop_words)]
    while stream.peek().is_word("OR"):
        stream.next()
        operands.append(_negation(stream, stop_words))
    return operands[0] if len(operands) == 1 else Or(tuple(operands))


def _negation(stream: TokenStream, stop_words: frozenset[str]) -> SearchNode:
    if stream.peek().is_word("NOT"):
        stream.next()
        return Not(_negation(stream, stop_words))
    return _primary(stream, stop_words)


def _primary(stream: TokenStream, stop_words: frozenset[str]) -> SearchNode:
    token = stream.peek()
    if token.kind is Kind.LPAREN:
        stream.next()
        node = parse_expression(stream)
        stream.expect(Kind.RPAREN, "')' closing the group")
        return node
    if token.kind not in (Kind.WORD, Kind.STRING) or token.is_word(*_KEYWORDS):
        raise SplSyntaxError(f"expected a search term, found {token.describe()}", token.offset)
    if token.text.lower() in stop_words and token.kind is Kind.WORD:
        raise SplSyntaxError(f"expected a search term before {token.text!r}", token.offset)
    following = stream.peek(1)
    if following.kind is Kind.OP and not _is_function_value(token, stream):
        return _comparison(stream)
    if following.is_word("IN") and stream.peek(2).kind is Kind.LPAREN:
        return _membership(stream)
    return RawTerm(parse_value(stream))


def _is_function_value(token: Token, stream: TokenStream) -> bool:
    """``CASE(`` / ``TERM(`` never start a comparison (they are values)."""
    return token.is_word("CASE", "TERM") and stream.peek(1).kind is Kind.LPAREN


def field_name(token: Token) -> str:
    """A field name token: a word, or a double-quoted name (``"Process Name"``)."""
    if token.kind is Kind.STRING:
        return unescape(token.text)
    if token.kind is Kind.WORD:
        return token.text
    raise SplSyntaxError(f"expected a field name, found {token.describe()}", token.offset)


def _comparison(stream: TokenStream) -> Comparison:
    name = field_name(stream.next())
    operator = stream.next()
    if operator.text not in COMPARISONS:
        raise SplSyntaxError(f"operator {operator.text!r} is not a search comparison", operator.offset)
    if stream.peek().kind not in (Kind.WORD, Kind.STRING):
        token = stream.peek()
        raise SplSyntaxError(f"expected a value after {name}{operator.text}, found {token.describe()}", token.offset)
    return Comparison(name, operator.text, parse_value(stream))


def _membership(stream: TokenStream) -> Membership:
    name = field_name(stream.next())
    stream.next()  # IN
    stream.expect(Kind.LPAREN)
    values: list[Value] = []
    while True:
        values.append(parse_value(stream))
        token = stream.peek()
        if token.kind is Kind.COMMA:
            stream.next()
            continue
        if token.kind is Kind.RPAREN:
            stream.next()
            break
        if token.kind in (Kind.WORD, Kind.STRING):
            continue  # Splunk also accepts values separated by spaces only
        raise SplSyntaxError(f"expected ',' or ')' in the IN list, found {token.describe()}", token.offset)
    return Membership(name, tuple(values))


def parse_value(stream: TokenStream) -> Value:
    """A value token, or ``CASE(value)`` / ``TERM(value)``."""
    token = stream.next()
    if token.is_word("CASE", "TERM") and stream.peek().kind is Kind.LPAREN and not stream.peek().spaced:
        stream.next()
        inner = parse_value(stream)
        stream.expect(Kind.RPAREN, f"')' closing {token.text}(")
        if token.text == "CASE":
            return Value(inner.text, inner.quoted, True, inner.term)
        return Value(inner.text, inner.quoted, inner.case_sensitive, True)
    if token.kind is Kind.STRING:
        return Value(unescape(token.text), quoted=True)
    if token.kind is Kind.WORD:
        return Value(unescape(token.text))
    raise SplSyntaxError(f"expected a value, found {token.describe()}", token.offset)
