"""SigmaHQ's own regression data: each event file is a true positive of one SigmaHQ rule.

The events (../shared/data/sysmon_eid1/sigma-regression-data.jsonl) are Sysmon EID 1 as
evtx-to-JSON exports write them; here they are flattened the way Splunk indexes Sysmon
(EventData fields at the top level, plus the System fields rules use). The rule for each
file is found in the shared corpus by its id.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from typing import Any

from sigmakit.events import Event
from sigmakit.matching import Hit, Matcher

from conftest import shared_path


def _flatten(raw: dict[str, Any]) -> dict[str, Any]:
    event = raw["Event"]
    system = event["System"]
    return {**event["EventData"], "EventID": system["EventID"], "Computer": system["Computer"],
            "Channel": system["Channel"]}


def test_every_regression_true_positive_is_matched_by_its_rule() -> None:
    folder = shared_path("data", "sysmon_eid1")
    corpus = shared_path("corpus", "sigmahq")
    index = list(csv.DictReader((folder / "sigma-regression-data_index.csv").open(encoding="utf-8")))
    events: dict[str, list[Event]] = defaultdict(list)
    with (folder / "sigma-regression-data.jsonl").open(encoding="utf-8") as stream:
        for number, line in enumerate(stream, start=1):
            raw = json.loads(line)
            events[raw["_source_file"]].append(Event(_flatten(raw), stream.name, number))
    by_id = {}
    for path in corpus.rglob("*.yml"):
        found = re.search(r"^id: *([0-9a-f-]{36})", path.read_text(encoding="utf-8"), re.MULTILINE)
        if found:
            by_id[found.group(1)] = path
    paths = {by_id[row["sigma_rule_id"]] for row in index}
    matcher = Matcher.from_paths(sorted(paths))
    assert matcher.errors == [] and len(matcher.rules) == len(paths) == 136

    missed = []
    for row in index:
        found = {r.rule_id for r in matcher.match(events[row["source_file"]]) if isinstance(r, Hit)}
        if row["sigma_rule_id"] not in found:
            missed.append(row["sigma_rule_title"])
    assert missed == []
    assert len(index) == 136
