"""Add-on and switching after starting low-dose naltrexone in ldn_ms_2013 (analysis `add_on_switch`), by hand.

Reproduces offlabel's `add_on_switch` analysis (analyses/switching.py -> drug_utilisation/switching.py):

- eras (gapEra semantics, gap_days 30: persistence.eras_sql) of low_dose_naltrexone and of each other
  treatment (disease_modifying_drugs, fampridine, opioids, gabapentinoids) for the cohort's persons;
- index = a person's first cohort_start_date; the index treatment ends with the LDN era holding index
  (at index itself if none does); persons are counted when the observation period holding index
  lasts through the window (day 365), the rest are "not observed through window";
- per treatment, the first era start in days [1, 365] after index is an "add-on" when on or before
  the end of the index treatment, else a "switch"; a treatment already running at index (an era
  starting before and still going on index) is not a change;
- each counted person falls in one "treatment change": add-on (any add-on), switch (a switch and no
  add-on), continued (no change, LDN era lasting to day 365) or discontinued; counts and percentages
  of the counted persons, and per treatment the persons with an add-on and with a switch.
"""

from __future__ import annotations

import pandas as pd

from ldn_ms_du_sql.dose import compare, result_id_of
from ldn_ms_du_sql.persistence import eras_sql

ANALYSIS_ID = "add_on_switch"
COHORT = "cohort_ldn_ms_2013"
COHORT_NAME = "ldn_ms_2013"
DRUG = "low_dose_naltrexone"
TREATMENTS = ("disease_modifying_drugs", "fampridine", "opioids", "gabapentinoids")
GAP_DAYS = 30
WINDOW = (1, 365)
CATEGORIES = ("add-on", "switch", "continued", "discontinued")
_TREATMENT_LIST = ", ".join(f"'{t}'" for t in TREATMENTS)

CHANGES_SQL = f"""
CREATE OR REPLACE TEMP TABLE switch_persons AS
WITH eras AS ({eras_sql([DRUG, *TREATMENTS], GAP_DAYS)}),
idx AS (SELECT subject_id, min(cohort_start_date) AS index_date FROM {COHORT} GROUP BY subject_id),
index_treatment AS (   -- the LDN era holding index ends the index treatment
    SELECT i.subject_id, i.index_date, coalesce(max(e.era_end), i.index_date) AS index_end
    FROM idx i
    LEFT JOIN eras e ON e.codelist = '{DRUG}' AND e.person_id = i.subject_id
     AND i.index_date BETWEEN e.era_start AND e.era_end
    GROUP BY i.subject_id, i.index_date
),
base AS (
    SELECT t.*, o.observation_period_end_date >= t.index_date + {WINDOW[1]} AS observed_through
    FROM index_treatment t
    JOIN cdm.observation_period o ON o.person_id = t.subject_id
     AND t.index_date BETWEEN o.observation_period_start_date AND o.observation_period_end_date
),
treatment_eras AS (
    SELECT b.subject_id, b.index_date, b.index_end, b.observed_through, e.codelist AS treatment,
           e.era_start, e.era_end
    FROM base b JOIN eras e ON e.person_id = b.subject_id AND e.codelist IN ({_TREATMENT_LIST})
),
changes AS (           -- first start in the window of a treatment not already running at index
    SELECT subject_id, treatment,
           CASE WHEN min(era_start) <= index_end THEN 'add-on' ELSE 'switch' END AS kind
    FROM treatment_eras t
    WHERE era_start BETWEEN index_date + {WINDOW[0]} AND index_date + {WINDOW[1]}
      AND NOT EXISTS (SELECT 1 FROM treatment_eras r
                      WHERE r.subject_id = t.subject_id AND r.treatment = t.treatment
                        AND r.era_start < r.index_date AND r.era_end >= r.index_date)
    GROUP BY subject_id, treatment, index_end
)
SELECT b.subject_id, b.observed_through,
       CASE WHEN bool_or(c.kind = 'add-on') THEN 'add-on'
            WHEN bool_or(c.kind = 'switch') THEN 'switch'
            WHEN b.index_end >= b.index_date + {WINDOW[1]} THEN 'continued'
            ELSE 'discontinued' END AS category,
       list(c.treatment) FILTER (WHERE c.kind = 'add-on') AS add_on,
       list(c.treatment) FILTER (WHERE c.kind = 'switch') AS switch
FROM base b LEFT JOIN changes c USING (subject_id)
GROUP BY b.subject_id, b.observed_through, b.index_date, b.index_end
"""

COUNTS_SQL = f"""
WITH counted AS (SELECT * FROM switch_persons WHERE observed_through),
cells AS (
    SELECT 'treatment change' AS variable_name, category AS variable_level, count(*) AS count
    FROM counted GROUP BY category
    UNION ALL
    SELECT treatment, 'add-on', count(*) FROM (SELECT unnest(add_on) AS treatment FROM counted) GROUP BY treatment
    UNION ALL
    SELECT treatment, 'switch', count(*) FROM (SELECT unnest(switch) AS treatment FROM counted) GROUP BY treatment
),
levels AS (            -- every category and every treatment x kind, zeros included
    SELECT 'treatment change' AS variable_name, unnest({list(CATEGORIES)}) AS variable_level
    UNION ALL
    SELECT t, k FROM unnest({list(TREATMENTS)}) AS a(t), unnest(['add-on', 'switch']) AS b(k)
)
SELECT l.variable_name, l.variable_level, coalesce(c.count, 0) AS count
FROM levels l LEFT JOIN cells c USING (variable_name, variable_level)
UNION ALL
SELECT 'number subjects', 'NA', count(*) FILTER (WHERE observed_through) FROM switch_persons
UNION ALL
SELECT 'not observed through window', 'NA', count(*) FILTER (WHERE NOT observed_through) FROM switch_persons
"""


def run(con) -> dict[str, pd.DataFrame]:
    con.execute(CHANGES_SQL)
    t = con.execute(COUNTS_SQL).df()
    counted = int(t.loc[t.variable_name == "number subjects", "count"].iloc[0])
    share = t.variable_level != "NA"
    t.loc[share, "percentage"] = [100.0 * n / counted if counted else None for n in t.loc[share, "count"]]
    return {"switching": t}


def check(out, results) -> list[str]:
    mine = {}
    for r in out["switching"].to_dict("records"):
        names = ("count", "percentage") if r["variable_level"] != "NA" else ("count",)
        for name in names:
            mine[(COHORT_NAME, "overall", "overall", r["variable_name"], r["variable_level"], name,
                  f"{WINDOW[0]} to {WINDOW[1]}")] = r[name]
    return compare("switching", mine, results, result_id_of(results, ANALYSIS_ID))
