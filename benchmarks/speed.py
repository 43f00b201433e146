#!/usr/bin/env python3
"""Speed and scale of ``sigmakit match`` and ``sigmakit convert`` against the floor.

Run from the project folder (about 15 minutes on a 2-core machine; 1.5 GB free in --work)::

    .venv/bin/python benchmarks/speed.py [--work /tmp/sigmakit-bench] [--sizes 100000 1000000]
                                         [--repeat 3] [--write-docs]

What it does:

1. generates synthetic Sysmon events (JSON Lines) with ``../shared/tools/gen_sysmon_events.py
   --events N --seed 1337`` into --work (outside the repository), once per size;
2. for each size, measures, each --repeat times, keeping the best (the machine may be
   shared: the load average is printed beside every figure, and CPU time beside wall time):

   * the **floor**: reading the file line by line and parsing every line with orjson, the
     parser sigmakit uses, and nothing else;
   * ``sigmakit match <DiskShadow rule> -e FILE --json > /dev/null``, the CLI as a user
     runs it (process start and rule compilation included);
   * the same with the 1,242 rule files of the ``process_creation`` folders of
     ``../shared/corpus/sigmahq``, with ``--jobs 1`` and ``--jobs 2``;
   * the library (``EventReader`` + ``SourceMatcher``, as ``sigmakit match`` uses them) on
     the same rules, timing matching only (rules compiled before);

   each in a child process, whose peak resident memory (``ru_maxrss``, the largest
   process for ``--jobs``) is reported;
3. compares the hits of the indexed CLI run with the unindexed matcher
   (``MatchSession(indexed=False)``) on the smallest size: they must be identical;
4. converts the 3,022 corpus rules for each target with ``sigmakit convert --json``
   (benchmarks/convert_corpus.py's in-process run), rules per second, best of --repeat;
5. prints one table (figure, ratio to the floor of the same size) and, with --write-docs,
   writes it into docs/performance.md between the generated-table markers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
# The shared material (event generator, SigmaHQ corpus): ../shared, or $SIGMAKIT_SHARED.
SHARED = Path(os.environ.get("SIGMAKIT_SHARED") or PROJECT.parent / "shared")
CORPUS = SHARED / "corpus" / "sigmahq"
GENERATOR = SHARED / "tools" / "gen_sysmon_events.py"
DISKSHADOW = PROJECT / "sigma_rules" / "windows_diskshadow_proxy_execution.yml"
SIGMAKIT = [sys.executable, "-c", "import sys; from sigmakit.cli.main import main; sys.argv[0] = 'sigmakit'; main()"]
DOCS = PROJECT / "docs" / "performance.md"
BEGIN, END = "<!-- speed.py table: begin -->", "<!-- speed.py table: end -->"

# Runs a command and reports its wall time, the CPU time and peak memory of its process
# tree: a fresh wrapper per run, so ru_maxrss is that run's and no earlier one's.
WRAPPER = """
import json, resource, subprocess, sys, time
command, output = json.loads(sys.stdin.read()), sys.argv[1]
started = time.perf_counter()
with open(output, "wb") as out:
    code = subprocess.run(command, stdout=out, stderr=subprocess.PIPE).returncode
wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": code, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                  "peak_mb": usage.ru_maxrss / 1024}))
"""

FLOOR = """
import sys, orjson
count = 0
with open(sys.argv[1], "rb") as stream:
    for line in stream:
        orjson.loads(line)
        count += 1
print(count, file=sys.stderr)
"""

LIBRARY = """
import gc, json, sys, time
from sigmakit.events import EventReader, ReadLog
from sigmakit.rules import load_rules
from sigmakit.verification.source_matching import SourceMatcher
rules = load_rules(json.loads(sys.stdin.read()))
matcher = SourceMatcher(list(rules))
matcher.state("sysmon")
gc.collect(); gc.freeze(); gc.set_threshold(50_000, 50, 100)
log = ReadLog()
started, cpu = time.perf_counter(), time.process_time()
hits = 0
for batch in EventReader("auto", log, keep=matcher.keep).read_batches([sys.argv[1]]):
    hits += len(matcher.feed_batch(batch))
print(json.dumps({"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu,
                  "events": log.event_count, "hits": hits}))
"""

UNINDEXED = """
import json, sys
from sigmakit.events import EventReader
from sigmakit.matching import Matcher
from sigmakit.rules import load_rules
matcher = Matcher.compile(load_rules(json.loads(sys.stdin.read())), "sysmon")
for hit in matcher.match(EventReader("auto").read([sys.argv[1]]), indexed=False):
    print(hit.rule_id, hit.event.line)
"""


@dataclass
class Run:
    wall: float
    cpu: float
    peak_mb: float
    load: float


def load_average() -> float:
    return os.getloadavg()[0]


def child(command: list[str], output: str = os.devnull) -> Run:
    load = load_average()
    result = subprocess.run([sys.executable, "-c", WRAPPER, output], input=json.dumps(command),
                            capture_output=True, text=True, check=True, cwd=PROJECT)
    data = json.loads(result.stdout)
    if data["code"] not in (0, 1):
        raise RuntimeError(f"{command[:4]}... exited {data['code']}")
    return Run(data["wall"], data["cpu"], data["peak_mb"], max(load, load_average()))


def best(runs: list[Run]) -> Run:
    return min(runs, key=lambda run: run.wall)


def process_creation_rules() -> list[str]:
    return sorted(str(p) for p in CORPUS.rglob("*.yml") if "process_creation" in p.parts)


def generate(work: Path, size: int) -> Path:
    path = work / f"sysmon_{size}.jsonl"
    if not path.exists():
        free = shutil.disk_usage(work).free
        if free < size * 1500:
            sys.exit(f"not enough free space in {work} for {size} events ({free >> 20} MiB free)")
        subprocess.run([sys.executable, str(GENERATOR), "--events", str(size), "--seed", "1337", "--out", str(path)],
                       check=True)
    return path


def measure_matching(path: Path, size: int, repeat: int, rules: list[str], rows: list[dict[str, Any]]) -> None:
    def row(label: str, runs: list[Run], floor: Run | None, events: int = size, note: str = "") -> Run:
        run = best(runs)
        rows.append({"size": size, "what": label, "events_per_s": events / run.wall,
                     "cpu_events_per_s": events / run.cpu if run.cpu else None, "wall": run.wall, "cpu": run.cpu,
                     "peak_mb": run.peak_mb, "load": run.load,
                     "ratio": (events / run.wall) / (size / floor.wall) if floor else None, "note": note})
        peak = f"{run.peak_mb:.0f} MiB" if run.peak_mb else "peak memory not measured (in-process)"
        print(f"  {label}: {events / run.wall:,.0f} events/s, {run.wall:.2f}s wall, {run.cpu:.2f}s CPU, "
              f"{peak}, load {run.load:.2f}", flush=True)
        return run

    floor = row("floor: read + orjson.loads per line", [child([sys.executable, "-c", FLOOR, str(path)])
                                                      for _ in range(repeat)], None)
    rows[-1]["ratio"] = 1.0
    def match(*arguments: str) -> list[str]:
        return [*SIGMAKIT, "match", *arguments, "--events", str(path), "--json"]

    row("CLI, DiskShadow rule", [child(match(str(DISKSHADOW))) for _ in range(repeat)], floor)
    one = row("CLI, 1,242 process_creation rules", [child(match(*rules)) for _ in range(repeat)], floor)
    two = row("CLI, 1,242 rules, --jobs 2", [child(match(*rules, "--jobs", "2")) for _ in range(repeat)], floor)
    rows[-1]["note"] = f"{one.wall / two.wall:.2f}x one process"
    for label, chosen in (("library, DiskShadow rule (matching only)", [str(DISKSHADOW)]),
                          ("library, 1,242 rules (matching only)", rules)):
        runs = []
        for _ in range(repeat):
            load = load_average()
            result = subprocess.run([sys.executable, "-c", LIBRARY, str(path)], input=json.dumps(chosen),
                                    capture_output=True, text=True, check=True, cwd=PROJECT)
            data = json.loads(result.stdout)
            runs.append(Run(data["seconds"], data["cpu"], 0.0, max(load, load_average())))
        row(label, runs, floor)


def compare_hits(path: Path, rules: list[str], work: Path) -> str:
    """Hits of the indexed CLI and of the unindexed matcher, as (rule id, line) lists."""
    indexed_out = work / "indexed.jsonl"
    child([*SIGMAKIT, "match", *rules, "--events", str(path), "--json"], str(indexed_out))
    with indexed_out.open(encoding="utf-8") as stream:
        indexed = [(hit["rule_id"], hit["line"]) for hit in map(json.loads, stream) if "line" in hit]
    result = subprocess.run([sys.executable, "-c", UNINDEXED, str(path)], input=json.dumps(rules),
                            capture_output=True, text=True, check=True, cwd=PROJECT)
    unindexed = [(rule, int(line)) for rule, line in (text.split() for text in result.stdout.splitlines())]
    verdict = "identical" if indexed == unindexed else "DIFFERENT"
    print(f"  hits on {path.name}: indexed {len(indexed)}, unindexed {len(unindexed)}: {verdict}", flush=True)
    return f"{verdict} ({len(indexed)} hits)"


def measure_conversion(repeat: int, rows: list[dict[str, Any]]) -> None:
    sys.path.insert(0, str(PROJECT / "benchmarks"))
    sys.path.insert(0, str(PROJECT / "src"))
    from convert_corpus import run_cli  # noqa: E402

    from sigmakit.pipelines import TARGETS  # noqa: E402

    for target in TARGETS:
        timings = []
        for _ in range(repeat):
            load = load_average()
            cpu = time.process_time()
            objects, seconds = run_cli(CORPUS, target)
            timings.append((seconds, time.process_time() - cpu, len(objects), max(load, load_average())))
        seconds, cpu, count, load = min(timings)
        rows.append({"size": None, "what": f"convert {count} rules, target {target}", "rules_per_s": count / seconds,
                     "wall": seconds, "cpu": cpu, "load": load})
        print(f"  convert {target}: {count / seconds:,.0f} rules/s ({count} rules, {seconds:.2f}s, "
              f"load {load:.2f})", flush=True)


def table(rows: list[dict[str, Any]], verdict: str) -> str:
    lines = ["| events | measurement | events/s (wall) | ratio to floor | wall s | CPU s | peak MiB | load | |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        if row.get("size") is None:
            continue
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}"
        peak = f"{row['peak_mb']:.0f}" if row["peak_mb"] else "-"
        lines.append(f"| {row['size']:,} | {row['what']} | {row['events_per_s']:,.0f} | {ratio} | {row['wall']:.2f} | "
                     f"{row['cpu']:.2f} | {peak} | {row['load']:.2f} | {row['note']} |")
    lines += ["", f"Hits of the indexed run against the unindexed matcher on the smallest file: {verdict}.", "",
              "| conversion | rules/s | wall s | CPU s | load |", "|---|---|---|---|---|"]
    for row in rows:
        if row.get("size") is None:
            lines.append(f"| {row['what']} | {row['rules_per_s']:,.0f} | {row['wall']:.2f} | {row['cpu']:.2f} | "
                         f"{row['load']:.2f} |")
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    lines += ["", f"Machine: {machine}; best of the runs, load average (1 min) the highest seen around them."]
    return "\n".join(lines)


def write_docs(text: str) -> None:
    page = DOCS.read_text(encoding="utf-8")
    head, _, rest = page.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOCS.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/sigmakit-bench"),
                        help="folder for the generated event files, outside the repository (default: %(default)s)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000],
                        help="numbers of synthetic events to measure (default: 100000 1000000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement, the best kept (default: 3)")
    parser.add_argument("--write-docs", action="store_true", help="put the table into docs/performance.md")
    parser.add_argument("--no-compare", action="store_true", help="skip the unindexed comparison")
    args = parser.parse_args()
    if not GENERATOR.exists() or not CORPUS.is_dir():
        print(f"shared material missing: {GENERATOR} or {CORPUS} (set SIGMAKIT_SHARED to the shared folder)",
              file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    rules = process_creation_rules()
    rows: list[dict[str, Any]] = []
    verdict = "not compared"
    for size in sorted(args.sizes):
        path = generate(args.work, size)
        print(f"{size:,} events ({path.stat().st_size >> 20} MiB), {len(rules)} rule files", flush=True)
        measure_matching(path, size, max(1, args.repeat), rules, rows)
        if not args.no_compare and size == min(args.sizes):
            verdict = compare_hits(path, rules, args.work)
    measure_conversion(max(1, args.repeat), rows)
    text = table(rows, verdict)
    print()
    print(text)
    if args.write_docs:
        write_docs(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
