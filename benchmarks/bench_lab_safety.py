"""Wall time of the flagship's lab chart review (studies/ldn_ms.yaml, `type: lab_safety`) on a CDM.

    offlabel synth --persons 1000000 --seed 1 --out /tmp/w1m.duckdb
    .venv/bin/python benchmarks/bench_lab_safety.py /tmp/w1m.duckdb
    .venv/bin/python benchmarks/bench_lab_safety.py "postgresql://postgres@127.0.0.1:5432/db?cdm_schema=cdm&results_schema=r"

Times, in seconds: resolving the concept sets, building the study and comparison cohorts (not
reused: a fresh scratch database), and the analysis itself (one pass over MEASUREMENT, then the
per-person statistics in Python). Prints one JSON line with the times, the cohort sizes, the
number of measurement records pulled and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    import offlabel
    from offlabel.analyses.labs import chart_review
    from offlabel.analyses.context import StudyContext
    from offlabel.cdm.vocabulary import resolve_concept_sets
    from offlabel.demo import flagship_study
    from offlabel.spec import load_study

    parser = argparse.ArgumentParser()
    parser.add_argument("cdm")
    args = parser.parse_args()
    study = load_study(flagship_study())
    settings = next(a for a in study.analyses if a.type == "lab_safety")
    times = {}
    with tempfile.TemporaryDirectory() as tmp, offlabel.connect(args.cdm, scratch=Path(tmp) / "scratch.duckdb") as cdm:
        t = time.perf_counter()
        concept_sets = resolve_concept_sets(cdm, study.concept_sets)
        times["concept sets"] = time.perf_counter() - t
        context = StudyContext(cdm=cdm, study=study, concept_sets=concept_sets)
        sizes = {}
        for name in (settings.cohort, settings.comparison_cohort):
            t = time.perf_counter()
            cohort = context.cohort(name)
            times[f"cohort {name}"] = time.perf_counter() - t
            sizes[name] = cohort.number_subjects
        t = time.perf_counter()
        result = chart_review.run(context, settings)
        times["lab_safety analysis"] = time.perf_counter() - t
    records = sum(int(r.estimate_value) for r in result.rows
                  if r.variable_name == "records by unit" and isinstance(r.estimate_value, int))
    cpu = platform.machine()
    if Path("/proc/cpuinfo").exists():
        cpu = next((x.split(":", 1)[1].strip() for x in Path("/proc/cpuinfo").read_text().splitlines()
                    if x.startswith("model name")), cpu)
    print(json.dumps({"cdm": args.cdm.split("?")[0], "seconds": {k: round(v, 2) for k, v in times.items()},
                      "total_seconds": round(sum(times.values()), 2), "cohort_persons": sizes,
                      "measurement_records": records, "result_rows": len(result.rows),
                      "machine": f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"}))


if __name__ == "__main__":
    main()
