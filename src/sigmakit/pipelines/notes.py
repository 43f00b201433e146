"""Warnings that pipeline steps attach to the rule they transform.

pySigma has no channel for warnings from a transformation, and a rule's
custom_attributes end up in its serialised form, so the warnings live in a private
attribute of the rule object that only sigmakit reads.
"""

from __future__ import annotations

from typing import Any

_ATTRIBUTE = "_sigmakit_warnings"


def add_warning(rule: Any, message: str) -> None:
    """Record *message* for *rule* once (repeats of the same text are kept once)."""
    warnings: list[str] = rule.__dict__.setdefault(_ATTRIBUTE, [])
    if message not in warnings:
        warnings.append(message)


def warnings_of(rule: Any) -> list[str]:
    """The warnings recorded for *rule*, in the order they were raised."""
    return list(rule.__dict__.get(_ATTRIBUTE, []))
