"""Before/after dispensing study of LDN in MS (Raknes & Smabrekke 2017), by hand in DuckDB SQL.

Reproduces offlabel's `before_after` analysis of studies/ldn_ms.yaml (offlabel.analyses.before_after,
its Table 1 from offlabel.analyses.characteristics, the statistics of offlabel.stats.before_after):

- persons: cohort_ldn_ms_2013, index = first cohort_start_date, observed by one observation period
  over [index - 730, index + 729]; stratum by the number of low_dose_naltrexone dispensings starting
  in [index, index + 729] (1, 2-3, 4+; reference 1);
- per person and drug group the cumulative DDD dispensed before ([-730, -1]) and after ([0, 729]),
  a dispensing placed by its start date. DDD per dispensing and ingredient (drug_strength) = daily
  dose (DrugUtilisation patterns: amount x quantity / days, days = days_supply or the exposure's
  span) / WHO DDD of the ingredient's ATC code (src/offlabel/data/who_ddd.csv; first shipped code in
  the ATC hierarchy, else by name) for its route (parenteral if the drug name says so) x days;
  summed as whole micro-DDDs, as offlabel does, so that the sums are exact;
- statistics (numpy/scipy): paired t CI of the mean change, Welch CI of the difference in
  differences against stratum 1, delta-method (log scale, normal) CIs of mean(after)/mean(before)
  and of its ratio to stratum 1, users stopped/reduced/kept/increased/started (+-10 %);
- Table 1 by stratum: age at index (birth month/day missing read as 1), age groups, sex, prior
  observation, year of index, covariate flags in their windows inside the observation period
  holding index, and standardised differences against stratum 1 (Austin 2009).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

COHORT = "cohort_ldn_ms_2013"
STUDY_DRUG = "low_dose_naltrexone"
DRUG_GROUPS = ("disease_modifying_drugs", "fampridine", "opioids", "gabapentinoids", "other_analgesics",
               "antidepressants", "antispastics", "hypnotics", "modafinil")
LOOKBACK, FOLLOWUP = 730, 730
STRATA = ("1", "2-3", "4+")
REFERENCE = "1"
THRESHOLD = 10.0  # percent change within which a user "kept" their use
LEVEL = 0.95
AGE_GROUPS = ((18, 39, "18 to 39"), (40, 49, "40 to 49"), (50, 59, "50 to 59"), (60, None, "60 or older"))
COVARIATES = (  # (Table 1 heading, concept sets, window start, window end) in days from index
    ("Drugs collected in the year before index", DRUG_GROUPS, -365, -1),
    ("Conditions recorded any time before index", ("depression", "fibromyalgia", "chronic_pain",
                                                   "alcohol_dependence"), None, -1),
    ("Naltrexone 50 mg any time before index", ("naltrexone_high_dose",), None, -1),
)
WHO_DDD_CSV = Path(__file__).resolve().parents[2] / "src" / "offlabel" / "data" / "who_ddd.csv"


def _in(names) -> str:
    return ", ".join(f"'{n}'" for n in names)


# Persons analysed, with their stratum (reused by the DDD and Table 1 queries).
PERSONS_SQL = f"""
CREATE OR REPLACE TEMP TABLE ba_persons AS
WITH idx AS (
    SELECT subject_id AS person_id, min(cohort_start_date) AS index_date
    FROM {COHORT} GROUP BY subject_id
), covered AS (   -- observed over both windows
    SELECT i.* FROM idx i
    WHERE EXISTS (SELECT 1 FROM cdm.observation_period op
                  WHERE op.person_id = i.person_id
                    AND op.observation_period_start_date <= i.index_date - {LOOKBACK}
                    AND op.observation_period_end_date >= i.index_date + {FOLLOWUP - 1})
), collections AS (   -- study-drug dispensings in follow-up, the index one included
    SELECT c.person_id, count(*) AS n
    FROM covered c JOIN cdm.drug_exposure de ON de.person_id = c.person_id
    WHERE de.drug_concept_id IN (SELECT concept_id FROM concept_sets WHERE codelist = '{STUDY_DRUG}')
      AND de.drug_exposure_start_date BETWEEN c.index_date AND c.index_date + {FOLLOWUP - 1}
    GROUP BY c.person_id
)
SELECT person_id, index_date, n AS n_collections,
       CASE WHEN n = 1 THEN '1' WHEN n BETWEEN 2 AND 3 THEN '2-3' WHEN n >= 4 THEN '4+' END AS stratum
FROM covered JOIN collections USING (person_id)
WHERE n >= 1
"""

# Cumulative (micro-)DDD per person and drug group in each window; 0 without dispensings.
DDD_SQL = f"""
WITH who AS (
    SELECT * FROM read_csv('{WHO_DDD_CSV}', header = true, all_varchar = true)
), per_ddd AS (   -- one DDD in the unit of a daily dose, per ATC code and route
    SELECT atc_code, route, 'milligram' AS unit,
           ddd::DOUBLE * CASE unit WHEN 'g' THEN 1000.0 WHEN 'mg' THEN 1.0 ELSE 0.001 END AS per
    FROM who WHERE unit IN ('g', 'mg', 'mcg')
    UNION ALL SELECT atc_code, route, 'million international unit', ddd::DOUBLE FROM who WHERE unit = 'MU'
    UNION ALL SELECT atc_code, route, 'international unit', ddd::DOUBLE * 1e6 FROM who WHERE unit = 'MU'
), units(unit_concept_id, unit, factor) AS (VALUES
    (8576, 'milligram', 1.0), (9655, 'milligram', 0.001), (8504, 'milligram', 1000.0),
    (8718, 'international unit', 1.0), (9439, 'million international unit', 1.0),
    (8587, 'milliliter', 1.0), (8519, 'milliliter', 1000.0), (9551, 'milliequivalent', 1.0)
), members AS (
    SELECT DISTINCT codelist AS drug_group, concept_id FROM concept_sets
    WHERE codelist IN ({_in(DRUG_GROUPS)})
), exposures AS (   -- dispensings of the groups in the windows
    SELECT p.person_id, m.drug_group, de.drug_concept_id, de.quantity,
           de.drug_exposure_start_date - p.index_date AS rel_day,
           CASE WHEN de.days_supply > 0 THEN de.days_supply
                ELSE de.drug_exposure_end_date - de.drug_exposure_start_date + 1 END AS days
    FROM ba_persons p
    JOIN cdm.drug_exposure de ON de.person_id = p.person_id
     AND de.drug_exposure_start_date BETWEEN p.index_date - {LOOKBACK} AND p.index_date + {FOLLOWUP - 1}
    JOIN members m ON m.concept_id = de.drug_concept_id
), ingredient_atc AS (   -- first ATC code of the ingredient with a shipped DDD, else by its name
    SELECT i.concept_id AS ingredient_concept_id,
           coalesce(min(upper(a.concept_code)) FILTER (WHERE upper(a.concept_code) IN (SELECT upper(atc_code) FROM who)),
                    min(w.atc_code)) AS atc_code
    FROM cdm.concept i
    LEFT JOIN cdm.concept_ancestor ca ON ca.descendant_concept_id = i.concept_id
    LEFT JOIN cdm.concept a ON a.concept_id = ca.ancestor_concept_id AND a.vocabulary_id = 'ATC'
    LEFT JOIN who w ON lower(w.ingredient) = lower(i.concept_name)
    WHERE i.concept_id IN (SELECT ingredient_concept_id FROM cdm.drug_strength
                           WHERE drug_concept_id IN (SELECT concept_id FROM members))
    GROUP BY i.concept_id
), dosed AS (   -- daily dose of every ingredient (DrugUtilisation's four patterns)
    SELECT e.person_id, e.drug_group, e.rel_day, e.days, ds.ingredient_concept_id,
           CASE WHEN regexp_matches(lower(c.concept_name),
                     'inject|syringe|infusion|auto-injector|pen injector|cartridge|implant')
                THEN 'P' ELSE 'O' END AS route,
           CASE WHEN ds.amount_value IS NOT NULL AND ds.numerator_value IS NULL THEN ua.unit ELSE un.unit END AS unit,
           CASE WHEN e.quantity IS NULL OR e.quantity <= 0 OR e.days <= 0 OR ds.amount_value * ua.factor <= 0
                  OR ds.numerator_value * un.factor <= 0 OR ds.denominator_value <= 0 THEN NULL
                WHEN ds.amount_value IS NOT NULL AND ds.numerator_value IS NULL   -- fixed amount
                THEN ds.amount_value * ua.factor * e.quantity / e.days
                WHEN ds.numerator_value IS NULL THEN NULL
                WHEN ds.denominator_unit_concept_id = 8505 AND ds.denominator_value IS NOT NULL  -- per n hours
                THEN CASE WHEN ds.denominator_value > 24 THEN ds.numerator_value * un.factor * 24 / ds.denominator_value
                          ELSE ds.numerator_value * un.factor END
                WHEN ds.denominator_unit_concept_id = 8505 THEN ds.numerator_value * un.factor * 24  -- per hour
                WHEN ds.denominator_unit_concept_id IN (8587, 8519, 8576, 9655, 8504, 45744809)   -- concentration
                THEN ds.numerator_value * un.factor * e.quantity / e.days
           END AS daily_dose
    FROM exposures e
    JOIN cdm.drug_strength ds ON ds.drug_concept_id = e.drug_concept_id
    LEFT JOIN cdm.concept c ON c.concept_id = e.drug_concept_id
    LEFT JOIN units ua ON ua.unit_concept_id = ds.amount_unit_concept_id
    LEFT JOIN units un ON un.unit_concept_id = ds.numerator_unit_concept_id
), ddd AS (   -- DDD of each dispensing and ingredient, in whole millionths (exact sums)
    SELECT d.person_id, d.drug_group, d.rel_day,
           coalesce(round(d.daily_dose / w.per * d.days * 1e6)::BIGINT, 0) AS micro_ddd
    FROM dosed d
    LEFT JOIN ingredient_atc ia USING (ingredient_concept_id)
    LEFT JOIN per_ddd w ON w.atc_code = ia.atc_code AND w.route = d.route AND w.unit = d.unit
), sums AS (
    SELECT person_id, drug_group,
           sum(micro_ddd) FILTER (WHERE rel_day < 0) AS before, sum(micro_ddd) FILTER (WHERE rel_day >= 0) AS after
    FROM ddd GROUP BY ALL
)
SELECT g.drug_group, p.stratum, p.person_id,
       coalesce(s.before, 0) / 1e6 AS ddd_before, coalesce(s.after, 0) / 1e6 AS ddd_after
FROM ba_persons p
CROSS JOIN (SELECT unnest([{_in(DRUG_GROUPS)}]) AS drug_group) g
LEFT JOIN sums s ON s.person_id = p.person_id AND s.drug_group = g.drug_group
ORDER BY g.drug_group, p.person_id
"""

# Table 1: one row per person (age at index, sex, prior observation, year of index).
TABLE_ONE_SQL = """
CREATE OR REPLACE TEMP TABLE ba_table_one AS
SELECT p.person_id, p.stratum, p.index_date, op.observation_period_start_date AS obs_start,
       op.observation_period_end_date AS obs_end,
       year(p.index_date) - pe.year_of_birth
         - CASE WHEN month(p.index_date) < coalesce(pe.month_of_birth, 1)
                  OR (month(p.index_date) = coalesce(pe.month_of_birth, 1)
                      AND day(p.index_date) < coalesce(pe.day_of_birth, 1)) THEN 1 ELSE 0 END AS age,
       CASE pe.gender_concept_id WHEN 8532 THEN 'Female' WHEN 8507 THEN 'Male' ELSE 'None' END AS sex,
       p.index_date - op.observation_period_start_date AS prior_observation,
       year(p.index_date) AS year
FROM ba_persons p
LEFT JOIN cdm.person pe ON pe.person_id = p.person_id
LEFT JOIN cdm.observation_period op ON op.person_id = p.person_id
     AND p.index_date BETWEEN op.observation_period_start_date AND op.observation_period_end_date
"""


def _covariates_sql() -> str:
    """Persons per stratum with a record of each covariate concept set in its window (within the
    observation period holding index). The sets are drugs and conditions."""
    windows = ", ".join(f"('{label}', '{cs}', {'NULL' if lo is None else lo}, {'NULL' if hi is None else hi})"
                        for label, sets, lo, hi in COVARIATES for cs in sets)
    return f"""
WITH windows(label, codelist, lo, hi) AS (VALUES {windows}),
records AS (
    SELECT person_id, drug_concept_id AS concept_id, drug_exposure_start_date AS day FROM cdm.drug_exposure
    UNION ALL
    SELECT person_id, condition_concept_id, condition_start_date FROM cdm.condition_occurrence
)
SELECT t.stratum, w.label, w.codelist, count(DISTINCT t.person_id) AS n
FROM ba_table_one t
JOIN records r ON r.person_id = t.person_id AND r.day BETWEEN t.obs_start AND t.obs_end
JOIN concept_sets cs ON cs.concept_id = r.concept_id
JOIN windows w ON w.codelist = cs.codelist
 AND (w.lo IS NULL OR r.day - t.index_date >= w.lo) AND (w.hi IS NULL OR r.day - t.index_date <= w.hi)
GROUP BY ALL
"""


def run(con) -> dict[str, pd.DataFrame]:
    con.execute(PERSONS_SQL)
    persons = con.execute(DDD_SQL).df()
    con.execute(TABLE_ONE_SQL)
    base = con.execute("SELECT * FROM ba_table_one ORDER BY person_id").df()
    covariates = con.execute(_covariates_sql()).df()
    return {"persons": persons, "before_after": before_after_estimates(persons),
            "table_one": table_one_estimates(base, covariates)}


# -- statistics of the before/after tables --------------------------------------------------------


def _log_ratio(b, a):
    """log(mean a / mean b) and its delta-method variance (paired covariance), or None."""
    if len(b) < 2 or b.mean() <= 0 or a.mean() <= 0:
        return None
    cov = np.cov(a, b, ddof=1)
    ma, mb = a.mean(), b.mean()
    var = (cov[0, 0] / ma ** 2 + cov[1, 1] / mb ** 2 - 2 * cov[0, 1] / (ma * mb)) / len(b)
    return math.log(ma / mb), max(var, 0.0)


def _ratio_ci(found):
    if found is None:
        return None, None, None
    log, var = found
    half = stats.norm.ppf(0.5 + LEVEL / 2) * math.sqrt(var)
    return math.exp(log), math.exp(log - half), math.exp(log + half)


def _sd(x):
    return float(np.std(x, ddof=1)) if len(x) > 1 else None


def _mean(x):
    return float(x.mean()) if len(x) else None


def before_after_estimates(persons: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for group in DRUG_GROUPS:
        g = persons[persons.drug_group == group]
        data = {s: (g.ddd_before[g.stratum == s].to_numpy(float), g.ddd_after[g.stratum == s].to_numpy(float))
                for s in STRATA}
        ref_b, ref_a = data[REFERENCE]
        ref_d = ref_a - ref_b

        def add(stratum, variable, level, group=group, **estimates):
            rows.extend((group, stratum, variable, level, k, v) for k, v in estimates.items())

        for s, (b, a) in data.items():
            n, d = len(b), a - b
            lower = upper = None
            if n > 1:  # paired t interval
                half = stats.t.ppf(0.5 + LEVEL / 2, n - 1) * _sd(d) / math.sqrt(n)
                lower, upper = d.mean() - half, d.mean() + half
            add(s, "number subjects", None, count=n)
            add(s, "users", "before", count=int((b > 0).sum()))
            add(s, "users", "after", count=int((a > 0).sum()))
            add(s, "cumulative DDD per person", "before", mean=_mean(b), sd=_sd(b))
            add(s, "cumulative DDD per person", "after", mean=_mean(a), sd=_sd(a))
            add(s, "change in DDD per person", None, mean=_mean(d), mean_95CI_lower=lower, mean_95CI_upper=upper)
            ratio = _ratio_ci(_log_ratio(b, a))
            add(s, "relative change", None, **dict(zip(("ratio", "ratio_95CI_lower", "ratio_95CI_upper"), ratio)))
            if s != REFERENCE:
                did = (None, None, None)
                if n and len(ref_d):  # Welch interval: independent strata, unequal variances
                    est = d.mean() - ref_d.mean()
                    did = (est, None, None)
                    if n > 1 and len(ref_d) > 1:
                        vx, vy = d.var(ddof=1) / n, ref_d.var(ddof=1) / len(ref_d)
                        se2 = vx + vy
                        if se2 == 0:
                            did = (est, est, est)
                        else:
                            df = se2 ** 2 / (vx ** 2 / (n - 1) + vy ** 2 / (len(ref_d) - 1))
                            half = stats.t.ppf(0.5 + LEVEL / 2, df) * math.sqrt(se2)
                            did = (est, est - half, est + half)
                add(s, "difference in differences", None,
                    **dict(zip(("mean", "mean_95CI_lower", "mean_95CI_upper"), did)))
                mine, ref = _log_ratio(b, a), _log_ratio(ref_b, ref_a)
                rel = _ratio_ci(None if mine is None or ref is None else (mine[0] - ref[0], mine[1] + ref[1]))
                add(s, "relative difference in differences", None,
                    **dict(zip(("ratio", "ratio_95CI_lower", "ratio_95CI_upper"), rel)))
            both = (b > 0) & (a > 0)
            rel_change = np.divide(a - b, b, out=np.zeros_like(b), where=b > 0) * 100
            for level, mask in (("stopped", (b > 0) & (a == 0)), ("reduced", both & (rel_change < -THRESHOLD)),
                                ("kept", both & (rel_change >= -THRESHOLD) & (rel_change <= THRESHOLD)),
                                ("increased", both & (rel_change > THRESHOLD)), ("started", (b == 0) & (a > 0))):
                add(s, "users by change", level, count=int(mask.sum()))
    return pd.DataFrame(rows, columns=["group", "stratum", "variable", "level", "estimate", "value"], dtype=object)


# -- Table 1 -------------------------------------------------------------------------------------


def _summary(x: np.ndarray) -> dict:
    if not len(x):
        return dict.fromkeys(("mean", "sd", "median", "q25", "q75"))
    q25, median, q75 = np.quantile(x, [0.25, 0.5, 0.75])  # R type 7
    return {"mean": float(x.mean()), "sd": _sd(x), "median": float(median), "q25": float(q25), "q75": float(q75)}


def _smd_binary(p1, p2):
    if p1 is None or p2 is None:
        return None
    pooled = (p1 * (1 - p1) + p2 * (1 - p2)) / 2
    return (0.0 if p1 == p2 else None) if pooled <= 0 else (p1 - p2) / math.sqrt(pooled)


def _smd_continuous(m1, s1, m2, s2):
    if None in (m1, s1, m2, s2):
        return None
    pooled = (s1 ** 2 + s2 ** 2) / 2
    return (0.0 if m1 == m2 else None) if pooled <= 0 else (m1 - m2) / math.sqrt(pooled)


def table_one_estimates(base: pd.DataFrame, covariates: pd.DataFrame) -> pd.DataFrame:
    base = base.copy()
    base["age_group"] = "other"
    for lo, hi, label in AGE_GROUPS:
        base.loc[(base.age >= lo) & ((base.age <= hi) if hi is not None else True), "age_group"] = label
    base["year"] = base.year.astype(str)
    flags = {(r.stratum, r.label, r.codelist): int(r.n) for r in covariates.itertuples()}
    categorical = []
    for variable, column, order in (("Age group", "age_group", [g[2] for g in AGE_GROUPS]),
                                    ("Sex", "sex", ["Female", "Male"]), ("Year of index", "year", [])):
        present = sorted(set(base[column].astype(str)))
        categorical.append((variable, column, order + [v for v in present if v not in order]))
    cells = {}  # stratum -> {(variable, level): {estimate: value}}
    for s in STRATA:
        t = base[base.stratum == s]
        n = len(t)

        def pct(k, n=n):
            return 100.0 * k / n if n else None

        c = {("Number subjects", None): {"count": n},
             ("Age", None): _summary(t.age.dropna().to_numpy(float)),
             ("Prior observation", None): _summary(t.prior_observation.dropna().to_numpy(float))}
        for variable, column, levels in categorical:
            for level in levels:
                k = int((t[column].astype(str) == level).sum())
                c[(variable, level)] = {"count": k, "percentage": pct(k)}
        for label, sets, _, _ in COVARIATES:
            for cs in sets:
                k = flags.get((s, label, cs), 0)
                c[(label, cs)] = {"count": k, "percentage": pct(k)}
        cells[s] = c
    ref = cells[REFERENCE]
    for s, c in cells.items():
        if s == REFERENCE:
            continue
        for (variable, level), est in c.items():
            other = ref[(variable, level)]
            if variable in ("Age", "Prior observation"):
                est["smd"] = _smd_continuous(est["mean"], est["sd"], other["mean"], other["sd"])
            elif variable != "Number subjects":
                p1, p2 = est["percentage"], other["percentage"]
                est["smd"] = _smd_binary(None if p1 is None else p1 / 100, None if p2 is None else p2 / 100)
    rows = [(s, variable, level, k, v) for s, c in cells.items() for (variable, level), est in c.items()
            for k, v in est.items()]
    return pd.DataFrame(rows, columns=["stratum", "variable", "level", "estimate", "value"], dtype=object)


# -- comparison with offlabel's results.csv --------------------------------------------------------


def _result_id(results: pd.DataFrame, result_type: str, **settings) -> str | None:
    s = results[results.variable_name == "settings"]
    ids = set(s.result_id[(s.estimate_name == "result_type") & (s.estimate_value == result_type)])
    for k, v in settings.items():
        ids &= set(s.result_id[(s.estimate_name == k) & (s.estimate_value == v)])
    return ids.pop() if len(ids) == 1 else None


def _same(mine, theirs: str, integer: bool) -> bool:
    if theirs in ("NA", ""):
        return mine is None or (isinstance(mine, float) and math.isnan(mine))
    if mine is None or (isinstance(mine, float) and math.isnan(mine)):
        return False
    if integer:
        return int(mine) == int(theirs) and float(mine) == int(mine)
    return math.isclose(float(mine), float(theirs), rel_tol=1e-9, abs_tol=1e-12)


def _compare(name, mine: dict, rows: pd.DataFrame, problems: list) -> int:
    compared, seen = 0, set()
    for r in rows.itertuples():
        key = r.key
        seen.add(key)
        if r.estimate_value == "-":
            continue
        if key not in mine:
            problems.append(f"{name}: row not compared (no such estimate here): {key} = {r.estimate_value}")
            continue
        compared += 1
        if not _same(mine[key], r.estimate_value, r.estimate_type == "integer"):
            problems.append(f"{name}: {key}: offlabel {r.estimate_value}, here {mine[key]}")
    problems += [f"{name}: estimate missing from results.csv: {k} = {mine[k]}" for k in mine if k not in seen]
    return compared


def check(out, results) -> list[str]:
    problems = []
    ba_id = _result_id(results, "summarise_before_after", cohort="ldn_ms_2013")
    t1_id = _result_id(results, "summarise_characteristics", cohort="ldn_ms_2013", strata="collection_stratum")
    if ba_id is None or t1_id is None:
        return [f"results.csv: before_after result ids not found (before/after {ba_id}, Table 1 {t1_id})"]

    def level(v):
        return "NA" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)

    rows = results[(results.result_id == ba_id) & (results.variable_name != "settings")].copy()
    rows["key"] = list(zip(rows.group_level, rows.strata_level, rows.variable_name, rows.variable_level,
                           rows.estimate_name))
    mine = {(r.group, r.stratum, r.variable, level(r.level), r.estimate): r.value
            for r in out["before_after"].itertuples()}
    n_ba = _compare("before/after", mine, rows, problems)

    rows = results[(results.result_id == t1_id) & (results.variable_name != "settings")].copy()
    bad = rows[rows.group_level != "ldn_ms_2013"]
    problems += [f"Table 1: row of another cohort {r.group_level} not compared" for r in bad.itertuples()]
    rows["key"] = list(zip(rows.strata_level, rows.variable_name, rows.variable_level, rows.estimate_name))
    mine = {(r.stratum, r.variable, level(r.level), r.estimate): r.value for r in out["table_one"].itertuples()}
    n_t1 = _compare("Table 1", mine, rows, problems)
    print(f"before_after: compared {n_ba} before/after and {n_t1} Table 1 estimates")
    return problems
