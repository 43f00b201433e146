"""``sigmakit convert``: Sigma rules to SPL for each data source."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import click

from sigmakit.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    error_exit,
    fail_usage,
    report_results,
    resolve_targets,
    target_option,
)
from sigmakit.conversion import ConversionResult, Converter, Status
from sigmakit.errors import SigmakitError
from sigmakit.output import write_text_atomic
from sigmakit.output.app import plan_app
from sigmakit.rules import load_rules


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@target_option()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list with an object per rule and target.")
@click.option("--format", "output_format", type=click.Choice(["spl", "savedsearches"]), default="spl",
              show_default=True,
              help="spl: the plain searches; savedsearches: the ES correlation search stanzas `sigmakit build` "
                   "writes (they call the app's macros).")
@click.option("--output", "-o", "output_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write each search to DIR/<rule file stem>.<target>.spl.")
def convert(paths: tuple[Path, ...], targets: tuple[str, ...], as_json: bool, output_format: str,
            output_dir: Path | None) -> None:
    """Convert the Sigma rules in PATHS (files or folders) to Splunk SPL.

    Exit status: 0 when every rule converted or was skipped as out of a target's scope,
    1 when any rule was refused or failed (the others are still converted), 2 on usage
    errors.
    """
    chosen = resolve_targets(targets)
    if output_format == "savedsearches" and (as_json or output_dir is not None):
        fail_usage("--format savedsearches prints stanzas only; use `sigmakit build` to write an app")
    try:
        rules = load_rules(paths)
        if output_format == "savedsearches":
            plan = plan_app(rules, chosen)
            click.echo(plan.files["default/savedsearches.conf"].render(), nl=False)
            results = plan.results
        else:
            results = Converter(chosen).convert_all(rules)
    except SigmakitError as error:
        error_exit(error)
    if output_format == "savedsearches":
        report_results(results)
        sys.exit(EXIT_FAILURE if any(r.status in (Status.REFUSED, Status.FAILED) for r in results) else EXIT_OK)
    if output_dir is not None:
        _write_files(results, output_dir)
    if as_json:
        click.echo(json.dumps([r.to_json() for r in results], indent=2, ensure_ascii=False))
    else:
        _print_text(results)
    report_results(results)
    counts = Counter(r.status for r in results)
    sys.exit(EXIT_FAILURE if counts[Status.REFUSED] or counts[Status.FAILED] else EXIT_OK)


def _print_text(results: list[ConversionResult]) -> None:
    for result in results:
        if result.status is Status.CONVERTED:
            click.echo(f"# {result.rule_title} [{result.target}]")
            click.echo(result.query)
            click.echo()


def _write_files(results: list[ConversionResult], output_dir: Path) -> None:
    per_file = Counter((r.path, r.target) for r in results if r.status is Status.CONVERTED)
    seen: Counter[tuple[Path | None, str]] = Counter()
    for result in results:
        if result.status is not Status.CONVERTED or result.path is None or result.query is None:
            continue
        key = (result.path, result.target)
        seen[key] += 1
        stem = result.path.stem if per_file[key] == 1 else f"{result.path.stem}-{seen[key]}"
        write_text_atomic(output_dir / f"{stem}.{result.target}.spl", result.query + "\n")
