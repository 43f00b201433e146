"""``sigmakit build``: Sigma rules to an installable Splunk ES content app."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sigmakit.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    error_exit,
    info,
    load_rules_or_exit,
    report_results,
    resolve_targets,
    target_option,
)
from sigmakit.errors import SigmakitError
from sigmakit.output.app import DEFAULT_APP_NAME, AppSettings, plan_app, write_app
from sigmakit.rules import load_rules


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--output", "-o", "output_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the app folder (and archive) into.")
@click.option("--app-name", default=DEFAULT_APP_NAME, show_default=True,
              help="App id and folder name, also the prefix of every correlation search name.")
@click.option("--app-version", default="1.0.0", show_default=True, help="Version written to app.conf.")
@target_option("Data source(s) to build correlation searches for; repeatable (default: all).")
@click.option("--package", is_flag=True, help="Also write DIR/<app name>.tar.gz, the app as Splunk installs it.")
@click.option("--fail-on-error/--pass-on-error", default=True,
              help="A rule refused or failed for a target stops the build with nothing written (default), "
                   "or is reported and left out of the app.")
def build(paths: tuple[Path, ...], output_dir: Path, app_name: str, app_version: str, targets: tuple[str, ...],
          package: bool, fail_on_error: bool) -> None:
    """Build a Splunk app of ES correlation searches from the Sigma rules in PATHS.

    The app holds one correlation search per rule and target, the macros they call and,
    when rules name analytic stories, analyticstories.conf. Every .conf file is read back
    with Splunk's parser library before the app replaces an earlier one in DIR. The paths
    written are printed on standard output.

    Exit status: 0 when the app was written, 1 when rules were refused or failed (with
    --fail-on-error) or the app could not be written, 2 on usage errors.
    """
    chosen = resolve_targets(targets)
    try:
        settings = AppSettings(app_name, app_version)
        rules = load_rules_or_exit(paths)
        plan = plan_app(rules, chosen, settings)
    except SigmakitError as error:
        error_exit(error)
    report_results(plan.results)
    if plan.problems and fail_on_error:
        info(f"nothing written: {len(plan.problems)} rule/target pair(s) refused or failed "
             "(fix them, or build without them with --pass-on-error)")
        sys.exit(EXIT_FAILURE)
    if not plan.searches:
        info("nothing written: no rule converted for the chosen targets")
        sys.exit(EXIT_FAILURE)
    try:
        written = write_app(plan, output_dir, package)
    except SigmakitError as error:
        error_exit(error)
    except OSError as error:
        info(f"error: cannot write the app to {output_dir}: {error.strerror or error}")
        sys.exit(EXIT_FAILURE)
    for path in written:
        click.echo(str(path))
    sys.exit(EXIT_OK)
