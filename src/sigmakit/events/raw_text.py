"""Searching an event's record text instead of its fields: when that is sound, and how.

Readers keep each JSON or XML record's text with its event (``Event.raw``, with
``Event.syntax``). A rule index can then look for the texts rules need in that one
string, case-folded once, instead of reading and folding field after field, and without
building the event's fields at all when nothing is found. That is only sound when every
value the event's fields will hold shows in the record text in a form known in advance.
This module says when that holds and what the form is; it knows nothing of rules.

``search_text(raw, syntax)`` gives the record text case-folded (UTF-8 bytes), or None
when the record must be searched through its fields because its text may hide a value:

* JSON: a ``\\uXXXX`` escape can write any character, ``\\/`` writes ``/``; with neither
  present, every other escape has one meaning and one form (``\\\\``, ``\\"``, ``\\n``...);
* XML: character references (``&#...;``) can write any character; comments and
  processing instructions can split a text; a tab or line break may become a space when
  the parser normalises an attribute; a record with any of these is refused (an XML
  record's text is kept without the line break that ends it);
* case: the text is lowered byte by byte, which only lowers ASCII. That equals full Unicode
  case folding exactly when the record holds no non-ASCII character that folding changes
  (``É``, ``ß``, the Kelvin sign...), so such records are refused.

``findable_forms(text, field, syntax)`` says how a case-folded *text*, contained
in a value of *field* (None: any value), shows in the search text: as the syntax escapes
it (and as it is, for ``_raw`` and keyword searches, since ``_raw`` is the record text
itself), or None when it may not show at all:

* texts that could be part of a number as Python writes it (``123``, ``5e-07``, ``.5``):
  JSON numbers become text that way (``1.50`` is ``1.5``, ``1e3`` is ``1000.0``);
* texts with ``{`` or ``}`` in a field whose name ends in ``Guid``: Windows GUIDs get
  braces the record may not have;
* XML texts with ``&``, ``<``, ``>``, ``"`` or ``'``: these have several written forms;
* texts of the fields readers compute (``source``, ``sourcetype``, ``_time``), and
  keyword texts (*field* None), which may lie in those fields (or straddle the
  ``XmlWinEventLog:`` that a Windows event's ``source`` puts before its channel).
"""

from __future__ import annotations

import functools
import re
from typing import Final

from sigmakit.events.model import JSON_SYNTAX, XML_SYNTAX

# Fields whose values readers compute rather than copy from the record.
ADDED_FIELDS: Final = frozenset({"source", "sourcetype", "_time"})
RAW_FIELD: Final = "_raw"
# Any part of a float as Python writes it (``-1.5e-07``): the text of a JSON number may
# differ from how the record writes it. (orjson refuses NaN and infinities.)
_PART_OF_NUMBER: Final = re.compile(r"[+-]?\d*(?:\.\d*)?(?:e[+-]?\d*)?")
_GUID_SUFFIX: Final = "guid"
_XML_SPECIAL: Final = frozenset("&<>\"'")
# Character references, comments, and characters the XML parser may normalise.
_XML_REFUSED: Final = (b"&#", b"<!--", b"\t", b"\r", b"\n")
_JSON_ESCAPES: Final = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                        "\t": "\\t"}
# Latin-1 supplement characters (U+0080-U+00BF, lead byte C2) are all unchanged by
# folding except the micro sign: a record whose only non-ASCII text is those (``®``)
# needs no decoding to be checked.
_C2_CONTINUATION: Final = bytes(range(0x80, 0xC0)) + b"\xc2"
_MICRO_SIGN: Final = "\u00b5".encode()
# No character past the Supplementary Multilingual Plane has a case (the planes above
# hold CJK ideographs, tags and private use), so folding changes none of them.
_LAST_CASED: Final = 0x1FFFF


@functools.cache
def _changed_by_folding() -> re.Pattern[str]:
    """A character class of every non-ASCII character that case folding changes."""
    changed = [code for code in range(0x80, _LAST_CASED + 1) if chr(code).casefold() != chr(code)]
    ranges: list[list[int]] = []
    for code in changed:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    body = "".join(re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
                   for low, high in ranges)
    return re.compile(f"[{body}]")


def search_text(raw: bytes, syntax: str | None) -> bytes | None:
    """The record text, case-folded, to search; None when it may hide a value (see above)."""
    lowered = raw.lower()
    if syntax == JSON_SYNTAX:
        if b"\\" in lowered:
            unpaired = lowered.replace(b"\\\\", b"")
            if b"\\u" in unpaired or b"\\/" in unpaired:
                return None
    elif syntax == XML_SYNTAX:
        if any(mark in lowered for mark in _XML_REFUSED) or lowered.find(b"<?", 1) >= 0:
            return None
    else:
        return None
    if lowered.isascii():
        return lowered
    if lowered.translate(None, _C2_CONTINUATION).isascii():
        return None if _MICRO_SIGN in lowered else lowered
    return None if _changed_by_folding().search(lowered.decode("utf-8", errors="replace")) else lowered


def findable_forms(text: str, field: str | None, syntax: str) -> tuple[str, ...] | None:
    """The forms of *text* one of which search_text() holds when a value of *field*
    contains it, or None when none may be there (see module docstring)."""
    if not text or field is None or field in ADDED_FIELDS or _PART_OF_NUMBER.fullmatch(text):
        return None
    if ("{" in text or "}" in text) and field.lower().endswith(_GUID_SUFFIX):
        return None
    if syntax == XML_SYNTAX:
        return None if _XML_SPECIAL.intersection(text) else (text,)
    escaped = "".join(_JSON_ESCAPES.get(c, c) if c in _JSON_ESCAPES or c >= " " else f"\\u{ord(c):04x}"
                      for c in text)
    if field == RAW_FIELD:  # the record text itself, or a _raw the record carries
        return tuple(dict.fromkeys((escaped, text)))
    return (escaped,)
