"""Helpers for the matcher tests: a rule around a detection block, and matching it."""

from __future__ import annotations

import textwrap
from typing import Any, Iterable, Mapping, Sequence

from sigmakit.matching import Matcher

PROCESS_CREATION = "{category: process_creation, product: windows}"


def rule_text(detection: str, logsource: str = PROCESS_CREATION, title: str = "Test Rule",
              extra: str = "") -> str:
    """A rule document around an indented *detection* block (YAML text)."""
    body = textwrap.indent(textwrap.dedent(detection).strip(), "    ")
    return f"title: {title}\nlogsource: {logsource}\ndetection:\n{body}\n{textwrap.dedent(extra)}"


def compiled(detection: str, target: str | None = None,
             placeholders: Mapping[str, Sequence[str]] | None = None, **rule: Any) -> Matcher:
    """A Matcher for one rule; fails the test if the rule does not compile."""
    matcher = Matcher.from_text(rule_text(detection, **rule), target=target, placeholders=placeholders)
    assert not matcher.errors, [str(e) for e in matcher.errors]
    assert len(matcher.rules) == 1, matcher.skipped
    return matcher


def matches(detection: str, event: Mapping[str, Any], **kwargs: Any) -> bool:
    """Does the rule with this detection match this one event?"""
    return bool(list(compiled(detection, **kwargs).match([event])))


def matching_lines(detection: str, events: Iterable[Mapping[str, Any]], **kwargs: Any) -> list[int]:
    """The (1-based) positions of the events the rule matches."""
    return [hit.event.line for hit in compiled(detection, **kwargs).match(events)]
