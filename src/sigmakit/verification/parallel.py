"""Matching event files in several processes, with the results of one process.

``plan_parts(paths, jobs)`` cuts the input into parts: a JSON Lines or XmlWinEventLog
file of at least SPLIT_BYTES into ``jobs`` byte ranges or, if large, up to PARTS_PER_JOB
times as many, each starting at a line
(with its line number, counted once here), any other file whole (.evtx, JSON arrays,
XML documents, gzip); ``PartsPlan`` does it in a forked process, while the caller
compiles the rules. ``match_parts`` hands the parts, in order, to a pool of forked
processes; each matches its part as one process would (its own sessions, rule index
and memo) and writes the hits, formatted, to a temporary file, returning its counts,
its read log and the base-rule hits that feed correlations. The parent then writes
the parts' outputs in part order, which is input order, adds up the counts, and
evaluates the correlations over every part's rule hits together, with each part's
input order placed after the previous part's. So the output is the one of a single
process, byte for byte, and memory stays one batch of events per process.

Processes are forked (Linux), so the rules compiled in the parent before the pool
starts are shared, not compiled again.
"""

from __future__ import annotations

import gc
import gzip
import io
import logging
import multiprocessing
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Final, Iterable, Iterator

from sigmakit.errors import EventError
from sigmakit.events import AUTO, GENERIC_SOURCE, EventReader, ReadLog, find_event_files
from sigmakit.events.reader import SPLITTABLE, sniff_format, _open
from sigmakit.matching import CorrelationHit, Hit
from sigmakit.verification.source_matching import SourceMatcher

logger = logging.getLogger(__name__)

# Files smaller than this are read whole by one process.
SPLIT_BYTES: Final = 8 << 20
# Parts a large file is cut into per process: more than one, so that a process slowed
# down (by the machine's other work, or by a part with more hits) leaves the others
# more parts, and the last part's output, copied once every process is done, is small;
# but only parts of MIN_EXTRA_PART bytes or more, as each part learns its triggers anew
# (index.py: a few tenths of a second), which a small file does not pay back.
PARTS_PER_JOB: Final = 2
MIN_EXTRA_PART: Final = 256 << 20
# Lines sampled per split file for the data sources it holds (one per SAMPLE_SPACING
# bytes, at most SAMPLES_PER_FILE): see sample_sources.
SAMPLE_SPACING: Final = 1 << 20
SAMPLES_PER_FILE: Final = 256
# Each part's input order starts this far after the previous part's (correlations order
# equal times by input order).
_ORDER_STRIDE: Final = 1 << 40
_COUNT_CHUNK: Final = 1 << 20


@dataclass(frozen=True)
class Part:
    """A file, or the byte range [start, end) of one, whose first line is *first_line*."""

    path: Path
    start: int = 0
    end: int | None = None
    first_line: int = 1


@dataclass
class PartResult:
    """What matching one part gave, for the parent to merge (see module docstring)."""

    output: str
    log: ReadLog
    sources: dict[str, "SourceResult"] = field(default_factory=dict)


@dataclass
class SourceResult:
    hits: list[int]
    events: int
    occurrences: list[list[Any]]
    dropped: list[int]
    errors: list[EventError]


def plan_parts(paths: Iterable[str | Path], jobs: int) -> list[Part]:
    """The parts of the files under *paths*, in input order (see module docstring)."""
    planned: list[Part] = []
    for path in find_event_files(paths):
        size = path.stat().st_size
        if jobs > 1 and size >= SPLIT_BYTES and _splittable(path):
            parts = max(jobs, min(jobs * PARTS_PER_JOB, size // MIN_EXTRA_PART))
            planned.extend(_split(path, size, parts))
        else:
            planned.append(Part(path))
    return planned


def _splittable(path: Path) -> bool:
    with _open(path) as stream:
        return not isinstance(stream, gzip.GzipFile) and sniff_format(stream) in SPLITTABLE


def _split(path: Path, size: int, parts: int) -> list[Part]:
    """About *parts* ranges of whole lines, with the line number each starts at."""
    wanted = [size * k // parts for k in range(1, parts)]
    starts = [0]
    lines = [1]
    buffer = bytearray(_COUNT_CHUNK)  # one buffer read into, again and again
    view = memoryview(buffer)
    with open(path, "rb") as stream:
        position, line = 0, 1
        for target in wanted:
            while position < target:
                read = stream.readinto(view[:min(_COUNT_CHUNK, target - position)])
                if not read:
                    break
                line += buffer.count(b"\n", 0, read)
                position += read
            rest = stream.readline()  # the rest of the line the target falls in
            position += len(rest)
            line += rest.count(b"\n")
            if position < size and position > starts[-1]:
                starts.append(position)
                lines.append(line)
    bounds = starts + [size]
    return [Part(path, bounds[k], bounds[k + 1], lines[k]) for k in range(len(starts))]


def sample_sources(parts: Iterable[Part], source: str) -> set[str]:
    """The data sources of lines sampled across the files that *parts* split (read as
    EventReader(*source*) reads them): one line after every SAMPLE_SPACING bytes, at most
    SAMPLES_PER_FILE per file. A file of concatenated logs holds several sources in runs
    that its parts' first events do not show; rules compiled for them before the
    processes fork are compiled once, not once per process and again in the parent."""
    found: set[str] = set()
    reader = EventReader(source, ReadLog())
    for path in dict.fromkeys(part.path for part in parts if part.end is not None):
        size = path.stat().st_size
        spacing = max(SAMPLE_SPACING, size // SAMPLES_PER_FILE)
        with open(path, "rb") as stream:
            kind = sniff_format(stream)
            for offset in range(0, size, spacing):
                stream.seek(offset)
                if offset:
                    stream.readline()  # the rest of the line the offset falls in
                line = io.BytesIO(stream.readline())
                # A line read alone is read in the file's format only if it has that format
                # on its own: a '[...]' line of a JSON Lines file is an unreadable record there.
                if sniff_format(line) is kind:
                    found.update(event.source or GENERIC_SOURCE for event in reader.read_stream(line, str(path)))
    return found


@dataclass(frozen=True)
class Plan:
    """The parts to match, and the sources sampled in them (sample_sources)."""

    parts: list[Part]
    sources: set[str]


class PartsPlan:
    """plan_parts() and sample_sources() worked out in a forked process while the caller
    goes on (compiling the rules: counting the lines of a large file before a part's
    start takes a while, and two processes may as well do both at once). ``plan()``
    waits for them; if planning failed there, it plans again here, so that the error is
    raised as plan_parts raises it (sampling finds what it can: its failure is no error)."""

    def __init__(self, paths: Iterable[str | Path], jobs: int, source: str = AUTO) -> None:
        self.paths, self.jobs = list(paths), jobs
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_plan_into, args=(send, self.paths, jobs, source), daemon=True)
        self._process.start()
        send.close()

    def plan(self) -> Plan:
        try:
            planned: Plan | None = self._receive.recv()
        except EOFError:  # the process died
            planned = None
        finally:
            self._receive.close()
            self._process.join()
        return planned if planned is not None else Plan(plan_parts(self.paths, self.jobs), set())

    def parts(self) -> list[Part]:
        return self.plan().parts


def _plan_into(send: Any, paths: list[str | Path], jobs: int, source: str) -> None:
    planned: Plan | None
    try:
        parts = plan_parts(paths, jobs)
    except BaseException:  # planned again by the parent, which raises it (see PartsPlan)
        planned = None
    else:
        planned = Plan(parts, _sampled(parts, source))
    send.send(planned)
    send.close()


def _sampled(parts: list[Part], source: str) -> set[str]:
    try:
        return sample_sources(parts, source)
    except Exception:  # noqa: BLE001 - a sample is a hint; the parts still hold every source
        logger.debug("sampling the sources of the parts failed", exc_info=True)
        return set()


# -- the worker side (forked: these globals are the parent's at fork time) ---------------------
_CONTEXT: dict[str, Any] = {}


def _match_part(numbered: tuple[int, Part]) -> PartResult:
    number, part = numbered
    context = _CONTEXT
    parent: SourceMatcher = context["matcher"]
    matcher = parent.fresh(order_offset=number * _ORDER_STRIDE)
    log = ReadLog()
    reader = EventReader(context["source"], log, keep=matcher.keep)
    write: Callable[[Hit | CorrelationHit], str] = context["format"]
    handle, output = tempfile.mkstemp(prefix="sigmakit-part-", suffix=".out", dir=context["folder"])
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        if part.end is None:
            batches: Iterator[list[Any]] = reader.file_batches(part.path)
            log.files = 0  # the parent counts files
        else:
            batches = reader.range_batches(part.path, part.start, part.end, part.first_line)
        for batch in batches:
            for hit in matcher.feed_batch(batch):
                stream.write(write(hit))
                stream.write("\n")
    sources = {
        name: SourceResult(state.session.hits, matcher.events[name], state.session.occurrences(),
                           state.session.dropped, state.session.errors)
        for name, state in matcher.states.items()
    }
    return PartResult(output, log, sources)


def match_parts(parts: list[Part], jobs: int, matcher: SourceMatcher, source: str, log: ReadLog,
                out: IO[bytes], write: Callable[[Hit | CorrelationHit], str]) -> None:
    """Match *parts* in *jobs* processes, writing hits (as *write* makes them, one per
    line, UTF-8) to the binary stream *out* in input order and merging counts, read logs
    and correlation inputs into *matcher* and *log*; the caller then calls
    ``matcher.finish()`` for the correlation hits."""
    folder = tempfile.mkdtemp(prefix="sigmakit-jobs-")
    _CONTEXT.update(matcher=matcher, source=source, format=write, folder=folder)
    # What the parent built (compiled rules, the index) stays out of the collector's walks
    # in the children, which would otherwise touch, and so copy, every page of it.
    gc.freeze()
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for result in pool.imap(_match_part, enumerate(parts)):
                with open(result.output, "rb") as stream:  # bytes: no decoding, no encoding
                    shutil.copyfileobj(stream, out)
                os.unlink(result.output)
                _merge_log(log, result.log)
                for name, found in result.sources.items():
                    matcher.absorb(name, found.hits, found.events, found.occurrences, found.dropped, found.errors)
        log.files += sum(1 for part in parts if part.start == 0)  # a file's first part (a file named twice is read twice)
    finally:
        _CONTEXT.clear()
        shutil.rmtree(folder, ignore_errors=True)


def _merge_log(total: ReadLog, part: ReadLog) -> None:
    total.events.update(part.events)
    total.skipped.update(part.skipped)
    total.mismatched.update(part.mismatched)
    for problem in part.problems:
        total.add_problem(problem.file, problem.line, problem.reason)
    total.problem_count += part.problem_count - len(part.problems)
