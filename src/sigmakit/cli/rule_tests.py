"""``sigmakit test``: run every rule's tests (``<rule>.tests.yml`` beside it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from sigmakit.cli.common import EXIT_FAILURE, EXIT_OK, error_exit, info
from sigmakit.errors import SigmakitError
from sigmakit.output import write_text_atomic
from sigmakit.verification.rule_test_runner import RuleTestRunner

DEFAULT_RULES = Path("sigma_rules")


@click.command("test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the results as JUnit XML to FILE, for CI systems.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON object instead of text.")
def test_command(paths: tuple[Path, ...], junit_path: Path | None, as_json: bool) -> None:
    """Run the rule tests of the rules in PATHS (files or folders; default: sigma_rules).

    Each rule needs a rule-test file, <rule file stem>.tests.yml, beside it (format:
    docs/rule-tests.md). Each test case reads its events as its source says and checks
    that the rule matches exactly the expected number of them. A missing, empty or
    malformed test file is a failure.

    Exit status: 0 when every test passed, 1 when any failed, 2 on usage errors.
    """
    try:
        report = RuleTestRunner().run(paths or (DEFAULT_RULES,))
    except SigmakitError as error:
        error_exit(error)
    if not report.results and not report.errors:
        info(f"error: no Sigma rule files (*.yml, *.yaml) found in {', '.join(map(str, paths or (DEFAULT_RULES,)))}")
        sys.exit(EXIT_FAILURE)
    if junit_path is not None:
        write_text_atomic(junit_path, report.to_junit())
        info(f"wrote JUnit XML to {junit_path}")
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
        info(f"{report.passed} passed, {report.failed} failed")
    else:
        for line in report.text_lines():
            click.echo(line)
    sys.exit(EXIT_OK if report.ok else EXIT_FAILURE)
