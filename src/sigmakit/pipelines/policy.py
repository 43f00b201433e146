"""The field policy: what happens to a rule that tests a field a data source lacks.

One sound rule: an unavailable test is replaced by *false*. Where the test sits in a
positive position of the condition (not under an odd number of ``not``), replacing it by
false can only make the rule match less, never more: the OR alternative holding it
disappears, with a warning naming the rule, selection and field. Under ``not``, false
would make the rule match more, so the rule is refused for that data source. If the
whole condition becomes false, the rule could never fire there, and it is refused too.
Nothing is dropped silently.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

from sigma.conditions import (
    ConditionAND,
    ConditionIdentifier,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionSelector,
)
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule

from sigmakit.errors import RefusedError
from sigmakit.pipelines import notes


@dataclass
class UnavailableDetectionItem(SigmaDetectionItem):
    """Placeholder for a detection item the data source cannot evaluate (never converted)."""

    reason: str = ""

    @classmethod
    def mark(cls, item: SigmaDetectionItem, reason: str) -> "UnavailableDetectionItem":
        return cls(item.field, item.modifiers, item.value, item.value_linking, item.negated,
                   item.source, auto_modifiers=False, reason=reason)


class _False:
    """The constant false that an unavailable test turns into."""

    def __repr__(self) -> str:
        return "FALSE"


FALSE: Final = _False()
# Reasons a refusal names before it says how many more there are.
REASONS_SHOWN: Final = 3


def _markers(detection: SigmaDetection) -> list[UnavailableDetectionItem]:
    found: list[UnavailableDetectionItem] = []
    for item in detection.detection_items:
        if isinstance(item, UnavailableDetectionItem):
            found.append(item)
        elif isinstance(item, SigmaDetection):
            found.extend(_markers(item))
    return found


def _identifier_polarities(rule: SigmaRule) -> dict[str, set[bool]]:
    """For every selection, whether it appears negated (True) and/or plain (False)."""
    polarities: dict[str, set[bool]] = {}

    def walk(node: object, negated: bool) -> None:
        if isinstance(node, ConditionNOT):
            walk(node.args[0], not negated)
        elif isinstance(node, ConditionSelector):
            for identifier in node.resolve_referenced_detections(rule.detection):
                polarities.setdefault(identifier.identifier, set()).add(negated)
        elif isinstance(node, ConditionIdentifier):
            polarities.setdefault(node.identifier, set()).add(negated)
        elif isinstance(node, ConditionItem):
            for arg in node.args:
                walk(arg, negated)

    for condition in rule.detection.parsed_condition:
        walk(condition.parse(postprocess=False), False)
    return polarities


def _simplify(detection: SigmaDetection, dropped: list[UnavailableDetectionItem]) -> SigmaDetection | _False:
    """Replace markers by false and fold the constant through AND/OR linking."""
    kept: list[SigmaDetectionItem | SigmaDetection] = []
    for item in detection.detection_items:
        if isinstance(item, UnavailableDetectionItem):
            dropped.append(item)
            result: SigmaDetectionItem | SigmaDetection | _False = FALSE
        elif isinstance(item, SigmaDetection):
            result = _simplify(item, dropped)
        else:
            result = item
        if result is FALSE:
            if detection.item_linking is ConditionAND:
                return FALSE
            continue
        kept.append(result)  # type: ignore[arg-type]
    if not kept:
        return FALSE
    detection.detection_items = kept
    return detection


def _rewrite(node: object, rule: SigmaRule, false_ids: set[str]) -> str | _False:
    """Condition text equivalent to *node* with the false selections folded away."""
    if isinstance(node, ConditionIdentifier):
        return FALSE if node.identifier in false_ids else node.identifier
    if isinstance(node, ConditionSelector):
        names = [i.identifier for i in node.resolve_referenced_detections(rule.detection)]
        if not any(name in false_ids for name in names):
            quantifier = "1" if node.cond_class is ConditionOR else "all"
            return f"{quantifier} of {node.pattern}"
        if node.cond_class is ConditionAND:
            return FALSE
        live = [name for name in names if name not in false_ids]
        return " or ".join(live) if live else FALSE
    if isinstance(node, ConditionNOT):
        inner = _rewrite(node.args[0], rule, false_ids)
        if inner is FALSE:  # only reachable for negated markers, which were refused earlier
            raise AssertionError("a negated unavailable test must have been refused")
        return f"not ({inner})"
    if isinstance(node, (ConditionAND, ConditionOR)):
        parts = [_rewrite(arg, rule, false_ids) for arg in node.args]
        if isinstance(node, ConditionAND):
            if any(part is FALSE for part in parts):
                return FALSE
            return " and ".join(f"({part})" for part in parts)
        live = [part for part in parts if part is not FALSE]
        return " or ".join(f"({part})" for part in live) if live else FALSE
    raise AssertionError(f"unexpected condition node {node!r}")


def resolve_unavailable(rule: SigmaRule, source: str) -> None:
    """Apply the field policy to every unavailable marker in *rule* (see module docstring)."""
    rule_id = None if rule.id is None else str(rule.id)
    detections = rule.detection.detections
    marked = {name: _markers(d) for name, d in detections.items()}
    marked = {name: items for name, items in marked.items() if items}
    if not marked:
        return
    polarities = _identifier_polarities(rule)
    for name, items in marked.items():
        for item in items:
            negated_uses = {p ^ item.negated for p in polarities.get(name, {False})}
            if True in negated_uses:
                raise RefusedError(
                    f"{item.reason}; selection {name!r} uses it under 'not', where leaving it out "
                    "would make the search match more, so the rule is refused for this target",
                    rule_id=rule_id,
                )
    false_ids: set[str] = set()
    warnings: list[str] = []
    for name in marked:
        dropped: list[UnavailableDetectionItem] = []
        if _simplify(detections[name], dropped) is FALSE:
            false_ids.add(name)
        warnings.extend(f"{item.reason}: dropped that test from selection {name!r} "
                        "(the search can only match less)" for item in dropped)
    if false_ids:
        _rewrite_conditions(rule, false_ids, marked, source, rule_id)
    for warning in warnings:  # only once the rule is known to convert
        notes.add_warning(rule, warning)


def _rewrite_conditions(
    rule: SigmaRule, false_ids: set[str], marked: dict[str, list[UnavailableDetectionItem]],
    source: str, rule_id: str | None,
) -> None:
    conditions = rule.detection.parsed_condition
    rewritten = [(c, _rewrite(c.parse(postprocess=False), rule, false_ids)) for c in conditions]
    live = [(c, text) for c, text in rewritten if text is not FALSE]
    if not live:
        reasons = sorted({item.reason for name in false_ids for item in marked.get(name, [])})
        # A rule listing sixty hashes would otherwise give a line of sixty reasons.
        shown = "; ".join(reasons[:REASONS_SHOWN])
        if len(reasons) > REASONS_SHOWN:
            shown += f"; and {len(reasons) - REASONS_SHOWN} more"
        raise RefusedError(f"the rule cannot match in {source}: {shown}", rule_id=rule_id)
    for name in false_ids:
        del rule.detection.detections[name]
    rule.detection.parsed_condition = [dataclasses.replace(c, condition=str(text)) for c, text in live]
    rule.detection.condition = [str(text) for _, text in live]
