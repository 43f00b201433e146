"""``sigmakit convert``: Sigma rules to SPL for each data source."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import click

from sigmakit.cli.common import EXIT_FAILURE, EXIT_OK, error_exit, info, resolve_targets, target_option
from sigmakit.conversion import ConversionResult, Converter, Status
from sigmakit.errors import SigmakitError
from sigmakit.output import write_text_atomic
from sigmakit.rules import load_rules


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@target_option()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list with an object per rule and target.")
@click.option("--output", "-o", "output_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write each search to DIR/<rule file stem>.<target>.spl.")
def convert(paths: tuple[Path, ...], targets: tuple[str, ...], as_json: bool, output_dir: Path | None) -> None:
    """Convert the Sigma rules in PATHS (files or folders) to Splunk SPL.

    Exit status: 0 when every rule converted or was skipped as out of a target's scope,
    1 when any rule was refused or failed (the others are still converted), 2 on usage
    errors.
    """
    chosen = resolve_targets(targets)
    try:
        rules = load_rules(paths)
    except SigmakitError as error:
        error_exit(error)
    results = Converter(chosen).convert_all(rules)
    if output_dir is not None:
        _write_files(results, output_dir)
    if as_json:
        click.echo(json.dumps([r.to_json() for r in results], indent=2, ensure_ascii=False))
    else:
        _print_text(results)
    _report(results)
    counts = Counter(r.status for r in results)
    sys.exit(EXIT_FAILURE if counts[Status.REFUSED] or counts[Status.FAILED] else EXIT_OK)


def _print_text(results: list[ConversionResult]) -> None:
    for result in results:
        if result.status is Status.CONVERTED:
            click.echo(f"# {result.rule_title} [{result.target}]")
            click.echo(result.query)
            click.echo()


def _report(results: list[ConversionResult]) -> None:
    for result in results:
        name = result.rule_title or (str(result.path) if result.path else "rule")
        for warning in result.warnings:
            info(f"warning: {name} [{result.target}]: {warning}")
        if result.status is not Status.CONVERTED:
            info(f"{result.status.value}: {name} [{result.target}]: {result.error}")
    counts = Counter(r.status for r in results)
    rules = len({(r.path, r.rule_id, r.rule_title) for r in results})
    info(
        f"{rules} rule(s), {len(results)} rule/target pair(s): "
        + ", ".join(f"{counts[s]} {s.value}" for s in Status)
    )


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
