"""Proportion of patients covered by low-dose naltrexone in ldn_ms_2013 (analysis
`proportion_of_patients_covered`), by hand.

Reproduces offlabel's `proportion_of_patients_covered` analysis (analyses/coverage.py,
stats/coverage.py; DrugUtilisation's `summariseProportionOfPatientsCovered()`):

- day 0 = a person's first cohort_start_date; the persons are those in an observation period on it;
- on each day d = 0..730: denominator = persons whose observation period (the one holding index)
  lasts to day d; outcome = those of them on day d inside an era of low_dose_naltrexone (gapEra
  semantics with gap_days 0, the analysis's default: overlapping records merge, see
  persistence.eras_sql; an era already running at index covers from day 0);
- ppc = outcome / denominator with the Wilson score 95% interval (no continuity correction, clipped
  to [0, 1]), in percent.
One query for the daily counts (a range join of the days with the eras), Wilson in numpy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from ldn_ms_du_sql.dose import compare, result_id_of
from ldn_ms_du_sql.persistence import eras_sql

ANALYSIS_ID = "proportion_of_patients_covered"
COHORT = "cohort_ldn_ms_2013"
COHORT_NAME = "ldn_ms_2013"
CONCEPT_SET = "low_dose_naltrexone"
GAP_DAYS = 0
FOLLOW_UP_DAYS = 730
LEVEL = 0.95

COUNTS_SQL = f"""
WITH eras AS ({eras_sql([CONCEPT_SET], GAP_DAYS)}),
persons AS (           -- index and the last observed day, in days since index
    SELECT i.subject_id, i.index_date, o.observation_period_end_date - i.index_date AS obs_end
    FROM (SELECT subject_id, min(cohort_start_date) AS index_date FROM {COHORT} GROUP BY subject_id) i
    JOIN cdm.observation_period o ON o.person_id = i.subject_id
     AND i.index_date BETWEEN o.observation_period_start_date AND o.observation_period_end_date
),
covered AS (           -- each era as days since index, cut to [0, end of observation and follow-up]
    SELECT p.subject_id, greatest(e.era_start - p.index_date, 0) AS first_day,
           least(e.era_end - p.index_date, p.obs_end, {FOLLOW_UP_DAYS}) AS last_day
    FROM eras e JOIN persons p ON p.subject_id = e.person_id
),
days AS (SELECT range AS day FROM range(0, {FOLLOW_UP_DAYS} + 1)),
denominator AS (
    SELECT d.day, count(p.subject_id) AS denominator_count
    FROM days d LEFT JOIN persons p ON p.obs_end >= d.day GROUP BY d.day
),
outcome AS (
    SELECT d.day, count(DISTINCT c.subject_id) AS outcome_count
    FROM days d JOIN covered c ON d.day BETWEEN c.first_day AND c.last_day GROUP BY d.day
)
SELECT day, denominator_count, coalesce(outcome_count, 0) AS outcome_count
FROM denominator LEFT JOIN outcome USING (day)
ORDER BY day
"""


def wilson(x, n, level: float = LEVEL):
    """Wilson score interval (lower, upper) of x / n, clipped to [0, 1]; NaN where n = 0."""
    x, n = np.asarray(x, float), np.asarray(n, float)
    z = norm.ppf(1 - (1 - level) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        centre = (x + z**2 / 2) / (n + z**2)
        half = z * np.sqrt(n) / (n + z**2) * np.sqrt(p * (1 - p) + z**2 / (4 * n))
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def run(con) -> dict[str, pd.DataFrame]:
    t = con.execute(COUNTS_SQL).df()
    x, n = t.outcome_count.to_numpy(float), t.denominator_count.to_numpy(float)
    lower, upper = wilson(x, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        t["ppc"] = np.where(n > 0, x / np.maximum(n, 1), np.nan) * 100
    t["ppc_lower"], t["ppc_upper"] = lower * 100, upper * 100
    return {"ppc": t}


def check(out, results) -> list[str]:
    mine = {}
    for r in out["ppc"].to_dict("records"):
        for name in ("outcome_count", "denominator_count", "ppc", "ppc_lower", "ppc_upper"):
            mine[(COHORT_NAME, "overall", "overall", "overall", "overall", name, str(r["day"]))] = r[name]
    return compare("coverage", mine, results, result_id_of(results, ANALYSIS_ID))
