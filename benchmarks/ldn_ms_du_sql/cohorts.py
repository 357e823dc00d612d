"""The two cohorts of the drug-utilisation analyses of studies/ldn_ms.yaml, by hand in SQL, and their
attrition (what offlabel's `cohort_attrition` analysis reports for them).

Temp tables cohort_ms_patients and cohort_ldn_ms_2013 (subject_id, cohort_start_date,
cohort_end_date), read from concept_sets; the definitions (studies/ldn_ms.yaml `cohorts:`, with
offlabel's semantics in src/offlabel/cohorts/):

- ms_patients: the first ever record (condition_occurrence) of multiple_sclerosis, in an
  observation period; follow-up to the end of that period.
- ldn_ms_2013: the first low_dose_naltrexone dispensing in 2013, in an observation period with
  >= 730 days of observation before and after it, among persons who in 2009-2010 (within that
  observation period) collected >= 2 disease-modifying drugs or >= 1 fampridine; follow-up to the
  end of the observation period.
Both end at death when it comes first (offlabel's default censor_at_death). Entry events are one per
person and day. Attrition: records and persons after each step and the difference to the step
before, with offlabel's reasons.
"""

from __future__ import annotations

import pandas as pd

# --- ms_patients ------------------------------------------------------------------------------
MS_DAYS = """
CREATE OR REPLACE TEMP TABLE ms_days AS
SELECT co.person_id AS subject_id, co.condition_start_date AS cohort_start_date
FROM cdm.condition_occurrence co
JOIN concept_sets cs ON cs.codelist = 'multiple_sclerosis' AND cs.concept_id = co.condition_concept_id
WHERE co.condition_start_date IS NOT NULL
GROUP BY ALL
"""

MS_FIRST = """
CREATE OR REPLACE TEMP TABLE ms_first AS
SELECT subject_id, min(cohort_start_date) AS cohort_start_date FROM ms_days GROUP BY subject_id
"""

MS_COHORT = """
CREATE OR REPLACE TEMP TABLE cohort_ms_patients AS
SELECT f.subject_id::BIGINT AS subject_id, f.cohort_start_date::DATE AS cohort_start_date,
       (CASE WHEN d.death_date < op.observation_period_end_date THEN greatest(d.death_date, f.cohort_start_date)
             ELSE op.observation_period_end_date END)::DATE AS cohort_end_date
FROM ms_first f
JOIN cdm.observation_period op ON op.person_id = f.subject_id
     AND f.cohort_start_date BETWEEN op.observation_period_start_date AND op.observation_period_end_date
LEFT JOIN (SELECT person_id, min(death_date) AS death_date FROM cdm.death GROUP BY person_id) d
     ON d.person_id = f.subject_id
"""

# --- ldn_ms_2013 ------------------------------------------------------------------------------
LDN_DAYS = """
CREATE OR REPLACE TEMP TABLE ldn_days AS
SELECT de.person_id AS subject_id, de.drug_exposure_start_date AS cohort_start_date
FROM cdm.drug_exposure de
JOIN concept_sets cs ON cs.codelist = 'low_dose_naltrexone' AND cs.concept_id = de.drug_concept_id
WHERE de.drug_exposure_start_date IS NOT NULL
GROUP BY ALL
"""

LDN_FIRST_2013 = """
CREATE OR REPLACE TEMP TABLE ldn_first_2013 AS
SELECT subject_id, min(cohort_start_date) AS cohort_start_date
FROM ldn_days WHERE cohort_start_date BETWEEN DATE '2013-01-01' AND DATE '2013-12-31'
GROUP BY subject_id
"""

# The first entry in 2013 in its observation period, with a flag per later step.
LDN_STEPS = """
CREATE OR REPLACE TEMP TABLE ldn_steps AS
WITH observed AS (
    SELECT f.subject_id, f.cohort_start_date, op.observation_period_start_date AS op_start,
           op.observation_period_end_date AS op_end
    FROM ldn_first_2013 f
    JOIN cdm.observation_period op ON op.person_id = f.subject_id
         AND f.cohort_start_date BETWEEN op.observation_period_start_date AND op.observation_period_end_date
),
ms_drugs AS (  -- dispensings of MS drugs in 2009-2010, within the observation period of the index
    SELECT o.subject_id,
           count(*) FILTER (WHERE cs.codelist = 'disease_modifying_drugs') AS n_dmd,
           count(*) FILTER (WHERE cs.codelist = 'fampridine') AS n_fampridine
    FROM observed o
    JOIN cdm.drug_exposure de ON de.person_id = o.subject_id
         AND de.drug_exposure_start_date BETWEEN DATE '2009-01-01' AND DATE '2010-12-31'
         AND de.drug_exposure_start_date BETWEEN o.op_start AND o.op_end
    JOIN concept_sets cs ON cs.concept_id = de.drug_concept_id
         AND cs.codelist IN ('disease_modifying_drugs', 'fampridine')
    GROUP BY o.subject_id
)
SELECT o.*,
       date_diff('day', o.op_start, o.cohort_start_date) >= 730 AS prior_ok,
       date_diff('day', o.cohort_start_date, o.op_end) >= 730 AS post_ok,
       coalesce(m.n_dmd, 0) >= 2 OR coalesce(m.n_fampridine, 0) >= 1 AS ms_drugs_ok
FROM observed o LEFT JOIN ms_drugs m USING (subject_id)
"""

LDN_COHORT = """
CREATE OR REPLACE TEMP TABLE cohort_ldn_ms_2013 AS
SELECT s.subject_id::BIGINT AS subject_id, s.cohort_start_date::DATE AS cohort_start_date,
       (CASE WHEN d.death_date < s.op_end THEN greatest(d.death_date, s.cohort_start_date)
             ELSE s.op_end END)::DATE AS cohort_end_date
FROM ldn_steps s
LEFT JOIN (SELECT person_id, min(death_date) AS death_date FROM cdm.death GROUP BY person_id) d
     ON d.person_id = s.subject_id
WHERE s.prior_ok AND s.post_ok AND s.ms_drugs_ok
"""

# --- attrition: (cohort, step, reason, rows) --------------------------------------------------
STEPS = [
    ("ms_patients", 1, "Initial qualifying events: records of 'multiple_sclerosis' (one per person and day)",
     "ms_days", "TRUE"),
    ("ms_patients", 2, "First record per person (in all history)", "ms_first", "TRUE"),
    ("ms_patients", 3, "Index date in an observation period", "cohort_ms_patients", "TRUE"),
    ("ldn_ms_2013", 1, "Initial qualifying events: records of 'low_dose_naltrexone' (one per person and day)",
     "ldn_days", "TRUE"),
    ("ldn_ms_2013", 2, "Entry from 2013-01-01 to 2013-12-31", "ldn_days",
     "cohort_start_date BETWEEN DATE '2013-01-01' AND DATE '2013-12-31'"),
    ("ldn_ms_2013", 3, "First entry per person in that range", "ldn_first_2013", "TRUE"),
    ("ldn_ms_2013", 4, "Index date in an observation period", "ldn_steps", "TRUE"),
    ("ldn_ms_2013", 5, "At least 730 days of observation before index", "ldn_steps", "prior_ok"),
    ("ldn_ms_2013", 6, "At least 730 days of observation after index", "ldn_steps", "prior_ok AND post_ok"),
    ("ldn_ms_2013", 7, "Inclusion rule 1: MS drugs collected in 2009-2010", "ldn_steps",
     "prior_ok AND post_ok AND ms_drugs_ok"),
]


def attrition_sql() -> str:
    def quoted(text):
        return "'" + text.replace("'", "''") + "'"
    parts = [f"SELECT '{cohort}' AS cohort_name, {step} AS reason_id, {quoted(reason)} AS reason, "
             f"count(*) AS number_records, count(DISTINCT subject_id) AS number_subjects "
             f"FROM {table} WHERE {cond}"
             for cohort, step, reason, table, cond in STEPS]
    return f"""
WITH counts AS ({' UNION ALL '.join(parts)})
SELECT *,
       coalesce(lag(number_records) OVER w - number_records, 0) AS excluded_records,
       coalesce(lag(number_subjects) OVER w - number_subjects, 0) AS excluded_subjects
FROM counts
WINDOW w AS (PARTITION BY cohort_name ORDER BY reason_id)
ORDER BY cohort_name DESC, reason_id
"""


def run(con) -> dict[str, pd.DataFrame]:
    for sql in (MS_DAYS, MS_FIRST, MS_COHORT, LDN_DAYS, LDN_FIRST_2013, LDN_STEPS, LDN_COHORT):
        con.execute(sql)
    out = {"attrition": con.execute(attrition_sql()).df()}
    for name in ("ms_patients", "ldn_ms_2013"):
        out[f"cohort_{name}"] = con.execute(f"SELECT * FROM cohort_{name} ORDER BY ALL").df()
    out["cdm"] = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = 'cdm'").df()
    return out


VARIABLES = ("number_records", "number_subjects", "excluded_records", "excluded_subjects")


def check(out, results) -> list[str]:
    problems = []
    # 1. The cohort_attrition rows of results.csv.
    ids = results.loc[(results.variable_name == "settings") & (results.estimate_name == "result_type")
                      & (results.estimate_value == "summarise_cohort_attrition"), "result_id"]
    rows = results[results.result_id.isin(ids) & (results.variable_name != "settings")]
    mine = {}
    for r in out["attrition"].itertuples():
        for v in VARIABLES:
            mine[(r.cohort_name, str(r.reason_id), r.reason, v)] = int(getattr(r, v))
    compared = set()
    for r in rows.itertuples():
        key = (r.group_level, r.additional_level, r.strata_level, r.variable_name)
        if r.group_name != "cohort_name" or r.estimate_name != "count":
            problems.append(f"row not compared: {key} {r.estimate_name}")
            continue
        if key not in mine:
            problems.append(f"row not compared (no such step of mine): {key}")
            continue
        compared.add(key)
        if r.estimate_value in ("-", "", "NA"):
            continue
        if int(r.estimate_value) != mine[key]:
            problems.append(f"{key}: mine {mine[key]}, offlabel {r.estimate_value}")
    for key in sorted(set(mine) - compared):
        problems.append(f"step of mine not in results.csv: {key}")

    # 2. The cohort tables against freshly built offlabel cohorts, on a second connection.
    from ldn_ms_du_sql._dev import DU_COHORTS, connect_cdm, offlabel_inputs

    path = out["cdm"].path.iloc[0]
    con = connect_cdm(path)
    offlabel_inputs(con, path)
    for name in DU_COHORTS:
        theirs = con.execute(f"SELECT * FROM cohort_{name} ORDER BY ALL").df()
        ours = out[f"cohort_{name}"]
        if len(theirs) != len(ours):
            problems.append(f"cohort {name}: {len(ours)} rows, offlabel {len(theirs)}")
            continue
        diff = (ours.reset_index(drop=True).astype(str) != theirs.reset_index(drop=True).astype(str)).any(axis=1)
        if diff.any():
            problems.append(f"cohort {name}: {int(diff.sum())} rows differ, e.g. mine "
                            f"{ours[diff.values].iloc[0].tolist()} offlabel {theirs[diff.values].iloc[0].tolist()}")
    con.close()
    return problems
