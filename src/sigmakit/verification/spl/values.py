"""How the search command compares one value: field values, wildcards, terms in ``_raw``.

Field values (``field=value``, ``IN``): the whole field value must match; ``*`` matches
any run of characters, including none; the comparison ignores case unless the value is
wrapped in ``CASE()``. A multivalue field matches when any of its values does. A value
that is an IPv4/IPv6 network in CIDR notation (``10.0.0.0/8``) is a CIDR match, as the
search command does it.

Bare terms (no field) search ``_raw`` the way Splunk's index does. Splunk breaks the raw
text into segments at *major* breakers (space, ``[ ] < > ( ) { } | ! ; , ' " * & ? +``
and line breaks) and again at *minor* breakers (``/ : = @ . - $ # % \\ _``), and a term
is found when it appears with a breaker (or the start or end of the text) on both sides.
What is implemented:

* a term without wildcards matches when it occurs in ``_raw`` (ignoring case) starting and
  ending at segment boundaries; a quoted phrase likewise, spaces included;
* ``*`` inside a term matches any run of characters that holds no major breaker (an
  indexed segment never spans one), and a term starting or ending with ``*`` is not
  bounded on that side;
* ``TERM(x)`` requires major breakers (or the ends of ``_raw``) on both sides; an ``x``
  that itself holds a major breaker can never be an indexed term, so it never matches;
* the lone term ``*`` matches every result, with or without ``_raw``.

Not modelled: Splunk's index lookup for ``field=value`` searches. Splunk first finds the
value's terms in the index and then checks the extracted field; the model checks only
the extracted field, which agrees whenever the field's text appears in ``_raw`` as is.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable, Final

from sigmakit.verification.spl.errors import UndecidedRecord

MAJOR_BREAKERS: Final = frozenset("[]<>(){}|!;,'\"*&?+ \t\r\n\f\v")
MINOR_BREAKERS: Final = frozenset("/:=@.-$#%\\_")
BREAKERS: Final = MAJOR_BREAKERS | MINOR_BREAKERS

StringTest = Callable[[str], bool]


def field_values(record: Any, name: str) -> tuple[str, ...] | None:
    """The values of field *name* as strings, or None when the field is absent or null."""
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        values = tuple(text_of(v) for v in value if v is not None)
        return values or None
    return (text_of(value),)


def text_of(value: Any) -> str:
    """A field value as the search command sees it: text (``1`` for the number 1.0)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def wildcard_test(pattern: str, case_sensitive: bool = False) -> StringTest:
    """A test for whole values against *pattern*, where each ``*`` is a wildcard."""
    folded = pattern if case_sensitive else pattern.lower()
    fold: Callable[[str], str] = (lambda s: s) if case_sensitive else str.lower
    pieces = folded.split("*")
    if len(pieces) == 1:
        return lambda s: fold(s) == folded
    if all(piece == "" for piece in pieces):
        return lambda s: True
    if len(pieces) == 2 and pieces[0] == "":
        suffix = pieces[1]
        return lambda s: fold(s).endswith(suffix)
    if len(pieces) == 2 and pieces[1] == "":
        prefix = pieces[0]
        return lambda s: fold(s).startswith(prefix)
    if len(pieces) == 3 and pieces[0] == "" and pieces[2] == "":
        middle = pieces[1]
        return lambda s: middle in fold(s)
    compiled = re.compile(".*".join(re.escape(piece) for piece in pieces), re.DOTALL)
    return lambda s: compiled.fullmatch(fold(s)) is not None


def cidr_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The network that *text* names in CIDR notation, or None when it is not one."""
    if "/" not in text or "*" in text:
        return None
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def cidr_test(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> StringTest:
    def test(value: str) -> bool:
        try:
            return ipaddress.ip_address(value.strip()) in network
        except ValueError:
            return False

    return test


_NUMBER: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def parse_number(text: str) -> float | None:
    """*text* as a number when it is written as one (decimal digits, optional exponent)."""
    stripped = text.strip()
    if _NUMBER.fullmatch(stripped) is None:
        return None
    return float(stripped)


def raw_term_test(text: str, case_sensitive: bool, term: bool) -> Callable[[Any], bool]:
    """A test of one record's ``_raw`` for a bare search term (see the module docstring)."""
    if text.strip("*") == "" and text:
        return lambda record: True
    if term and any(char in MAJOR_BREAKERS for char in text):
        return lambda record: False
    boundaries = MAJOR_BREAKERS if term else BREAKERS
    regex = _term_regex(text, boundaries, case_sensitive)

    def test(record: Any) -> bool:
        raw = record.get("_raw")
        if raw is None:
            raise UndecidedRecord(f"the term {text!r} searches _raw, which this result does not have")
        return regex.search(raw if isinstance(raw, str) else str(raw)) is not None

    return test


def _term_regex(text: str, boundaries: frozenset[str], case_sensitive: bool) -> re.Pattern[str]:
    boundary_class = "".join(sorted(re.escape(c) for c in boundaries))
    segment_char = "[^" + "".join(sorted(re.escape(c) for c in MAJOR_BREAKERS)) + "]"
    pieces = text.split("*")
    body = (segment_char + "*").join(re.escape(piece) for piece in pieces)
    start = "" if text.startswith("*") or text[0] in boundaries else f"(?:\\A|(?<=[{boundary_class}]))"
    end = "" if text.endswith("*") or text[-1] in boundaries else f"(?=\\Z|[{boundary_class}])"
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.compile(start + body + end, flags | re.DOTALL)
