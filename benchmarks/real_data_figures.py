#!/usr/bin/env python3
"""Issue 4's "done when" figures on the shared real data (../shared/data).

    python benchmarks/real_data_figures.py [--data ../shared/data] [--corpus ../shared/corpus/sigmahq]

Prints (1) the DiskShadow rule's hits on every real event file, each file on its own, with
--source auto and with --source cim, and (2) for SigmaHQ's regression data, per source
file, the hits of its own rule on the XmlWinEventLog lines (sysmon pipeline) and on the
JSON lines (--source auto) against the index's expected count.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sigmakit.verification.real_data import diskshadow_hits, regression_hits

PROJECT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=PROJECT.parent / "shared" / "data")
    parser.add_argument("--corpus", type=Path, default=PROJECT.parent / "shared" / "corpus" / "sigmahq")
    args = parser.parse_args()

    rule = PROJECT / "sigma_rules" / "windows_diskshadow_proxy_execution.yml"
    for source in ("auto", "cim"):
        started = time.perf_counter()
        results = diskshadow_hits([rule], args.data, source)
        print(f"== DiskShadow, --source {source} ({time.perf_counter() - started:.2f} s)")
        for result in results:
            hits = ", ".join(f"line {e.line} EventRecordID {e.record_id}" for e in result.hits) or "-"
            print(f"{result.file.relative_to(args.data)}: {result.events} events, "
                  f"{len(result.hits)} hit(s) [{hits}], {result.problems} unreadable")
        distinct = {(e.record_id, e.fields.get("host") or e.fields.get("Processes.dest")) for r in results for e in r.hits}
        print(f"distinct events hit: {sorted(distinct)}")

    started = time.perf_counter()
    cases = regression_hits(args.data, args.corpus)
    print(f"== SigmaHQ regression data ({len(cases)} files, {time.perf_counter() - started:.2f} s)")
    for reading in ("xml/sysmon", "json/auto"):
        passed = sum(c.passed(reading) for c in cases)
        print(f"{reading}: {passed}/{len(cases)} files get their expected hits")
    for case in cases:
        if not all(case.passed(r) for r in ("xml/sysmon", "json/auto")):
            expected = "at least 1" if case.expected is None else case.expected
            print(f"  {case.rule_title} [{case.rule_id}]: expected {expected}, got {case.hits}"
                  + (f"; cannot evaluate: {case.error}" if case.error else ""))


if __name__ == "__main__":
    main()
