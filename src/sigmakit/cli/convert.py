"""``sigmakit convert``: Sigma rules to SPL for each data source."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import click

from sigmakit.cli.common import (
    load_rules_or_exit,
    EXIT_FAILURE,
    EXIT_OK,
    error_exit,
    fail_usage,
    report_results,
    resolve_targets,
    target_option,
)
from sigmakit.conversion import ConversionResult, Converter, Status
from sigmakit.conversion.other_backends import OtherBackendConverter, choose_backend
from sigmakit.errors import SigmakitError
from sigmakit.output import write_text_atomic
from sigmakit.pipelines import TARGETS
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
@click.option("--backend", "backend_name", metavar="NAME",
              help="Convert with another installed pySigma backend instead of sigmakit's Splunk targets "
                   "(see 'sigmakit list backends'), through the generic pipeline made for it.")
@click.option("--pipeline", "pipeline_name", metavar="NAME",
              help="With --backend: the pySigma pipeline to use instead of the backend's default.")
@click.option("--output", "-o", "output_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write each search to DIR/<rule file stem>.<target>.spl (.query for --backend).")
def convert(paths: tuple[Path, ...], targets: tuple[str, ...], as_json: bool, output_format: str,
            backend_name: str | None, pipeline_name: str | None, output_dir: Path | None) -> None:
    """Convert the Sigma rules in PATHS (files or folders) to Splunk SPL, or, with
    --backend, to the query language of any installed pySigma backend.

    Exit status: 0 when every rule converted or was skipped as out of a target's scope,
    1 when any rule was refused or failed (the others are still converted), 2 on usage
    errors.
    """
    if backend_name is not None:
        if targets or output_format != "spl":
            fail_usage("--backend replaces --target and --format: it converts for that backend only")
        _convert_with_backend(paths, backend_name, pipeline_name, as_json, output_dir)
    if pipeline_name is not None:
        fail_usage("--pipeline goes with --backend")
    chosen = resolve_targets(targets)
    if output_format == "savedsearches" and (as_json or output_dir is not None):
        fail_usage("--format savedsearches prints stanzas only; use `sigmakit build` to write an app")
    try:
        rules = load_rules_or_exit(paths)
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
    _finish(results, as_json, output_dir)


def _convert_with_backend(paths: tuple[Path, ...], backend_name: str, pipeline_name: str | None,
                          as_json: bool, output_dir: Path | None) -> None:
    try:
        choice = choose_backend(backend_name, pipeline_name)
        rules = load_rules_or_exit(paths)
    except SigmakitError as error:
        error_exit(error)
    results = OtherBackendConverter(choice).convert_all(rules)
    _finish(results, as_json, output_dir)


def _finish(results: list[ConversionResult], as_json: bool, output_dir: Path | None) -> None:
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
        suffix = "spl" if result.target in TARGETS else "query"
        write_text_atomic(output_dir / f"{stem}.{result.target}.{suffix}", result.query + "\n")
