"""When an event happened, read from the fields the usual log sources write it to.

The first present of TIME_FIELDS is used (``time_field`` overrides the list): Splunk's
``_time``, ``@timestamp`` (Elastic, JSON exports), ``timestamp`` (CrowdStrike FDR, epoch
milliseconds), Sysmon's ``UtcTime``, and the Windows XML ``TimeCreated`` / ``SystemTime``
(also as an object holding ``SystemTime``, as XML-to-JSON converters write it).

A value is read as ISO 8601 (``2024-06-03T08:00:01.337Z``, ``2024-06-03 08:00:01.337``,
any number of fraction digits, an offset or ``Z``; no offset means UTC, as Sysmon's
``UtcTime`` is), or as a number of epoch seconds, or epoch milliseconds when the number
is too large to be seconds (above 10^11, i.e. past the year 5000). Times are returned as
epoch seconds (float).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final, Mapping

from sigma.types import TimestampPart

from sigmakit.matching.view import MISSING, lookup, number_of

TIME_FIELDS: Final = ("_time", "@timestamp", "timestamp", "UtcTime", "TimeCreated", "SystemTime")
_MILLISECONDS_FROM: Final = 1e11
_ISO: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)


def parse_time(value: Any) -> float | None:
    """*value* as epoch seconds (see module docstring), or None if it is not a time."""
    if isinstance(value, Mapping):
        for key in ("SystemTime", "@SystemTime"):
            if key in value:
                return parse_time(value[key])
        return None
    number = number_of(value)
    if number is not None:
        seconds = float(number)
        return seconds / 1000.0 if abs(seconds) >= _MILLISECONDS_FROM else seconds
    if not isinstance(value, str):
        return None
    match = _ISO.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        moment = dt.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            tzinfo=_zone(offset),
        )
    except ValueError:
        return None
    seconds = moment.timestamp()
    if fraction:
        seconds += int(fraction) / 10 ** len(fraction)
    return seconds


def _zone(offset: str | None) -> dt.timezone:
    if offset is None or offset in ("Z", "z"):
        return dt.timezone.utc
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:]) if len(digits) > 2 else 0)
    return dt.timezone(sign * dt.timedelta(minutes=minutes))


def event_time(fields: Mapping[str, Any], time_field: str | None = None) -> float | None:
    """The event's time in epoch seconds, from *time_field* or the first of TIME_FIELDS present."""
    for name in (time_field,) if time_field else TIME_FIELDS:
        value = lookup(fields, name)
        if value is not MISSING and value is not None:
            return parse_time(value)
    return None


def time_part(seconds: float, part: TimestampPart) -> int:
    """One part of a UTC time, as Sigma's time modifiers compare it (ISO week for WEEK)."""
    moment = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    if part is TimestampPart.MINUTE:
        return moment.minute
    if part is TimestampPart.HOUR:
        return moment.hour
    if part is TimestampPart.DAY:
        return moment.day
    if part is TimestampPart.WEEK:
        return moment.isocalendar()[1]
    if part is TimestampPart.MONTH:
        return moment.month
    return moment.year
