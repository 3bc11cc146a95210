"""Run every benchmark module and write docs/performance.md with the machine and date."""

from __future__ import annotations

import datetime
import importlib
import os
import platform
import sys
import time
from pathlib import Path

# Each module exposes run() -> str, a markdown section. Order is the order in the report.
MODULES = [
    "benchmarks.bench_decision",
    "benchmarks.bench_charter",
    "benchmarks.bench_signing",
    "benchmarks.bench_http",
]
REPORT = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    memory = ""
    try:
        with open("/proc/meminfo") as info:
            kib = int(next(line.split()[1] for line in info if line.startswith("MemTotal")))
            memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}"
    )


def calibration_s() -> float:
    """Seconds a plain Python loop of 20 million additions takes, best of three.

    Shared virtual machines sold as the same CPU differ by more than two to one: this
    figure says how fast the cores of this run were, so two reports can be compared.
    """
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for n in range(20_000_000):
            total += n
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    selected = sys.argv[1:] or MODULES
    speed = calibration_s()
    sections = []
    for name in selected:
        module = importlib.import_module(name)
        print(f"running {name} ...", flush=True)
        section = module.run()
        print(section, flush=True)
        sections.append(section)
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = (
        "# Performance\n\n"
        "Measured by `make bench` (benchmarks/), never by timed tests.\n\n"
        f"- Machine: {machine()}\n- Date: {today}\n"
        f"- Core speed: a plain Python loop of 20 million additions takes {speed:.2f} s"
        " (the lower, the faster; compare reports by it)\n"
    )
    REPORT.write_text(header + "\n" + "\n".join(sections))
    print(f"wrote {REPORT}")


if __name__ == "__main__":
    main()
