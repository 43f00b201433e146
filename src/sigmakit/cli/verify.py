"""``sigmakit verify``: prove locally that each search means what its Sigma rule means."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Final

import click

from sigmakit.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    error_exit,
    fail_usage,
    info,
    load_rules_or_exit,
    resolve_targets,
    target_option,
)
from sigmakit.errors import SigmakitError, UsageError
from sigmakit.events import EventReader
from sigmakit.rules import RuleSet
from sigmakit.verification.spl import MacroSet
from sigmakit.verification.verify import PairResult, PairStatus, VerifyReport, location_of
from sigmakit.verification.verify import verify as verify_rules


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--events", "-e", "event_paths", multiple=True, required=True, metavar="FILE",
              type=click.Path(exists=True, path_type=Path),
              help="Event file or folder (.evtx, XmlWinEventLog, JSON); repeatable.")
@target_option("Data source(s) to verify; repeatable (default: all).")
@click.option("--macros", "macros_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              metavar="FILE", help="A macros.conf whose definitions replace the app's own (your tuned filters).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: totals and every rule/target pair.")
@click.option("--strict", is_flag=True,
              help="Also fail (exit 1) when a search cannot be evaluated or an event is undecided.")
@click.option("--limit", default=20, show_default=True, metavar="N",
              help="Disagreeing events listed per pair in the text output (all of them in --json).")
def verify(paths: tuple[Path, ...], event_paths: tuple[Path, ...], targets: tuple[str, ...],
           macros_path: Path | None, as_json: bool, strict: bool, limit: int) -> None:
    """Run the matcher and the SPL evaluator over the same events and compare them.

    For each rule in PATHS and each target, the search sigmakit build writes (with the
    macros it writes) is evaluated locally on the events (CIM records for cim) and
    compared with the Sigma matcher, event by event. Every disagreeing event is listed with
    both verdicts.

    Exit status: 0 when both sides agree everywhere; 1 on any disagreement, a search
    Splunk would reject, or (with --strict) a search or event that could not be evaluated;
    2 on usage errors.
    """
    chosen = resolve_targets(targets)
    try:
        rules = load_rules_or_exit(paths)
        macros = MacroSet.from_file(macros_path) if macros_path else None
        reader = EventReader()
        events = list(reader.read(event_paths))
    except UsageError as error:
        fail_usage(str(error))
    except SigmakitError as error:
        error_exit(error)
    for problem in reader.log.problems:
        info(f"warning: {problem}")
    info(reader.log.summary())
    for error in rules.errors:
        info(f"error: {error}")
    if macros is not None:
        _check_user_macros(macros, rules)
    try:
        report = verify_rules(rules, events, chosen, macros, progress=info if sys.stderr.isatty() else None)
    except SigmakitError as error:
        error_exit(error)
    if as_json:
        click.echo(json.dumps({"totals": report.totals(), "events": report.events,
                               "pairs": [p.to_json() for p in report.pairs]}, indent=2, ensure_ascii=False))
    else:
        _print_text(report, limit)
    unreadable = reader.log.problem_count > 0
    failed = report.failed or bool(rules.errors) or (strict and (report.incomplete or unreadable))
    sys.exit(EXIT_FAILURE if failed else EXIT_OK)


# Macros the searches call besides each rule's filter macro and named selections.
_HELPER_MACROS: Final = frozenset({"security_content_summariesonly", "security_content_ctime", "drop_dm_object_name"})


def _check_user_macros(macros: MacroSet, rules: RuleSet) -> None:
    """--macros must define something, and a name no search calls is most likely a typo."""
    if not len(macros):
        fail_usage(f"--macros {macros.source}: no macro stanza in the file")
    called = set(_HELPER_MACROS)
    for rule in rules:
        called.add(rule.filter_macro)
        if rule.metadata is not None:
            called.update(rule.metadata.macros)
    for name, _ in sorted(macros):
        if name not in called:
            info(f"warning: --macros {macros.source}: macro {name!r} is not called by any search of these rules")


def _print_text(report: VerifyReport, limit: int) -> None:
    for pair in report.pairs:
        if pair.status is PairStatus.AGREE:
            continue
        click.echo(_headline(pair))
        for disagreement in pair.disagreements[:limit]:
            click.echo(f"  {location_of(disagreement.event)}: matcher {'match' if disagreement.matcher else 'no_match'}, "
                       f"SPL {disagreement.evaluator.value}")
        if len(pair.disagreements) > limit:
            click.echo(f"  ... and {len(pair.disagreements) - limit} more (see --json)")
        for group in pair.group_disagreements[:limit]:
            click.echo(f"  group {', '.join(group.group)}: matcher {'fires' if group.matcher else 'silent'}, "
                       f"SPL {'fires' if group.evaluator else 'silent'}")
        for location, reason in list(pair.undecided.items())[:limit]:
            click.echo(f"  {location}: undecided ({reason})")
    totals = report.totals()
    click.echo(
        f"{totals['rules']} rule(s), {totals['pairs']} rule/target pair(s) verified on "
        f"{totals['events']} record(s): {totals['matcher_matches']} match(es) by the matcher, "
        f"{totals['evaluator_matches']} by the SPL; {totals['disagreements']} disagreement(s) in "
        f"{totals['disagreeing_pairs']} pair(s), {totals['cannot_evaluate']} cannot evaluate, "
        f"{totals['undecided_pairs']} with undecided events, {totals['invalid']} invalid search(es); "
        f"{totals['not_built']} not built, {totals['not_matched']} not compiled by the matcher"
    )


def _headline(pair: PairResult) -> str:
    label = f"{pair.status.value}: {pair.name} [{pair.target}]"
    if pair.status is PairStatus.DISAGREE and pair.group_disagreements:
        return (f"{label}: {len(pair.group_disagreements)} group(s) fire on one side only "
                f"(matcher {pair.matcher_matches} group(s), SPL {pair.evaluator_matches})")
    if pair.status is PairStatus.DISAGREE:
        return (f"{label}: {len(pair.disagreements)} event(s) judged differently "
                f"(matcher {pair.matcher_matches} match(es), SPL {pair.evaluator_matches})")
    if pair.reason:
        return f"{label}: {pair.reason}"
    return f"{label}: {len(pair.undecided)} event(s) undecided"
