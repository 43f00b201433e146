"""Search macros: read from a macros.conf and expanded in SPL text before parsing.

Splunk expands macros textually, before it parses the search, so the evaluator does the
same. A macro call is backtick-quoted: `` `name` `` or `` `name(arg1, arg2)` ``; a call with
N arguments uses the stanza ``[name(N)]``, whose ``args`` names the arguments and whose
``definition`` holds ``$name$`` placeholders. Placeholders are replaced everywhere in the
definition, inside quotes too (macros.conf.spec), while calls inside a double-quoted
string are left alone. Expansion repeats until no call is left, up to a fixed depth.

macros.conf is read with Splunk's own ``addonfactory-splunk-conf-parser-lib``. That
parser treats `` ;`` (a semicolon after whitespace) as the start of a comment, which
Splunk does not; a definition it cut there is restored from the file's own line.
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Iterator, Mapping

from addonfactory_splunk_conf_parser_lib import TABConfigParser

from sigmakit.errors import Location, SigmakitError
from sigmakit.verification.spl.errors import CannotEvaluate, SplSyntaxError
from sigmakit.verification.spl.text import skip_quoted, unquoted

MAX_DEPTH: Final = 32
_STANZA: Final = re.compile(r"^(?P<name>[^()\s]+)(?:\((?P<count>\d+)\))?$")
_ARGUMENT_NAME: Final = re.compile(r"^[A-Za-z0-9_]+$")


class MacroFileError(SigmakitError):
    """A macros.conf file that cannot be read, or a stanza that is not a valid macro."""


@dataclass(frozen=True)
class Macro:
    """One macro definition: ``[name]`` or ``[name(N)]`` with ``args`` and ``definition``."""

    name: str
    arguments: tuple[str, ...]
    definition: str
    is_eval: bool = False

    @property
    def key(self) -> tuple[str, int]:
        return self.name, len(self.arguments)

    def apply(self, values: list[str]) -> str:
        """The definition with each ``$argument$`` replaced by its value."""
        text = self.definition
        for name, value in zip(self.arguments, values):
            text = text.replace(f"${name}$", value)
        return text


class MacroSet(Mapping[tuple[str, int], Macro]):
    """Macros by (name, number of arguments), and where they were read from."""

    def __init__(self, macros: Mapping[tuple[str, int], Macro] | None = None, source: str = "<macros>") -> None:
        self._macros = dict(macros or {})
        self.source = source

    def __getitem__(self, key: tuple[str, int]) -> Macro:
        return self._macros[key]

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return iter(self._macros)

    def __len__(self) -> int:
        return len(self._macros)

    def merged(self, other: "MacroSet") -> "MacroSet":
        """These macros, with *other*'s replacing any of the same name and arity."""
        return MacroSet({**self._macros, **other._macros}, f"{self.source}, {other.source}")

    @classmethod
    def from_text(cls, text: str, source: str = "<macros.conf>") -> "MacroSet":
        parser = TABConfigParser()
        try:
            parser.read_string(text, source)
        except configparser.Error as error:
            raise MacroFileError(f"not a valid .conf file: {error}", location=Location.of(source)) from None
        macros: dict[tuple[str, int], Macro] = {}
        lines = _stanza_lines(text)
        for stanza in parser.sections():
            if stanza == "default":
                continue
            macro = _macro(stanza, dict(parser.items(stanza)), lines, source)
            macros[macro.key] = macro
        return cls(macros, source)

    @classmethod
    def from_file(cls, path: str | Path) -> "MacroSet":
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise MacroFileError(f"cannot read macros: {error}", location=Location.of(path)) from None
        return cls.from_text(text, str(path))


def _macro(stanza: str, keys: dict[str, str], lines: "_StanzaLines", source: str) -> Macro:
    where = Location.of(source, lines.line_of(stanza))
    found = _STANZA.match(stanza)
    if found is None:
        raise MacroFileError(f"[{stanza}] is not a macro name (name or name(N))", location=where)
    count = int(found.group("count") or 0)
    arguments = tuple(a.strip() for a in keys.get("args", "").split(",") if a.strip())
    if len(arguments) != count:
        raise MacroFileError(
            f"[{stanza}] declares {count} argument(s) but args lists {len(arguments)}", location=where
        )
    for argument in arguments:
        if not _ARGUMENT_NAME.match(argument):
            raise MacroFileError(f"[{stanza}] has an invalid argument name {argument!r}", location=where)
    if "definition" not in keys:
        raise MacroFileError(f"[{stanza}] has no definition", location=where)
    # The parser keeps the continuation backslash of a multi-line value; Splunk drops it
    # and keeps the line break.
    definition = _uncut(keys["definition"], lines.definition_of(stanza)).replace("\\\n", "\n")
    is_eval = keys.get("iseval", "0").strip().lower() in ("1", "true", "t", "yes")
    return Macro(found.group("name"), arguments, definition, is_eval)


def _uncut(value: str, written: str | None) -> str:
    """*value* as Splunk reads it, where the parser library read `` ;`` as a comment.

    Splunk's .conf files have no inline comments, but the library cuts the first line of a
    value at a semicolon that follows whitespace (``-EnableExit ;``). The first line is
    then taken from the file itself (*written*, the text after ``definition =``).
    """
    first, newline, rest = value.partition("\n")
    if written is None:
        return value
    written = written.strip()
    if written != first and written.startswith(first) and written[len(first):].lstrip().startswith(";"):
        return written + newline + rest
    return value


@dataclass
class _StanzaLines:
    """Where each stanza starts in the file, and the text of its ``definition`` line."""

    lines: dict[str, int]
    definitions: dict[str, str]

    def line_of(self, stanza: str) -> int | None:
        return self.lines.get(stanza)

    def definition_of(self, stanza: str) -> str | None:
        return self.definitions.get(stanza)


def _stanza_lines(text: str) -> _StanzaLines:
    lines: dict[str, int] = {}
    definitions: dict[str, str] = {}
    current = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1]
            lines.setdefault(current, number)
            continue
        key, equals, value = line.partition("=")
        if current is not None and equals and key.strip() == "definition":
            definitions.setdefault(current, value)
    return _StanzaLines(lines, definitions)


def expand_macros(text: str, macros: Mapping[tuple[str, int], Macro], depth: int = 0) -> str:
    """*text* with every macro call outside double quotes replaced by its expansion."""
    if "`" not in text:
        return text
    if depth > MAX_DEPTH:
        raise SplSyntaxError(f"macro expansion deeper than {MAX_DEPTH} levels (a macro calls itself?)")
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == '"':
            end = skip_quoted(text, index)
            out.append(text[index:end])
            index = end
            continue
        if char == "\\" and index + 1 < len(text):
            out.append(text[index:index + 2])
            index += 2
            continue
        if char == "`":
            end = text.find("`", index + 1)
            if end < 0:
                raise SplSyntaxError("unclosed macro call (missing `)", index)
            expansion = _expand_call(text[index + 1:end], macros, index)
            out.append(expand_macros(expansion, macros, depth + 1))
            index = end + 1
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _expand_call(call: str, macros: Mapping[tuple[str, int], Macro], offset: int) -> str:
    call = call.strip()
    name, arguments = call, []
    if call.endswith(")") and "(" in call:
        name = call[:call.index("(")].strip()
        arguments = split_arguments(call[call.index("(") + 1:-1])
    macro = macros.get((name, len(arguments)))
    if macro is None:
        known = sorted(f"{n}({c})" if c else n for n, c in macros if n == name)
        hint = f"; defined: {', '.join(known)}" if known else ""
        label = f"{name}({len(arguments)})" if arguments else name
        source = getattr(macros, "source", "the macro set")
        raise SplSyntaxError(f"macro `{label}` is not defined in {source}{hint}", offset)
    if macro.is_eval:
        raise CannotEvaluate(f"eval-based macro `{name}` (iseval = 1) is outside the evaluator's subset", offset)
    return macro.apply(arguments)


def split_arguments(text: str) -> list[str]:
    """Macro arguments: split at commas outside quotes and parentheses, trimmed."""
    if not text.strip():
        return []
    arguments: list[str] = []
    depth = 0
    start = 0
    for index, char in unquoted(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            arguments.append(text[start:index].strip())
            start = index + 1
    arguments.append(text[start:].strip())
    return arguments
