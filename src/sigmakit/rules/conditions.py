"""Condition helpers shared by every consumer of a parsed rule (conversion and matching)."""

from __future__ import annotations

import dataclasses

from sigma.rule import SigmaRule


def merge_conditions(rule: SigmaRule) -> None:
    """Join a list of conditions into one (Sigma OR-s them), so each rule gives one result.

    A rule whose ``condition`` is a list matches when any of its conditions does; both the
    SPL backend (one search per rule) and the matcher (one predicate per rule) need that
    as a single condition. The rule is changed in place.
    """
    conditions = rule.detection.parsed_condition
    if len(conditions) <= 1:
        return
    text = " or ".join(f"({c.condition})" for c in conditions)
    rule.detection.condition = [text]
    rule.detection.parsed_condition = [dataclasses.replace(conditions[0], condition=text)]
