"""Realised calibration numbers of a world, measured from its CDM tables with SQL.

`measure(path)` returns the facts DOMAIN.md calibrates against (MS prevalence and sex ratio,
relapse rate, DMT use by calendar year, the LDN surge, LDN starters' age and collection strata,
population turnover). Tests and docs/synthetic-world.md read these numbers.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

MS = 374919
NALTREXONE = 1714319


def open_world(path: str | Path) -> duckdb.DuckDBPyConnection:
    path = Path(path)
    if path.is_dir():
        con = duckdb.connect()
        for f in sorted(path.glob("*.parquet")):
            con.execute(f"CREATE VIEW {f.stem} AS SELECT * FROM read_parquet('{f}')")
        return con
    return duckdb.connect(str(path), read_only=True)


_SETUP = f"""
CREATE OR REPLACE TEMP TABLE ms_patient AS
SELECT c.person_id, min(c.condition_start_date) AS first_ms
FROM condition_occurrence c JOIN concept_ancestor a ON a.descendant_concept_id = c.condition_concept_id
WHERE a.ancestor_concept_id = {MS} GROUP BY 1;
CREATE OR REPLACE TEMP TABLE ldn_start AS
SELECT d.person_id, min(d.drug_exposure_start_date) AS index_date
FROM drug_exposure d JOIN drug_strength s ON s.drug_concept_id = d.drug_concept_id
WHERE s.ingredient_concept_id = {NALTREXONE} AND s.amount_value <= 5 GROUP BY 1;
CREATE OR REPLACE TEMP TABLE dmt_product AS
SELECT DISTINCT descendant_concept_id AS drug_concept_id FROM concept_ancestor a JOIN concept c ON c.concept_id = a.ancestor_concept_id
WHERE c.vocabulary_id = 'ATC' AND (c.concept_code IN ('L03AB07','L03AB08','L03AB13','L03AX13','L04AA23','L04AA27','L04AA31',
  'N07XX09','L04AA34','L04AA36','L04AA40','L01XC02'));
"""


def measure(path: str | Path) -> dict:
    con = open_world(path)
    try:
        con.execute(_SETUP)
        q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
        out: dict = {}
        out["persons"] = q("SELECT count(*) FROM person")[0][0]
        on_2012 = "observation_period_start_date <= DATE '2012-12-31' AND observation_period_end_date >= DATE '2012-12-31'"
        pop, cases, female = q(f"""
            SELECT count(*), count(m.person_id), count(m.person_id) FILTER (WHERE p.gender_concept_id = 8532)
            FROM observation_period o JOIN person p USING (person_id)
            LEFT JOIN ms_patient m ON m.person_id = o.person_id AND m.first_ms <= DATE '2012-12-31'
            WHERE {on_2012}""")[0]
        out["population_2012"] = pop
        out["ms_prevalent_2012"] = cases
        out["ms_prevalence_per_100k_2012"] = 1e5 * cases / max(pop, 1)
        out["ms_female_share"] = q("""SELECT avg(CASE WHEN p.gender_concept_id = 8532 THEN 1.0 ELSE 0 END)
                                      FROM ms_patient m JOIN person p USING (person_id)""")[0][0]
        out["ms_patients"] = q("SELECT count(*) FROM ms_patient")[0][0]
        out["ms_new_per_100k_py_2010_2019"] = q("""
            SELECT 1e5 * (SELECT count(*) FROM ms_patient m JOIN observation_period o USING (person_id)
                          WHERE m.first_ms BETWEEN DATE '2010-01-01' AND DATE '2019-12-31'
                            AND m.first_ms >= o.observation_period_start_date + INTERVAL 2 YEAR)
                 / (SELECT sum(greatest(0, datediff('day', greatest(observation_period_start_date, DATE '2010-01-01'),
                                                    least(observation_period_end_date, DATE '2019-12-31')))) / 365.25
                    FROM observation_period)""")[0][0]
        # relapses per person-year after the first MS record
        out["relapses_per_patient_year"] = q("""
            SELECT (SELECT count(*) FROM condition_occurrence c JOIN ms_patient m USING (person_id)
                    WHERE c.condition_concept_id = (SELECT concept_id FROM concept WHERE vocabulary_id = 'SNOMED'
                                                    AND concept_code = '192929006'))
                 / (SELECT sum(datediff('day', m.first_ms, o.observation_period_end_date)) / 365.25
                    FROM ms_patient m JOIN observation_period o USING (person_id))""")[0][0]
        # relapsing-onset incident patients (first MS record >= 1 year after entry, no PPMS record):
        # relapses per person-year before the first DMT (at most 3 years), and in the 3 years after it
        rows = q("""
            WITH inc AS (SELECT m.person_id, m.first_ms, o.observation_period_end_date AS obs_end
                         FROM ms_patient m JOIN observation_period o USING (person_id)
                         WHERE m.first_ms >= o.observation_period_start_date + INTERVAL 1 YEAR
                           AND m.person_id NOT IN (SELECT person_id FROM condition_occurrence c JOIN concept k
                               ON k.concept_id = c.condition_concept_id WHERE k.vocabulary_id = 'SNOMED' AND k.concept_code = '428700003')),
            first_dmt AS (SELECT i.person_id, min(d.drug_exposure_start_date) AS s FROM inc i JOIN drug_exposure d USING (person_id)
                          JOIN dmt_product USING (drug_concept_id) WHERE d.drug_exposure_start_date >= i.first_ms GROUP BY 1),
            w AS (SELECT i.person_id, 'untreated' AS state, i.first_ms AS a,
                         least(i.first_ms + INTERVAL 3 YEAR, i.obs_end, coalesce(f.s, DATE '9999-12-31')) AS b
                  FROM inc i LEFT JOIN first_dmt f USING (person_id)
                  UNION ALL
                  SELECT i.person_id, 'treated', f.s, least(f.s + INTERVAL 3 YEAR, i.obs_end) FROM inc i JOIN first_dmt f USING (person_id)),
            r AS (SELECT w.person_id, w.state, w.a, w.b, count(c.person_id) AS n FROM w LEFT JOIN condition_occurrence c
                  ON c.person_id = w.person_id AND c.condition_start_date >= w.a AND c.condition_start_date < w.b
                  AND c.condition_concept_id = (SELECT concept_id FROM concept WHERE vocabulary_id = 'SNOMED' AND concept_code = '192929006')
                  GROUP BY ALL)
            SELECT state, sum(n), sum(datediff('day', a, b)) / 365.25, count(*) FROM r WHERE b > a GROUP BY 1 ORDER BY 1""")
        out["early_relapses"] = {st: {"relapses": int(r), "person_years": float(py), "patients": int(n)}
                                 for st, r, py, n in rows}
        # share of prevalent MS patients (first record before the year) dispensed a DMT in the year
        rows = q("""
            WITH y AS (SELECT unnest(range(2005, 2021)) AS year),
            prev AS (SELECT y.year, m.person_id FROM y JOIN ms_patient m ON m.first_ms < make_date(y.year, 1, 1)
                     JOIN observation_period o ON o.person_id = m.person_id
                     AND o.observation_period_start_date <= make_date(y.year, 1, 1)
                     AND o.observation_period_end_date >= make_date(y.year, 12, 31)),
            treated AS (SELECT DISTINCT year(d.drug_exposure_start_date) AS year, d.person_id
                        FROM drug_exposure d JOIN dmt_product USING (drug_concept_id))
            SELECT prev.year, count(*), avg(CASE WHEN t.person_id IS NULL THEN 0.0 ELSE 1.0 END)
            FROM prev LEFT JOIN treated t USING (year, person_id) GROUP BY 1 ORDER BY 1""")
        out["dmt_treated_share_by_year"] = {int(y): float(s) for y, _, s in rows}
        out["dmt_patients_by_year"] = {int(y): int(n) for y, n, _ in rows}
        rows = q("""SELECT strftime(index_date, '%Y-%m') AS month, count(*) FROM ldn_start l JOIN ms_patient m USING (person_id)
                    WHERE m.first_ms <= l.index_date GROUP BY 1 ORDER BY 1""")
        out["ldn_new_ms_users_by_month"] = {m: int(n) for m, n in rows}
        rows = q("""SELECT year(index_date), count(*) FROM ldn_start GROUP BY 1 ORDER BY 1""")
        out["ldn_new_users_by_year"] = {int(y): int(n) for y, n in rows}
        med, fem = q("""SELECT median(datediff('day', make_date(p.year_of_birth, p.month_of_birth, p.day_of_birth), l.index_date) / 365.25),
                               avg(CASE WHEN p.gender_concept_id = 8532 THEN 1.0 ELSE 0 END)
                        FROM ldn_start l JOIN ms_patient m USING (person_id) JOIN person p USING (person_id)
                        WHERE m.first_ms <= l.index_date""")[0]
        out["ldn_ms_starters_median_age"], out["ldn_ms_starters_female_share"] = med, fem
        med, fem = q("""SELECT median(datediff('day', make_date(p.year_of_birth, p.month_of_birth, p.day_of_birth), l.index_date) / 365.25),
                               avg(CASE WHEN p.gender_concept_id = 8532 THEN 1.0 ELSE 0 END)
                        FROM ldn_start l JOIN person p USING (person_id) WHERE year(l.index_date) IN (2013, 2014)""")[0]
        out["ldn_2013_14_starters_median_age"], out["ldn_2013_14_starters_female_share"] = med, fem
        rows = q(f"""
            WITH c AS (SELECT l.person_id, count(*) AS n FROM ldn_start l JOIN drug_exposure d USING (person_id)
                       JOIN drug_strength s ON s.drug_concept_id = d.drug_concept_id
                       WHERE s.ingredient_concept_id = {NALTREXONE} AND s.amount_value <= 5
                         AND d.drug_exposure_start_date < l.index_date + INTERVAL 730 DAY
                         AND year(l.index_date) = 2013
                       GROUP BY 1)
            SELECT CASE WHEN n = 1 THEN '1' WHEN n <= 3 THEN '2-3' ELSE '4+' END, count(*) FROM c GROUP BY 1 ORDER BY 1""")
        total = sum(n for _, n in rows) or 1
        out["ldn_2013_collection_strata"] = {s: n / total for s, n in rows}
        rows = q("""SELECT year(death_date), count(*) FROM death GROUP BY 1 ORDER BY 1""")
        out["deaths_by_year"] = {int(y): int(n) for y, n in rows}
        out["death_rate_2019"] = q("""SELECT (SELECT count(*) FROM death WHERE year(death_date) = 2019)
            / (SELECT count(*) FROM observation_period WHERE observation_period_start_date <= DATE '2019-07-01'
               AND observation_period_end_date >= DATE '2019-07-01')""")[0][0]
        out["opioid_users_share_2017"] = q("""
            SELECT avg(CASE WHEN u.person_id IS NULL THEN 0.0 ELSE 1.0 END), 
                   avg(CASE WHEN u.person_id IS NULL THEN 0.0 ELSE 1.0 END) FILTER (WHERE p.gender_concept_id = 8532),
                   avg(CASE WHEN u.person_id IS NULL THEN 0.0 ELSE 1.0 END) FILTER (WHERE p.gender_concept_id = 8507)
            FROM observation_period o JOIN person p USING (person_id)
            LEFT JOIN (SELECT DISTINCT d.person_id FROM drug_exposure d JOIN concept_ancestor a
                       ON a.descendant_concept_id = d.drug_concept_id JOIN concept c ON c.concept_id = a.ancestor_concept_id
                       WHERE c.vocabulary_id = 'ATC' AND c.concept_code = 'N02A' AND year(d.drug_exposure_start_date) = 2017) u
              USING (person_id)
            WHERE o.observation_period_start_date <= DATE '2017-01-01' AND o.observation_period_end_date >= DATE '2017-12-31'
              AND p.year_of_birth <= 1999""")[0]
        return out
    finally:
        con.close()
