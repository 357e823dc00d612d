"""Time the drug-utilisation part of the flagship study through offlabel and written by hand in DuckDB SQL.

    offlabel synth --persons 1000000 --seed 1 --out /tmp/w1m.duckdb
    python benchmarks/bench_ldn_ms_du.py /tmp/w1m.duckdb [--repeats 3]

Issue 4, item 6: the drug-utilisation analyses of studies/ldn_ms.yaml (snapshot, attrition,
incidence, prevalence, before/after, dose, persistence, PPC, add-on/switching, code use, with the
two cohorts they use) run as one study through `offlabel run` and, on a fresh connection to the
same file, as the hand-written SQL of benchmarks/ldn_ms_du_sql (the same numbers: each module
checks its estimates against offlabel's results.csv, and a mismatch is reported in the output).
Each side runs `--repeats` times, alternating. Prints one JSON line: both sides' seconds per step,
and the ratio of offlabel's wall time to the hand SQL's three ways: best against best (the machine's
noise only ever adds time), median against median, and the median of the ratios of the runs made one
after the other (least touched by the machine slowing down for a while); and the ratio of CPU
seconds (all threads, and offlabel's report worker process: the work done, whatever the noise); the
checks and the machine. offlabel draws its report while the analyses run (in a worker process on
Linux), so no step's time can be taken out of the wall time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from offlabel.demo import flagship_study
from offlabel.run import run_study

BENCH = Path(__file__).resolve().parent
DU_TYPES = ("cdm_snapshot", "cohort_attrition", "incidence", "prevalence", "before_after", "dose", "persistence",
            "proportion_of_patients_covered", "add_on_switch", "code_use")


def du_study() -> dict:
    """The flagship's analyses of the drug-utilisation types, with only the cohorts they use (the
    attrition analysis reports, and so builds, every cohort of the study)."""
    study = yaml.safe_load(flagship_study().read_text(encoding="utf-8"))
    study["analyses"] = [a for a in study["analyses"] if a["type"] in DU_TYPES]
    used = {a.get(k) for a in study["analyses"] for k in ("cohort", "population")}
    study["cohorts"] = {k: v for k, v in study["cohorts"].items() if k in used}
    return study


def _cpu_seconds() -> float:
    """CPU seconds of this process (all threads) and of its ended child processes (offlabel draws
    the report in a worker process on Linux, which ends with the run)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run_offlabel(cdm: str, folder: Path) -> dict:
    path = folder / "du.yaml"
    path.write_text(yaml.safe_dump(du_study(), sort_keys=False), encoding="utf-8")
    start, cpu = time.perf_counter(), _cpu_seconds()
    code = run_study(path, cdm, folder / "out")
    wall, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    if code != 0:
        raise SystemExit(f"offlabel run exited with {code}")
    steps = json.loads((folder / "out" / "manifest.json").read_text())["timings_seconds"]
    return {"wall": wall, "cpu": cpu, "steps": steps, "results": folder / "out" / "results.csv"}


def run_hand_sql(cdm: str) -> dict:
    import sys

    sys.path.insert(0, str(BENCH))
    from ldn_ms_du_sql import MODULES
    from ldn_ms_du_sql._dev import connect_cdm

    steps, outs = {}, {}
    start, cpu = time.perf_counter(), _cpu_seconds()
    con = connect_cdm(cdm)
    steps["connect"] = time.perf_counter() - start
    for name in MODULES:
        module = importlib.import_module(f"ldn_ms_du_sql.{name}")
        t = time.perf_counter()
        outs[name] = module.run(con)
        steps[name] = time.perf_counter() - t
    con.close()
    return {"wall": time.perf_counter() - start, "cpu": _cpu_seconds() - cpu, "steps": steps, "outs": outs}


def check(outs: dict, results_csv: Path) -> dict[str, list[str]]:
    results = pd.read_csv(results_csv, dtype=str, keep_default_na=False)
    return {name: importlib.import_module(f"ldn_ms_du_sql.{name}").check(out, results) for name, out in outs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cdm")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    offlabel_runs, hand_runs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            folder = Path(tmp) / f"run{i}"
            folder.mkdir()
            offlabel_runs.append(run_offlabel(args.cdm, folder))
            hand_runs.append(run_hand_sql(args.cdm))
        problems = check(hand_runs[0]["outs"], offlabel_runs[0]["results"])
    best_o = min(offlabel_runs, key=lambda r: r["wall"])
    best_h = min(hand_runs, key=lambda r: r["wall"])

    def median(runs, key="wall"):
        return statistics.median(r[key] for r in runs)

    print(json.dumps({
        "cdm": args.cdm, "date": dt.date.today().isoformat(), "repeats": args.repeats,
        "offlabel_wall_seconds": [round(r["wall"], 2) for r in offlabel_runs],
        "hand_sql_wall_seconds": [round(r["wall"], 2) for r in hand_runs],
        "ratio_wall": round(best_o["wall"] / best_h["wall"], 2),
        "ratio_wall_median": round(median(offlabel_runs) / median(hand_runs), 2),
        "ratio_wall_paired_median": round(statistics.median(o["wall"] / h["wall"]
                                                            for o, h in zip(offlabel_runs, hand_runs)), 2),
        "ratio_cpu_median": round(median(offlabel_runs, "cpu") / median(hand_runs, "cpu"), 2),
        "offlabel_steps_seconds": {k: round(v, 2) for k, v in best_o["steps"].items()},
        "hand_sql_steps_seconds": {k: round(v, 2) for k, v in best_h["steps"].items()},
        "checks": {name: {"mismatches": len(p), "first": p[:3]} for name, p in problems.items()},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()[0]},
    }))


if __name__ == "__main__":
    main()
