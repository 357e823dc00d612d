"""Drug utilisation sections: new users over calendar time."""

from __future__ import annotations

from collections import defaultdict

from offlabel.report import figures
from offlabel.report.sections.base import Section
from offlabel.results import SummarisedResult
from offlabel.results.estimate_values import SUPPRESSED


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


SECTIONS = {"incidence": Section("New users over calendar time", _incidence)}
