"""Incidence of new low-dose naltrexone use in MS patients (analysis `ldn_new_users_in_ms`), by hand.

Reproduces offlabel's `incidence` analysis (analyses/incidence.py -> drug_utilisation/incidence.py):

- denominator: cohort_ms_patients entries (first MS record to end of observation, one per person),
  clipped to the study period 2009-01-01 .. 2016-12-31;
- outcome: drug_exposure records of the concept set low_dose_naltrexone, from any time;
- washout None (the analysis's default): only a person's first LDN record ever is a new use. A
  person is at risk from entry until that day (the event day counts as at risk) and then stops
  (no repeated events); whoever used LDN before entering (or before 2009) is never at risk;
- per complete calendar month and year: persons with time at risk in the period
  (denominator_count), person-days at risk, events, person-years (days / 365.25) and the rate per
  100,000 person-years with its exact Poisson (Garwood) 95% interval (scipy chi2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import chi2

ANALYSIS_ID = "ldn_new_users_in_ms"
START, END = "2009-01-01", "2016-12-31"
LEVEL = 0.95
DAYS_PER_YEAR = 365.25

# Calendar months and years of the study period (all complete: it runs from 1 January to 31 December).
PERIODS_SQL = f"""
SELECT 'months' AS analysis_interval, d::DATE AS start_date, (d + INTERVAL 1 MONTH - INTERVAL 1 DAY)::DATE AS end_date
FROM generate_series(DATE '{START}', DATE '{END}', INTERVAL 1 MONTH) AS g(d)
UNION ALL
SELECT 'years', d::DATE, (d + INTERVAL 1 YEAR - INTERVAL 1 DAY)::DATE
FROM generate_series(DATE '{START}', DATE '{END}', INTERVAL 1 YEAR) AS g(d)
"""

INCIDENCE_SQL = f"""
WITH den AS (          -- MS patients' time inside the study period (a person's entries never overlap)
    SELECT subject_id,
           greatest(cohort_start_date, DATE '{START}') AS den_start,
           least(cohort_end_date, DATE '{END}') AS den_end
    FROM cohort_ms_patients
    WHERE cohort_start_date <= DATE '{END}' AND cohort_end_date >= DATE '{START}'
),
first_use AS (         -- washout "ever": only the first LDN record of a person can be a new use
    SELECT person_id AS subject_id, min(drug_exposure_start_date) AS first_start
    FROM cdm.drug_exposure
    WHERE drug_concept_id IN (SELECT concept_id FROM concept_sets WHERE codelist = 'low_dose_naltrexone')
    GROUP BY person_id
),
at_risk AS (           -- from entry to the first use (inclusive) or exit; users before entry never at risk
    SELECT d.subject_id, d.den_start AS start_date,
           CASE WHEN f.first_start <= d.den_end THEN f.first_start ELSE d.den_end END AS end_date,
           coalesce(f.first_start <= d.den_end, FALSE) AS event
    FROM den d LEFT JOIN first_use f USING (subject_id)
    WHERE f.first_start IS NULL OR f.first_start >= d.den_start
),
periods AS ({PERIODS_SQL})
SELECT p.analysis_interval, p.start_date AS incidence_start_date, p.end_date AS incidence_end_date,
       count(DISTINCT r.subject_id) AS denominator_count,
       coalesce(sum(least(r.end_date, p.end_date) - greatest(r.start_date, p.start_date) + 1), 0)::BIGINT
           AS person_days,
       count(*) FILTER (WHERE r.event AND r.end_date BETWEEN p.start_date AND p.end_date) AS outcome_count
FROM periods p
LEFT JOIN at_risk r ON r.start_date <= p.end_date AND r.end_date >= p.start_date
GROUP BY ALL
ORDER BY p.analysis_interval, p.start_date
"""


def run(con) -> dict[str, pd.DataFrame]:
    t = con.execute(INCIDENCE_SQL).df()
    k = t["outcome_count"].to_numpy(float)
    t["person_years"] = t["person_days"] / DAYS_PER_YEAR
    py = t["person_years"].to_numpy(float)
    alpha = 1 - LEVEL
    # Garwood: [chi2(a/2, 2k)/2, chi2(1-a/2, 2k+2)/2] events, divided by the person-time
    lower = np.where(k > 0, chi2.ppf(alpha / 2, np.maximum(2 * k, 1e-300)) / 2, 0.0)
    upper = chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(py > 0, 100_000 / np.where(py > 0, py, 1.0), np.nan)
    t["incidence_100000_pys"] = k * scale
    t["incidence_100000_pys_95CI_lower"] = lower * scale
    t["incidence_100000_pys_95CI_upper"] = upper * scale
    return {"incidence": t}


ESTIMATES = {"denominator_count": "Denominator", "person_days": "Denominator", "person_years": "Denominator",
             "outcome_count": "Outcome", "incidence_100000_pys": "Outcome",
             "incidence_100000_pys_95CI_lower": "Outcome", "incidence_100000_pys_95CI_upper": "Outcome"}


def _result_id(results: pd.DataFrame, analysis_id: str) -> str:
    s = results[(results.variable_name == "settings") & (results.estimate_name == "analysis_id")
                & (results.estimate_value == analysis_id)]
    return s.result_id.iloc[0]


def _same(mine, theirs: str, integer: bool) -> bool:
    if theirs in ("NA", ""):
        return mine is None or (isinstance(mine, float) and np.isnan(mine))
    if mine is None or (isinstance(mine, float) and np.isnan(mine)):
        return False
    if integer:
        return float(mine) == int(theirs)
    a, b = float(mine), float(theirs)
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b)) or abs(a - b) < 1e-300


def check(out, results) -> list[str]:
    t = out["incidence"]
    mine = {}
    for r in t.itertuples(index=False):
        additional = f"{r.incidence_start_date:%Y-%m-%d} &&& {r.incidence_end_date:%Y-%m-%d} &&& {r.analysis_interval}"
        for name, variable in ESTIMATES.items():
            mine[(additional, variable, name)] = getattr(r, name)
    rid = _result_id(results, ANALYSIS_ID)
    ref = results[(results.result_id == rid) & (results.variable_name != "settings")]
    problems, seen = [], set()
    for r in ref.itertuples(index=False):
        key = (r.additional_level, r.variable_name, r.estimate_name)
        seen.add(key)
        where = f"incidence {r.additional_level} {r.estimate_name}"
        if (r.group_level != "ms_patients &&& low_dose_naltrexone" or r.strata_name != "overall"
                or key not in mine):
            problems.append(f"{where} ({r.group_level}, {r.strata_level}): row of results.csv not compared")
        elif r.estimate_value == "-":
            continue  # suppressed
        elif not _same(mine[key], r.estimate_value, r.estimate_type == "integer"):
            problems.append(f"{where}: mine {mine[key]!r}, offlabel {r.estimate_value}")
    problems += [f"incidence {k[0]} {k[2]}: mine {v!r}, missing from results.csv"
                 for k, v in mine.items() if k not in seen]
    return problems
