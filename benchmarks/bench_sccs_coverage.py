"""Coverage of the SCCS's 95% confidence intervals over many synthetic worlds (issue #5 item 4).

    PYTHONPATH=src:. .venv/bin/python benchmarks/bench_sccs_coverage.py --seeds 20

For each seed, the world of tests/sccs/world.py (30,000 persons, LDN start rates x300, acute
condition rates x40; planted IRRs after the first LDN collection, days 1-30: insomnia 2.0, nausea
1.8, headache 1.0, toxic liver disease 1.0) and its two SCCS analyses: "adjusted" (the flagship's
settings: windows 1-30 and 31-90, pre-exposure -30 to -1, day 0 on its own, age groups, season
by quarter, from age 18) and "unadjusted" (windows 1-30 and 31-90 only). Records, per analysis
and outcome, the IRR and 95% CI of days 1-30 (truth: the planted IRR) and of days 31-90 (truth
1), and the diagnostics' flags (pre-exposure window, end-of-observation probe, time stability;
nothing is planted that should raise them). Runs with min_cell_count 1 (no estimate withheld);
a window without events has no CI and counts as not covering. Prints one JSON line per world and
a summary: the share of seeds whose CI covers the truth (issue target >= 90%) and how often each
check flagged. Recorded results: benchmarks/README.md ("Self-controlled case series").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def one_world(seed: int, tmp: Path) -> list[dict]:
    import pandas as pd

    from offlabel.run import run_study
    from offlabel.synth import synthesize
    from tests.sccs.world import OUTCOMES, PERSONS, world_config, write_study

    world = tmp / f"world_{seed}.duckdb"
    t0 = time.time()
    truth = synthesize(PERSONS, seed, world, world_config(), progress=False)
    t1 = time.time()
    out = tmp / f"run_{seed}"
    from rich.console import Console

    # min_cell_count 1: coverage is about the estimator, so no estimate is withheld for disclosure control
    assert run_study(write_study(tmp), str(world), out, min_cell_count=1, console=Console(quiet=True)) == 0
    t2 = time.time()
    d = pd.read_csv(out / "results.csv", dtype=str, keep_default_na=False)
    settings = d[(d.variable_name == "settings") & (d.estimate_name == "analysis_id")]
    d = d.assign(analysis=d.result_id.map(dict(zip(settings.result_id, settings.estimate_value))))
    value = {(r.analysis, r.group_level, r.strata_level, r.variable_name, r.variable_level, r.estimate_name):
             r.estimate_value for r in d.itertuples()}

    def num(*key):
        v = value.get(key)
        return None if v in (None, "NA", "-") else float(v)

    rows = []
    for analysis in ("adjusted", "unadjusted"):
        for outcome, key in OUTCOMES.items():
            planted = truth["planted"]["adverse_events"][key]["irr"]
            row = {"seed": seed, "analysis": analysis, "outcome": outcome, "planted_irr": planted,
                   "build_seconds": round(t1 - t0, 1), "run_seconds": round(t2 - t1, 1)}
            for window, truth_irr in (("days 1-30", planted), ("days 31-90", 1.0)):
                est = [num(analysis, outcome, window, "incidence rate ratio", "NA", k)
                       for k in ("irr", "irr_95CI_lower", "irr_95CI_upper")]
                row[window] = {"irr": est[0], "lower": est[1], "upper": est[2],
                               "events": num(analysis, outcome, window, "events", "NA", "count"),
                               "covers": None if est[1] is None else est[1] <= truth_irr <= est[2]}
            for check in ("pre-exposure window", "end of observation", "time stability"):
                flag = value.get((analysis, outcome, "overall", "diagnostic", check, "flagged"))
                row[f"flag {check}"] = {"TRUE": True, "FALSE": False}.get(flag)
            rows.append(row)
    world.unlink(missing_ok=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    args = parser.parse_args()
    started = time.time()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for r in one_world(seed, Path(tmp)):
                print(json.dumps(r), flush=True)
                rows.append(r)
    summary = defaultdict(lambda: defaultdict(list))
    for r in rows:
        key = f"{r['analysis']} {r['outcome']} (planted IRR {r['planted_irr']} in days 1-30)"
        for window in ("days 1-30", "days 31-90"):
            summary[key][f"{window} covers truth"].append(r[window]["covers"])
        for check in ("pre-exposure window", "end of observation", "time stability"):
            if r[f"flag {check}"] is not None or r["analysis"] == "adjusted":
                summary[key][f"{check} flagged"].append(r[f"flag {check}"])
        summary[key]["log_irr days 1-30"].append(r["days 1-30"]["irr"])
    out = {}
    for key, d in summary.items():
        import math

        irrs = [v for v in d.pop("log_irr days 1-30") if v]
        out[key] = {k: f"{sum(bool(x) for x in v)}/{sum(x is not None for x in v)}" for k, v in d.items()}
        out[key]["geometric mean IRR days 1-30"] = round(math.exp(sum(map(math.log, irrs)) / len(irrs)), 3)
    print(json.dumps({"summary": out, "seeds": args.seeds, "seconds": round(time.time() - started),
                      "machine": f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
                                 f"Python {platform.python_version()}"}, indent=1))


if __name__ == "__main__":
    main()
