"""Benchmark of `offlabel.synth.synthesize`: wall time and peak memory of a world build.

    .venv/bin/python benchmarks/bench_synth.py --persons 1000000 --format duckdb
    .venv/bin/python benchmarks/bench_synth.py --persons 1000000 --format parquet
    .venv/bin/python benchmarks/bench_synth.py --persons 10000000 --format parquet

Each run builds the world in a fresh child process and samples, every 0.2 s, the resident
memory of that process and all its children (the simulation workers) summed: "peak RSS"
is the peak of that sum, so it is what the machine must have. Prints one JSON line with the
numbers and the machine (CPUs, CPU model, RAM), ready for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _tree_rss_kb(pid: int) -> int:
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
        stack += _children(p)
    return total


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gb": round(mem_kb / 1024 ** 2, 1), "python": platform.python_version()}


def run(persons: int, fmt: str, seed: int, out_dir: Path) -> dict:
    out = out_dir / ("world.duckdb" if fmt == "duckdb" else "cdm")
    code = ("import sys; from offlabel.synth import synthesize; "
            f"synthesize({persons}, {seed}, {str(out)!r}, progress=False)")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code])
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kb(proc.pid))
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"the build failed with exit code {proc.returncode}")
    size = out.stat().st_size if out.is_file() else sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    truth = json.loads((out.parent / "truth.json" if fmt == "duckdb" else out / "truth.json").read_text())
    rows = sum(truth["realised"]["rows"].values())
    return {"persons": persons, "format": fmt, "seed": seed, "wall_s": round(wall, 1), "peak_rss_gb": round(peak / 1024 ** 2, 2),
            "rows": rows, "rows_per_s": round(rows / wall), "size_gb": round(size / 1024 ** 3, 2), **machine()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--format", choices=("duckdb", "parquet"), default="duckdb")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="folder to build in (default: a temporary folder, removed)")
    args = ap.parse_args()
    out_dir = args.out or Path(tempfile.mkdtemp(prefix="offlabel-bench-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        print(json.dumps(run(args.persons, args.format, args.seed, out_dir)))
    finally:
        if args.out is None:
            shutil.rmtree(out_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
