"""Tokens of the search language (search, tstats, rename, regex, rex... arguments).

The search language has few token kinds: words (unquoted text), quoted strings,
parentheses, commas and comparison operators. Keywords (``AND``, ``OR``, ``NOT``, ``IN``,
``CASE``, ``TERM``) are words that the parser recognises by their exact, upper-case text;
lower-case ``or`` is a search term, as in Splunk.

A word ends at whitespace, a parenthesis, a comma, a double quote or an operator; a
backslash keeps the next character inside the word. Escapes are not applied here: the
parser unescapes a token's text once it knows the token is a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from sigmakit.verification.spl.errors import SplSyntaxError
from sigmakit.verification.spl.text import skip_quoted


class Kind(Enum):
    WORD = "word"
    STRING = "quoted string"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    OP = "operator"
    END = "end of input"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its text (without quotes, escapes not applied) and position.

    ``spaced`` tells whether whitespace separates it from the previous token, which
    matters for ``CASE(x)`` and ``TERM(x)`` (no space allowed before the parenthesis).
    """

    kind: Kind
    text: str
    offset: int
    spaced: bool

    def is_word(self, *texts: str) -> bool:
        return self.kind is Kind.WORD and self.text in texts

    def is_word_ci(self, *texts: str) -> bool:
        """A word equal to one of *texts* ignoring case (command keywords like ``by``)."""
        return self.kind is Kind.WORD and self.text.lower() in texts

    def describe(self) -> str:
        return self.kind.value if self.kind in (Kind.END,) else repr(self.text)


_OPERATORS: Final = ("!=", "<=", ">=", "==", "=", "<", ">")
_WORD_END: Final = frozenset(' \t\r\n(),"=<>')


def tokenize(text: str, base: int = 0) -> list[Token]:
    """Split search-language *text* into tokens; offsets are relative to the whole search."""
    tokens: list[Token] = []
    index = 0
    spaced = True
    length = len(text)
    while index < length:
        char = text[index]
        if char.isspace():
            index += 1
            spaced = True
            continue
        start = index
        if char == '"':
            index = _skip_string(text, index, base)
            tokens.append(Token(Kind.STRING, text[start + 1:index - 1], base + start, spaced))
        elif char in "(),":
            kind = {"(": Kind.LPAREN, ")": Kind.RPAREN, ",": Kind.COMMA}[char]
            tokens.append(Token(kind, char, base + start, spaced))
            index += 1
        elif operator := _operator_at(text, index):
            tokens.append(Token(Kind.OP, operator, base + start, spaced))
            index += len(operator)
        else:
            index = _word_end(text, index)
            tokens.append(Token(Kind.WORD, text[start:index], base + start, spaced))
        spaced = False
    tokens.append(Token(Kind.END, "", base + length, spaced))
    return tokens


def _skip_string(text: str, index: int, base: int) -> int:
    try:
        return skip_quoted(text, index)
    except SplSyntaxError as error:
        raise SplSyntaxError(error.reason, base + index) from None


def _operator_at(text: str, index: int) -> str | None:
    for operator in _OPERATORS:
        if text.startswith(operator, index):
            return operator
    return None


def _word_end(text: str, index: int) -> int:
    length = len(text)
    while index < length:
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char in _WORD_END or (char == "!" and text.startswith("!=", index)):
            break
        index += 1
    return min(index, length)


class TokenStream:
    """A cursor over tokens with the small helpers every parser here needs."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.position = 0

    def peek(self, ahead: int = 0) -> Token:
        index = min(self.position + ahead, len(self.tokens) - 1)
        return self.tokens[index]

    def next(self) -> Token:
        token = self.peek()
        if token.kind is not Kind.END:
            self.position += 1
        return token

    def at_end(self) -> bool:
        return self.peek().kind is Kind.END

    def expect(self, kind: Kind, what: str | None = None) -> Token:
        token = self.next()
        if token.kind is not kind:
            raise SplSyntaxError(f"expected {what or kind.value}, found {token.describe()}", token.offset)
        return token
