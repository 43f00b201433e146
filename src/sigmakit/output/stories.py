"""analyticstories.conf: the analytic stories the rules name, and the searches in each.

ES's analytic story views read two kinds of stanza: ``[savedsearch://<search>]`` with a
detection's explanation and annotations, and ``[analytic_story://<story>]`` listing its
searches. sigmakit knows a story only by the name rules give it, so the story stanza
carries that name, its searches and the date of its newest rule.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from sigmakit.output.conf import ConfFile, Stanza, conf_json, single_line
from sigmakit.output.savedsearches import CorrelationSearch, annotations, stanza_safe


def _rule_date(search: CorrelationSearch) -> str | None:
    value = search.rule.data.get("modified") or search.rule.data.get("date")
    return None if value is None else single_line(str(value)).replace("/", "-")


def _detection_stanza(search: CorrelationSearch) -> Stanza:
    rule, metadata = search.rule, search.metadata
    settings = [
        ("type", "detection"),
        ("explanation", single_line(str(rule.data.get("description") or rule.title))),
    ]
    if metadata.how_to_implement:
        settings.append(("how_to_implement", single_line(metadata.how_to_implement)))
    false_positives = rule.data.get("falsepositives")
    if isinstance(false_positives, list) and false_positives:
        settings.append(("known_false_positives", single_line("; ".join(str(f) for f in false_positives))))
    settings.append(("annotations", conf_json(annotations(rule, metadata))))
    return Stanza.of(f"savedsearch://{search.name}", settings)


def analyticstories_conf(searches: Iterable[CorrelationSearch], header: tuple[str, ...] = ()) -> ConfFile | None:
    """analyticstories.conf for the searches whose rules name a story; None when none does."""
    stories: dict[str, list[CorrelationSearch]] = defaultdict(list)
    detections: list[Stanza] = []
    for search in searches:
        if not search.metadata.analytic_stories:
            continue
        detections.append(_detection_stanza(search))
        for story in search.metadata.analytic_stories:
            stories[stanza_safe(story)].append(search)
    if not stories:
        return None
    story_stanzas = []
    for story, members in sorted(stories.items()):
        dates = sorted(d for d in (_rule_date(s) for s in members) if d)
        settings = [
            ("description", single_line(f"Detections of the analytic story {story}, built by sigmakit.")),
            ("searches", conf_json([s.name for s in members])),
            ("spec_version", "3"),
            ("version", "1"),
        ]
        if dates:
            settings.append(("last_updated", dates[-1]))
        story_stanzas.append(Stanza.of(f"analytic_story://{story}", settings))
    return ConfFile("default/analyticstories.conf", (*detections, *story_stanzas), header)


__all__ = ["analyticstories_conf"]
