"""The progress line: drawn and erased on a terminal, absent anywhere else."""

from __future__ import annotations

import io

from sigmakit.cli import progress
from sigmakit.events import ReadLog


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_nothing_is_written_when_stderr_is_not_a_terminal() -> None:
    stream = io.StringIO()
    assert list(progress.with_progress(range(5), ReadLog(), stream)) == [0, 1, 2, 3, 4]
    assert stream.getvalue() == ""


def test_a_terminal_sees_the_count_and_the_line_is_erased(monkeypatch) -> None:
    monkeypatch.setattr(progress, "REDRAW_SECONDS", 0.0)
    log = ReadLog(files=2)
    stream = Terminal()
    assert list(progress.with_progress(["a", "b"], log, stream)) == ["a", "b"]
    text = stream.getvalue()
    assert "\rreading: 1 events, 2 file(s)" in text and "\rreading: 2 events, 2 file(s)" in text
    assert text.endswith("\r" + " " * len("reading: 2 events, 2 file(s)") + "\r")
