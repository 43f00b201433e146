"""Shared test helpers: project paths, the shared data folder, converting rule text."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from sigmakit.conversion import ConversionResult, Converter
from sigmakit.rules import load_rule_text

PROJECT = Path(__file__).resolve().parents[1]
RULES = PROJECT / "sigma_rules"
DISKSHADOW = RULES / "windows_diskshadow_proxy_execution.yml"
# The shared material: ../shared beside the project, or wherever $SIGMAKIT_SHARED says.
SHARED = Path(os.environ.get("SIGMAKIT_SHARED") or PROJECT.parent / "shared")

_converters: dict[str, Converter] = {}


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test saying what is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared material not available: {path} (tests read it from ../shared, or from "
                    f"$SIGMAKIT_SHARED, when present)")
    return path


def convert_text(rule_yaml: str, target: str) -> ConversionResult:
    """Convert one rule given as YAML text for one target."""
    rules = load_rule_text(textwrap.dedent(rule_yaml), "test_rule.yml")
    assert not rules.errors, rules.errors
    assert len(rules) == 1
    converter = _converters.setdefault(target, Converter((target,)))
    return converter.convert(rules.rules[0], target)


def process_rule(detection: str, extra: str = "") -> str:
    """A process_creation rule around an indented *detection* block."""
    body = textwrap.indent(textwrap.dedent(detection).strip(), "    ")
    return (
        "title: Test Rule\n"
        "id: 11111111-2222-3333-4444-555555555555\n"
        "logsource:\n    category: process_creation\n    product: windows\n"
        f"detection:\n{body}\n{extra}"
    )
