"""``sigmakit match``: run Sigma rules over events locally, without a SIEM."""

from __future__ import annotations

import gc
import itertools
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Iterator

import click
import orjson

from sigmakit.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    error_exit,
    fail_usage,
    info,
    load_rules_or_exit,
)
from sigmakit.cli.progress import with_progress
from sigmakit.errors import SigmakitError, UsageError
from sigmakit.events import (
    AUTO,
    CIM,
    GENERIC_SOURCE,
    RAW_SOURCES,
    SOURCE_CHOICES,
    Event,
    EventReader,
    ReadLog,
    find_event_files,
)
from sigmakit.matching import CorrelationHit, Hit, load_placeholders
from sigmakit.rules import RuleSet, load_rules
from sigmakit.verification.parallel import PartsPlan, match_parts
from sigmakit.verification.source_matching import SourceMatcher

STDIN = "-"
# Events read from each file, before --jobs forks, to know which sources to compile for.
PROBE_EVENTS = 256
# Objects allocated between two collections of the youngest generation (Python's default
# is 700); see _settle_memory.
GC_THRESHOLD = 50_000


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--events", "-e", "event_paths", multiple=True, required=True, metavar="PATH",
              type=click.Path(exists=True, allow_dash=True),
              help="Event file or folder: .evtx, Windows event XML (XmlWinEventLog lines or a "
                   "document), JSON Lines, JSON arrays, CrowdStrike FDR JSON; - for stdin. Repeatable.")
@click.option("--source", "-s", type=click.Choice(SOURCE_CHOICES), default=AUTO, show_default=True,
              help="What the events are: 'auto' detects sysmon, security_4688, crowdstrike or "
                   "Sigma-generic per event; a data source forces its pipeline; 'cim' matches CIM "
                   "records made from raw events; 'sigma' means Sigma's field names, no pipeline.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line per hit.")
@click.option("--fail-on-match/--pass-on-match", default=False, show_default=True,
              help="Exit 1 when any rule matched (for tests that expect silence).")
@click.option("--placeholders", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="FILE",
              help="YAML map of placeholder names to values, for rules using the expand modifier.")
@click.option("--strict", is_flag=True,
              help="Exit 1 when any event record could not be read (they are always skipped, "
                   "counted and reported).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes to match in: large JSON Lines and XmlWinEventLog files are split by "
                   "lines, other files go whole; the output is the same as with one process.")
@click.option("--time-field", metavar="FIELD",
              help="Field holding the event time, for correlations (default: the first present of "
                   "_time, @timestamp, timestamp, UtcTime, TimeCreated, SystemTime).")
def match(paths: tuple[Path, ...], event_paths: tuple[str, ...], source: str, as_json: bool,
          fail_on_match: bool, placeholders: Path | None, strict: bool, jobs: int,
          time_field: str | None) -> None:
    """Match the Sigma rules in PATHS (files or folders) against events.

    Each event is matched through the pipeline of its data source, as the SPL for that
    source would match it in Splunk. Hits go to standard output, in event order;
    correlation hits follow once all events are read. A progress line (on a terminal)
    and a summary per rule go to standard error.

    Exit status: 0 whether or not anything matched (1 with --fail-on-match when something
    did); 1 when a rule could not be compiled or evaluated (also when it only cannot be
    compiled for one of the sources present, such as a Sysmon-only field in 4688 events:
    the summary counts such rule errors), or, with --strict, when an event
    record could not be read (unreadable records are always skipped, counted and reported;
    everything else still runs); 2 on usage errors.
    """
    if jobs > 1 and STDIN in event_paths:
        fail_usage("--jobs cannot split standard input (-); give files, or use --jobs 1")
    try:  # a pipe or a device is refused before any work (find_event_files)
        find_event_files([path for path in event_paths if path != STDIN])
    except UsageError as error:
        fail_usage(str(error))
    # The input's parts are planned (lines counted) while the rules load and compile.
    plan = PartsPlan(event_paths, jobs, source) if jobs > 1 else None
    try:
        values = load_placeholders(placeholders) if placeholders else None
        rules = load_rules_or_exit(paths)
    except UsageError as error:
        fail_usage(str(error))
    except SigmakitError as error:
        error_exit(error)
    for rule_error in rules.errors:
        info(f"error: {rule_error}")
    forced = [CIM] if source == CIM else [source] if source in (*RAW_SOURCES, GENERIC_SOURCE) else []
    matcher = SourceMatcher(list(rules), values, time_field, sources=forced)
    log = ReadLog()
    threshold = _settle_memory()
    if plan is not None:
        matched = _match_in_processes(event_paths, plan, jobs, matcher, source, log, as_json)
    else:
        matched = 0
        reader = EventReader(source, log, keep=matcher.keep)
        for block in with_progress(_read(event_paths, reader), log, events=lambda: log.event_count):
            hits = matcher.feed_batch(block)
            if hits:  # one write (and flush) per block: per hit, it costs more than the hit
                click.echo("".join([format_result(hit, as_json) + "\n" for hit in hits]), nl=False)
                matched += len(hits)
    for correlation_hit in matcher.finish():
        click.echo(format_result(correlation_hit, as_json))
        matched += 1
    _restore_memory(threshold)
    failed = _report(rules, matcher, log, source)
    unreadable = strict and log.problem_count > 0
    sys.exit(EXIT_FAILURE if failed or unreadable or (fail_on_match and matched) else EXIT_OK)


def _read(paths: Iterable[str], reader: EventReader) -> Iterator[list[Event]]:
    """Lists of events, file after file, as the reader gives them."""
    for path in paths:
        if path == STDIN:
            yield from reader.stream_batches(sys.stdin.buffer, STDIN)
        else:
            yield from reader.read_batches([path])


def _match_in_processes(event_paths: tuple[str, ...], plan: PartsPlan, jobs: int, matcher: SourceMatcher,
                        source: str, log: ReadLog, as_json: bool) -> int:
    """Match in *jobs* processes (sigmakit.verification.parallel); the number of hits."""
    # Compile, before the processes fork, the rules for the sources the files start with
    # and those sampled across the files that are split (PartsPlan): a source met first
    # in a part would be compiled in that process, and again here to merge its results.
    probe = EventReader(source, ReadLog())
    for path in find_event_files(event_paths):
        for event in itertools.islice(probe.read([path]), PROBE_EVENTS):
            matcher.state(event.source or GENERIC_SOURCE)
    planned = plan.plan()
    for sampled in sorted(planned.sources):
        matcher.state(sampled)
    parts = planned.parts
    sys.stdout.flush()
    counted = _CountingStream(sys.stdout.buffer)
    # The parts' hits are copied as bytes: strip terminal styling here, as click.echo
    # does for one process when standard output is not a terminal.
    plain = not sys.stdout.isatty()

    def write(result: Hit | CorrelationHit) -> str:
        text = format_result(result, as_json)
        return click.unstyle(text) if plain else text

    match_parts(parts, jobs, matcher, source, log, counted, write)
    sys.stdout.buffer.flush()
    return counted.lines


class _CountingStream:
    """Standard output's bytes for the parts' hits, counting the lines (one per hit)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.lines = 0

    def write(self, data: bytes) -> int:
        self.lines += data.count(b"\n")
        return self.stream.write(data)  # type: ignore[no-any-return]


def _settle_memory() -> tuple[int, int, int]:
    """The compiled rules live until the command ends: keep the garbage collector from
    walking them again and again while events stream through (gc.freeze), and let it
    run less often, as matching makes many short-lived objects and no reference cycles.
    Returns the thresholds to restore."""
    previous = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 50, 100)
    return previous


def _restore_memory(threshold: tuple[int, int, int]) -> None:
    gc.set_threshold(*threshold)
    gc.unfreeze()


def format_result(result: Hit | CorrelationHit, as_json: bool) -> str:
    """One hit as the command prints it: JSON, or a line of text."""
    if as_json:
        data: dict[str, Any] = result.to_json()
        if isinstance(result, Hit):
            data["record_id"] = result.event.record_id
        return _json_text(data)
    if isinstance(result, Hit):
        selections = ", ".join(result.selections)
        record = f" (EventRecordID {result.event.record_id})" if result.event.record_id is not None else ""
        return (f"{result.event.file}:{result.event.line}{record}: {result.rule_title}"
                f"{_id(result.rule_id)} [{selections}]")
    group = ", ".join(f"{k}={v}" for k, v in result.group.items()) or "all events"
    places = ", ".join(f"{file}:{line}" for file, line in result.events)
    return (f"{result.rule_title}{_id(result.rule_id)} ({result.type}, {group}): "
            f"{len(result.events)} event(s): {places}")


def _json_text(data: dict[str, Any]) -> str:
    """*data* as one line of JSON (UTF-8 text, not escaped to ASCII): orjson, several
    times faster for the thousands of hits of a big run; the standard library for what
    orjson refuses (an integer past 64 bits, a lone surrogate, a key that is no text)."""
    try:  # datetimes (from a library's events) through str(), as the standard library does
        return orjson.dumps(data, default=str, option=orjson.OPT_PASSTHROUGH_DATETIME).decode()
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":"))


def _id(rule_id: str | None) -> str:
    return f" ({rule_id})" if rule_id else ""


def _report(rules: RuleSet, matcher: SourceMatcher, log: ReadLog, source: str) -> bool:
    """Errors, notes and the per-rule summary on stderr; True when something failed."""
    for problem in log.problems:
        info(f"error: {problem}")
    if log.problem_count > len(log.problems):
        info(f"error: {log.problem_count - len(log.problems)} more unreadable record(s)")
    several = len(matcher.states) > 1
    for name, errors in matcher.rule_errors().items():
        for error in errors:
            if error not in rules.errors:
                info(f"error: {error}" + (f" (for {name} events)" if several else ""))
    for event_error in matcher.event_errors:
        info(f"error: {event_error}")
    for reason, count in sorted(log.skipped.items()):
        info(f"note: {count} event(s) skipped: {reason}")
    for (forced, detected), count in sorted(log.mismatched.items()):
        info(f"note: {count} event(s) read as {forced} are {detected} events: they keep their own "
             f"source fields, so {forced}'s base search does not match them (use --source auto)")
    _summary(matcher)
    per_source = ", ".join(f"{name} {count}" for name, count in sorted(log.events.items()))
    detected = f" ({per_source})" if source in (AUTO, CIM) and per_source else ""
    states = list(matcher.states.values())
    compiled = {id(rule.loaded) for state in states for rule in state.matcher.rules}
    compiled_correlations = {c.title for state in states for c in state.matcher.correlations}
    failed = {(str(e.location), e.message) for state in states for e in state.errors if e not in rules.errors}
    skipped = {id(s.loaded) for state in states for s in state.matcher.skipped} - compiled
    hits = sum(count for state in states
               for rule, count in zip(state.matcher.rules, state.session.hits) if rule.reports)
    correlation_hits = sum(sum(state.session.correlation_hits) for state in states)
    info(f"{log.event_count} event(s) from {log.files} file(s), {log.problem_count} unreadable record(s) skipped; "
         f"source {source}{detected}; {len(compiled) + len(compiled_correlations)} rule(s) compiled, "
         f"{len(failed) + len(rules.errors)} rule error(s), {len(skipped)} skipped; "
         f"{hits} hit(s), {correlation_hits} correlation hit(s)")
    return bool(rules.errors or failed or matcher.event_errors)


def _summary(matcher: SourceMatcher) -> None:
    """One line per rule (hits over every source, per source when several) and skips."""
    by_rule: dict[tuple[str, str], Counter[str]] = {}
    reported_alone: dict[tuple[str, str], dict[str, bool]] = {}  # per source, for rules feeding correlations
    dropped: Counter[tuple[str, str]] = Counter()  # rule hits a correlation left out, over every source
    for name, state in matcher.states.items():
        for rule, count in zip(state.matcher.rules, state.session.hits):
            key = (rule.title, str(rule.path))
            by_rule.setdefault(key, Counter())[name] += count
            reported_alone.setdefault(key, {})[name] = rule.reports
        session = state.session
        for correlation, count, left_out in zip(state.matcher.correlations, session.correlation_hits, session.dropped):
            key = (correlation.title, f"correlation: {correlation.kind.name.lower()}")
            by_rule.setdefault(key, Counter())[name] += count
            dropped[key] += left_out
    notes: dict[tuple[str, str], str] = {}
    for key, reports in reported_alone.items():
        alone = [name for name, reported in reports.items() if reported]
        if len(alone) < len(reports):  # it feeds a correlation for some source
            notes[key] = (" (feeds a correlation; not reported alone)" if not alone else
                          f" (feeds a correlation; reported alone for {', '.join(alone)})")
    for key, count in dropped.items():
        if count:
            notes[key] = f" ({count} rule hit(s) without a time or group-by value left out)"
    for (title, where), counts in by_rule.items():
        split = f" ({', '.join(f'{s} {n}' for s, n in sorted(counts.items()))})" if len(counts) > 1 else ""
        info(f"{sum(counts.values()):>7} hit(s)  {title}  [{where}]{split}{notes.get((title, where), '')}")
    for name, state in matcher.states.items():
        for skipped in state.matcher.skipped:
            info(f"skipped for {name}: {skipped.loaded.title} [{skipped.loaded.path}]: {skipped.reason}")
