"""Run every benchmark, print one table, write ``benchmarks/results/<name>.json``.

The machines are shared and noisy: figures are medians and percentiles of
many repetitions, and throughput is given as a real-time factor (seconds of
EEG per second of CPU), which compares across machines better than times.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import (
    archive,
    dashboard,
    detector,
    files,
    latency,
    notify,
    quality,
    staging,
    throughput,
)
from streamer.offline.allocator import retain_freed_memory

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    retain_freed_memory()  # as every eegmon command does, so in-process figures match
    only = set(sys.argv[1:])
    suites = {
        "detector": detector,
        "throughput": throughput,
        "latency": latency,
        "notify": notify,
        "files": files,
        "dashboard": dashboard,
        "quality": quality,
        "archive": archive,
        "staging": staging,
    }
    for name, suite in suites.items():
        if only and name not in only:
            continue
        started = time.perf_counter()
        rows = suite.run()
        report = {
            "benchmark": name,
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"python": platform.python_version(), "cpu": platform.machine()},
            "seconds": round(time.perf_counter() - started, 1),
            "rows": rows,
        }
        if hasattr(suite, "summary"):
            report["summary"] = suite.summary(rows)
        (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
        print_table(name, rows)
        if hasattr(suite, "summary"):
            print(suite.summary(rows))


def print_table(name: str, rows: list[dict[str, object]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(fmt(r.get(c))) for r in rows)) for c in columns}
    print(f"\n== {name} ==")
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(fmt(row.get(c)).ljust(widths[c]) for c in columns))


def fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


if __name__ == "__main__":
    main()
