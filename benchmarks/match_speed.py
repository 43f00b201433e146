#!/usr/bin/env python3
"""How fast the local matcher runs, and how much of SigmaHQ's process_creation corpus it compiles.

Generate the events once, outside the repository (about 130 MB)::

    python ../shared/tools/gen_sysmon_events.py --events 100000 --seed 1337 --out /tmp/sysmon_100k.jsonl

then, from the project folder::

    .venv/bin/python benchmarks/match_speed.py --events /tmp/sysmon_100k.jsonl

It reports, for (1) the DiskShadow rule and (2) every rule under the corpus's
``process_creation`` folders (``../shared/corpus/sigmahq``, 1,242 files):

* how many rules compiled, and why the others did not (grouped by reason);
* how many regular expressions run on RE2 and how many on the backtracking engine;
* compile time, and matching speed in events per second, both wall-clock and CPU time
  (CPU time is the steadier figure on a shared machine), with the number of hits.

Events are read and parsed once before timing, so the speeds are for matching alone; the
JSON parsing rate is reported separately. ``--sysmon`` adds a run through the ``sysmon``
data source's pipeline, on the same events given the ``source`` and ``EventCode`` fields
Splunk adds, to show the pipeline's cost and that the hits are the same.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "src"))

from sigmakit.events import Event  # noqa: E402
from sigmakit.matching import Matcher  # noqa: E402
from sigmakit.matching import regex as regex_module  # noqa: E402
from sigmakit.rules import load_rules  # noqa: E402

CORPUS = PROJECT.parent / "shared" / "corpus" / "sigmahq"
DISKSHADOW = PROJECT / "sigma_rules" / "windows_diskshadow_proxy_execution.yml"
SYSMON_FIELDS = {"source": "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational", "EventCode": 1}


def process_creation_rules() -> list[Path]:
    found = subprocess.run(["find", str(CORPUS), "-path", "*process_creation*", "-name", "*.yml"],
                           capture_output=True, text=True, check=True).stdout.split()
    return sorted(Path(p) for p in found)


def read_events(path: Path, limit: int | None) -> tuple[list[Event], float]:
    started = time.perf_counter()
    events = []
    with path.open("rb") as stream:
        for number, line in enumerate(stream, start=1):
            if limit is not None and number > limit:
                break
            events.append(Event(json.loads(line), str(path), number))
    return events, time.perf_counter() - started


def count_engines(compile_rules: Callable[[], Matcher]) -> tuple[Matcher, Counter[str]]:
    """Compile with the regex engines wrapped, counting which engine took each pattern."""
    engines: Counter[str] = Counter()
    re2_compile, backtracking_compile = regex_module.re2.compile, regex_module.backtracking.compile

    def on_re2(*args: Any, **kwargs: Any) -> Any:
        compiled = re2_compile(*args, **kwargs)  # raises for patterns RE2 refuses
        engines["re2"] += 1
        return compiled

    def on_backtracking(*args: Any, **kwargs: Any) -> Any:
        engines["regex (backtracking, with timeout)"] += 1
        return backtracking_compile(*args, **kwargs)

    regex_module.compile_regex.cache_clear()
    regex_module.re2.compile, regex_module.backtracking.compile = on_re2, on_backtracking
    try:
        return compile_rules(), engines
    finally:
        regex_module.re2.compile, regex_module.backtracking.compile = re2_compile, backtracking_compile


def reason_of(message: str) -> str:
    """A failure message without the rule-specific parts, to group failures."""
    message = re.sub(r"'[^']*'", "'…'", message)
    return re.sub(r"%[^%]+%", "%…%", message)[:160]


def measure(label: str, paths: Iterable[Path], events: list[Event], target: str | None) -> int:
    started = time.perf_counter()
    rules = load_rules(paths)
    loaded = time.perf_counter()
    matcher, engines = count_engines(lambda: Matcher.compile(rules, target=target))
    compiled = time.perf_counter()
    print(f"\n== {label} (source {matcher.source})")
    print(f"rules: {len(rules) + len(rules.errors)} documents, {len(matcher.rules)} compiled, "
          f"{len(matcher.errors)} failed, {len(matcher.skipped)} skipped")
    print(f"load {loaded - started:.2f}s, compile {compiled - loaded:.2f}s; "
          f"regexes by engine: {dict(engines)}")
    for reason, count in Counter(reason_of(e.message) for e in matcher.errors).most_common():
        print(f"  failed x{count}: {reason}")
    for reason, count in Counter(reason_of(s.reason) for s in matcher.skipped).most_common(5):
        print(f"  skipped x{count}: {reason}")
    wall, cpu = time.perf_counter(), time.process_time()
    hits = sum(1 for _ in matcher.match(events))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"matched {len(events):,} events in {wall:.2f}s wall / {cpu:.2f}s CPU: "
          f"{len(events) / wall:,.0f} events/s wall, {len(events) / cpu:,.0f} events/s CPU; {hits} hits")
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=Path, default=Path("/tmp/sysmon_100k.jsonl"))
    parser.add_argument("--limit", type=int, help="use only the first N events")
    parser.add_argument("--sysmon", action="store_true", help="also run through the sysmon pipeline")
    args = parser.parse_args()
    if not args.events.exists():
        sys.exit(f"{args.events} is missing; generate it first (see this script's docstring)")
    events, seconds = read_events(args.events, args.limit)
    print(f"read {len(events):,} events from {args.events} in {seconds:.2f}s "
          f"({len(events) / seconds:,.0f} events/s of JSON parsing)")
    measure("DiskShadow rule", [DISKSHADOW], events, None)
    corpus = process_creation_rules()
    print(f"\n{len(corpus)} rule files under {CORPUS}/**/process_creation")
    hits = measure("process_creation corpus", corpus, events, None)
    if args.sysmon:
        with_base = [Event({**e.fields, **SYSMON_FIELDS}, e.file, e.line) for e in events]
        sysmon_hits = measure("process_creation corpus", corpus, with_base, "sysmon")
        print(f"same hits with the sysmon pipeline: {sysmon_hits == hits}")


if __name__ == "__main__":
    main()
