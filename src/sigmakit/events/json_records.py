"""JSON records: JSON Lines, JSON arrays and back-to-back JSON objects, in constant memory.

JSON Lines are read line by line, so one broken line is reported and the next one is read
as usual. Any other JSON text (an array of events, pretty-printed objects one after the
other) goes through a small scanner that finds where each record starts and ends without
parsing it, keeping only the current record in memory; orjson then parses that record.
A record that orjson rejects is reported and skipped; the scanner only gives up on the
rest of a file when the text between records is not JSON at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Iterable, Iterator, Mapping, TextIO

import orjson

from sigmakit.events.windows import text_of

CHUNK_CHARS: Final = 1 << 20

_WHITESPACE: Final = " \t\r\n"
# Inside a value: a whole string, a bracket, or a lone quote (a string the buffer cuts).
_TOKEN: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]]|"', re.DOTALL)
_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SCALAR_END: Final = re.compile(r"[,\]}\s{\[\"]")


@dataclass(frozen=True, slots=True)
class JsonRecord:
    """One top-level record: its text, position (line or record number) and parsed value."""

    text: str
    position: int
    value: Any = None
    error: str | None = None


def parse_record(text: str, position: int) -> JsonRecord:
    try:
        return JsonRecord(text, position, orjson.loads(text))
    except orjson.JSONDecodeError as error:
        return JsonRecord(text, position, error=f"invalid JSON: {error}")


def json_lines(stream: Iterable[bytes], first_line: int = 1) -> Iterator[JsonRecord]:
    """Each non-blank line of a JSON Lines file, parsed; position is the line number."""
    for number, line in enumerate(stream, start=first_line):
        record = json_line(line, number)
        if record is not None:
            yield record


def json_line(line: bytes, number: int) -> JsonRecord | None:
    """One line of a JSON Lines file, parsed (None for a blank line)."""
    try:
        text = line.decode("utf-8-sig" if number == 1 else "utf-8").strip()
    except UnicodeDecodeError as error:
        return JsonRecord("", number, error=f"not UTF-8 text ({error.reason} at byte {error.start})")
    return parse_record(text, number) if text else None


def fields_from_object(document: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON object as Splunk's JSON field extraction names it.

    Nested objects give dotted names (``process.name``); a list gives a multivalue field
    (``tags``), and objects inside a list give ``name{}.key``. Values become text.
    """
    fields: dict[str, Any] = {}
    for key, value in document.items():
        if type(value) is str and key not in fields:  # the common case, kept fast
            fields[key] = value
        else:
            _flatten(value, str(key), fields)
    return fields


def _flatten(value: Any, name: str, fields: dict[str, Any]) -> None:
    # JSON parsers give dicts and lists; plain type checks keep this loop cheap.
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{name}.{key}", fields)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)):
                _flatten(item, f"{name}{{}}", fields)
            else:
                _add_value(fields, name, item)
    else:
        _add_value(fields, name, value)


def _add_value(fields: dict[str, Any], name: str, value: Any) -> None:
    text = None if value is None else text_of(value)
    if name not in fields:
        fields[name] = text
        return
    previous = fields[name]
    fields[name] = [*previous, text] if isinstance(previous, list) else [previous, text]


class StructureError(ValueError):
    """The text between records is not JSON; reading this file cannot go on."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class _Scanner:
    """Finds the extent of top-level JSON values in a text read chunk by chunk."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.buffer = ""
        self.pos = 0
        self.line = 1  # line of self.pos
        self.at_end = False

    def _fill(self) -> bool:
        if self.at_end:
            return False
        chunk = self.stream.read(CHUNK_CHARS)
        if not chunk:
            self.at_end = True
            return False
        self.buffer += chunk
        return True

    def _advance(self, to: int) -> None:
        self.line += self.buffer.count("\n", self.pos, to)
        self.pos = to

    def next_char(self) -> str | None:
        """Skip whitespace; the next character (not consumed), or None at the end."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in _WHITESPACE:
                if self.buffer[self.pos] == "\n":
                    self.line += 1
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            self.buffer, self.pos = "", 0
            if not self._fill():
                return None

    def take(self, char: str) -> None:
        self._advance(self.pos + len(char))

    def value(self) -> tuple[str, int]:
        """Consume the value that starts at the current position; its text and first line."""
        self.buffer, self.pos = self.buffer[self.pos:], 0  # keep only the current value
        start_line = self.line
        # A character that cannot start a value (a stray '\\', '}' or ',') is taken as a
        # one-character record of its own, so the scan always moves on.
        end = max(self._value_end(), 1)
        text = self.buffer[:end]
        self._advance(end)
        return text, start_line

    def _value_end(self) -> int:
        first = self.buffer[0]
        if first == '"':
            return self._string_end(0)
        if first not in "{[":
            return self._scalar_end()
        depth, index = 0, 0
        while True:
            for token in _TOKEN.finditer(self.buffer, index):
                char = token.group()
                if char == '"':  # a string cut by the end of the buffer
                    index = token.start()
                    break
                if char[0] == '"':
                    continue
                depth += 1 if char in "{[" else -1
                if depth == 0:
                    return token.end()
            else:
                index = len(self.buffer)
            if not self._fill():
                raise StructureError("the text ends inside a JSON value", self.line)

    def _string_end(self, start: int) -> int:
        while True:
            found = _STRING.match(self.buffer, start)
            if found is not None:
                return found.end()
            if not self._fill():
                raise StructureError("the text ends inside a JSON string", self.line)

    def _scalar_end(self) -> int:
        while True:
            found = _SCALAR_END.search(self.buffer, 0)
            if found is not None:
                return found.start()
            if not self._fill():
                return len(self.buffer)


def json_stream(stream: TextIO) -> Iterator[JsonRecord]:
    """Records of a JSON text that is not JSON Lines: array elements or top-level values.

    An element of a top-level array gets its 1-based record number as position; a
    top-level value outside an array gets its first line. Raises StructureError when
    the text between records is not JSON.
    """
    scanner = _Scanner(stream)
    while (char := scanner.next_char()) is not None:
        if char != "[":
            text, line = scanner.value()
            yield parse_record(text, line)
            continue
        scanner.take("[")
        yield from _array_elements(scanner)


def _array_elements(scanner: _Scanner) -> Iterator[JsonRecord]:
    number = 0
    if scanner.next_char() == "]":
        scanner.take("]")
        return
    while True:
        if scanner.next_char() is None:
            raise StructureError("the text ends inside a JSON array", scanner.line)
        text, _ = scanner.value()
        number += 1
        yield parse_record(text, number)
        separator = scanner.next_char()
        if separator == "]":
            scanner.take("]")
            return
        if separator != ",":
            found = "the end of the text" if separator is None else repr(separator)
            raise StructureError(f"expected ',' or ']' after array element {number}, found {found}", scanner.line)
        scanner.take(",")
