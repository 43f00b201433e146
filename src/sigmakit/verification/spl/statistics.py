"""Statistics functions shared by ``tstats``, ``stats`` and ``streamstats``.

Each function takes the field values of a group of results (nulls already left out) and
returns one value, or None when there is nothing to report. Numbers are compared as
numbers when every value is one, else as text; ``sum`` and ``avg`` use the values that are
numbers. ``median`` and ``perc<N>`` are not modelled: Splunk approximates percentiles
above a size threshold and its interpolation is not documented precisely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Final, Sequence

from sigmakit.verification.spl.errors import CannotEvaluate
from sigmakit.verification.spl.values import parse_number, text_of

Values = Sequence[Any]


@dataclass(frozen=True)
class Aggregation:
    """One statistics function: ``count``, ``min(_time) AS firstTime``..."""

    function: str
    field: str | None
    alias: str

    @staticmethod
    def default_alias(function: str, field_name: str | None) -> str:
        return function if field_name is None else f"{function}({field_name})"


def _numbers(values: Values) -> list[float]:
    return [n for n in (parse_number(text_of(v)) for v in values) if n is not None]


def _tidy(number: float) -> int | float:
    return int(number) if float(number).is_integer() else number


def _extreme(choose: Callable[[Sequence[Any]], Any]) -> Callable[[Values], Any]:
    def compute(values: Values) -> Any:
        if not values:
            return None
        numbers = _numbers(values)
        if len(numbers) == len(values):
            return _tidy(choose(numbers))
        return choose([text_of(v) for v in values])
    return compute


def _sum(values: Values) -> Any:
    numbers = _numbers(values)
    return _tidy(sum(numbers)) if numbers else None


def _avg(values: Values) -> Any:
    numbers = _numbers(values)
    return sum(numbers) / len(numbers) if numbers else None


FUNCTIONS: Final[dict[str, Callable[[Values], Any]]] = {
    "count": len,
    "dc": lambda values: len({text_of(v) for v in values}),
    "values": lambda values: sorted({text_of(v) for v in values}) or None,
    "min": _extreme(min),
    "max": _extreme(max),
    "sum": _sum,
    "avg": _avg,
}
_UNMODELLED: Final = re.compile(r"^(median|perc\d+|exactperc\d+|upperperc\d+|p\d+)$")


def check_function(name: str, offset: int | None = None) -> str:
    """*name* lower-cased if it is a function the evaluator computes; else CannotEvaluate."""
    function = name.lower()
    if function in FUNCTIONS:
        return function
    if _UNMODELLED.match(function):
        raise CannotEvaluate(f"the statistics function {name} is not modelled (Splunk's percentiles are "
                             "approximate above a size threshold)", offset)
    raise CannotEvaluate(f"the statistics function {name} is outside the evaluator's subset", offset)


def aggregate(aggregation: Aggregation, rows: Sequence[Any]) -> Any:
    """The value of *aggregation* over the fields of *rows* (``count`` alone counts rows)."""
    if aggregation.field is None:
        return len(rows)
    values = []
    for fields in rows:
        value = fields.get(aggregation.field)
        if isinstance(value, (list, tuple)):
            values.extend(v for v in value if v is not None)
        elif value is not None:
            values.append(value)
    return FUNCTIONS[aggregation.function](values)


_SPAN: Final = re.compile(r"^(\d+)(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|"
                          r"d|day|days)?$")
_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def span_seconds(text: str) -> int:
    """A time span such as ``1s``, ``5m``, ``2h``, ``7d`` in seconds (CannotEvaluate otherwise)."""
    found = _SPAN.match(text.strip().lower())
    if found is None:
        raise CannotEvaluate(f"the time span {text!r} is outside the evaluator's subset")
    unit = (found.group(2) or "s")[0]
    return int(found.group(1)) * _SECONDS[unit]
