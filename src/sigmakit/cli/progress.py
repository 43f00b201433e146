"""A progress line on standard error for long inputs, shown only to a person at a terminal.

When standard error is not a terminal (a pipe, a file, CI logs) nothing is written, so
redirected output stays clean. The line counts events and files as they are read and is
redrawn at most a few times a second; it is erased when reading ends.
"""

from __future__ import annotations

import sys
import time
from typing import Final, Iterable, Iterator, TextIO, TypeVar

from sigmakit.events import ReadLog

Item = TypeVar("Item")
REDRAW_SECONDS: Final = 0.2


def with_progress(items: Iterable[Item], log: ReadLog, stream: TextIO | None = None) -> Iterator[Item]:
    """Yield *items* unchanged, drawing ``N events, M files`` on *stream* (stderr) if it
    is a terminal. *log* is the reading log whose counts the line shows."""
    out = stream if stream is not None else sys.stderr
    if not out.isatty():
        yield from items
        return
    last = 0.0
    width = 0
    try:
        for count, item in enumerate(items, start=1):
            now = time.monotonic()
            if now - last >= REDRAW_SECONDS:
                text = f"reading: {count} events, {log.files} file(s)"
                if log.problem_count:
                    text += f", {log.problem_count} unreadable"
                width = max(width, len(text))
                out.write("\r" + text.ljust(width))
                out.flush()
                last = now
            yield item
    finally:
        if width:
            out.write("\r" + " " * width + "\r")
            out.flush()
