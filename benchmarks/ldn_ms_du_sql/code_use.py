"""Code use of the study's concept sets (analysis `code_use`), by hand.

Reproduces offlabel's `code_use` analysis (analyses/code_use.py, as CodelistGenerator's
summariseCodeUse()): every record of a set's concepts in every event table of cdm/domains.py
EVENT_TABLES (condition_occurrence, drug_exposure, procedure_occurrence, measurement, observation,
device_exposure, visit_occurrence; matched on the standard concept column, dated by the start date);
a record of a concept in two sets counts in both. Per concept set: records and distinct persons,
overall and per concept (with the domain of the table it was found in, and the concept's name),
each overall and by calendar year of the record's start. One GROUPING SETS query.
"""

from __future__ import annotations

import pandas as pd

from ldn_ms_du_sql.incidence import _result_id

CONCEPT_SETS = ("naltrexone", "low_dose_naltrexone", "multiple_sclerosis", "disease_modifying_drugs", "opioids",
                "gabapentinoids", "other_analgesics", "antidepressants", "antispastics", "hypnotics", "fampridine",
                "modafinil")

# domain label, table, concept column, date column (offlabel.cdm.domains.EVENT_TABLES)
EVENT_TABLES = (
    ("Condition", "condition_occurrence", "condition_concept_id", "condition_start_date"),
    ("Drug", "drug_exposure", "drug_concept_id", "drug_exposure_start_date"),
    ("Procedure", "procedure_occurrence", "procedure_concept_id", "procedure_date"),
    ("Measurement", "measurement", "measurement_concept_id", "measurement_date"),
    ("Observation", "observation", "observation_concept_id", "observation_date"),
    ("Device", "device_exposure", "device_concept_id", "device_exposure_start_date"),
    ("Visit", "visit_occurrence", "visit_concept_id", "visit_start_date"),
)

# Sets and domains are numbered and grouped by number, not by name: DuckDB's distinct counts are
# about 40% faster on a small integer key than on a string (offlabel's code_use does the same).
_RECORDS = "\n    UNION ALL\n".join(
    f"    SELECT s.set_id, t.person_id, t.{concept} AS concept_id, {k} AS domain_no, year(t.{date}) AS year\n"
    f"    FROM cdm.{table} t JOIN sets s ON s.concept_id = t.{concept}"
    for k, (domain, table, concept, date) in enumerate(EVENT_TABLES))

_DOMAINS = " UNION ALL ".join(f"SELECT {k} AS domain_no, '{d}' AS domain_id" for k, (d, *_) in enumerate(EVENT_TABLES))

_SETS = ", ".join(f"'{s}'" for s in CONCEPT_SETS)

CODE_USE_SQL = f"""
WITH names AS (
    SELECT codelist, row_number() OVER (ORDER BY codelist) AS set_id
    FROM (SELECT DISTINCT codelist FROM concept_sets WHERE codelist IN ({_SETS}))
),
sets AS (
    SELECT n.set_id, c.concept_id FROM concept_sets c JOIN names n USING (codelist)
),
domains AS ({_DOMAINS}),
records AS (
{_RECORDS}
),
counts AS (
    SELECT set_id, concept_id, domain_no, year,
           grouping(concept_id) = 1 AS all_concepts, grouping(year) = 1 AS all_years,
           count(*) AS record_count, count(DISTINCT person_id) AS person_count
    FROM records
    GROUP BY GROUPING SETS ((set_id), (set_id, year), (set_id, concept_id, domain_no),
                            (set_id, concept_id, domain_no, year))
)
SELECT n.codelist, c.all_concepts, c.all_years, c.concept_id, cn.concept_name, d.domain_id, c.year,
       c.record_count, c.person_count
FROM counts c JOIN names n USING (set_id) LEFT JOIN domains d USING (domain_no)
LEFT JOIN cdm.concept cn ON cn.concept_id = c.concept_id
ORDER BY n.codelist, c.all_concepts DESC, c.concept_id, c.all_years DESC, c.year
"""


def run(con) -> dict[str, pd.DataFrame]:
    return {"code_use": con.execute(CODE_USE_SQL).df()}


def check(out, results) -> list[str]:
    mine = {}  # (codelist, year, concept_id, domain, estimate) -> (variable_name, value)
    for r in out["code_use"].itertuples(index=False):
        year = "overall" if r.all_years else str(int(r.year))
        if r.all_concepts:
            concept, domain, name = "NA", "overall", "overall"
        else:
            concept, domain = str(int(r.concept_id)), r.domain_id
            name = r.concept_name if isinstance(r.concept_name, str) else concept
        for estimate in ("record_count", "person_count"):
            mine[(r.codelist, year, concept, domain, estimate)] = (name, int(getattr(r, estimate)))
    rid = _result_id(results, "code_use")
    ref = results[(results.result_id == rid) & (results.variable_name != "settings")]
    problems, seen = [], set()
    for r in ref.itertuples(index=False):
        key = (r.group_level, r.strata_level, r.variable_level or "NA", r.additional_level, r.estimate_name)
        seen.add(key)
        where = "code use " + " / ".join(key)
        if key not in mine:
            problems.append(f"{where}: row of results.csv not compared (not in mine)")
            continue
        name, value = mine[key]
        if name != r.variable_name:
            problems.append(f"{where}: variable_name mine {name!r}, offlabel {r.variable_name!r}")
        if r.estimate_value != "-" and value != int(r.estimate_value):
            problems.append(f"{where}: mine {value}, offlabel {r.estimate_value}")
    problems += [f"code use {' / '.join(k)}: mine {v[1]}, missing from results.csv"
                 for k, v in mine.items() if k not in seen]
    return problems
