"""The command-line reference page (docs/cli.md), generated from the click commands."""

from __future__ import annotations

import click

from sigmakit.cli.main import cli


def _help(command: click.Command, name: str) -> str:
    # The group's settings (its -h alias), which a real run passes down to each command.
    context = click.Context(command, info_name=name, terminal_width=100, max_content_width=100,
                            **cli.context_settings)
    return command.get_help(context)


def render_cli_reference() -> str:
    """Markdown with the ``--help`` text of ``sigmakit`` and of every subcommand."""
    lines = [
        "# Command-line reference",
        "",
        "Generated from the commands themselves (`python scripts/generate_docs.py`); every",
        "command also answers `-h`. Exit status everywhere: 0 on success, 1 when rules or",
        "tests fail, 2 on usage errors.",
        "",
        "## sigmakit",
        "",
        "```text",
        _help(cli, "sigmakit"),
        "```",
        "",
    ]
    assert isinstance(cli, click.Group)
    for name in sorted(cli.commands):
        lines += [f"## sigmakit {name}", "", "```text", _help(cli.commands[name], f"sigmakit {name}"), "```", ""]
    return "\n".join(lines)
