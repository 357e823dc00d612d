"""Persistence with low-dose naltrexone in the ldn_ms_2013 cohort (analysis `persistence`), by hand.

Reproduces offlabel's `persistence` analysis (analyses/persistence.py -> drug_utilisation/persistence.py):

- treatment eras of the concept set low_dose_naltrexone for the cohort's persons, with gapEra
  semantics (cohorts/eras.py): records sorted by start (then end); a record opens a new era when it
  starts more than `gap_days` (30) days after the latest end of the earlier records; an era runs from
  its first start to its latest end (a missing end is the start; records ending before they start
  are dropped);
- index = a person's first cohort_start_date; the era holding it is followed: time = era end - index,
  an event (discontinuation) when that is before the end of the observation period holding index and
  before follow-up (730 days), else censored there (time = the earlier of the two);
- Kaplan-Meier in numpy on (time, events, censorings) from SQL: product-limit survival, Greenwood
  variance, 95% interval on the log scale (R survfit's default; upper capped at 1, none once the
  survival is 0); reported every 7 days from 0 to 730 (step function, 1 before the first time);
  risk table at days 0, 90, 180, 365, 545, 730 (at risk: time >= day; events and censorings from the
  previous risk day to the day before); summary: persons, events, median (first time with survival
  <= 0.5, R's midpoint rule on a flat 0.5).

`eras_sql` is also used by coverage.py and switching.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from ldn_ms_du_sql.dose import compare, result_id_of

ANALYSIS_ID = "persistence"
COHORT = "cohort_ldn_ms_2013"
COHORT_NAME = "ldn_ms_2013"
CONCEPT_SET = "low_dose_naltrexone"
GAP_DAYS = 30
FOLLOW_UP_DAYS = 730
ESTIMATE_GAP_DAYS = 7
RISK_TABLE_DAYS = (0, 90, 180, 365, 545, 730)
LEVEL = 0.95


def eras_sql(codelists, gap_days: int, persons: str = COHORT) -> str:
    """SELECT codelist, person_id, era_start, era_end: drug eras (gapEra semantics) of the concept sets
    `codelists` for the persons of the cohort table `persons`."""
    names = ", ".join(f"'{c}'" for c in codelists)
    return f"""
    WITH records AS (
        SELECT cs.codelist, de.person_id, de.drug_exposure_start_date AS s,
               coalesce(de.drug_exposure_end_date, de.drug_exposure_start_date) AS e
        FROM cdm.drug_exposure de
        JOIN (SELECT DISTINCT codelist, concept_id FROM concept_sets WHERE codelist IN ({names})) cs
          ON cs.concept_id = de.drug_concept_id
        WHERE de.person_id IN (SELECT subject_id FROM {persons})
          AND (de.drug_exposure_end_date IS NULL OR de.drug_exposure_end_date >= de.drug_exposure_start_date)
    ),
    flagged AS (       -- a new era when the record starts more than the gap after the era so far
        SELECT *, CASE WHEN max(e) OVER (PARTITION BY codelist, person_id ORDER BY s, e
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= s - {int(gap_days)}
                       THEN 0 ELSE 1 END AS new_era
        FROM records
    ),
    numbered AS (
        SELECT *, sum(new_era) OVER (PARTITION BY codelist, person_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS era
        FROM flagged
    )
    SELECT codelist, person_id, min(s) AS era_start, max(e) AS era_end
    FROM numbered GROUP BY codelist, person_id, era
    """


TIMES_SQL = f"""
WITH eras AS ({eras_sql([CONCEPT_SET], GAP_DAYS)}),
idx AS (SELECT subject_id, min(cohort_start_date) AS index_date FROM {COHORT} GROUP BY subject_id),
per_person AS (        -- the era holding index, and the observation period holding it
    SELECT i.subject_id, max(e.era_end) - i.index_date AS to_era_end,
           least(max(o.observation_period_end_date) - i.index_date, {FOLLOW_UP_DAYS}) AS to_stop
    FROM idx i
    JOIN eras e ON e.person_id = i.subject_id AND i.index_date BETWEEN e.era_start AND e.era_end
    JOIN cdm.observation_period o ON o.person_id = i.subject_id
     AND i.index_date BETWEEN o.observation_period_start_date AND o.observation_period_end_date
    GROUP BY i.subject_id, i.index_date
)
SELECT least(to_era_end, to_stop) AS time,
       count(*) FILTER (WHERE to_era_end < to_stop) AS n_event,
       count(*) FILTER (WHERE to_era_end >= to_stop) AS n_censor
FROM per_person
GROUP BY ALL ORDER BY time
"""


def kaplan_meier(time, n_event, n_censor, level: float = LEVEL) -> pd.DataFrame:
    """Product-limit table per distinct time: n_risk, survival, log-scale Greenwood interval."""
    d, c = np.asarray(n_event, float), np.asarray(n_censor, float)
    n = (d + c)[::-1].cumsum()[::-1]
    z = norm.ppf(1 - (1 - level) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.cumprod(1.0 - d / n)
        se_log = np.sqrt(np.cumsum(np.where(d > 0, d / (n * (n - d)), 0.0)))
        lower = np.where(s > 0, s * np.exp(-z * se_log), np.nan)
        upper = np.where(s > 0, np.minimum(s * np.exp(z * se_log), 1.0), np.nan)
    return pd.DataFrame({"time": np.asarray(time, int), "n_risk": n, "n_event": d, "n_censor": c,
                         "survival": s, "lower": lower, "upper": upper})


def median_time(km: pd.DataFrame) -> float:
    s, t = km.survival.to_numpy(), km.time.to_numpy(float)
    below = np.flatnonzero(s <= 0.5)
    if not len(below):
        return float("nan")
    i = below[0]
    if np.isclose(s[i], 0.5) and i + 1 < len(t):  # flat at exactly 0.5: midpoint to the next drop
        later = np.flatnonzero(s[i + 1:] < s[i] - 1e-12)
        if len(later):
            return float((t[i] + t[i + 1 + later[0]]) / 2)
    return float(t[i])


def run(con) -> dict[str, pd.DataFrame]:
    times = con.execute(TIMES_SQL).df()
    km = kaplan_meier(times.time, times.n_event, times.n_censor)
    # the curve on the reporting grid: a right-continuous step function, 1 before the first time
    grid = np.arange(0, FOLLOW_UP_DAYS + 1, ESTIMATE_GAP_DAYS)
    at = np.searchsorted(km.time.to_numpy(), grid, side="right") - 1
    pick = np.maximum(at, 0)
    curve = pd.DataFrame({"time": grid, **{k: np.where(at < 0, 1.0, km[k].to_numpy()[pick])
                                           for k in ("survival", "lower", "upper")}})
    t, d, c = times.time.to_numpy(), times.n_event.to_numpy(), times.n_censor.to_numpy()
    risk = []
    for j, day in enumerate(RISK_TABLE_DAYS):
        row = {"time": day, "n_risk": int((d + c)[t >= day].sum())}
        if j:
            inside = (t >= RISK_TABLE_DAYS[j - 1]) & (t < day)
            row |= {"n_events": int(d[inside].sum()), "n_censor": int(c[inside].sum())}
        risk.append(row)
    summary = pd.DataFrame([{"number_records": int((d + c).sum()), "n_events": int(d.sum()),
                             "median_survival": median_time(km)}])
    return {"curve": curve, "risk_table": pd.DataFrame(risk), "summary": summary, "km": km}


def check(out, results) -> list[str]:
    base = (COHORT_NAME, "overall", "overall")
    mine = {}
    for r in out["curve"].to_dict("records"):
        for name, col in (("estimate", "survival"), ("estimate_95CI_lower", "lower"), ("estimate_95CI_upper", "upper")):
            mine[(*base, "survival probability", "discontinuation", name, str(r["time"]))] = r[col]
    for r in out["risk_table"].to_dict("records"):
        for name in ("n_risk", "n_events", "n_censor"):
            if not pd.isna(r.get(name)):
                mine[(*base, "number at risk", "discontinuation", f"{name}_count", str(r["time"]))] = r[name]
    s = out["summary"].iloc[0]
    for name, col in (("number_records_count", "number_records"), ("n_events_count", "n_events"),
                      ("median_survival", "median_survival")):
        mine[(*base, "summary", "discontinuation", name, "overall")] = s[col]
    return compare("persistence", mine, results, result_id_of(results, ANALYSIS_ID))
