"""One event as the compiled predicates read it: values looked up, converted and case-folded
at most once per event and field, however many rules test that field.

How event values are seen (Sigma leaves these open; the choices are sigmakit's):

* A field name is looked up as it is; if absent and it contains dots, as a path into
  nested objects (``process.name`` finds ``{"process": {"name": ...}}``).
* A field whose value is a list matches a test if any of its elements does.
* For string tests, values are compared through their text: strings as they are, numbers
  as Python writes them (``4688``, ``0.5``), booleans as ``true``/``false``. ``None`` and
  nested objects have no text. Case-insensitive tests compare ``str.casefold()`` forms, so
  they fold all of Unicode, not only ASCII.
* For numeric tests, numbers are numbers and strings count when their whole text (spaces
  around it aside) is a decimal number: ``"4688"`` equals 4688. Booleans are not numbers.
* Keyword (field-less) searches look at the text of every value of the event, nested
  values included, but not at field names.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final, Iterator, Mapping

MISSING: Final = object()  # the lookup result for a field the event does not have
_NUMBER: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def lookup(fields: Mapping[str, Any], name: str) -> Any:
    """The value of field *name* (a dotted path into nested objects if not a key), or MISSING."""
    value = fields.get(name, MISSING)
    if value is MISSING and "." in name:
        node: Any = fields
        for part in name.split("."):
            if not isinstance(node, Mapping):
                return MISSING
            node = node.get(part, MISSING)
            if node is MISSING:
                return MISSING
        return node
    return value


def text_of(value: Any) -> str | None:
    """The text a scalar value is compared through (None for None and containers)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return None


def number_of(value: Any) -> int | float | None:
    """*value* as a number (see module docstring), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and math.isnan(value) else value
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            number = float(text)
            if number.is_integer() and "." not in text and "e" not in text.lower():
                return int(text)
            return number if math.isfinite(number) else None
    return None


def scalars(value: Any) -> Iterator[Any]:
    """The scalar values a field holds: itself, or the elements of a (nested) list."""
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from scalars(item)
    elif value is not MISSING:
        yield value


def _texts(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(t for t in map(text_of, scalars(value)) if t is not None)


def _all_texts(value: Any, out: list[str]) -> None:
    if isinstance(value, Mapping):
        for item in value.values():
            _all_texts(item, out)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _all_texts(item, out)
    else:
        text = text_of(value)
        if text is not None:
            out.append(text)


class _Texts(dict):  # type: ignore[type-arg]
    """field -> case-folded texts; (field,) -> texts as they are. Filled on first access."""

    __slots__ = ("fields",)

    def __init__(self, fields: Mapping[str, Any]) -> None:
        super().__init__()
        self.fields = fields

    def __missing__(self, key: str | tuple[str]) -> tuple[str, ...]:
        if isinstance(key, tuple):
            texts = _texts(lookup(self.fields, key[0]))
        else:
            texts = tuple(t.casefold() for t in self[(key,)])
        self[key] = texts
        return texts


class _Numbers(dict):  # type: ignore[type-arg]
    """field -> the values of the field that are numbers. Filled on first access."""

    __slots__ = ("fields",)

    def __init__(self, fields: Mapping[str, Any]) -> None:
        super().__init__()
        self.fields = fields

    def __missing__(self, key: str) -> tuple[int | float, ...]:
        found = (number_of(v) for v in scalars(lookup(self.fields, key)))
        numbers = self[key] = tuple(n for n in found if n is not None)
        return numbers


class EventView:
    """Cached access to one event's values for the compiled predicates.

    The compiled predicates read the two caches directly, as the fastest access Python
    offers: ``view.text[field]`` is the case-folded text of each value of the field,
    ``view.text[(field,)]`` the text as it is (empty when the field is absent, ``None`` or
    an object); ``view.numbers[field]`` each value that is a number.
    """

    __slots__ = ("fields", "text", "numbers", "_keywords", "_raw_keywords")

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self.fields = fields
        self.text = _Texts(fields)
        self.numbers = _Numbers(fields)
        self._keywords: tuple[str, ...] | None = None
        self._raw_keywords: tuple[str, ...] | None = None

    def raw(self, name: str) -> Any:
        """The field's value as the event holds it, or MISSING."""
        return lookup(self.fields, name)

    def has(self, name: str) -> bool:
        """True when the event has the field, whatever its value (``None`` and ``''`` included)."""
        return lookup(self.fields, name) is not MISSING

    def is_null(self, name: str) -> bool:
        """True when the field is absent or ``None``: Sigma's ``null``."""
        value = lookup(self.fields, name)
        return value is MISSING or value is None

    def texts(self, name: str) -> tuple[str, ...]:
        """The text of each value of the field (empty when absent, None or an object)."""
        return self.text[(name,)]

    def folded(self, name: str) -> tuple[str, ...]:
        """texts(name), case-folded: what case-insensitive tests compare with."""
        return self.text[name]

    def keyword_texts(self) -> tuple[str, ...]:
        """The case-folded text of every value in the event, for keyword searches."""
        if self._keywords is None:
            self._keywords = tuple(t.casefold() for t in self.keyword_raw_texts())
        return self._keywords

    def keyword_raw_texts(self) -> tuple[str, ...]:
        """The text of every value in the event, unfolded (for cased keywords and regexes)."""
        if self._raw_keywords is None:
            out: list[str] = []
            _all_texts(self.fields, out)
            self._raw_keywords = tuple(out)
        return self._raw_keywords
