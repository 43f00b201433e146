"""Measure ``sigmakit build`` over the shared SigmaHQ corpus: time, memory, what was built.

    python benchmarks/build_corpus.py [RULES_FOLDER] [--package]

Prints one JSON object: rules loaded, pairs per status, correlation searches, macros,
seconds for loading, planning (conversion and composition) and writing (including the
read-back of every .conf), peak memory, and the size of savedsearches.conf. Rules that
are refused for a target are left out, as with ``--pass-on-error``.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sigmakit.output.app import plan_app, write_app
from sigmakit.rules import load_rules

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "sigmahq"


def main(argv: list[str]) -> None:
    package = "--package" in argv
    folders = [a for a in argv if not a.startswith("--")] or [str(DEFAULT_CORPUS)]
    started = time.perf_counter()
    rules = load_rules(folders)
    loaded = time.perf_counter()
    plan = plan_app(rules)
    planned = time.perf_counter()
    with tempfile.TemporaryDirectory() as output:
        write_app(plan, output, package=package)
        written = time.perf_counter()
        saved = Path(output, "sigmakit", "default", "savedsearches.conf").stat().st_size
    statuses = Counter(f"{r.target}:{r.status.value}" for r in plan.results)
    refusals = Counter((r.error or "").split(":")[0][:60] for r in plan.results if r.status.value == "refused")
    print(json.dumps({
        "rules": len(rules),
        "rule_errors": len(rules.errors),
        "pairs": dict(sorted(statuses.items())),
        "correlation_searches": len(plan.searches),
        "macros": len(plan.files["default/macros.conf"].stanzas),
        "top_refusals": refusals.most_common(5),
        "seconds_load": round(loaded - started, 2),
        "seconds_plan": round(planned - loaded, 2),
        "seconds_write_and_verify": round(written - planned, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "savedsearches_conf_bytes": saved,
    }, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
