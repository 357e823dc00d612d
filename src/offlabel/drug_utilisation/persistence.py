"""Persistence: Kaplan-Meier time to discontinuation of the treatment era that starts at index.

For each person of the index cohort (cohort_start_date = index date), the drug era that
covers the index date ends treatment: discontinuation is an event on its last day
(time = era_end - index, days) if the person is still observed after it, else the
person is censored at the end of their observation period (or of `follow_up_days`).
Only (time, event, number of persons) leaves the database; the estimate is
`offlabel.stats.survival.KaplanMeier` (Greenwood, log-scale 95% interval).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from offlabel.drug_utilisation._common import base_settings
from offlabel.drug_utilisation._intervals import epoch, observation_days, check_cohort
from offlabel.errors import CdmError, EmptyCohortError
from offlabel.results import SummarisedResult, result_rows
from offlabel.stats.survival import KaplanMeier

ERA_COLUMNS = ("subject_id", "era_start_date", "era_end_date")


def persistence_times(cdm, cohort: ir.Table, eras: ir.Table, follow_up_days: int | None = None) -> ir.Table:
    """Per person of `cohort` (first entry): time (days) to discontinuation and event (1/0), in the database."""
    check_cohort(cohort, "index cohort")
    missing = [c for c in ERA_COLUMNS if c not in eras.columns]
    if missing:
        raise CdmError(f"The eras table lacks {missing}: it needs subject_id, era_start_date, era_end_date "
                       "(drug eras of the index treatment, e.g. from offlabel.cohorts).")
    idx = cohort.group_by(_s=cohort.subject_id.cast("int64")).aggregate(_index=epoch(cohort.cohort_start_date).min())
    er = eras.select(_es=eras.subject_id.cast("int64"), _e0=epoch(eras.era_start_date), _e1=epoch(eras.era_end_date))
    obs = observation_days(cdm, idx._s).rename(_os="subject_id", _o0="start", _o1="end")
    j = idx.join(er, (idx._s == er._es) & (er._e0 <= idx._index) & (er._e1 >= idx._index))
    j = j.join(obs, (j._s == obs._os) & (obs._o0 <= j._index) & (obs._o1 >= j._index))
    era_end = j._e1.max()
    per = j.group_by(["_s", "_index"]).aggregate(_end=era_end, _obs_end=j._o1.max())
    stop = per._obs_end - per._index
    if follow_up_days is not None:
        stop = ibis.least(stop, ibis.literal(int(follow_up_days), "int64"))
    time_to_end = per._end - per._index
    event = ibis.ifelse(time_to_end < stop, 1, 0)
    return per.select(subject_id=per._s, time=ibis.least(time_to_end, stop), event=event)


def summarise_persistence(cdm, cohort: ir.Table, eras: ir.Table, *, cohort_name: str = "index",
                          follow_up_days: int | None = None, times: Sequence[int] | None = None,
                          level: float = 0.95) -> SummarisedResult:
    """Kaplan-Meier persistence (time to discontinuation) of an index cohort's treatment.

    cohort: index cohort (subject_id, cohort_start_date = index date, cohort_end_date);
        a person's first entry is used.
    eras: the treatment's eras (subject_id, era_start_date, era_end_date) built with the
        study's gap; the era covering the index date is the one that is followed.
    follow_up_days: censor everyone at this many days after index.
    times: days at which to report survival (default: every event or censoring time).

    Returns three result_ids, following CohortSurvival's layout, group cohort_name,
    variable_name "outcome", variable_level "discontinuation", additional "time" (days
    since index):
    "survival_probability" (estimate, estimate_95CI_lower, estimate_95CI_upper: the
    probability of still being treated), "survival_events" (n_risk_count,
    n_events_count, n_censor_count) and "survival_summary" (number_records_count,
    n_events_count, median_survival in days; additional overall).
    """
    per = persistence_times(cdm, cohort, eras, follow_up_days)
    agg = per.group_by(["time", "event"]).aggregate(n=per.count()).to_pyarrow().to_pylist()
    if not agg:
        raise EmptyCohortError(f"No person of cohort {cohort_name!r} has a treatment era covering their index date "
                               "inside an observation period: check that the eras are of the index drug.")
    t = [r["time"] for r in agg]
    e = [r["event"] for r in agg]
    w = [r["n"] for r in agg]
    km = KaplanMeier(conf_level=level).fit(t, e, weights=w)
    table = km.table_
    group = {"cohort_name": cohort_name}
    variable = {"variable_name": "outcome", "variable_level": "discontinuation"}
    rows = []
    at = km.survival_at(sorted(set(times))) if times is not None else table
    for _, r in at.iterrows():
        additional = {"time": str(int(r["time"]))}
        rows += result_rows(cdm_name=cdm.name, group=group, additional=additional, **variable, result_id=1,
                            estimates={"estimate": float(r["survival"]), "estimate_95CI_lower": _num(r["lower"]),
                                       "estimate_95CI_upper": _num(r["upper"])},
                            estimate_types={"estimate_95CI_lower": "numeric", "estimate_95CI_upper": "numeric"})
    for _, r in table.iterrows():
        rows += result_rows(cdm_name=cdm.name, group=group, additional={"time": str(int(r["time"]))},
                            **variable, result_id=2,
                            estimates={"n_risk_count": int(r["n_risk"]), "n_events_count": int(r["n_event"]),
                                       "n_censor_count": int(r["n_censor"])})
    rows += result_rows(cdm_name=cdm.name, group=group, **variable, result_id=3,
                        estimates={"number_records_count": int(sum(w)), "n_events_count": int(table.n_event.sum()),
                                   "median_survival": _num(km.median_)},
                        estimate_types={"median_survival": "numeric"})
    common = dict(follow_up_days=follow_up_days if follow_up_days is not None else "NA", analysis_level=level,
                  outcome="discontinuation")
    settings = {1: base_settings("survival_probability", **common),
                2: base_settings("survival_events", **common),
                3: base_settings("survival_summary", **common)}
    return SummarisedResult.from_rows(rows, settings=settings)


def _num(value) -> float | None:
    value = float(value)
    return None if value != value else value
