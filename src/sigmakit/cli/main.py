"""Entry point of the ``sigmakit`` command."""

from __future__ import annotations

import click

from sigmakit._version import __version__
from sigmakit.cli.common import configure_logging
from sigmakit.cli.build import build
from sigmakit.cli.check import check
from sigmakit.cli.convert import convert
from sigmakit.cli.listing import list_command
from sigmakit.cli.match import match
from sigmakit.cli.rule_tests import test_command
from sigmakit.cli.verify import verify


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sigmakit")
@click.option("--verbose", "-v", count=True, help="Show library warnings (-v) and debug output (-vv) on stderr.")
def cli(verbose: int) -> None:
    """sigmakit: Sigma rules to correct Splunk SPL, Splunk ES content and local proof."""
    configure_logging(verbose)


cli.add_command(check)
cli.add_command(convert)
cli.add_command(build)
cli.add_command(list_command)
cli.add_command(match)
cli.add_command(test_command)
cli.add_command(verify)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
