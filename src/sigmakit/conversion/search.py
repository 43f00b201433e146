"""The search-command side of a rule: what SPL search terms can say, and what they cannot.

Search terms match field values case-insensitively with ``*`` as their only wildcard, and a
``*`` cannot be escaped (Splunk Search Manual, "Backslashes"). So a Sigma ``?`` wildcard, a
literal ``*`` (``\\*`` in Sigma), a ``cased`` string, a regular expression and a field
reference cannot be searched for exactly. ``approximate`` replaces each such test by the
closest search it can express: the *widest* correct superset where the test counts for the
rule (a wildcard term, or true) and the *narrowest* subset under ``not`` (false), and reports
whether anything was approximated. The exact test then goes to the post-filter (where.py).

Keywords (field-less values) are searched as ``*text*`` over the raw event, which Splunk
matches inside one segment of the event: exact for text without major breakers (spaces,
quotes, brackets...), otherwise the text's pieces are searched as a superset.
"""

from __future__ import annotations

import re
from typing import Final

from sigmakit.conversion.condition import (
    FALSE,
    TRUE,
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
    simplify,
)
from sigmakit.conversion.nulls import NullPolicy

# Values that may stay unquoted in a search term: nothing Splunk's search parser treats
# specially (spaces, quotes, parentheses, '=', '|', '[', backslashes, backticks...).
SAFE_UNQUOTED: Final = re.compile(r"^[A-Za-z0-9_.*\-/@]+$")
RESERVED_WORDS: Final = frozenset({"OR", "AND", "NOT", "IN", "TERM", "CASE"})
_PLAIN_FIELD: Final = re.compile(r"^[\w.]+$")
# Keyword text searched as one bare term must stay inside one segment of the raw event.
_KEYWORD_CHUNK: Final = re.compile(r"[A-Za-z0-9_.\-/@]+")
_KEYWORD_TEXT: Final = re.compile(r"^[A-Za-z0-9_.\-/@]+$")
# Characters a search term cannot hold: ``*`` (always a wildcard) and control characters
# (SPL strings have no escape for a newline or a tab).
_UNSEARCHABLE: Final = re.compile(r"[*\x00-\x1f\x7f]")


# -- approximation ----------------------------------------------------------------------
def approximate(node: Node, wide: bool = True) -> tuple[Node, bool]:
    """A node the search command can express, and whether it is exactly *node*.

    With ``wide`` the result matches at least every event *node* matches (a superset);
    without, at most those events (a subset). ``not`` swaps the two.
    """
    if isinstance(node, (AllOf, AnyOf)):
        results = [approximate(part, wide) for part in node.parts]
        group = type(node)(tuple(r[0] for r in results))
        return simplify(group), all(r[1] for r in results)
    if isinstance(node, Not):
        inner, exact = approximate(node.part, not wide)
        return simplify(Not(inner)), exact
    if isinstance(node, Glob):
        return _approximate_glob(node, wide)
    if isinstance(node, (Regex, SameAs)):
        return (TRUE if wide else FALSE), False
    return node, True


def _approximate_glob(glob: Glob, wide: bool) -> tuple[Node, bool]:
    if glob.field is None:
        return _approximate_keyword(glob, wide)
    if not glob.cased and not any(_unsearchable(part) for part in glob.parts):
        return glob, True
    if not wide:
        return FALSE, False
    return Glob(glob.field, _widened(glob.parts)), False


def _unsearchable(part: GlobPart) -> bool:
    return part is Wildcard.ONE or (isinstance(part, str) and _UNSEARCHABLE.search(part) is not None)


def _widened(parts: tuple[GlobPart, ...]) -> tuple[GlobPart, ...]:
    """The pattern with ``?``, literal ``*`` and control characters turned into ``*``."""
    widened: list[GlobPart] = []
    for part in parts:
        pieces: list[GlobPart] = [Wildcard.ANY] if isinstance(part, Wildcard) else []
        if isinstance(part, str):
            for index, text in enumerate(_UNSEARCHABLE.split(part)):
                if index:
                    pieces.append(Wildcard.ANY)
                if text:
                    pieces.append(text)
        for piece in pieces:
            if not (piece is Wildcard.ANY and widened and widened[-1] is Wildcard.ANY):
                widened.append(piece)
    return tuple(widened)


def _approximate_keyword(glob: Glob, wide: bool) -> tuple[Node, bool]:
    texts = [part for part in glob.parts if isinstance(part, str)]
    if not texts:
        return TRUE, True  # an empty keyword matches every event
    exact = (
        not glob.cased
        and len(glob.parts) == 3
        and glob.parts[0] is Wildcard.ANY
        and glob.parts[2] is Wildcard.ANY
        and _KEYWORD_TEXT.match(texts[0]) is not None
    )
    if exact:
        return glob, True
    if not wide:
        return FALSE, False
    chunks = dict.fromkeys(chunk for text in texts for chunk in _KEYWORD_CHUNK.findall(text))
    terms = tuple(Glob(None, (Wildcard.ANY, chunk, Wildcard.ANY)) for chunk in chunks)
    return simplify(AllOf(terms)), False


# -- rendering --------------------------------------------------------------------------
class SearchRenderer:
    """SPL search-command text for nodes that ``approximate`` produced."""

    def __init__(self, nulls: NullPolicy) -> None:
        self.nulls = nulls

    def render(self, node: Node) -> str:
        """Top-level text: AND-ed parts side by side, every nested group in parentheses."""
        if isinstance(node, Const):
            raise TypeError("a constant has no search text; the caller decides what true and false mean")
        return self._group(node, top=True)

    def _group(self, node: Node, top: bool = False) -> str:
        if isinstance(node, AllOf):
            text = " ".join(self._group(part) for part in node.parts)
        elif isinstance(node, AnyOf):
            text = " OR ".join(self._group(part) for part in node.parts)
        else:
            return self._term(node)
        return text if top else f"({text})"

    def _term(self, node: Node) -> str:
        if isinstance(node, Not):
            if isinstance(node.part, IsMissing):
                return self._present(node.part.field)
            return f"NOT {self._group(node.part)}"
        if isinstance(node, Glob):
            value = search_value(node.parts)
            return value if node.field is None else f"{search_field(node.field)}={value}"
        if isinstance(node, Number):
            return f"{search_field(node.field)}={format_number(node.value)}"
        if isinstance(node, Compare):
            return f"{search_field(node.field)}{node.op}{format_number(node.value)}"
        if isinstance(node, Cidr):
            return f"{search_field(node.field)}={quote(node.network)}"
        if isinstance(node, IsMissing):
            return self._missing(node.field)
        if isinstance(node, Fragment):
            return node.text
        raise TypeError(f"{node!r} cannot be written as a search term")

    def _missing(self, name: str) -> str:
        stand_in = self.nulls.search_value(name)
        if stand_in is None:
            return f"NOT {search_field(name)}=*"
        return f"{search_field(name)}={search_value((stand_in,))}"

    def _present(self, name: str) -> str:
        stand_in = self.nulls.search_value(name)
        if stand_in is None:
            return f"{search_field(name)}=*"
        # Calculated fields always hold a value, so != does not drop events here.
        return f"{search_field(name)}!={search_value((stand_in,))}"


def search_field(name: str) -> str:
    """A field name as the search command reads it: double-quoted unless plain."""
    if _PLAIN_FIELD.match(name):
        return name
    return quote(name)


def search_value(parts: tuple[GlobPart, ...]) -> str:
    """A pattern as a search value: ``\\`` and ``"`` escaped, quoted unless plainly safe."""
    text = "".join(
        "*" if part is Wildcard.ANY else str(part).replace("\\", "\\\\").replace('"', '\\"')
        for part in parts
    )
    if SAFE_UNQUOTED.match(text) and text.upper() not in RESERVED_WORDS:
        return text
    return f'"{text}"'


def quote(text: str) -> str:
    """A double-quoted SPL string with backslashes and quotes escaped."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def format_number(value: int | float) -> str:
    return str(value) if isinstance(value, int) else repr(value)


__all__ = [
    "RESERVED_WORDS",
    "SAFE_UNQUOTED",
    "SearchRenderer",
    "approximate",
    "format_number",
    "quote",
    "search_field",
    "search_value",
]
