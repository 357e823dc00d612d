"""Time the safety part of the flagship study (studies/ldn_ms.yaml) on a CDM (issue 5, item 7).

    offlabel synth --persons 1000000 --seed 1 --out /tmp/w1m.duckdb
    python benchmarks/bench_safety.py /tmp/w1m.duckdb
    python benchmarks/bench_safety.py /tmp/w1m.duckdb --types tolerability,adverse_events

Runs the flagship's analyses of the safety types (with the cohorts and concept sets they use) as one
study through `offlabel run` and prints one JSON line: the wall time, the seconds of every step from
the run's manifest (connecting, resolving concept sets, each analysis with the cohorts it builds),
and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import yaml

from offlabel.demo import flagship_study
from offlabel.run import run_study

# Analysis types of issue 5: the lab chart review, tolerability, adverse events and the SCCS.
SAFETY_TYPES = ("tolerability", "adverse_events", "lab_safety", "sccs")


def safety_study(types) -> dict:
    study = yaml.safe_load(flagship_study().read_text(encoding="utf-8"))
    study["analyses"] = [a for a in study["analyses"] if a["type"] in types]
    if not study["analyses"]:
        raise SystemExit(f"the flagship study has no analysis of the types {list(types)}")
    return study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cdm")
    parser.add_argument("--types", default=",".join(SAFETY_TYPES))
    args = parser.parse_args()
    study = safety_study([t.strip() for t in args.types.split(",")])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "safety.yaml"
        path.write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
        start = time.perf_counter()
        code = run_study(path, args.cdm, Path(folder) / "out")
        wall = time.perf_counter() - start
        manifest = json.loads((Path(folder) / "out" / "manifest.json").read_text())
    print(json.dumps({"cdm": args.cdm, "exit_code": code, "wall_seconds": round(wall, 2),
                      "analyses": [a.get("id", a["type"]) for a in study["analyses"]],
                      "steps_seconds": manifest.get("timings_seconds"),
                      "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}))


if __name__ == "__main__":
    main()
