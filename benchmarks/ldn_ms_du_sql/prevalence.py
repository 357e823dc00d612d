"""Period prevalence of low-dose naltrexone use in MS patients (analysis `ldn_prevalence_in_ms`), by hand.

Reproduces offlabel's `prevalence` analysis (analyses/prevalence.py -> drug_utilisation/prevalence.py)
with its defaults (period prevalence, exact CI):

- denominator: cohort_ms_patients entries clipped to the study period 2009-01-01 .. 2016-12-31;
  per calendar year, the persons in it on any day of the year;
- cases: of those, the persons with a drug_exposure record of low_dose_naltrexone (start to end)
  overlapping the year while they are in the denominator;
- prevalence = cases / denominator, with the exact binomial (Clopper-Pearson) 95% interval, which is
  offlabel's default `ci_method="exact"` (scipy beta quantiles; Wilson is only an option).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import beta

from ldn_ms_du_sql.incidence import _result_id, _same

ANALYSIS_ID = "ldn_prevalence_in_ms"
START, END = "2009-01-01", "2016-12-31"
LEVEL = 0.95

PREVALENCE_SQL = f"""
WITH den AS (          -- MS patients' time inside the study period (a person's entries never overlap)
    SELECT subject_id,
           greatest(cohort_start_date, DATE '{START}') AS den_start,
           least(cohort_end_date, DATE '{END}') AS den_end
    FROM cohort_ms_patients
    WHERE cohort_start_date <= DATE '{END}' AND cohort_end_date >= DATE '{START}'
),
use AS (               -- LDN records, cut to the time the person is in the denominator
    SELECT d.subject_id,
           greatest(de.drug_exposure_start_date, d.den_start) AS start_date,
           least(coalesce(de.drug_exposure_end_date, de.drug_exposure_start_date), d.den_end) AS end_date
    FROM cdm.drug_exposure de
    JOIN den d ON d.subject_id = de.person_id
              AND de.drug_exposure_start_date <= d.den_end
              AND coalesce(de.drug_exposure_end_date, de.drug_exposure_start_date) >= d.den_start
    WHERE de.drug_concept_id IN (SELECT concept_id FROM concept_sets WHERE codelist = 'low_dose_naltrexone')
),
periods AS (
    SELECT d::DATE AS start_date, (d + INTERVAL 1 YEAR - INTERVAL 1 DAY)::DATE AS end_date
    FROM generate_series(DATE '{START}', DATE '{END}', INTERVAL 1 YEAR) AS g(d)
)
SELECT 'years' AS analysis_interval, p.start_date AS prevalence_start_date, p.end_date AS prevalence_end_date,
       (SELECT count(DISTINCT subject_id) FROM den
        WHERE den_start <= p.end_date AND den_end >= p.start_date) AS denominator_count,
       (SELECT count(DISTINCT subject_id) FROM use
        WHERE use.start_date <= p.end_date AND use.end_date >= p.start_date) AS outcome_count
FROM periods p
ORDER BY p.start_date
"""


def run(con) -> dict[str, pd.DataFrame]:
    t = con.execute(PREVALENCE_SQL).df()
    x = t["outcome_count"].to_numpy(float)
    n = t["denominator_count"].to_numpy(float)
    alpha = 1 - LEVEL
    with np.errstate(invalid="ignore", divide="ignore"):
        t["prevalence"] = np.where(n > 0, x / np.where(n > 0, n, 1), np.nan)
        lower = np.where(x > 0, beta.ppf(alpha / 2, np.maximum(x, 1e-300), n - x + 1), 0.0)
        upper = np.where(x < n, beta.ppf(1 - alpha / 2, x + 1, np.maximum(n - x, 1e-300)), 1.0)
    t["prevalence_95CI_lower"] = np.where(n > 0, lower, np.nan)
    t["prevalence_95CI_upper"] = np.where(n > 0, upper, np.nan)
    return {"prevalence": t}


ESTIMATES = {"denominator_count": "Denominator", "outcome_count": "Outcome", "prevalence": "Outcome",
             "prevalence_95CI_lower": "Outcome", "prevalence_95CI_upper": "Outcome"}


def check(out, results) -> list[str]:
    t = out["prevalence"]
    mine = {}
    for r in t.itertuples(index=False):
        additional = f"{r.prevalence_start_date:%Y-%m-%d} &&& {r.prevalence_end_date:%Y-%m-%d} &&& {r.analysis_interval}"
        for name, variable in ESTIMATES.items():
            mine[(additional, variable, name)] = getattr(r, name)
    rid = _result_id(results, ANALYSIS_ID)
    ref = results[(results.result_id == rid) & (results.variable_name != "settings")]
    problems, seen = [], set()
    for r in ref.itertuples(index=False):
        key = (r.additional_level, r.variable_name, r.estimate_name)
        seen.add(key)
        where = f"prevalence {r.additional_level} {r.estimate_name}"
        if (r.group_level != "ms_patients &&& low_dose_naltrexone" or r.strata_name != "overall"
                or key not in mine):
            problems.append(f"{where} ({r.group_level}, {r.strata_level}): row of results.csv not compared")
        elif r.estimate_value == "-":
            continue  # suppressed
        elif not _same(mine[key], r.estimate_value, r.estimate_type == "integer"):
            problems.append(f"{where}: mine {mine[key]!r}, offlabel {r.estimate_value}")
    problems += [f"prevalence {k[0]} {k[2]}: mine {v!r}, missing from results.csv"
                 for k, v in mine.items() if k not in seen]
    return problems
