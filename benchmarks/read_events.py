#!/usr/bin/env python3
"""Reader speed and memory: synthetic Sysmon events in each format, read with --source auto.

    python benchmarks/read_events.py [--events 100000] [--shared ../shared]

Generates N Sysmon event 1 events with ../shared/tools/gen_sysmon_events.py (flat JSON
Lines), writes the same events as a JSON array and as XmlWinEventLog lines in a
temporary folder, then reads each file in a fresh process and prints events per second
and the process's peak resident memory. Reading is streaming, so peak memory should not
grow with N: run it with two sizes to see that.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

PROJECT = Path(__file__).resolve().parents[1]
NS = "http://schemas.microsoft.com/win/2004/08/events/event"
SYSTEM = ("EventID", "Channel", "Computer", "EventRecordID", "Provider_Name")

# Run in a child process so that peak memory is the reading alone.
READER = """
import resource, sys, time
from sigmakit.events import ReadLog, read_events
log = ReadLog()
started = time.perf_counter()
count = sum(1 for _ in read_events([sys.argv[1]], "auto", log))
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{count} {elapsed:.3f} {peak:.1f} {log.problem_count}")
"""


def xml_line(event: dict) -> str:
    data = "".join(f"<Data Name='{k}'>{escape(str(v))}</Data>" for k, v in event.items() if k not in SYSTEM)
    return (f"<Event xmlns='{NS}'><System><Provider Name='{event['Provider_Name']}'/><EventID>{event['EventID']}</EventID>"
            f"<EventRecordID>{event['EventRecordID']}</EventRecordID><Channel>{event['Channel']}</Channel>"
            f"<Computer>{event['Computer']}</Computer></System><EventData>{data}</EventData></Event>")


def write_formats(jsonl: Path) -> dict[str, Path]:
    array, lines = jsonl.with_suffix(".json"), jsonl.with_suffix(".xml")
    with jsonl.open(encoding="utf-8") as source, array.open("w", encoding="utf-8") as json_out, \
            lines.open("w", encoding="utf-8") as xml_out:
        json_out.write("[\n")
        for number, text in enumerate(source):
            event = json.loads(text)
            json_out.write((",\n" if number else "") + json.dumps(event, indent=1))
            xml_out.write(xml_line(event) + "\n")
        json_out.write("\n]\n")
    return {"JSON Lines": jsonl, "JSON array (indented)": array, "XmlWinEventLog lines": lines}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--shared", type=Path, default=PROJECT.parent / "shared")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        jsonl = Path(folder) / "sysmon.jsonl"
        subprocess.run([sys.executable, str(args.shared / "tools" / "gen_sysmon_events.py"),
                        "--events", str(args.events), "--seed", "1337", "--out", str(jsonl)], check=True)
        for name, path in write_formats(jsonl).items():
            output = subprocess.run([sys.executable, "-c", READER, str(path)], check=True,
                                    capture_output=True, text=True).stdout.split()
            count, seconds, peak, problems = int(output[0]), float(output[1]), float(output[2]), int(output[3])
            size = path.stat().st_size / 2**20
            print(f"{name:24} {size:8.1f} MiB  {count} events  {seconds:6.2f} s  "
                  f"{count / seconds:9.0f} events/s  peak RSS {peak:6.1f} MiB  {problems} unreadable")


if __name__ == "__main__":
    main()
