"""Persistence: Kaplan-Meier time from index to discontinuation of a drug (DrugUtilisation / CohortSurvival).

Eras of the drug's records (`offlabel.cohorts.drug_eras`, gapEra semantics with `gap_days`) for
the cohort's persons; `offlabel.drug_utilisation.persistence_times` follows the era holding each
person's index date (first cohort_start_date) to its end (an event) or censors at the end of
observation or of follow-up, in the database; only (time, event, number of persons) leaves it and
`offlabel.stats.survival.KaplanMeier` estimates the curve (Greenwood, log-scale 95% interval).

Result (result_type "summarise_persistence"; one result, so that the report draws the curve with
its numbers at risk; the variables follow CohortSurvival's three result types): group cohort_name,
additional "time" in days since index, variable_level "discontinuation"; variable "survival
probability" (estimate, estimate_95CI_lower / _upper: the probability of still being treated)
every `estimate_gap_days`; "number at risk" at each risk-table day: n_risk_count (still treated
and followed on that day), and n_events_count / n_censor_count from the previous risk-table day up
to the day before; "summary" (additional overall): number_records_count, n_events_count,
median_survival (days).

Secondary suppression (here; counts are suppressed at export): each drop of the reported curve
would reveal the number of discontinuations since the previous reported time, so a time is
reported only when that number is 0 or at least min_cell_count (the curve then steps over the
hidden times); events and censorings of an interval add up to the drop in the number at risk, so
they are suppressed together.
"""

from __future__ import annotations

import math

import numpy as np

from offlabel.cohorts import drug_eras
from offlabel.drug_utilisation import persistence_times
from offlabel.errors import EmptyCohortError
from offlabel.results import SUPPRESSED, SummarisedResult, result_rows
from offlabel.results.secondary import small
from offlabel.stats.survival import KaplanMeier

LEVEL = 0.95


def run(context, settings) -> SummarisedResult:
    cdm = context.cdm
    cohort = context.cohort(settings.cohort).table
    ids = list(context.concept_sets[settings.drug].concept_ids)
    persons = cohort.select(person_id=cohort.subject_id.cast("int64")).distinct()
    eras = drug_eras(cdm, ids, gap_days=settings.gap_days, persons=persons)
    eras = eras.select(subject_id=eras.person_id, era_start_date=eras.era_start_date, era_end_date=eras.era_end_date)
    per = persistence_times(cdm, cohort, eras, settings.follow_up_days)
    agg = per.group_by(["time", "event"]).aggregate(n=per.count()).order_by(["time", "event"]).to_pyarrow().to_pylist()
    if not agg:
        raise EmptyCohortError(f"persistence analysis {settings.analysis_id!r}: no person of cohort "
                               f"'{settings.cohort}' has an era of '{settings.drug}' holding their index date.")
    n_cohort = int(persons.count().to_pyarrow().as_py())
    n = sum(r["n"] for r in agg)
    if n < n_cohort:
        context.warn(f"persistence {settings.analysis_id}: {n_cohort - n} of {n_cohort} persons of cohort "
                     f"'{settings.cohort}' have no era of '{settings.drug}' holding their index date and are left out.")
    time = np.array([r["time"] for r in agg], dtype=float)
    event = np.array([r["event"] for r in agg])
    weight = np.array([r["n"] for r in agg])
    km = KaplanMeier(conf_level=LEVEL).fit(time, event, weights=weight)
    mcc = context.study.min_cell_count
    group = {"cohort_name": settings.cohort}
    level = {"variable_level": "discontinuation"}
    rows = []
    grid = list(range(0, settings.follow_up_days + 1, settings.estimate_gap_days))
    curve = km.survival_at(grid)
    events_by = np.cumsum(np.bincount(time.astype(int), weights=weight * event, minlength=settings.follow_up_days + 1))
    last_shown = 0.0
    for t, s, lo, hi in zip(grid, curve.survival, curve.lower, curve.upper):
        since = events_by[t] - last_shown
        shown = since == 0 or since >= mcc
        if shown:
            last_shown = events_by[t]
        rows += result_rows(cdm_name=cdm.name, group=group, additional={"time": str(t)}, variable_name="survival probability", **level,
                            estimates={k: (_num(v) if shown else SUPPRESSED) for k, v in
                                       (("estimate", s), ("estimate_95CI_lower", lo), ("estimate_95CI_upper", hi))},
                            estimate_types={"estimate": "numeric", "estimate_95CI_lower": "numeric",
                                            "estimate_95CI_upper": "numeric"})
    risk_days = sorted({d for d in settings.risk_table_days if 0 <= d <= settings.follow_up_days})
    at_risk = km.survival_at(risk_days).n_risk.to_numpy()
    for j, t in enumerate(risk_days):
        estimates = {"n_risk_count": int(at_risk[j])}
        if j > 0:
            inside = (time >= risk_days[j - 1]) & (time < t)
            events = int((weight * event)[inside].sum())
            censored = int((weight * (1 - event))[inside].sum())
            if small(events, mcc) or small(censored, mcc):
                events = censored = SUPPRESSED
            estimates |= {"n_events_count": events, "n_censor_count": censored}
        rows += result_rows(cdm_name=cdm.name, group=group, additional={"time": str(t)}, variable_name="number at risk", **level,
                            estimates=estimates, estimate_types=dict.fromkeys(estimates, "integer"))
    rows += result_rows(cdm_name=cdm.name, group=group, variable_name="summary", **level,
                        estimates={"number_records_count": int(n), "n_events_count": int((weight * event).sum()),
                                   "median_survival": _num(km.median_)},
                        estimate_types={"median_survival": "numeric"})
    extra = {"cohort": settings.cohort, "drug": settings.drug, "gap_days": str(settings.gap_days),
             "follow_up_days": str(settings.follow_up_days), "analysis_level": str(LEVEL),
             "outcome": "discontinuation"}
    return SummarisedResult.from_rows(rows, settings={1: context.settings(settings, "summarise_persistence", **extra)})


def _num(value) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value
