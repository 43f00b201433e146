"""A minimal JSON Lines event reader for ``sigmakit match``, until sigmakit.events has readers.

One JSON object per line; blank lines are skipped. A line that is not valid UTF-8 JSON,
or not an object, is reported (file and line) through *errors* and skipped, so one bad
line does not hide the hits in the rest of the file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import BinaryIO, Iterator

from sigmakit.errors import EventError, Location
from sigmakit.events import Event

STDIN = "-"


def read_json_lines(path: str | Path, errors: list[EventError], source: str | None = None) -> Iterator[Event]:
    """Events of the JSON Lines file *path* (``-`` for standard input), named as given."""
    name = str(path)
    if name == STDIN:
        yield from _read(sys.stdin.buffer, name, errors, source)
        return
    with open(path, "rb") as stream:
        yield from _read(stream, name, errors, source)


def _read(stream: BinaryIO, name: str, errors: list[EventError], source: str | None) -> Iterator[Event]:
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            fields = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            errors.append(EventError(f"not a JSON object: {error}", location=Location.of(name, number)))
            continue
        if not isinstance(fields, dict):
            errors.append(EventError(f"not a JSON object but {type(fields).__name__}",
                                     location=Location.of(name, number)))
            continue
        yield Event(fields=fields, file=name, line=number, source=source)
