"""What every sigmakit command shares: exit codes, output streams, target options."""

from __future__ import annotations

import logging
import sys
from collections import Counter
from pathlib import Path
from typing import Final, Iterable, NoReturn

import click

from sigmakit.conversion import ConversionResult, Status
from sigmakit.errors import SigmakitError, UsageError
from sigmakit.pipelines import TARGETS, check_target
from sigmakit.rules import RuleSet, load_rules

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1  # rules or tests failed
EXIT_USAGE: Final = 2  # the command line itself was wrong

TARGET_CHOICES: Final = (*TARGETS, "all")


def info(message: str) -> None:
    """Progress and diagnostics: standard error, so standard output stays machine-readable."""
    click.echo(message, err=True)


def fail_usage(message: str) -> NoReturn:
    """Stop with exit code 2 and a usage message (click's convention)."""
    raise click.UsageError(message)


def resolve_targets(values: Iterable[str]) -> tuple[str, ...]:
    """Expand ``all`` and validate names; the default (nothing given) is every target."""
    chosen: list[str] = []
    for value in values or ("all",):
        names = TARGETS if value == "all" else (value,)
        for name in names:
            try:
                check_target(name)
            except UsageError as error:
                fail_usage(error.message)
            if name not in chosen:
                chosen.append(name)
    return tuple(chosen)


def target_option(help_text: str = "Data source(s) to produce SPL for; repeatable (default: all).") -> click.Option:
    return click.option(
        "--target", "-t", "targets", multiple=True, metavar="|".join(TARGET_CHOICES), help=help_text,
    )


def configure_logging(verbose: int) -> None:
    """Library warnings reach the user on stderr only when asked with -v."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    package = logging.getLogger("sigmakit")
    package.handlers = [h for h in package.handlers if isinstance(h, logging.NullHandler)]
    package.addHandler(handler)
    package.setLevel(level if verbose else logging.ERROR)


def error_exit(error: SigmakitError) -> NoReturn:
    """Report a sigmakit error that stops the whole command and exit with its code."""
    if isinstance(error, UsageError):
        fail_usage(str(error))
    info(f"error: {error}")
    sys.exit(EXIT_FAILURE)


def report_results(results: list[ConversionResult]) -> None:
    """Warnings and every pair not converted, then a one-line summary, on standard error."""
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


def load_rules_or_exit(paths: Iterable[Path]) -> RuleSet:
    """The rules under *paths*; exit 2 for a missing path, 1 when no rule file is found at all.

    An empty or mistyped rule folder must not pass CI as "nothing failed".
    """
    try:
        rules = load_rules(paths)
    except SigmakitError as error:
        error_exit(error)
    if not rules.rules and not rules.errors:
        info(f"error: no Sigma rule files (*.yml, *.yaml) found in {', '.join(str(p) for p in paths)}")
        sys.exit(EXIT_FAILURE)
    return rules

