"""Prevalence of drug use by calendar month and year, as IncidencePrevalence's
`estimatePeriodPrevalence()` / `estimatePointPrevalence()`.

Period prevalence: of the persons in the denominator on any day of the period, the share
who use the drug (an outcome cohort entry) on any day of it while in the denominator.
Point prevalence: the same on the period's first day. Persons in the denominator are
counted from day-level totals of their (merged) intervals, users by a range join of their
use with the periods; both exactly, in the database;
the interval is exact binomial (Clopper-Pearson) by default, or Wilson (IncidencePrevalence's).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis.expr.types as ir

from offlabel.drug_utilisation._common import (
    base_settings, check_arguments, denominator_in_window, strata_levels, temp_table, with_sex,
)
from offlabel.drug_utilisation._intervals import cohort_days, day_totals, intersect, persons_per_period, to_date
from offlabel.drug_utilisation._periods import calendar_periods
from offlabel.errors import SpecError
from offlabel.results import SummarisedResult, result_rows
from offlabel.stats.binomial import clopper_pearson_ci, wilson_ci

_CI = {"exact": clopper_pearson_ci, "wilson": wilson_ci}


def summarise_prevalence(cdm, outcome: ir.Table, *, outcome_name: str = "outcome",
                         outcome_cohort_id: int | None = None, denominator: ir.Table | None = None,
                         denominator_name: str | None = None, denominator_cohort_id: int | None = None,
                         type: str = "period", interval: str | Sequence[str] = ("months", "years"),
                         start_date=None, end_date=None, complete_intervals: bool = True,
                         ci_method: str = "exact", by_sex: bool = False, level: float = 0.95) -> SummarisedResult:
    """Prevalence of use per calendar period.

    type: "period" or "point" (on each period's first day).
    Other arguments as `summarise_incidence`. ci_method: "exact" or "wilson".
    by_sex: add rows stratified by sex (strata "sex") to the overall ones.

    Returns result_type "prevalence": per period (additional prevalence_start_date &&&
    prevalence_end_date &&& analysis_interval), variable "Denominator" with
    denominator_count, variable "Outcome" with outcome_count, prevalence,
    prevalence_95CI_lower and prevalence_95CI_upper (proportions).
    """
    if type not in ("period", "point"):
        raise SpecError(f"type must be 'period' or 'point', got {type!r}")
    if ci_method not in _CI:
        raise SpecError(f"ci_method must be one of {sorted(_CI)}, got {ci_method!r}")
    intervals = check_arguments(interval, level)
    den, start, end = denominator_in_window(cdm, denominator, denominator_cohort_id, start_date, end_date)
    n_days = end - start + 1
    all_periods = {name: calendar_periods(start, end, name, complete_intervals) for name in intervals}
    if by_sex:
        den = with_sex(cdm, den)
    counts = []  # (strata, {interval: (denominators, cases)})
    with temp_table(cdm, den) as den_t:
        # use while in the denominator; overlaps within a person do not matter to a distinct count
        use = intersect(cohort_days(outcome, outcome_cohort_id, what="outcome cohort"), den_t)
        if by_sex:
            use = with_sex(cdm, use)
        with temp_table(cdm, use) as use_t:
            for strata, sex in strata_levels(by_sex):
                d = den_t if sex is None else den_t.filter(den_t.sex == sex)
                u = use_t if sex is None else use_t.filter(use_t.sex == sex)
                totals = day_totals(d, start, n_days)
                by_interval = {}
                for name, periods in all_periods.items():
                    dens = [totals.persons(p) if type == "period" else totals.active_on(p.start) for p in periods]
                    by_interval[name] = (dens, persons_per_period(u, periods, point=type == "point"))
                counts.append((strata, by_interval))
    den_name = denominator_name or ("observed population" if denominator is None else "denominator")
    group = {"denominator_cohort_name": den_name, "outcome_cohort_name": outcome_name}
    rows = []
    for name in intervals:
        periods = all_periods[name]
        if not periods:
            continue
        for strata, by_interval in counts:
            dens, cases = by_interval[name]
            rows += _rows(cdm, group, strata, name, periods, dens, cases, type, _CI[ci_method], level)
    settings = base_settings("prevalence", analysis_type=f"{type} prevalence",
                             analysis_complete_database_intervals=complete_intervals, analysis_ci_method=ci_method,
                             analysis_level=level, denominator_start_date=to_date(start).isoformat(),
                             denominator_end_date=to_date(end).isoformat())
    return SummarisedResult.from_rows(rows, settings={1: settings})


def _rows(cdm, group, strata, name, periods, dens, cases, type, ci, level) -> list:
    lower, upper = ci(cases, dens, level)
    rows = []
    for i, p in enumerate(periods):
        additional = {"prevalence_start_date": p.start_date.isoformat(),
                      "prevalence_end_date": (p.end_date if type == "period" else p.start_date).isoformat(),
                      "analysis_interval": name}
        rows += result_rows(cdm_name=cdm.name, group=group, strata=strata, additional=additional,
                            variable_name="Denominator", estimates={"denominator_count": dens[i]})
        rows += result_rows(
            cdm_name=cdm.name, group=group, strata=strata, additional=additional, variable_name="Outcome",
            estimates={"outcome_count": cases[i],
                       "prevalence": cases[i] / dens[i] if dens[i] else None,
                       "prevalence_95CI_lower": None if dens[i] == 0 else float(lower[i]),
                       "prevalence_95CI_upper": None if dens[i] == 0 else float(upper[i])},
            estimate_types={"prevalence": "numeric", "prevalence_95CI_lower": "numeric",
                            "prevalence_95CI_upper": "numeric"})
    return rows
