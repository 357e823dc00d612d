"""Daily dose of low-dose naltrexone in the ldn_ms_2013 cohort (analysis `dose`), by hand.

Reproduces offlabel's `dose` analysis (analyses/dose.py -> drug_utilisation/dose.py, DrugUtilisation's
`summariseDoseCoverage()` with strata by product):

- exposures: drug_exposure records of the concept set low_dose_naltrexone whose product has a
  drug_strength row for the ingredient, of persons of cohort_ldn_ms_2013, starting within their entry;
- days = days_supply when given and > 0, else end - start + 1;
- daily dose from drug_strength (DrugUtilisation's patterns): fixed amount (amount x quantity / days),
  concentration (numerator x quantity / days), time based (numerator x 24 / hours, or x 24 per hour);
  units converted to mg (mcg, g), IU, MIU or mL; a missing or non-positive quantity, days or strength
  gives no dose;
- daily dose in DDD = daily dose in mg / the WHO DDD of naltrexone (N07BB04, oral: read from the
  DDD table shipped in src/offlabel/data/who_ddd.csv), route P for injectable product names, else O;
- per variable (daily_dose, daily_dose_ddd), overall, by unit and by product (its concept name):
  count (with missing), count_missing, percentage_missing, mean, sd (n - 1), quantiles 5, 25, 50, 75
  and 95 (type 7, DuckDB quantile_cont). One GROUPING SETS query.

Also holds the small comparison helpers the sibling modules persistence, coverage and switching use.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

ANALYSIS_ID = "dose"
CONCEPT_SET = "low_dose_naltrexone"
COHORT = "cohort_ldn_ms_2013"
ATC_CODE = "N07BB04"  # naltrexone
WHO_DDD_CSV = Path(__file__).resolve().parents[2] / "src" / "offlabel" / "data" / "who_ddd.csv"

# unit concept -> canonical unit and factor to it (as DrugUtilisation)
UNITS_SQL = """
SELECT * FROM (VALUES (8576, 'milligram', 1.0), (9655, 'milligram', 0.001), (8504, 'milligram', 1000.0),
                      (8718, 'international unit', 1.0), (9439, 'million international unit', 1.0),
                      (8587, 'milliliter', 1.0), (8519, 'milliliter', 1000.0), (9551, 'milliequivalent', 1.0))
       AS u(unit_concept_id, unit, factor)
"""

DOSES_SQL = f"""
CREATE OR REPLACE TEMP TABLE ldn_doses AS
WITH units AS ({UNITS_SQL}),
products AS (          -- the set's products with a strength, and their strength in canonical units
    SELECT ds.drug_concept_id, c.concept_name AS product, ds.ingredient_concept_id,
           ds.amount_value * ua.factor AS amount, ua.unit AS amount_unit,
           ds.numerator_value * un.factor AS numerator, un.unit AS numerator_unit,
           ds.denominator_value * CASE WHEN ds.denominator_unit_concept_id = 8519 THEN 1000.0 ELSE 1.0 END
               AS denominator,
           CASE WHEN ds.amount_value IS NOT NULL AND ds.numerator_value IS NULL THEN 'fixed amount'
                WHEN ds.numerator_value IS NOT NULL AND ds.denominator_unit_concept_id = 8505
                     AND ds.denominator_value IS NOT NULL THEN 'time with denominator'
                WHEN ds.numerator_value IS NOT NULL AND ds.denominator_unit_concept_id = 8505 THEN 'time'
                WHEN ds.numerator_value IS NOT NULL
                     AND ds.denominator_unit_concept_id IN (8587, 8519, 8576, 9655, 8504, 45744809)
                     THEN 'concentration'
           END AS formula,
           -- WHO DDDs are per route: parenteral forms by their name, else oral
           CASE WHEN regexp_matches(lower(c.concept_name),
                                    'inject|syringe|infusion|auto-injector|pen injector|cartridge|implant')
                THEN 'P' ELSE 'O' END AS route
    FROM cdm.drug_strength ds
    JOIN cdm.concept c ON c.concept_id = ds.drug_concept_id
    LEFT JOIN units ua ON ua.unit_concept_id = ds.amount_unit_concept_id
    LEFT JOIN units un ON un.unit_concept_id = ds.numerator_unit_concept_id
    WHERE ds.drug_concept_id IN (SELECT concept_id FROM concept_sets WHERE codelist = '{CONCEPT_SET}')
),
exposures AS (         -- the cohort's exposures that start within its entry
    SELECT de.drug_concept_id, de.quantity,
           CASE WHEN de.days_supply > 0 THEN de.days_supply
                ELSE de.drug_exposure_end_date - de.drug_exposure_start_date + 1 END AS days
    FROM cdm.drug_exposure de
    WHERE de.drug_concept_id IN (SELECT drug_concept_id FROM products)
      AND EXISTS (SELECT 1 FROM {COHORT} c
                  WHERE c.subject_id = de.person_id
                    AND de.drug_exposure_start_date BETWEEN c.cohort_start_date AND c.cohort_end_date)
),
dosed AS (
    SELECT e.drug_concept_id, p.product, p.route,
           CASE WHEN p.formula = 'fixed amount' THEN p.amount_unit ELSE p.numerator_unit END AS unit,
           CASE WHEN coalesce(e.quantity IS NULL OR e.quantity <= 0 OR e.days <= 0 OR p.denominator <= 0
                              OR p.numerator <= 0 OR p.amount <= 0, FALSE) THEN NULL
                WHEN p.formula = 'fixed amount' THEN p.amount * e.quantity / e.days
                WHEN p.formula = 'concentration' THEN p.numerator * e.quantity / e.days
                WHEN p.formula = 'time with denominator' AND p.denominator > 24 THEN p.numerator * 24 / p.denominator
                WHEN p.formula = 'time with denominator' THEN p.numerator
                WHEN p.formula = 'time' THEN p.numerator * 24
           END AS dose
    FROM exposures e JOIN products p USING (drug_concept_id)
),
ddd AS (               -- naltrexone's WHO DDD in mg, per route
    SELECT route, ddd * CASE unit WHEN 'g' THEN 1000.0 WHEN 'mg' THEN 1.0 WHEN 'mcg' THEN 0.001 END AS ddd_mg
    FROM read_csv('{WHO_DDD_CSV}', header = true,
                  columns = {{'atc_code': 'VARCHAR', 'ingredient': 'VARCHAR', 'ddd': 'DOUBLE', 'unit': 'VARCHAR',
                             'route': 'VARCHAR', 'code_status': 'VARCHAR', 'current_atc_code': 'VARCHAR',
                             'source': 'VARCHAR', 'year': 'INTEGER'}})
    WHERE atc_code = '{ATC_CODE}'
)
SELECT d.product, coalesce(d.unit, 'missing') AS unit,
       CASE WHEN d.unit IS NOT NULL THEN d.dose END AS daily_dose,
       CASE WHEN d.unit = 'milligram' THEN d.dose / ddd.ddd_mg END AS daily_dose_ddd
FROM dosed d LEFT JOIN ddd USING (route)
"""

SUMMARY_SQL = """
WITH long AS (
    SELECT 'daily_dose' AS variable_name, unit, product, daily_dose AS x FROM ldn_doses
    UNION ALL
    SELECT 'daily_dose_ddd', unit, product, daily_dose_ddd FROM ldn_doses
)
SELECT variable_name,
       CASE WHEN GROUPING(unit) = 0 THEN 'unit' WHEN GROUPING(product) = 0 THEN 'product' ELSE 'overall' END
           AS strata_name,
       coalesce(unit, product, 'overall') AS strata_level,
       count(*) AS count, count(*) - count(x) AS count_missing,
       100.0 * (count(*) - count(x)) / count(*) AS percentage_missing,
       avg(x) AS mean, stddev_samp(x) AS sd,
       quantile_cont(x, 0.05) AS q05, quantile_cont(x, 0.25) AS q25, quantile_cont(x, 0.5) AS median,
       quantile_cont(x, 0.75) AS q75, quantile_cont(x, 0.95) AS q95
FROM long
GROUP BY GROUPING SETS ((variable_name), (variable_name, unit), (variable_name, product))
ORDER BY variable_name, strata_name, strata_level
"""

INGREDIENT_SQL = f"""
SELECT DISTINCT c.concept_name
FROM cdm.drug_strength ds JOIN cdm.concept c ON c.concept_id = ds.ingredient_concept_id
WHERE ds.drug_concept_id IN (SELECT concept_id FROM concept_sets WHERE codelist = '{CONCEPT_SET}')
"""

ESTIMATES = ("count", "count_missing", "percentage_missing", "mean", "sd", "q05", "q25", "median", "q75", "q95")


def run(con) -> dict[str, pd.DataFrame]:
    con.execute(DOSES_SQL)
    summary = con.execute(SUMMARY_SQL).df()
    summary.insert(0, "ingredient_name", con.execute(INGREDIENT_SQL).fetchone()[0])
    return {"dose": summary}


def check(out, results) -> list[str]:
    mine = {}
    for r in out["dose"].to_dict("records"):
        for name in ESTIMATES:
            mine[(r["ingredient_name"], r["strata_name"], r["strata_level"], r["variable_name"], "NA", name,
                  "overall")] = r[name]
    return compare("dose", mine, results, result_id_of(results, ANALYSIS_ID))


# ---- comparison helpers (shared with persistence.py, coverage.py, switching.py) ----

KEY = ("group_level", "strata_name", "strata_level", "variable_name", "variable_level", "estimate_name",
       "additional_level")


def result_id_of(results: pd.DataFrame, analysis_id: str) -> str:
    s = results[(results.variable_name == "settings") & (results.estimate_name == "analysis_id")
                & (results.estimate_value == analysis_id)]
    if s.empty:
        raise LookupError(f"no result with analysis_id {analysis_id!r} in results.csv")
    return s.result_id.iloc[0]


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def same(mine, theirs: str, integer: bool) -> bool:
    """Whether my value equals results.csv's text: integers exactly, floats to 1e-9 relative or 1e-12
    absolute (the sd of doses that are equal only up to rounding, one dose reached by different
    arithmetic, is ~1e-18 on one side and 0 on the other)."""
    if theirs in ("NA", "", "NaN"):
        return _missing(mine)
    if _missing(mine):
        return False
    if integer:
        return float(mine) == float(theirs) and float(mine).is_integer()
    a, b = float(mine), float(theirs)
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b)) or abs(a - b) < 1e-12


def compare(what: str, mine: dict, results: pd.DataFrame, result_id: str) -> list[str]:
    """Mismatches of `mine` ({KEY tuple: value}) against the rows of `result_id` (settings aside):
    differing values, rows of results.csv I do not have, and rows I have that results.csv lacks.
    Suppressed values ("-") are skipped. `compare.last` holds (compared, suppressed) counts."""
    ref = results[(results.result_id == result_id) & (results.variable_name != "settings")]
    problems, seen, compared, suppressed = [], set(), 0, 0
    for r in ref.to_dict("records"):
        key = tuple(r[k] for k in KEY)
        seen.add(key)
        label = f"{what} {' | '.join(map(str, key))}"
        if key not in mine:
            problems.append(f"{label}: row of results.csv not compared")
        elif r["estimate_value"] == "-":
            suppressed += 1
        else:
            compared += 1
            if not same(mine[key], r["estimate_value"], r["estimate_type"] == "integer"):
                problems.append(f"{label}: mine {mine[key]!r}, offlabel {r['estimate_value']}")
    problems += [f"{what} {' | '.join(map(str, k))}: mine {v!r}, missing from results.csv"
                 for k, v in mine.items() if k not in seen]
    compare.last = (compared, suppressed)
    return problems
