"""Incidence of drug use (new users) by calendar month and year, as IncidencePrevalence's
`estimateIncidence()`.

A person is at risk while in the denominator (observation, or a population cohort) and
not using the drug nor within `washout_days` after their last use; a new use (an outcome
cohort entry after at least `washout_days` without use; with washout None, the first use
ever) is an event on its start day, which counts as a day at risk. Without repeated
events a person stops contributing at their first event. Person-time, persons and
events are counted per calendar period exactly (integers, in the database); the rate per
100,000 person-years (365.25 days) has an exact Poisson (Garwood) interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from offlabel.drug_utilisation._common import (
    base_settings, check_arguments, denominator_in_window, strata_levels, temp_table, washout, with_sex,
)
from offlabel.drug_utilisation._intervals import NEG_INF, POS_INF, cohort_days, day_totals, merge
from offlabel.drug_utilisation._periods import calendar_periods
from offlabel.results import SummarisedResult, result_rows
from offlabel.stats.poisson import poisson_rate

DAYS_PER_YEAR = 365.25
_EVER = 10**9  # a gap no two uses can have: merges all of a person's use into one episode


def summarise_incidence(cdm, outcome: ir.Table, *, outcome_name: str = "outcome",
                        outcome_cohort_id: int | None = None, denominator: ir.Table | None = None,
                        denominator_name: str | None = None, denominator_cohort_id: int | None = None,
                        interval: str | Sequence[str] = ("months", "years"), start_date=None, end_date=None,
                        washout_days: int | None = None, repeated_events: bool = False,
                        complete_intervals: bool = True, by_sex: bool = False,
                        level: float = 0.95) -> SummarisedResult:
    """Incidence of new use per calendar period.

    outcome: cohort of drug use (subject_id, cohort_start_date, cohort_end_date), e.g.
        drug exposures or eras of one ingredient.
    denominator: population cohort; None uses every observation period.
    interval: "months", "years" and/or "overall".
    start_date, end_date: study period (default: first and last denominator day).
    washout_days: days without use before a use counts as new (None: never used before).
    repeated_events: count every new use of a person (True), or only the first (False).
    complete_intervals: keep only periods wholly inside the study period.
    by_sex: add rows stratified by sex (strata "sex": Female, Male, None) to the overall ones.

    Returns result_type "incidence": per period (additional incidence_start_date &&&
    incidence_end_date &&& analysis_interval), variable "Denominator" with
    denominator_count, person_days and person_years (days / 365.25), variable "Outcome" with outcome_count,
    incidence_100000_pys, incidence_100000_pys_95CI_lower and _upper.
    """
    wash = washout(washout_days)
    intervals = check_arguments(interval, level)
    den, start, end = denominator_in_window(cdm, denominator, denominator_cohort_id, start_date, end_date)
    at_risk = _at_risk(den, cohort_days(outcome, outcome_cohort_id, what="outcome cohort"), wash, repeated_events)
    if by_sex:
        at_risk = with_sex(cdm, at_risk)
    totals = {}
    with temp_table(cdm, at_risk) as table:
        for strata, sex in strata_levels(by_sex):
            part = table if sex is None else table.filter(table.sex == sex)
            totals[sex] = (strata, day_totals(part, start, end - start + 1, event_column="event"))
    den_name = denominator_name or ("observed population" if denominator is None else "denominator")
    group = {"denominator_cohort_name": den_name, "outcome_cohort_name": outcome_name}
    rows = []
    for name in intervals:
        periods = calendar_periods(start, end, name, complete_intervals)
        for strata, total in totals.values():
            rows += _rows(cdm, group, strata, name, periods, total, level)
    settings = base_settings("incidence", analysis_outcome_washout=washout_days if wash is not None else float("inf"),
                             analysis_repeated_events=repeated_events,
                             analysis_complete_database_intervals=complete_intervals,
                             analysis_level=level, denominator_start_date=_iso(start), denominator_end_date=_iso(end))
    return SummarisedResult.from_rows(rows, settings={1: settings})


def _rows(cdm, group, strata, name, periods, totals, level) -> list:
    counts = [(totals.persons(p), totals.person_days(p), totals.events(p)) for p in periods]
    if not counts:
        return []
    persons, days, events = zip(*counts)
    rate, lower, upper = poisson_rate(events, [d / DAYS_PER_YEAR for d in days], per=100_000, level=level)
    rows = []
    for i, p in enumerate(periods):
        additional = {"incidence_start_date": p.start_date.isoformat(),
                      "incidence_end_date": p.end_date.isoformat(), "analysis_interval": name}
        rows += result_rows(cdm_name=cdm.name, group=group, strata=strata, additional=additional,
                            variable_name="Denominator",
                            estimates={"denominator_count": persons[i], "person_days": days[i],
                                       "person_years": days[i] / DAYS_PER_YEAR})
        rows += result_rows(cdm_name=cdm.name, group=group, strata=strata, additional=additional,
                            variable_name="Outcome",
                            estimates={"outcome_count": events[i],
                                       "incidence_100000_pys": _num(rate[i]),
                                       "incidence_100000_pys_95CI_lower": _num(lower[i]),
                                       "incidence_100000_pys_95CI_upper": _num(upper[i])},
                            estimate_types=dict.fromkeys(("incidence_100000_pys", "incidence_100000_pys_95CI_lower",
                                                          "incidence_100000_pys_95CI_upper"), "numeric"))
    return rows


def _num(value) -> float | None:
    """A float, or None (NA) where there is no person-time."""
    value = float(value)
    return None if value != value else value


def _iso(day: int) -> str:
    from offlabel.drug_utilisation._intervals import to_date

    return to_date(day).isoformat()


def _at_risk(den: ir.Table, outcome: ir.Table, wash: int | None, repeated_events: bool) -> ir.Table:
    """Per person, the non-overlapping intervals at risk (subject_id, start, end, event 0/1).

    Use is merged into episodes (uses less than washout + 1 days apart join); a person is
    at risk from `washout` days after an episode until the next episode starts (the event).
    """
    episodes = merge(outcome, gap=_EVER if wash is None else wash)
    w = ibis.window(group_by="subject_id", order_by=["start", "end"])
    ep = episodes.mutate(_prev_end=episodes.end.lag().over(w))
    if wash is None:
        ep = ep.filter(ep._prev_end.isnull())  # only the first use ever can be new
    before = ep.select(
        _subject=ep.subject_id,
        _w_start=ibis.ifelse(ep._prev_end.isnull(), ibis.literal(NEG_INF, "int64"), ep._prev_end + (wash or 0) + 1),
        _w_end=ep.start, _event_day=ep.start.cast("int64"))
    windows = [before]
    if wash is not None:
        last = episodes.group_by("subject_id").aggregate(_last_end=episodes.end.max())
        windows.append(last.select(_subject=last.subject_id, _w_start=last._last_end + wash + 1,
                                   _w_end=ibis.literal(POS_INF, "int64"),
                                   _event_day=ibis.null("int64")))
    users = episodes.select(_user=episodes.subject_id).distinct()
    never = den.select("subject_id").distinct()
    never = never.anti_join(users, never.subject_id == users._user)
    windows.append(never.select(_subject=never.subject_id, _w_start=ibis.literal(NEG_INF, "int64"),
                                _w_end=ibis.literal(POS_INF, "int64"), _event_day=ibis.null("int64")))
    allw = ibis.union(*windows, distinct=False)
    j = den.join(allw, den.subject_id == allw._subject)
    clipped = j.select(subject_id=j.subject_id, start=ibis.greatest(j.start, j._w_start),
                       end=ibis.least(j.end, j._w_end), _event_day=j._event_day)
    clipped = clipped.filter(clipped.start <= clipped.end)
    at_risk = clipped.select("subject_id", "start", "end",
                             event=ibis.ifelse(clipped._event_day.notnull() & (clipped._event_day == clipped.end),
                                               1, 0))
    if not repeated_events:
        first = at_risk.mutate(_first=ibis.ifelse(at_risk.event == 1, at_risk.end, ibis.null("int64"))
                               .min().over(ibis.window(group_by="subject_id")))
        at_risk = first.filter(first._first.isnull() | (first.start <= first._first)).drop("_first")
    return at_risk
