"""What the CDM holds, by hand in SQL: offlabel's `cdm_snapshot` analysis (OmopSketch's snapshot).

Persons in PERSON; persons with observation, observation periods, the first start and last end of
observation and the person-years of observation (days of every period, both ends included, / 365.25)
from OBSERVATION_PERIOD; the CDM version (5.x of cdm_source.cdm_version, else 5.4 when an
EPISODE table exists, else 5.3) and the provenance fields of CDM_SOURCE.
"""

from __future__ import annotations

import math

import pandas as pd

OBSERVATION = """
SELECT (SELECT count(*) FROM cdm.person) AS persons,
       count(DISTINCT person_id) AS persons_observed,
       count(*) AS periods,
       min(observation_period_start_date) AS first_start,
       max(observation_period_end_date) AS last_end,
       sum(date_diff('day', observation_period_start_date, observation_period_end_date) + 1) / 365.25
           AS person_years
FROM cdm.observation_period
"""

SOURCE = """
SELECT coalesce(cdm_source_abbreviation, cdm_source_name) AS cdm_name,
       coalesce(nullif(regexp_extract(cdm_version, '5\\.\\d'), ''),
                CASE WHEN EXISTS (SELECT 1 FROM duckdb_tables() WHERE database_name = 'cdm'
                                  AND table_name IN ('episode', 'episode_event')) THEN '5.4' ELSE '5.3' END)
           AS version,
       cdm_source_name::VARCHAR AS cdm_source_name, cdm_holder::VARCHAR AS cdm_holder,
       source_release_date::VARCHAR AS source_release_date, cdm_release_date::VARCHAR AS cdm_release_date,
       vocabulary_version::VARCHAR AS vocabulary_version
FROM cdm.cdm_source LIMIT 1
"""

SOURCE_FIELDS = ("cdm_source_name", "cdm_holder", "source_release_date", "cdm_release_date", "vocabulary_version")


def run(con) -> dict[str, pd.DataFrame]:
    o = con.execute(OBSERVATION).df().iloc[0]
    s = con.execute(SOURCE).df().iloc[0]
    rows = [
        ("Number of persons", None, "count", int(o.persons)),
        ("Number of persons with observation", None, "count", int(o.persons_observed)),
        ("Number of observation periods", None, "count", int(o.periods)),
        ("Observation period", "start", "min", str(o.first_start.date())),
        ("Observation period", "end", "max", str(o.last_end.date())),
        ("Person-years of observation", None, "sum", float(o.person_years)),  # offlabel prints it to 1 decimal
        ("CDM", "version", "value", s.version),
    ] + [("CDM source", f, "value", s[f]) for f in SOURCE_FIELDS if s[f] is not None]
    snapshot = pd.DataFrame(rows, columns=["variable_name", "variable_level", "estimate_name", "estimate"])
    snapshot["cdm_name"] = s.cdm_name
    return {"snapshot": snapshot}


def check(out, results) -> list[str]:
    ids = results.loc[(results.variable_name == "settings") & (results.estimate_name == "result_type")
                      & (results.estimate_value == "summarise_omop_snapshot"), "result_id"]
    rows = results[results.result_id.isin(ids) & (results.variable_name != "settings")]
    mine = out["snapshot"]
    problems, compared = [], set()
    for r in rows.itertuples():
        level = None if r.variable_level in ("", "NA") else r.variable_level
        hit = mine[(mine.variable_name == r.variable_name) & (mine.estimate_name == r.estimate_name)
                   & (mine.variable_level.fillna("NA") == (level or "NA"))]
        key = (r.variable_name, level, r.estimate_name)
        if len(hit) != 1:
            problems.append(f"row not compared: {key}")
            continue
        compared.add(hit.index[0])
        if r.cdm_name != hit.cdm_name.iloc[0]:
            problems.append(f"{key}: cdm_name mine {hit.cdm_name.iloc[0]}, offlabel {r.cdm_name}")
        if r.estimate_value in ("-", "", "NA"):
            continue
        value = hit.estimate.iloc[0]
        if r.estimate_type == "numeric":
            # offlabel rounds to the digits it prints: mine must lie within half the last digit.
            decimals = len(r.estimate_value.split(".")[1]) if "." in r.estimate_value else 0
            ok = math.isclose(value, float(r.estimate_value), rel_tol=1e-9, abs_tol=0.5 * 10 ** -decimals)
        else:
            ok = str(value) == r.estimate_value
        if not ok:
            problems.append(f"{key}: mine {value}, offlabel {r.estimate_value}")
    for i in sorted(set(mine.index) - compared):
        problems.append(f"estimate of mine not in results.csv: {tuple(mine.loc[i, ['variable_name', 'variable_level']])}")
    return problems
