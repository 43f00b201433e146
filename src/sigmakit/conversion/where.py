"""The exact side of a rule: an SPL ``where`` expression that means what the Sigma test means.

``where`` evaluates an eval expression, which differs from search terms in ways that
matter (Splunk SPL reference, "where" and "eval"):

* it is case-sensitive, so Sigma's case-insensitive strings become ``lower(f)=="..."`` or
  a ``match()`` with ``(?i)``; ``cased`` strings and Sigma regexes keep their case;
* ``*`` means nothing, so patterns become anchored PCRE for ``match()``;
* AND binds tighter than OR (the search command is the other way round), so every
  nested group is parenthesised;
* a test on a missing field gives null, and ``NOT null`` is null, which ``where`` drops,
  although Sigma's ``not`` holds for a missing field. The expression is therefore written
  with negation pushed down to the tests, and a negated test on a field that can be null
  reads ``(isnull(f) OR NOT test)``.

Field names are single-quoted when they are not plain words (``'Processes.process'``,
``'Command Line'``); strings are double-quoted with ``\\`` and ``"`` escaped, so a regex
backslash reaches PCRE intact (``\\\\`` in SPL is ``\\`` in the pattern).
"""

from __future__ import annotations

import re
from typing import Final

from sigmakit.conversion.condition import (
    AllOf,
    AnyOf,
    Cidr,
    Compare,
    Const,
    Fragment,
    Glob,
    GlobPart,
    IsMissing,
    Node,
    Not,
    Number,
    Regex,
    SameAs,
    Wildcard,
)
from sigmakit.conversion.nulls import NullPolicy
from sigmakit.conversion.search import format_number, quote

RAW_EVENT: Final = "_raw"
_PLAIN_FIELD: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PCRE_SPECIAL: Final = frozenset("\\^$.|?*+()[]{}")
_CONTROL_ESCAPES: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_CONTROL_CHARACTER: Final = re.compile(r"[\x00-\x1f\x7f]")
_NEGATED_OPERATORS: Final = {"==": "!=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


class NoWhereForm(Exception):
    """A test that only the search command can hold (a macro call) reached the post-filter."""


class WhereRenderer:
    """Exact ``where`` text for a condition, for one data source's missing-value policy."""

    def __init__(self, nulls: NullPolicy) -> None:
        self.nulls = nulls

    def render(self, node: Node) -> str:
        """Top-level text (no outer parentheses)."""
        return self._expression(node, negated=False, top=True)

    def _expression(self, node: Node, negated: bool, top: bool = False) -> str:
        if isinstance(node, Not):
            return self._expression(node.part, not negated, top)
        if isinstance(node, (AllOf, AnyOf)):
            # De Morgan: not (a and b) is (not a) or (not b).
            conjunction = isinstance(node, AllOf) != negated
            joiner = " AND " if conjunction else " OR "
            text = joiner.join(self._expression(part, negated) for part in node.parts)
            return text if top else f"({text})"
        if isinstance(node, Const):
            return "true()" if node.value != negated else "false()"
        return self._negated(node) if negated else self._positive(node)

    # -- tests ----------------------------------------------------------------------------
    def _positive(self, node: Node) -> str:
        if isinstance(node, Glob) and not _is_comparison(node):
            return self._match(node)
        if isinstance(node, Regex):
            pattern = _CONTROL_CHARACTER.sub(lambda m: pcre_escape(m.group()), node.pattern)
            return f"match({eval_field(node.field)}, {quote(_flag_prefix(node.flags) + pattern)})"
        if isinstance(node, Cidr):
            return f"cidrmatch({quote(node.network)}, {eval_field(node.field)})"
        if isinstance(node, IsMissing):
            return self._missing(node.field, True)
        if isinstance(node, Fragment):
            raise NoWhereForm(node.text)
        if isinstance(node, SameAs) and node.mode == "endswith":
            return _ends_with_field(node)
        return _comparison(node, negated=False)

    def _negated(self, node: Node) -> str:
        if isinstance(node, IsMissing):
            return self._missing(node.field, False)
        if isinstance(node, (Glob, Number, Compare, SameAs)) and _is_comparison(node):
            text = _comparison(node, negated=True)
        else:
            text = f"NOT {self._positive(node)}"
        nullable = [name for name in _fields(node) if self.nulls.filter_value(name) is None]
        if not nullable:
            return text
        guards = " OR ".join(f"isnull({eval_field(name)})" for name in nullable)
        return f"({guards} OR {text})"

    def _missing(self, name: str, missing: bool) -> str:
        stand_in = self.nulls.filter_value(name)
        if stand_in is None:
            return f"{'isnull' if missing else 'isnotnull'}({eval_field(name)})"
        return f"{eval_field(name)}{'==' if missing else '!='}{quote(stand_in)}"

    def _match(self, glob: Glob) -> str:
        target = eval_field(glob.field)
        encoding = self.nulls.raw_format if glob.field is None else None
        pattern = glob_pcre(glob.parts, encoding)
        if not pattern:
            return f"isnotnull({target})"  # ``*`` alone: any value at all
        inner_wildcard = any(isinstance(part, Wildcard) for part in _trim(glob.parts))
        flags = ("" if glob.cased else "i") + ("s" if inner_wildcard else "")
        return f"match({target}, {quote(_flag_prefix(flags) + pattern)})"


def _is_comparison(node: Node) -> bool:
    """Tests written as ``left op right``, which negate by flipping the operator."""
    if isinstance(node, Glob):  # eval strings cannot hold control characters: those use match()
        return not node.has_wildcards and _CONTROL_CHARACTER.search(node.literal) is None
    if isinstance(node, SameAs):
        return node.mode != "endswith"
    return isinstance(node, (Number, Compare))


def _comparison(node: Node, negated: bool) -> str:
    """Equality or ordering tests; Sigma strings and field references compare case-insensitively."""
    if isinstance(node, Glob):
        target = eval_field(node.field)
        left, right = (target, quote(node.literal)) if node.cased else (f"lower({target})", quote(node.literal.lower()))
        op = "=="
    elif isinstance(node, Number):
        left, op, right = eval_field(node.field), "==", format_number(node.value)
    elif isinstance(node, Compare):
        left, op, right = eval_field(node.field), node.op, format_number(node.value)
    elif isinstance(node, SameAs):
        other = eval_field(node.other)
        mine = f"lower({eval_field(node.field)})"
        left = f"substr({mine}, 1, len({other}))" if node.mode == "startswith" else mine
        op, right = "==", f"lower({other})"
    else:
        raise TypeError(f"{node!r} is not a comparison")
    return f"{left}{_NEGATED_OPERATORS[op] if negated else op}{right}"


def _ends_with_field(node: SameAs) -> str:
    left, right = eval_field(node.field), eval_field(node.other)
    # substr with a start below 1 counts from the end, so the length check comes first.
    return (
        f"(len({left})>=len({right}) AND "
        f"substr(lower({left}), len({left})-len({right})+1)==lower({right}))"
    )


def _fields(node: Node) -> tuple[str, ...]:
    if isinstance(node, SameAs):
        return (node.field, node.other)
    name = getattr(node, "field", None)
    return () if name is None else (name,)


def _trim(parts: tuple[GlobPart, ...]) -> tuple[GlobPart, ...]:
    """The pattern without a leading or trailing ``*`` (an unanchored regex needs none)."""
    start = 1 if parts and parts[0] is Wildcard.ANY else 0
    end = len(parts) - 1 if len(parts) > start and parts[-1] is Wildcard.ANY else len(parts)
    return parts[start:end]


def glob_pcre(parts: tuple[GlobPart, ...], encoding: str | None = None) -> str:
    """PCRE text matching a whole value against *parts*; leading/trailing ``*`` drop the anchor.

    With an *encoding* ("xml" or "json"), literal text is matched as the raw event writes
    it (see raw_text_pcre).
    """
    literal = pcre_escape if encoding is None else (lambda text: raw_text_pcre(text, encoding))
    body = "".join(
        ".*" if part is Wildcard.ANY else "." if part is Wildcard.ONE else literal(str(part))
        for part in _trim(parts)
    )
    if not body:
        return ""
    head = "" if parts[0] is Wildcard.ANY else "^"
    tail = "" if parts[-1] is Wildcard.ANY else "$"
    return f"{head}{body}{tail}"


_XML_ENTITIES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}
_JSON_ESCAPES: Final = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def _raw_forms(char: str, encoding: str) -> list[str]:
    """Every way the raw event may write *char* (XML: itself or its entity; JSON: its escape)."""
    if encoding == "xml":
        # Windows writes only the five entities; a numeric reference is also accepted for
        # them and for non-ASCII characters (other producers use it).
        if char in _XML_ENTITIES or ord(char) >= 0x80:
            named = [_XML_ENTITIES[char]] if char in _XML_ENTITIES else []
            return [char, *named, f"&#{ord(char)};", f"&#x{ord(char):x};"]
        return [char]
    if char in _JSON_ESCAPES:
        return [_JSON_ESCAPES[char]]
    code = ord(char)
    if code < 0x20:
        return [f"\\u{code:04x}"]
    if char == "/":
        return ["/", "\\/"]
    if code < 0x80:
        return [char]
    if code <= 0xFFFF:
        return [char, f"\\u{code:04x}"]
    high, low = divmod(code - 0x10000, 0x400)
    return [char, f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"]


def raw_text_pcre(text: str, encoding: str) -> str:
    """PCRE for literal *text* as it appears inside a raw XML or JSON event."""
    pieces = []
    for char in text:
        forms = [pcre_escape(form) for form in _raw_forms(char, encoding)]
        pieces.append(forms[0] if len(forms) == 1 else "(?:" + "|".join(forms) + ")")
    return "".join(pieces)


def pcre_escape(text: str) -> str:
    """Literal *text* as PCRE: metacharacters and control characters escaped, nothing else."""
    pieces = []
    for char in text:
        if char in _PCRE_SPECIAL:
            pieces.append("\\" + char)
        elif char in _CONTROL_ESCAPES:
            pieces.append(_CONTROL_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            pieces.append(f"\\x{{{ord(char):02x}}}")
        else:
            pieces.append(char)
    return "".join(pieces)


def _flag_prefix(flags: str) -> str:
    return f"(?{flags})" if flags else ""


def eval_field(name: str | None) -> str:
    """A field name in an eval expression; None is the raw event."""
    if name is None:
        return RAW_EVENT
    if _PLAIN_FIELD.match(name):
        return name
    escaped = name.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


__all__ = ["NoWhereForm", "RAW_EVENT", "WhereRenderer", "eval_field", "glob_pcre", "pcre_escape"]
