"""Character-level rules shared by every part of the SPL reader.

Backslashes (Search Manual, "Backslashes" and the search command's "Quotes and escaping
characters"): ``\\\\`` is a literal backslash, ``\\"`` a literal quote and ``\\|`` a
literal pipe, inside quotes as well as outside. Any other backslash sequence is passed on
unchanged (``\\d`` stays ``\\d``), and a backslash cannot escape ``*``: in a search term the
asterisk after it is still a wildcard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Iterator

from sigmakit.verification.spl.errors import SplSyntaxError

_ESCAPED: Final = frozenset('\\"|')


def unescape(raw: str) -> str:
    """Apply SPL's backslash escapes to the text of one argument (quotes already removed)."""
    if "\\" not in raw:
        return raw
    out: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw) and raw[index + 1] in _ESCAPED:
            out.append(raw[index + 1])
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def skip_quoted(text: str, start: int) -> int:
    """Index just past the double-quoted string that opens at *start*."""
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == '"':
            return index + 1
        index += 1
    raise SplSyntaxError("unterminated quoted string", start)


_COMMAND_NAME: Final = re.compile(r"\s*(\S*)\s*")


@dataclass(frozen=True)
class Segment:
    """One command of a search pipeline: its name, its argument text and their offsets."""

    text: str
    offset: int
    name: str
    name_offset: int
    arguments: str
    arguments_offset: int

    @classmethod
    def of(cls, text: str, offset: int) -> "Segment":
        found = _COMMAND_NAME.match(text)
        assert found is not None  # the pattern matches every string
        return cls(text, offset, found.group(1).lower(), offset + found.start(1), text[found.end():].rstrip(),
                   offset + found.end())


def unquoted(text: str) -> Iterator[tuple[int, str]]:
    """(index, character) for each character outside double quotes and not backslash-escaped."""
    index = 0
    while index < len(text):
        char = text[index]
        if char == '"':
            index = skip_quoted(text, index)
            continue
        if char == "\\":
            index += 2
            continue
        yield index, char
        index += 1


def split_pipeline(text: str) -> list[Segment]:
    """Split a search at its top-level pipes (not inside quotes or brackets, not escaped)."""
    segments: list[Segment] = []
    start = 0
    depth = 0
    for index, char in unquoted(text):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth < 0:
                raise SplSyntaxError("']' without '['", index)
        elif char == "|" and depth == 0:
            segments.append(Segment.of(text[start:index], start))
            start = index + 1
    if depth:
        raise SplSyntaxError("'[' without ']'", len(text))
    segments.append(Segment.of(text[start:], start))
    return segments


def subsearches(text: str, base: int = 0) -> list[tuple[str, int]]:
    """The ``[...]`` groups of *text* (outside quotes): their inner text and its offset."""
    groups: list[tuple[str, int]] = []
    depth = 0
    start = 0
    for index, char in unquoted(text):
        if char == "[":
            if depth == 0:
                start = index + 1
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                groups.append((text[start:index], base + start))
    return groups
