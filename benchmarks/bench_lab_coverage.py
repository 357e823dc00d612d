"""Coverage of the lab chart review's confidence intervals over many synthetic worlds.

    .venv/bin/python benchmarks/bench_lab_coverage.py --seeds 20 --persons 100000

For each seed, two worlds of the MS-raised config (tests/helpers/worlds.py: MS prevalence x20): "null" (nothing planted on any
lab) and "planted" (ALT x 1.5 during LDN exposure, offlabel.synth.labs; nothing on the other
labs). The study is tests/labs/world_study.yaml: new users of naltrexone and a comparison cohort
of glatiramer users who never took naltrexone, both on treatment (drug eras), baseline days -180
to -1, the seven routine labs. For every cohort, lab and interval (0-6, 6-12 months, 1-2 years)
it records the mean change from baseline (paired t 95% CI) and the ratio of geometric means
(paired t on the log scale), and prints the share of seeds whose 95% CI covers the truth:

- mean change: truth 0 wherever nothing is planted (every lab of the null world; every lab but
  ALT in LDN users of the planted world; every lab of the glatiramer cohort);
- ratio to baseline: truth 1 there, and 1.5 for ALT in LDN users of the planted world (the
  effect is multiplicative, so the ratio of geometric means is the scale its truth is stated on;
  the absolute change under it depends on the level and is not known in advance).

Prints one JSON line per world and cell, and a summary JSON at the end.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
INTERVALS = ("0-6 months", "6-12 months", "1-2 years")
PLANTED = 1.5


def one_world(seed: int, scenario: str, persons: int, tmp: Path) -> list[dict]:
    import offlabel
    from offlabel.analyses.labs import chart_review
    from offlabel.analyses.context import StudyContext
    from offlabel.cdm.vocabulary import resolve_concept_sets
    from offlabel.spec import load_study
    from offlabel.synth import synthesize
    from tests.labs.test_lab_safety_world import world_config

    ratio = PLANTED if scenario == "planted" else 1.0
    out = tmp / f"{scenario}_{seed}.duckdb"
    synthesize(persons, seed, out, world_config(ratio), progress=False)
    study = load_study(ROOT / "tests/labs/world_study.yaml")
    settings = study.analyses[0]
    with offlabel.connect(str(out), scratch=tmp / f"scratch_{scenario}_{seed}.duckdb") as cdm:
        context = StudyContext(cdm=cdm, study=study, concept_sets=resolve_concept_sets(cdm, study.concept_sets))
        result = chart_review.run(context, settings)
    cells: dict = defaultdict(dict)
    for r in result.rows:
        if r.strata_level in INTERVALS and r.variable_name in ("change from baseline", "ratio to baseline"):
            cohort, lab = r.group_level.split(" &&& ")
            cells[(cohort, lab, r.strata_level)][f"{r.variable_name}: {r.estimate_name}"] = r.estimate_value
    rows = []
    for (cohort, lab, interval), e in sorted(cells.items()):
        true_ratio = ratio if (lab == "alt" and cohort == "ldn_new_users") else 1.0
        rows.append({"scenario": scenario, "seed": seed, "cohort": cohort, "lab": lab, "interval": interval,
                     "pairs": e.get("change from baseline: count"), "true_ratio": true_ratio,
                     "change": [e.get(f"change from baseline: {k}") for k in ("mean", "mean_95CI_lower", "mean_95CI_upper")],
                     "ratio": [e.get(f"ratio to baseline: {k}") for k in ("ratio", "ratio_95CI_lower", "ratio_95CI_upper")]})
    for p in tmp.glob(f"*{scenario}_{seed}*"):
        p.unlink(missing_ok=True)
    return rows


def covers(ci, value) -> bool | None:
    _, lo, hi = ci
    if not isinstance(lo, float) or not isinstance(hi, float):
        return None  # suppressed or not estimable
    return lo <= value <= hi


def _machine() -> str:
    import os

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine()) if Path("/proc/cpuinfo").exists() else platform.machine()
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--scenarios", default="null,planted")
    args = parser.parse_args()
    started = time.time()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in args.scenarios.split(","):
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                for r in one_world(seed, scenario, args.persons, Path(tmp)):
                    print(json.dumps(r), flush=True)
                    rows.append(r)
    summary: dict = defaultdict(lambda: defaultdict(list))
    for r in rows:
        key = f"{r['scenario']} | {r['cohort']} | {r['lab']} | {r['interval']}"
        summary[key]["ratio covers truth"].append(covers(r["ratio"], r["true_ratio"]))
        if r["true_ratio"] == 1.0:
            summary[key]["change covers 0"].append(covers(r["change"], 0.0))
        summary[key]["pairs"].append(r["pairs"])
    out = {}
    for key, d in summary.items():
        pairs = sorted(p for p in d.pop("pairs") if p is not None)
        out[key] = {k: f"{sum(bool(x) for x in v)}/{sum(x is not None for x in v)}" for k, v in d.items()}
        out[key]["median pairs"] = pairs[len(pairs) // 2] if pairs else None
    pooled: dict = defaultdict(lambda: defaultdict(list))
    for r in rows:  # the three intervals together, per scenario, cohort and lab
        key = f"{r['scenario']} | {r['cohort']} | {r['lab']}"
        pooled[key]["ratio covers truth"].append(covers(r["ratio"], r["true_ratio"]))
        if r["true_ratio"] == 1.0:
            pooled[key]["change covers 0"].append(covers(r["change"], 0.0))
    pooled_out = {key: {k: f"{sum(bool(x) for x in v)}/{sum(x is not None for x in v)}" for k, v in d.items()}
                  for key, d in pooled.items()}
    null = [c for r in rows if r["true_ratio"] == 1.0 for c in (covers(r["change"], 0.0),) if c is not None]
    print(json.dumps({"summary": out, "pooled over the intervals": pooled_out, "all null mean-change CIs covering 0": f"{sum(null)}/{len(null)}",
                      "persons": args.persons, "seeds": args.seeds, "seconds": round(time.time() - started),
                      "machine": _machine()},
                     indent=1))


if __name__ == "__main__":
    main()
