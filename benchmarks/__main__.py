"""Run every benchmark module and write docs/performance.md with the machine and date."""

from __future__ import annotations

import datetime
import importlib
import os
import platform
import sys
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


def main() -> None:
    selected = sys.argv[1:] or MODULES
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
    )
    REPORT.write_text(header + "\n" + "\n".join(sections))
    print(f"wrote {REPORT}")


if __name__ == "__main__":
    main()
