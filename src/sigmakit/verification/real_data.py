"""Measurements of rules on the shared real event data (``../shared/data``).

Two figures the project reports, computed here so that a script (benchmarks/) and the
``corpus`` tests give the same numbers:

* ``diskshadow_hits``: the bundled DiskShadow rule over every real event file, each file
  on its own, with source detection (and as CIM records): which events it matches.
* ``regression_hits``: SigmaHQ's regression data, where each source .evtx is a true
  positive for one SigmaHQ rule (``sigma-regression-data_index.csv``): the hits of that
  rule on that file's events, through the ``sysmon`` pipeline on the XmlWinEventLog lines
  and with source detection on the JSON lines.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Iterable

from sigmakit.events import Event, ReadLog, read_events
from sigmakit.matching import Hit
from sigmakit.rules import LoadedRule, load_rule_file, load_rules
from sigmakit.verification.source_matching import SourceMatcher

EVENT_SUFFIXES: Final = (".xml", ".jsonl", ".json", ".evtx")
REGRESSION_STEM: Final = "sysmon_eid1/sigma-regression-data"


@dataclass(frozen=True)
class FileHits:
    """The hits of some rules on one event file read with one ``--source``."""

    file: Path
    source: str
    events: int
    hits: tuple[Event, ...]
    problems: int


def event_files(data: Path) -> list[Path]:
    return sorted(p for p in data.rglob("*") if p.is_file() and p.suffix in EVENT_SUFFIXES)


def file_hits(rules: list[LoadedRule], path: Path, source: str) -> FileHits:
    log = ReadLog()
    matcher = SourceMatcher(rules)
    hits = tuple(hit.event for hit in matcher.match(read_events([path], source, log)) if isinstance(hit, Hit))
    return FileHits(path, source, log.event_count, hits, log.problem_count)


def diskshadow_hits(rule_paths: Iterable[Path], data: Path, source: str = "auto") -> list[FileHits]:
    rules = list(load_rules(rule_paths))
    return [file_hits(rules, path, source) for path in event_files(data)]


@dataclass
class RegressionCase:
    """One SigmaHQ regression file: its rule, the expected count and the hits per reading."""

    source_file: str
    rule_id: str
    rule_title: str
    expected: int | None  # None: the index gives no count ("at least one")
    rule_path: Path | None = None
    error: str | None = None  # why the rule could not be evaluated
    hits: dict[str, int] = field(default_factory=dict)  # reading ("xml/sysmon", "json/auto") -> hits

    def passed(self, reading: str) -> bool:
        count = self.hits.get(reading)
        if count is None or self.error:
            return False
        return count >= 1 if self.expected is None else count == self.expected


def _rule_path(corpus: Path, source_file: str, rule_id: str) -> Path | None:
    """regression_data/<folders>/<rule stem>/<id>.evtx -> <corpus>/<folders>/<rule stem>.yml."""
    parts = Path(source_file).parts
    if parts and parts[0] == "regression_data" and len(parts) >= 3:
        candidate = corpus.joinpath(*parts[1:-2], parts[-2] + ".yml")
        if candidate.is_file():
            return candidate
    for path in corpus.rglob("*.yml"):
        if rule_id in path.read_text(encoding="utf-8", errors="replace"):
            return path
    return None


def regression_hits(data: Path, corpus: Path) -> list[RegressionCase]:
    """Each regression file's hits from its own rule, on the XML lines and the JSON lines."""
    index = data / f"{REGRESSION_STEM}_index.csv"
    with index.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    cases = {
        row["source_file"]: RegressionCase(
            row["source_file"], row["sigma_rule_id"], row["sigma_rule_title"],
            int(row["expected_match_count"]) if row["expected_match_count"].strip() else None,
        )
        for row in rows
    }
    # The JSON lines name their source file; the XML lines are in the same order.
    json_events = list(read_events([data / f"{REGRESSION_STEM}.jsonl"], "auto"))
    xml_events = list(read_events([data / f"{REGRESSION_STEM}.xml"], "sysmon"))
    by_file: dict[str, list[tuple[Event, Event]]] = defaultdict(list)
    for json_event, xml_event in zip(json_events, xml_events, strict=True):
        by_file[str(json_event.fields["_source_file"])].append((xml_event, json_event))
    for case in cases.values():
        case.rule_path = _rule_path(corpus, case.source_file, case.rule_id)
        if case.rule_path is None:
            case.error = f"rule {case.rule_id} is not in the corpus"
            continue
        loaded = load_rule_file(case.rule_path)
        rules = [r for r in loaded.rules if r.id == case.rule_id] or loaded.rules
        if loaded.errors and not rules:
            case.error = "; ".join(str(e) for e in loaded.errors)
            continue
        pairs = by_file.get(case.source_file, [])
        for reading, position in (("xml/sysmon", 0), ("json/auto", 1)):
            matcher = SourceMatcher(rules)
            case.hits[reading] = sum(isinstance(hit, Hit) for hit in matcher.match(p[position] for p in pairs))
            reasons = [e.message for errors in matcher.rule_errors().values() for e in errors]
            reasons += [f"out of scope for {s}: {r}" for s, st in matcher.states.items() for r in st.skipped.values()]
            if reasons:
                case.error = "; ".join(dict.fromkeys(reasons))
    return list(cases.values())
