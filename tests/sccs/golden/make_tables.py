"""Write the SCCS interval tables of the golden test (run once; the CSVs are committed).

    PYTHONPATH=src:. python tests/sccs/golden/make_tables.py

A synthetic world of 20,000 persons (seed 3; LDN start rates x300 so that ~2,500 persons start
LDN, every other parameter the Norway default), and the SCCS of insomnia after the first LDN
collection (windows days 1-30, 31-90, pre-exposure -30 to -1), in two versions:

- intervals_groups.csv: age groups cut at 30, 40, 50, 60 years and season by calendar month;
- intervals_splines.csv: age as a quadratic B-spline (5 knots) and season as a cyclic spline (5 knots),
  in 2012-2015 (pieces are calendar months), at most 100 unexposed cases.

Each table has one row per piece: case, length (days), events, and the design columns (named
x1, x2, ... in the order of `columns.csv`; values to 12 significant digits). At most 300 cases
unexposed to LDN enter the first (the time-covariate sample), which keeps the files small. fit_r.R fits them in R.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
STUDY = """
spec_version: 1
name: sccs_golden
seed: 1
concept_sets:
  ldn: [{concept_id: 2000000203}, {concept_id: 2000000207}, {concept_id: 2000000208}]
  insomnia: [{vocabulary: SNOMED, code: "193462001"}]
analyses:
  - type: sccs
    exposure: ldn
    first_exposure_only: true
    outcomes: [insomnia]
    risk_windows: [{start: 1, end: 30}, {start: 31, end: 90}]
    time_covariate_cases: {SAMPLE}
    age: {AGE}
    season: {SEASON}{PERIOD}
"""


def world_config():
    from offlabel.synth.config import WorldConfig

    d = WorldConfig().model_dump(mode="json")
    for k in ("other_start_rate_per_month", "pain_start_rate_per_month", "ms_start_rate_per_month"):
        d["ldn"][k] *= 300
    return WorldConfig.model_validate(d)


def main() -> None:
    import offlabel
    from offlabel.analyses.context import StudyContext
    from offlabel.analyses.sccs.case_series import interval_tables
    from offlabel.cdm.vocabulary import resolve_concept_sets
    from offlabel.spec import load_study
    from offlabel.synth import synthesize

    variants = {"groups": ("{groups: [30, 40, 50, 60]}", "{by: month}", "300", ""),
                "splines": ("{spline_knots: 5}", "{by: spline, spline_knots: 5}", "100",
                            "\n    start_date: 2012-01-01\n    end_date: 2015-12-31")}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        world = tmp / "golden.duckdb"
        truth = synthesize(20_000, 3, world, world_config(), progress=False)
        assert truth["concepts"]["ldn_products"] == [2000000203, 2000000207, 2000000208]
        columns = []
        for variant, (age, season, sample, period) in variants.items():
            study_file = tmp / f"{variant}.yaml"
            study_file.write_text(STUDY.replace("{AGE}", age).replace("{SEASON}", season)
                                  .replace("{SAMPLE}", sample).replace("{PERIOD}", period))
            study = load_study(study_file)
            with offlabel.connect(str(world), scratch=tmp / "scratch.duckdb") as cdm:
                context = StudyContext(cdm=cdm, study=study, concept_sets=resolve_concept_sets(cdm, study.concept_sets))
                [(_, _, table)] = list(interval_tables(context, study.analyses[0]))
            with open(HERE / f"intervals_{variant}.csv", "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["case", "length", "events", *[f"x{i + 1}" for i in range(len(table.names))]])
                for i in range(len(table.case)):
                    w.writerow([int(table.case[i]), int(table.length[i]), int(table.events[i]),
                                *[f"{v:.12g}" for v in table.X[i]]])
            columns += [(variant, f"x{i + 1}", name) for i, name in enumerate(table.names)]
            print(variant, len(table.case), "rows", len(np.unique(table.case)), "cases", int(table.events.sum()), "events")
        with open(HERE / "columns.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["table", "column", "name"])
            w.writerows(columns)


if __name__ == "__main__":
    main()
