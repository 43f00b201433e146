"""``sigmakit list``: the targets, pySigma backends and pipelines available here."""

from __future__ import annotations

import difflib
from typing import Final

import click

from sigmakit.cli.common import fail_usage
from sigmakit.pipelines import TARGETS, data_source

KINDS: Final = ("targets", "backends", "pipelines")


def _installed_plugins():  # imported lazily: plugin discovery imports every installed backend
    from sigma.plugins import InstalledSigmaPlugins

    return InstalledSigmaPlugins.autodiscover()


@click.command("list")
@click.argument("kind", metavar="targets|backends|pipelines")
def list_command(kind: str) -> None:
    """List sigmakit's SPL targets, or the pySigma backends or pipelines installed here."""
    if kind not in KINDS:
        close = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f"; did you mean 'sigmakit list {close[0]}'?" if close else ""
        fail_usage(f"unknown list {kind!r} (choose from {', '.join(KINDS)}){hint}")
    if kind == "targets":
        for target in TARGETS:
            click.echo(f"{target:<14} {data_source(target).title}")
        return
    plugins = _installed_plugins()
    if kind == "backends":
        for name, backend in sorted(plugins.backends.items()):
            click.echo(f"{name:<14} {getattr(backend, 'name', backend.__name__)}")
        return
    for name, factory in sorted(plugins.pipelines.items()):
        pipeline = factory() if callable(factory) else factory
        click.echo(f"{name:<24} {pipeline.name}")
