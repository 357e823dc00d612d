"""Render a SummarisedResult as one self-contained HTML page (no network needed to view it).

Each result_type has a section renderer; a result type without one is shown as a table.
The page is a function of the results and the study only: same results, same bytes.
"""

from __future__ import annotations

from collections import defaultdict
from importlib import resources

import jinja2

import offlabel
from offlabel.report import figures
from offlabel.results import SummarisedResult
from offlabel.results.estimate_values import SUPPRESSED

_env = jinja2.Environment(
    loader=jinja2.FunctionLoader(lambda name: (resources.files("offlabel.report") / "templates" / name).read_text()),
    autoescape=True, trim_blocks=True, lstrip_blocks=True,
)


def render_report(result: SummarisedResult, study) -> str:
    threshold = _threshold(result)
    sections = []
    for rid in result.result_ids:
        settings = result.settings_for(rid)
        # One analysis's rows with only its own settings (filter() keeps every result's settings).
        part = SummarisedResult(result.filter(result_id=rid).rows, {rid: settings})
        renderer = SECTIONS.get(settings.get("result_type"), _generic)
        sections.append({"title": _title(settings), "settings": settings,
                         **renderer(part, lambda v: _fmt(v, threshold))})
    return _env.get_template("report.html.j2").render(
        study=study, sections=sections, min_cell_count=threshold,
        cdm_names=sorted({r.cdm_name for r in result.rows}),
        version=offlabel.__version__,
    )


def _threshold(result) -> int:
    values = {int(result.settings_for(rid).get("min_cell_count") or 0) for rid in result.result_ids}
    return max(values) if values else 0


_TITLES = {"summarise_omop_snapshot": "What the CDM holds", "summarise_code_use": "Code use",
           "summarise_cohort_attrition": "Cohort attrition", "incidence": "New users over calendar time",
           "summarise_before_after": "Before/after dispensing (difference in differences)"}


def _title(settings) -> str:
    kind = settings.get("result_type", "result")
    title = _TITLES.get(kind) or kind.removeprefix("summarise_").replace("_", " ").capitalize()
    return f"{title} ({settings.get('analysis_id', '')})"


def _fmt(value, threshold: int) -> str:
    if value is SUPPRESSED:
        return f"<{threshold}"
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


# -- sections --------------------------------------------------------------------------------


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


def _before_after(part: SummarisedResult, fmt) -> dict:
    values: dict[tuple, dict] = defaultdict(dict)
    groups, strata = [], []
    for r in part.rows:
        values[(r.group_level, r.strata_level, r.variable_name, r.variable_level)][r.estimate_name] = r.estimate_value
        groups += [r.group_level] if r.group_level not in groups else []
        strata += [r.strata_level] if r.strata_level not in strata else []

    def get(g, s, variable, level, estimate):
        return values.get((g, s, variable, level), {}).get(estimate)

    def ci(g, s, variable, name):
        est = get(g, s, variable, None, name)
        if est is None or est is SUPPRESSED:
            return fmt(est)
        return f"{fmt(est)} ({fmt(get(g, s, variable, None, name + '_95CI_lower'))} to " \
               f"{fmt(get(g, s, variable, None, name + '_95CI_upper'))})"

    settings = part.settings_for(part.result_ids[0]) if part.result_ids else {}
    before, after = settings.get("lookback_days", "?"), settings.get("followup_days", "?")
    reference = settings.get("reference_stratum", "reference")
    tables, forest = [], []
    header = ["collection stratum", "persons", "users before", "users after", "mean DDD before", "mean DDD after",
              "change in DDD (95% CI)", "difference in differences (95% CI)", "ratio of ratios (95% CI)",
              "stopped", "reduced", "kept", "increased", "started"]
    for g in groups:
        rows = []
        for s in strata:
            rows.append([s, fmt(get(g, s, "number subjects", None, "count")),
                         fmt(get(g, s, "users", "before", "count")), fmt(get(g, s, "users", "after", "count")),
                         fmt(get(g, s, "cumulative DDD per person", "before", "mean")),
                         fmt(get(g, s, "cumulative DDD per person", "after", "mean")),
                         ci(g, s, "change in DDD per person", "mean"),
                         ci(g, s, "difference in differences", "mean"),
                         ci(g, s, "relative difference in differences", "ratio"),
                         *[fmt(get(g, s, "users by change", c, "count"))
                           for c in ("stopped", "reduced", "kept", "increased", "started")]])
            if (g, s, "relative difference in differences", None) in values:
                est = [get(g, s, "relative difference in differences", None, k)
                       for k in ("ratio", "ratio_95CI_lower", "ratio_95CI_upper")]
                forest.append((f"{g}: {s}", *[v if isinstance(v, float) else None for v in est]))
        tables.append({"caption": f"{g}: cumulative DDD per person in the {before} days before and the {after} "
                                  "days from index, by collections of the study drug in follow-up; differences in "
                                  f"differences against the '{reference}' stratum", "header": header, "rows": rows})
    figs = []
    if forest:
        figs.append({"caption": "Ratio of ratios (mean DDD after / before in a stratum, over the same in the "
                                "reference stratum) with 95% CI; 1 = no change beyond the reference stratum's",
                     "svg": figures.forest(forest, "ratio of ratios (log scale)", "Difference in differences")})
    return {"tables": tables, "figures": figs}


def _incidence(part: SummarisedResult, fmt) -> dict:
    """The monthly trend as a line (suppressed months are gaps), the yearly numbers as a table."""
    series: dict[str, list] = defaultdict(list)
    yearly = []
    for r in part.rows:
        if r.variable_name != "Outcome" or r.strata_name != "overall":
            continue
        start, _, interval = r.additional_level.split(" &&& ")
        if r.estimate_name == "incidence_100000_pys" and interval == "months":
            value = None if r.estimate_value in (None, SUPPRESSED) else r.estimate_value
            year, month = int(start[:4]), int(start[5:7])
            series[r.group_level.split(" &&& ")[-1]].append((year + (month - 1) / 12, value))
    by_year: dict[str, dict] = defaultdict(dict)
    for r in part.rows:
        start, _, interval = r.additional_level.split(" &&& ")
        if interval == "years" and r.strata_name == "overall":
            by_year[start[:4]][r.estimate_name] = r.estimate_value
    for year, v in sorted(by_year.items()):
        ci = (f"{fmt(v.get('incidence_100000_pys'))} ({fmt(v.get('incidence_100000_pys_95CI_lower'))} to "
              f"{fmt(v.get('incidence_100000_pys_95CI_upper'))})")
        yearly.append([year, fmt(v.get("denominator_count")), fmt(v.get("person_years")),
                       fmt(v.get("outcome_count")), ci])
    figs = []
    if series:
        figs.append({"caption": "New users per 100,000 person-years, by calendar month (suppressed months are gaps)",
                     "svg": figures.calendar_trend({k: sorted(v) for k, v in series.items()},
                                                   "per 100,000 person-years", "New users by month")})
    tables = [{"caption": "New users by calendar year (exact Poisson 95% CI)",
               "header": ["year", "persons", "person-years", "new users", "per 100,000 person-years (95% CI)"],
               "rows": yearly}] if yearly else []
    return {"tables": tables, "figures": figs}


def _generic(part: SummarisedResult, fmt) -> dict:
    frame = part.tidy()
    return {"tables": [{"caption": "", "header": list(frame.columns),
                        "rows": [[fmt(v) for v in row] for row in frame.itertuples(index=False)]}]}


SECTIONS = {
    "summarise_omop_snapshot": _snapshot,
    "summarise_code_use": _code_use,
    "summarise_cohort_attrition": _attrition,
    "incidence": _incidence,
    "summarise_before_after": _before_after,
}
