"""``sigmakit match``: run Sigma rules over events locally, without a SIEM."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Iterable, Iterator

import click

from sigmakit.cli.common import EXIT_FAILURE, EXIT_OK, error_exit, fail_usage, info
from sigmakit.errors import EventError, SigmakitError, UsageError
from sigmakit.events import Event
from sigmakit.matching import SIGMA_SOURCE, CorrelationHit, Hit, Matcher, MatchSession, load_placeholders
from sigmakit.matching.jsonl import read_json_lines
from sigmakit.matching.matcher import BATCH_SIZE
from sigmakit.pipelines import TARGETS, data_source
from sigmakit.rules import load_rules

SOURCES = (SIGMA_SOURCE, *TARGETS)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--events", "-e", "event_files", multiple=True, required=True, metavar="FILE",
              type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              help="JSON Lines file of events (one flat JSON object per line; - for stdin). Repeatable.")
@click.option("--source", "-s", type=click.Choice(SOURCES), default=SIGMA_SOURCE, show_default=True,
              help="Data source of the events: 'sigma' when they use Sigma's field names (no "
                   "pipeline), else the target whose pipeline (field names, base search) applies.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line per hit.")
@click.option("--fail-on-match/--pass-on-match", default=False, show_default=True,
              help="Exit 1 when any rule matched (for tests that expect silence).")
@click.option("--placeholders", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="FILE",
              help="YAML map of placeholder names to values, for rules using the expand modifier.")
@click.option("--time-field", metavar="FIELD",
              help="Field holding the event time, for correlations (default: the first present of "
                   "_time, @timestamp, timestamp, UtcTime, TimeCreated, SystemTime).")
def match(paths: tuple[Path, ...], event_files: tuple[str, ...], source: str, as_json: bool,
          fail_on_match: bool, placeholders: Path | None, time_field: str | None) -> None:
    """Match the Sigma rules in PATHS (files or folders) against events.

    Hits go to standard output, in event order; correlation hits follow once all events
    are read. A summary per rule goes to standard error.

    Exit status: 0 whether or not anything matched (1 with --fail-on-match when something
    did); 1 when a rule could not be compiled or an event could not be read (everything
    else still runs); 2 on usage errors.
    """
    try:
        values = load_placeholders(placeholders) if placeholders else None
        rules = load_rules(paths)
    except UsageError as error:
        fail_usage(str(error))
    except SigmakitError as error:
        error_exit(error)
    matcher = Matcher.compile(rules, target=source, placeholders=values)
    for rule_error in matcher.errors:
        info(f"error: {rule_error}")
    session = matcher.session(time_field)
    read_errors: list[EventError] = []
    shapes = _EventShapes(source)
    matched = 0
    for block in _blocks(shapes.watch(_events(event_files, read_errors, source))):
        for hit in session.feed_batch(block):
            _print(hit, as_json)
            matched += 1
    for correlation_hit in session.finish():
        _print(correlation_hit, as_json)
        matched += 1
    for event_error in [*read_errors, *session.errors]:
        info(f"error: {event_error}")
    shapes.report()
    _summary(matcher, session, len(event_files), len(read_errors))
    failed = bool(matcher.errors or read_errors or session.errors)
    sys.exit(EXIT_FAILURE if failed or (fail_on_match and matched) else EXIT_OK)


def _events(files: Iterable[str], errors: list[EventError], source: str) -> Iterator[Event]:
    for name in files:
        yield from read_json_lines(name, errors, source)


class _EventShapes:
    """Counts events a new user may not expect to match, to say why on stderr.

    Nested events (this reader wants field names at the top level) and, for a data source
    with a base search, events without the fields it selects on (Splunk adds ``source``
    and ``EventCode`` at index time; exported events often lack them).
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.base_fields: tuple[str, ...] = ()
        if source != SIGMA_SOURCE:
            described = data_source(source)
            names = [*described.base_conditions, described.event_code_field]
            self.base_fields = tuple(name for name in names if name)
        self.nested = 0
        self.without_base = 0

    def watch(self, events: Iterable[Event]) -> Iterator[Event]:
        for event in events:
            if any(isinstance(value, dict) for value in event.fields.values()):
                self.nested += 1
            if self.base_fields and any(name not in event.fields for name in self.base_fields):
                self.without_base += 1
            yield event

    def report(self) -> None:
        if self.nested:
            info(f"note: {self.nested} event(s) hold nested objects; fields are looked up at the top "
                 "level (or by a dotted path), so flatten events first")
        if self.without_base:
            info(f"note: {self.without_base} event(s) lack {', '.join(self.base_fields)}, which the "
                 f"{self.source} data source selects on; use --source sigma for events without them")


def _blocks(events: Iterator[Event]) -> Iterator[list[Event]]:
    while block := list(itertools.islice(events, BATCH_SIZE)):
        yield block


def _print(result: Hit | CorrelationHit, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, default=str))
    elif isinstance(result, Hit):
        selections = ", ".join(result.selections)
        click.echo(f"{result.event.file}:{result.event.line}: {result.rule_title}"
                   f"{_id(result.rule_id)} [{selections}]")
    else:
        group = ", ".join(f"{k}={v}" for k, v in result.group.items()) or "all events"
        places = ", ".join(f"{file}:{line}" for file, line in result.events)
        click.echo(f"{result.rule_title}{_id(result.rule_id)} ({result.type}, {group}): "
                   f"{len(result.events)} event(s): {places}")


def _id(rule_id: str | None) -> str:
    return f" ({rule_id})" if rule_id else ""


def _summary(matcher: Matcher, session: MatchSession, files: int, bad_lines: int) -> None:
    for rule, count in zip(matcher.rules, session.hits):
        note = "" if rule.reports else " (feeds a correlation; not reported alone)"
        info(f"{count:>7} hit(s)  {rule.title}  [{rule.path}]{note}")
    for correlation, count, dropped in zip(matcher.correlations, session.correlation_hits, session.dropped):
        note = f" ({dropped} rule hit(s) without a time or group-by value left out)" if dropped else ""
        info(f"{count:>7} hit(s)  {correlation.title}  [correlation: {correlation.kind.name.lower()}]{note}")
    for skipped in matcher.skipped:
        info(f"skipped: {skipped.loaded.title} [{skipped.loaded.path}]: {skipped.reason}")
    rule_hits = sum(count for rule, count in zip(matcher.rules, session.hits) if rule.reports)
    info(
        f"{session.events} event(s) from {files} file(s) ({bad_lines} unreadable line(s)), source "
        f"{matcher.source}; {len(matcher.rules) + len(matcher.correlations)} rule(s) compiled, "
        f"{len(matcher.errors)} failed, {len(matcher.skipped)} skipped; {rule_hits} hit(s), "
        f"{sum(session.correlation_hits)} correlation hit(s)"
    )
