"""``sigmakit check``: pySigma's validators and sigmakit's own checks over rule files."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import click

from sigmakit.cli.common import EXIT_FAILURE, EXIT_OK, error_exit, info, load_rules_or_exit
from sigmakit.errors import SigmakitError
from sigmakit.rules import load_rules
from sigmakit.rules.checks import Severity, check_rules


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--fail-on-issues/--pass-on-issues", default=True, show_default=True,
              help="Exit 1 when any check reports an issue above informational (broken rules always fail).")
@click.option("--json", "as_json", is_flag=True, help="Print the issues as one JSON list.")
@click.option("--attack-data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A local copy of MITRE's enterprise-attack.json, to check ATT&CK tags offline.")
def check(paths: tuple[Path, ...], fail_on_issues: bool, as_json: bool, attack_data: Path | None) -> None:
    """Check the Sigma rules in PATHS: rule syntax, pySigma's validators, ES metadata,
    rule tests beside each rule, ATT&CK tags and filter macro names.

    Exit status: 1 when a rule is broken, or (with --fail-on-issues, the default) when any
    issue above informational is found; 0 otherwise; 2 on usage errors.
    """
    try:
        rules = load_rules_or_exit(paths)
    except SigmakitError as error:
        error_exit(error)
    issues = check_rules(rules, attack_data)
    if as_json:
        click.echo(json.dumps([issue.to_json() for issue in issues], indent=2, ensure_ascii=False))
    else:
        for issue in issues:
            click.echo(str(issue))
    counts = Counter(issue.severity for issue in issues)
    info(f"{len(rules)} rule(s) checked, {len(rules.errors)} broken rule file(s): "
         + ", ".join(f"{counts[s]} {s.value}" for s in Severity))
    failing = rules.errors or (fail_on_issues and any(i.severity is not Severity.INFORMATIONAL for i in issues))
    sys.exit(EXIT_FAILURE if failing else EXIT_OK)
