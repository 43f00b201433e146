"""Convert the shared SigmaHQ corpus for every target, the way ``sigmakit convert --json`` does.

Run from the project root::

    .venv/bin/python benchmarks/convert_corpus.py [CORPUS] [--stock] [--repeat N]

For each target the script runs the ``convert`` command in-process with click's runner (the
CLI's own code and its JSON output), requires a normal exit (0 or 1; a traceback fails the
script), and tabulates converted / skipped / refused by reason / failed, for every rule and
for the rules in ``process_creation`` folders. Speed is reported twice, best of --repeat
runs: rules per second of the whole command (reading the rules included), and of the
conversion alone (``Converter.convert`` over rules loaded once).

With --stock the same rules also go through pySigma's stock Splunk conversion:
pysigma-pipeline-sysmon with the Splunk backend (every rule), and the backend's CIM data
model pipeline in ``data_model`` format (the ``process_creation`` folders), for comparison.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable

from click.testing import CliRunner

PROJECT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = PROJECT.parent / "shared" / "corpus" / "sigmahq"
PROCESS_CREATION = "process_creation"

# Refusal messages grouped into kinds; the first matching pattern names the kind.
REASON_KINDS: list[tuple[str, re.Pattern[str]]] = [
    ("needs a field the source lacks, under `not`", re.compile(r"under 'not'")),
    ("needs a field the source lacks", re.compile(r"cannot match in|has no single field|is not a field of")),
    ("value not expressible in the source's fields", re.compile(r"cannot be expressed with|cannot be compared in")),
    ("placeholder without a site value (`expand`)", re.compile(r"placeholder %")),
    ("keyword search on a data model", re.compile(r"keyword searches need the raw event")),
    ("field reference with `contains`", re.compile(r"fieldref\|contains")),
]


def reason_kind(message: str) -> str:
    for kind, pattern in REASON_KINDS:
        if pattern.search(message):
            return kind
    return message


def in_process_creation_folder(path: str | None) -> bool:
    return path is not None and PROCESS_CREATION in Path(path).parts


def run_cli(corpus: Path, target: str) -> tuple[list[dict[str, Any]], float]:
    """``sigmakit convert CORPUS --target TARGET --json``, in-process; the objects and seconds."""
    from sigmakit.cli.main import cli

    runner = CliRunner()
    start = time.perf_counter()
    result = runner.invoke(cli, ["convert", str(corpus), "--target", target, "--json"])
    elapsed = time.perf_counter() - start
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise RuntimeError(f"sigmakit convert crashed for {target}") from result.exception
    if result.exit_code not in (0, 1):
        raise RuntimeError(f"sigmakit convert exited {result.exit_code} for {target}: {result.stderr[-2000:]}")
    return json.loads(result.stdout), elapsed


def best_of(repeat: int, action: Callable[[], Any]) -> tuple[Any, float]:
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = action()
        best = min(best, time.perf_counter() - start)
    return value, best


def paths_by_rule(corpus: Path) -> dict[tuple[str | None, str], str]:
    """(rule id, title) to file path, to place each JSON result in its folder."""
    from sigmakit.rules import load_rules

    return {(rule.id, rule.title): str(rule.path) for rule in load_rules([corpus])}


def _key(rule_id: Any, title: Any) -> str:
    return f"{rule_id}|{title}"


def tabulate_sigmakit(corpus: Path, repeat: int) -> dict[str, Any]:
    from sigmakit.conversion import Converter
    from sigmakit.pipelines import TARGETS
    from sigmakit.rules import load_rules

    located = paths_by_rule(corpus)
    rules = load_rules([corpus])
    report: dict[str, Any] = {
        "rules": len(rules), "load_errors": len(rules.errors), "targets": {}, "in_scope": {}, "converted": {},
    }
    for target in TARGETS:
        (objects, _), cli_seconds = best_of(repeat, lambda target=target: run_cli(corpus, target))
        converter = Converter((target,))
        _, convert_seconds = best_of(
            repeat, lambda target=target, converter=converter: [converter.convert(r, target, rules) for r in rules]
        )
        statuses: Counter[str] = Counter()
        folder: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        for entry in objects:
            statuses[entry["status"]] += 1
            if in_process_creation_folder(located.get((entry["rule_id"], entry["rule_title"]))):
                folder[entry["status"]] += 1
            if entry["status"] in ("refused", "failed"):
                reasons[reason_kind(entry["error"] or "")] += 1
        report["in_scope"][target] = sorted(
            _key(e["rule_id"], e["rule_title"]) for e in objects if e["status"] != "skipped"
        )
        report["converted"][target] = sorted(
            _key(e["rule_id"], e["rule_title"]) for e in objects if e["status"] == "converted"
        )
        report["targets"][target] = {
            "statuses": dict(statuses),
            "process_creation_folders": dict(folder),
            "refusal_reasons": dict(reasons.most_common()),
            "cli_rules_per_second": round(len(rules) / cli_seconds),
            "convert_rules_per_second": round(len(rules) / convert_seconds),
        }
    return report


def tabulate_stock(corpus: Path) -> dict[str, Any]:
    """pySigma's stock Splunk conversion of the same rules (see module docstring)."""
    from sigma.backends.splunk import SplunkBackend
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaError
    from sigma.pipelines.splunk import splunk_cim_data_model
    from sigma.pipelines.sysmon import sysmon_pipeline

    files = sorted(p for p in corpus.rglob("*.yml"))

    def converts(backend_factory: Callable[[], SplunkBackend], chosen: Iterable[Path], fmt: str) -> dict[str, Any]:
        total, converted = 0, []
        for path in chosen:
            for rule in SigmaCollection.from_yaml(path.read_text(encoding="utf-8")).rules:
                total += 1
                key = _key(None if rule.id is None else str(rule.id), rule.title)
                try:
                    if backend_factory().convert_rule(rule, fmt):
                        converted.append(key)
                except (SigmaError, NotImplementedError, ValueError, KeyError, TypeError):
                    pass  # the stock backend's way of saying it cannot convert the rule
        return {"total": total, "converted": converted}

    folder = [p for p in files if PROCESS_CREATION in p.parts]
    return {
        "sysmon_pipeline": converts(lambda: SplunkBackend(sysmon_pipeline()), files, "default"),
        "cim_data_model": converts(lambda: SplunkBackend(splunk_cim_data_model()), folder, "data_model"),
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"{report['rules']} rules loaded, {report['load_errors']} files that could not be read.",
        "",
        ("| target | converted | skipped (out of scope) | refused | failed | `process_creation` folders: "
        "converted / refused | rules/s (command) | rules/s (conversion) |"),
        "|---|---|---|---|---|---|---|---|",
    ]
    kinds: list[str] = []
    for target, data in report["targets"].items():
        s, f = data["statuses"], data["process_creation_folders"]
        lines.append(
            f"| {target} | {s.get('converted', 0)} | {s.get('skipped', 0)} | {s.get('refused', 0)} | "
            f"{s.get('failed', 0)} | {f.get('converted', 0)} / {f.get('refused', 0)} | "
            f"{data['cli_rules_per_second']} | {data['convert_rules_per_second']} |"
        )
        kinds.extend(k for k in data["refusal_reasons"] if k not in kinds)
    lines += ["", "Refused (and failed) by reason:", "", "| reason | " + " | ".join(report["targets"]) + " |",
              "|---|" + "---|" * len(report["targets"])]
    for kind in kinds:
        counts = [str(d["refusal_reasons"].get(kind, 0)) for d in report["targets"].values()]
        lines.append(f"| {kind} | " + " | ".join(counts) + " |")
    stock = report.get("stock")
    if stock:
        lines += ["", *stock_comparison(report, stock)]
    return "\n".join(lines)


def stock_comparison(report: dict[str, Any], stock: dict[str, Any]) -> list[str]:
    """Stock figures next to sigmakit's, on all rules and on the rules the target carries."""
    sysmon, cim = stock["sysmon_pipeline"], stock["cim_data_model"]
    in_scope = set(report["in_scope"].get("sysmon", []))
    ours = set(report["converted"].get("sysmon", []))
    stock_in_scope = len(in_scope & set(sysmon["converted"]))
    cim_ours = report["targets"].get("cim", {}).get("process_creation_folders", {}).get("converted", 0)
    return [
        "| comparison | stock pySigma | sigmakit |",
        "|---|---|---|",
        (f"| all {report['rules']} rules, pysigma-pipeline-sysmon + SplunkBackend vs `sysmon` | "
        f"{len(sysmon['converted'])} of {sysmon['total']} | {len(ours)} of {report['rules']} "
        "(the rest are out of Sysmon's scope) |"),
        f"| the {len(in_scope)} rules in Sysmon's scope | {stock_in_scope} | {len(ours & in_scope)} |",
        (f"| the {cim['total']} `process_creation`-folder rules, CIM data model (`data_model` format) vs `cim` | "
        f"{len(cim['converted'])} | {cim_ours} |"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--stock", action="store_true", help="also convert with pySigma's stock Splunk pipelines")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the best is reported")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of Markdown")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"corpus not found: {args.corpus}", file=sys.stderr)
        return 2
    report = tabulate_sigmakit(args.corpus, max(1, args.repeat))
    if args.stock:
        report["stock"] = tabulate_stock(args.corpus)
    if args.json:
        print(json.dumps({k: v for k, v in report.items() if k not in ("in_scope", "converted")}, indent=2))
    else:
        print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
