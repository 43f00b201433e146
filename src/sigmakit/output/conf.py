"""Splunk .conf files: values written so they cannot change a file's structure, and every
file read back with Splunk's own parser library to prove it.

A .conf file is ``[stanza]`` headers and ``key = value`` lines, with no escape
characters. A line that ends in a backslash continues on the next line (the line break
stays in the value), a line starting with ``[`` opens a stanza, one starting with ``#``
or ``;`` is a comment. So here:

* a multi-line value (a search) is written line by line, every line but the last ending
  in ``\\``;
* a value the format cannot carry is refused with an OutputError, never silently
  altered: a line break other than ``\\n`` (CR, U+2028...), control characters other
  than tab, a line that starts or ends with whitespace or ends with a backslash, an empty
  continuation line or one starting with a comment character, ``[`` or ``rem``;
* prose (titles, descriptions, messages) is made fit on purpose by ``single_line`` and
  JSON by ``conf_json`` before it reaches a file.

Read-back uses addonfactory-splunk-conf-parser-lib, whose reader differs from Splunk's in
two documented ways that ``library_reading`` models: on a ``key = value`` line, a ``;``
that follows whitespace starts a comment (only when it is the first ``;`` of the value),
and a value of exactly ``""`` reads as empty.
"""

from __future__ import annotations

import io
import json
import re
from configparser import Error as ConfigParserError
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Iterable, Mapping

from addonfactory_splunk_conf_parser_lib import TABConfigParser

from sigmakit.errors import Location, OutputError
from sigmakit.output.atomic import write_text_atomic

_KEY: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
# Characters no value may hold: control characters except tab, and Unicode line breaks.
_FORBIDDEN: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
_STANZA_FORBIDDEN: Final = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029\[\]]")
_CONTINUATION_START: Final = re.compile(r"^(?:[#;*\[]|rem(?:\s|$))", re.IGNORECASE)
CONTINUATION: Final = "\\\n"


@dataclass(frozen=True)
class Stanza:
    """One ``[name]`` and its settings, in the order they are written."""

    name: str
    settings: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, name: str, settings: Mapping[str, str] | Iterable[tuple[str, str]]) -> "Stanza":
        items = settings.items() if isinstance(settings, Mapping) else settings
        return cls(name, tuple((str(k), str(v)) for k, v in items))

    def as_dict(self) -> dict[str, str]:
        return dict(self.settings)


@dataclass(frozen=True)
class ConfFile:
    """A whole .conf file: comment lines on top, then stanzas."""

    name: str  # e.g. "default/savedsearches.conf", for messages
    stanzas: tuple[Stanza, ...]
    header: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, dict[str, str]]:
        return {stanza.name: stanza.as_dict() for stanza in self.stanzas}

    def render(self) -> str:
        """The file's text; raises OutputError for anything the format cannot carry."""
        check_conf(self)
        lines = [f"# {line}" if line else "#" for line in self.header]
        for stanza in self.stanzas:
            if lines:
                lines.append("")
            lines.append(f"[{stanza.name}]")
            lines.extend(f"{key} = {CONTINUATION.join(value.split(chr(10)))}" for key, value in stanza.settings)
        return "\n".join(lines) + "\n"


def single_line(text: str) -> str:
    """Prose made fit for a one-line .conf value, keeping its words.

    Every run of whitespace (line breaks included) becomes one space, other control
    characters become spaces too, whitespace before ``;`` goes (the parser library would
    read `` ;`` as a comment), a text of just ``""`` is empty (that is how it reads back),
    and a final backslash, which would continue the line, gets a ``.`` after it.
    """
    text = re.sub(r"\s+", " ", _FORBIDDEN.sub(" ", text))
    text = text.replace(" ;", ";").strip()
    if text == '""':  # read as an empty value
        return ""
    return f"{text}." if text.endswith("\\") else text


def conf_json(value: object) -> str:
    """JSON on one ASCII line; ``;`` is written ``\\u003b`` so no reader takes it for a comment."""
    return json.dumps(value, ensure_ascii=True).replace(";", "\\u003b")


def check_value(value: str, where: str) -> None:
    """Raise OutputError if *value* cannot be written as a .conf value exactly."""
    bad = _FORBIDDEN.search(value.replace("\n", " "))
    if bad:
        raise OutputError(f"{where}: holds character U+{ord(bad.group()):04X}, which a .conf file cannot carry")
    lines = value.split("\n")
    for number, line in enumerate(lines, start=1):
        part = f"{where}, line {number} of the value" if len(lines) > 1 else where
        if line != line.strip():
            raise OutputError(f"{part}: starts or ends with whitespace, which a .conf file does not keep")
        if line.endswith("\\"):
            raise OutputError(f"{part}: ends with a backslash, which would continue the .conf line")
        if number == 1 and len(lines) > 1 and library_reading(line).endswith("\\"):
            # The parser library ends the value at a ';' after whitespace; a backslash left
            # at the end of what it keeps would then merge with the line continuation.
            raise OutputError(f"{part}: a ';' after a space, preceded by a backslash, cannot be read back")
        if number > 1 and (not line or _CONTINUATION_START.match(line)):
            raise OutputError(
                f"{part}: is empty or starts like a comment or stanza, which a continued .conf line cannot"
            )


def check_conf(conf: ConfFile) -> None:
    """Raise OutputError for a stanza name, key or value the file cannot carry."""
    seen: set[str] = set()
    for stanza in conf.stanzas:
        where = f"{conf.name} [{stanza.name}]"
        if not stanza.name or stanza.name != stanza.name.strip() or _STANZA_FORBIDDEN.search(stanza.name):
            raise OutputError(f"{where}: a stanza name must be one line without [ or ] and outer spaces")
        if stanza.name in seen:
            raise OutputError(f"{where}: stanza written twice")
        seen.add(stanza.name)
        keys: set[str] = set()
        for key, value in stanza.settings:
            if not _KEY.match(key) or key in keys:
                raise OutputError(f"{where}: bad or repeated key {key!r}")
            keys.add(key)
            check_value(value, f"{where} {key}")


def library_reading(value: str) -> str:
    """What the parser library reads back for *value* written by ConfFile.render."""
    first, _, rest = value.partition("\n")
    semicolon = first.find(";")
    if semicolon > 0 and first[semicolon - 1].isspace():
        first = first[:semicolon].strip()
    if not rest and first == '""':
        first = ""
    return first + ("\n" + rest if rest else "")


def read_conf(text: str, name: str = "<conf>") -> dict[str, dict[str, str]]:
    """Parse .conf text with Splunk's parser library; continued lines are joined with ``\\n``."""
    parser = TABConfigParser()
    try:
        parser.read_file(io.StringIO(text), source=name)
    except ConfigParserError as error:
        raise OutputError(f"does not parse as a .conf file: {error}", location=Location.of(name)) from None
    if parser.fields_outside_stanza:
        raise OutputError(f"settings outside any stanza: {parser.fields_outside_stanza!r}", location=Location.of(name))
    return {
        stanza: {key: value.replace(CONTINUATION, "\n") for key, value in settings.items()}
        for stanza, settings in parser.item_dict().items()
    }


def verify_conf(conf: ConfFile, text: str) -> None:
    """Read *text* back and raise OutputError unless it holds exactly *conf*."""
    parsed = read_conf(text, conf.name)
    expected = {name: {k: library_reading(v) for k, v in settings.items()} for name, settings in conf.as_dict().items()}
    if list(parsed) != list(expected):
        raise OutputError(
            f"reads back with stanzas {list(parsed)!r} instead of {list(expected)!r}", location=Location.of(conf.name)
        )
    for name, settings in expected.items():
        if parsed[name] != settings:
            differing = sorted(k for k in set(settings) | set(parsed[name]) if settings.get(k) != parsed[name].get(k))
            raise OutputError(
                f"[{name}] reads back differently in {', '.join(differing)}", location=Location.of(conf.name)
            )


def write_conf(conf: ConfFile, path: str | Path) -> None:
    """Render *conf*, write it atomically, then read the file back and verify it."""
    text = conf.render()
    write_text_atomic(path, text)
    verify_conf(conf, Path(path).read_text(encoding="utf-8"))


__all__ = [
    "CONTINUATION",
    "ConfFile",
    "Stanza",
    "check_conf",
    "check_value",
    "conf_json",
    "library_reading",
    "read_conf",
    "single_line",
    "verify_conf",
    "write_conf",
]
