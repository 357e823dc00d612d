"""Sections for what the CDM holds, how codes are used, and cohort attrition."""

from __future__ import annotations

from collections import defaultdict

from offlabel.report import figures
from offlabel.report.sections.base import Section
from offlabel.results import SummarisedResult
from offlabel.results.estimate_values import SUPPRESSED


def _snapshot(part: SummarisedResult, fmt) -> dict:
    rows = [[r.variable_name, r.variable_level or "", fmt(r.estimate_value)] for r in part.rows]
    return {"tables": [{"caption": "What the CDM holds", "header": ["", "", "value"], "rows": rows}]}


def _code_use(part: SummarisedResult, fmt) -> dict:
    overall = [r for r in part.rows if r.variable_name == "overall" and r.strata_name == "overall"]
    by_set: dict[str, dict] = defaultdict(dict)
    for r in overall:
        by_set[r.group_level][r.estimate_name] = r.estimate_value
    tables = [{
        "caption": "Records and persons per concept set",
        "header": ["concept set", "records", "persons"],
        "rows": [[name, fmt(v.get("record_count")), fmt(v.get("person_count"))] for name, v in sorted(by_set.items())],
    }]
    concept_rows: dict[tuple, dict] = defaultdict(dict)
    for r in part.rows:
        if r.variable_name != "overall" and r.strata_name == "overall":
            concept_rows[(r.group_level, r.variable_name, r.variable_level, r.additional_level)][r.estimate_name] = \
                r.estimate_value
    if concept_rows:
        tables.append({
            "caption": "Records and persons per standard concept",
            "header": ["concept set", "concept", "concept id", "domain", "records", "persons"],
            "rows": [[*key, fmt(v.get("record_count")), fmt(v.get("person_count"))]
                     for key, v in sorted(concept_rows.items(), key=lambda kv: tuple(map(str, kv[0])))],
        })
    series: dict[str, list] = defaultdict(list)
    for r in part.rows:
        if r.variable_name == "overall" and r.strata_name == "year" and r.estimate_name == "record_count":
            value = None if r.estimate_value is SUPPRESSED else r.estimate_value
            series[r.group_level].append((int(r.strata_level), value))
    figs = []
    if series:
        figs.append({"caption": "Records per calendar year (suppressed years are gaps)",
                     "svg": figures.calendar_trend({k: sorted(v) for k, v in series.items()},
                                                   "records", "Records per year")})
    return {"tables": tables, "figures": figs}


def _attrition(part: SummarisedResult, fmt) -> dict:
    steps: dict[tuple, dict] = defaultdict(dict)
    for r in part.rows:
        steps[(r.group_level, int(r.additional_level), r.strata_level)][r.variable_name] = r.estimate_value
    tables = []
    for cohort in sorted({c for c, _, _ in steps}):
        tables.append({
            "caption": f"Attrition of the cohort '{cohort}'",
            "header": ["step", "reason", "records", "persons", "records removed", "persons removed"],
            "rows": [[str(i), reason, fmt(v.get("number_records")), fmt(v.get("number_subjects")),
                      fmt(v.get("excluded_records")), fmt(v.get("excluded_subjects"))]
                     for (c, i, reason), v in sorted(steps.items()) if c == cohort],
        })
    return {"tables": tables}


SECTIONS = {
    "summarise_omop_snapshot": Section("What the CDM holds", _snapshot),
    "summarise_code_use": Section("Code use", _code_use),
    "summarise_cohort_attrition": Section("Cohort attrition", _attrition),
}
