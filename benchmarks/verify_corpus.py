"""``sigmakit verify`` at corpus scale: every process_creation rule of the shared SigmaHQ
corpus, on the real Sysmon and 4688 events of ``../shared/data`` plus synthetic Sysmon
events, for the ``sysmon`` and ``cim`` targets.

    python ../shared/tools/gen_sysmon_events.py --events 100000 --seed 1337 --out /tmp/sysmon_100k.jsonl
    python benchmarks/verify_corpus.py [--synthetic /tmp/sysmon_100k.jsonl] [--target sysmon] [--json]

Prints the totals (rules, records, matches, disagreements, cannot-evaluate), the pairs
per status, the reasons searches could not be evaluated or built, every disagreement
(rule, event, both verdicts) and the time each stage took. Exit status 1 when any pair
disagrees or a search is invalid.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sigmakit.events import EventReader
from sigmakit.rules import load_rules
from sigmakit.verification.verify import PairStatus, VerifyReport, verify

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
RULE_FOLDERS = (
    "rules/windows/process_creation",
    "rules-threat-hunting/windows/process_creation",
    "rules-placeholder/windows/process_creation",
)
# The XmlWinEventLog renderings (their .jsonl twins hold the same events).
REAL_EVENTS = ("sysmon_eid1", "security_4688", "diskshadow_positives")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synthetic", type=Path, help="JSON Lines from gen_sysmon_events.py")
    parser.add_argument("--target", action="append", choices=("sysmon", "cim"))
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    options = parser.parse_args(argv)
    targets = tuple(options.target or ("sysmon", "cim"))

    started = time.perf_counter()
    rules = load_rules([SHARED / "corpus" / "sigmahq" / folder for folder in RULE_FOLDERS])
    loaded = time.perf_counter()
    paths = [p for folder in REAL_EVENTS for p in sorted((SHARED / "data" / folder).glob("*.xml"))]
    if options.synthetic:
        paths.append(options.synthetic)
    reader = EventReader()
    events = list(reader.read(paths))
    read = time.perf_counter()
    report = verify(rules, events, targets, progress=lambda text: print(text, file=sys.stderr, flush=True))
    verified = time.perf_counter()

    summary = {
        "rules": len(rules),
        "rule_errors": len(rules.errors),
        "events_read": reader.log.summary(),
        "totals": report.totals(),
        "records_per_target": report.events,
        "pairs_per_status": {f"{t}:{s.value}": n for (t, s), n in
                             sorted(Counter((p.target, p.status) for p in report.pairs).items())},
        "cannot_evaluate_share": _share(report),
        "reasons": _reasons(report),
        "disagreements": _disagreements(report),
        "seconds": {"load_rules": round(loaded - started, 1), "read_events": round(read - loaded, 1),
                    "verify": round(verified - read, 1)},
        "peak_memory_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    if options.json:
        summary["pairs"] = [p.to_json() for p in report.pairs]
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 1 if report.failed else 0


def _share(report: VerifyReport) -> str:
    verified = len(report.verified)
    counts = report.counts()
    unjudged = counts[PairStatus.CANNOT_EVALUATE] + counts[PairStatus.UNDECIDED]
    return f"{unjudged}/{verified} = {100 * unjudged / verified:.2f} %" if verified else "no pairs"


def _reasons(report: VerifyReport) -> dict[str, int]:
    reasons: Counter[str] = Counter()
    for pair in report.pairs:
        if pair.status in (PairStatus.CANNOT_EVALUATE, PairStatus.INVALID, PairStatus.NOT_BUILT,
                           PairStatus.NOT_MATCHED):
            reasons[f"{pair.target} {pair.status.value}: {(pair.reason or '')[:110]}"] += 1
        for reason in set(pair.undecided.values()):
            reasons[f"{pair.target} undecided event: {reason[:110]}"] += 1
    return dict(reasons.most_common())


def _disagreements(report: VerifyReport) -> list[dict[str, Any]]:
    found = []
    for pair in report.pairs:
        if pair.status is not PairStatus.DISAGREE:
            continue
        found.append({
            "rule": pair.rule_title, "path": str(pair.path), "target": pair.target,
            "matcher_matches": pair.matcher_matches, "evaluator_matches": pair.evaluator_matches,
            "events": [d.to_json() for d in pair.disagreements[:10]],
            "more": max(len(pair.disagreements) - 10, 0),
        })
    return found


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
