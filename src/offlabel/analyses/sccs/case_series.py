"""Self-controlled case series (SCCS) of one exposure and several outcomes.

For each outcome, in the database (`analyses.sccs.extraction`): the cases (persons with the outcome in
an observation period) with their observation bounds, event days, first-ever event, birth date
and exposure eras. In Python (`offlabel.stats`): the study population (washout, study period,
ages, first outcome only), the interval table (windows, age, season), the conditional Poisson
fit and the diagnostics. Conventions (day 0, overlaps): `offlabel.stats.sccs_intervals`.

Which cases enter. Only cases with window time carry information on the IRRs; unexposed cases
inform only age and season terms. So (as SelfControlledCaseSeries): without age or season terms,
only cases whose person has an exposure leave the database; with them, unexposed cases enter too,
but only those among a random sample (study seed) of `time_covariate_cases` cases (default
10,000), so a common outcome (10^5 cases on a 1M-person world) stays fast. A case whose analysed
time has a single covariate pattern adds nothing and is left out.

Diagnostics (rows of variable "diagnostic"):
- pre-exposure window: its IRR in the model; flagged when its 95% CI excludes 1 (events
  changing the chance of exposure: the SCCS's event-dependent exposure).
- end of observation: SelfControlledCaseSeries's probe, the last `end_of_observation_days`
  days of observation as a covariate, fitted in a second model (the main estimates keep the
  model as specified). The probe covers only cases whose observation ends before the data end
  (or the study's end_date) and not at an age limit, i.e. ends that an event could cause
  (death, leaving the registry); flagged when its CI excludes 1 (events that end or shorten
  observation bias the SCCS).
- time stability: SelfControlledCaseSeries's test that the outcome rate is constant over
  calendar months (`stats.sccs_diagnostics`); flagged when unstable.

Result (result_type "sccs"): group outcome; strata window (each window, then "reference") or
overall. Overall: "cases" (count; levels "persons with the outcome in observation", "in the study
population", "exposed"), "number subjects" (the analysed cases), "events", "person-time"
(person_days, person_years). Per window: "cases" (with time in it), "events", "person-time" and,
except the reference, "incidence rate ratio" (irr, irr_95CI_lower, irr_95CI_upper, p_value,
log_irr, se_log_irr; or reason when not estimable). Then the "diagnostic" rows above (irr and its
CI, p_value, flagged; the probe's events as count; time stability's ratio, p_value, months).

Suppression (secondary, here): a window with 0 < events < min_cell_count has its cases, events,
person-time and IRR suppressed, and then so are the outcome's total events and person-time (from
which the window's could be recovered by subtraction); an outcome with fewer cases than
min_cell_count is suppressed whole.
"""

from __future__ import annotations

from contextlib import ExitStack

import numpy as np

from offlabel.analyses.sccs.extraction import SccsExtraction
from offlabel.drug_utilisation._intervals import to_day
from offlabel.errors import ConvergenceError, SpecError
from offlabel.results import SUPPRESSED, SummarisedResult, result_rows
from offlabel.results.secondary import small
from offlabel.stats.sccs import fit_sccs
from offlabel.stats.sccs_diagnostics import time_stability
from offlabel.stats.sccs_intervals import (AgeGroups, AgeSpline, Season, Window, age_knots, split_intervals,
                                           study_population)

LEVEL = 0.95
RESULT_TYPE = "sccs"
PRE_EXPOSURE = "pre-exposure"
DAY_ZERO = "day 0"
REFERENCE = "reference"
_TYPES = {"count": "integer", "person_days": "integer", "person_years": "numeric", "irr": "numeric",
          "irr_95CI_lower": "numeric", "irr_95CI_upper": "numeric", "p_value": "numeric", "log_irr": "numeric",
          "se_log_irr": "numeric", "flagged": "logical", "reason": "character", "ratio": "numeric",
          "months": "integer", "probe_days": "integer"}


def windows(settings) -> list[Window]:
    """The model's windows in priority order: day 0, the risk windows, the pre-exposure window."""
    anchor = {"exposure_start": "start", "exposure_end": "end"}
    out = [Window(DAY_ZERO, 0, 0)] if settings.day_zero_window else []
    out += [Window(w.label, w.start, w.end, anchor[w.start_anchor], anchor[w.end_anchor])
            for w in settings.risk_windows]
    pre = settings.pre_exposure_window
    if pre is not None:
        out.append(Window(PRE_EXPOSURE, pre.start, pre.end))
    return out


def time_terms(settings):
    age = settings.age
    age = None if age is None else AgeGroups(tuple(age.groups)) if age.groups else AgeSpline(age.spline_knots)
    season = None if settings.season is None else Season(settings.season.by, settings.season.spline_knots)
    return age, season


def run(context, settings) -> SummarisedResult:
    _check_names(context, settings)
    age, season = time_terms(settings)
    rows = []
    with ExitStack() as stack:
        data = SccsExtraction(context, settings, stack)
        for k, outcome in enumerate(settings.outcomes):
            cases = data.cases(k, with_unexposed=age is not None or season is not None)
            rows += _outcome(context, settings, outcome, cases, data.data_end, age, season)
    return SummarisedResult.from_rows(rows, settings={1: context.settings(settings, RESULT_TYPE, **_settings_text(settings))})


def _check_names(context, settings) -> None:
    problems = [f"{key}: no concept set named {name!r} (defined: {', '.join(sorted(context.concept_sets))})"
                for key, names in (("exposure", [settings.exposure]), ("outcomes", settings.outcomes))
                for name in names if name not in context.concept_sets]
    if problems:
        raise SpecError(f"sccs analysis {settings.analysis_id!r}: " + "; ".join(problems) + ".")


def interval_tables(context, settings):
    """Yield (outcome, study population, interval table) per outcome: the data the model is fitted to
    (for checks and benchmarks; `run` does the same and fits)."""
    age, season = time_terms(settings)
    with ExitStack() as stack:
        data = SccsExtraction(context, settings, stack)
        for k, outcome in enumerate(settings.outcomes):
            cases = data.cases(k, with_unexposed=age is not None or season is not None)
            pop = _population(settings, cases)
            if pop.n_cases:
                yield outcome, pop, _table(context, settings, pop, age, season)[1]


def _population(settings, cases):
    return study_population(cases.series, study_start=to_day(settings.start_date) if settings.start_date else None,
                            study_end=to_day(settings.end_date) if settings.end_date else None,
                            min_age_years=settings.min_age_years, max_age_years=settings.max_age_years,
                            washout_days=settings.washout_days, first_outcome_only=settings.first_outcome_only,
                            first_event_day=cases.first_event_day)


def _table(context, settings, pop, age, season, probe=None):
    """(unexposed-case sample, interval table) of a study population; probe = (days, the observation
    period ends of the series pop derives from, the administrative end day) adds the probe."""
    if isinstance(age, AgeSpline) and age.at is None:
        age = AgeSpline(age.knots, age_knots(pop, age.knots))  # from every case, as SelfControlledCaseSeries
    unexposed = None
    if (age is not None or season is not None) and pop.n_cases > settings.time_covariate_cases:
        rng = np.random.default_rng(context.study.seed)
        unexposed = np.zeros(pop.n_cases, bool)
        unexposed[rng.choice(pop.n_cases, settings.time_covariate_cases, replace=False)] = True
        # only cases with an exposure record, or in the sample, can enter: split only those
        candidates = unexposed.copy()
        candidates[pop.exposure_case] = True
        pop, unexposed = pop.take(candidates), unexposed[candidates]
    extra = {}
    if probe is not None:
        days, observed_end, administrative_end = probe
        # ends an event could cause: observation (not the study period or an age limit) ends before the data do
        extra = {"probe_days": days,
                 "probe_cases": (pop.end == observed_end[pop.source]) & (pop.end < administrative_end)}
    return unexposed, split_intervals(pop, windows(settings), first_exposure_only=settings.first_exposure_only,
                                      age=age, season=season, unexposed=unexposed, **extra)


def _outcome(context, settings, outcome, cases, data_end, age, season) -> list:
    mcc = context.study.min_cell_count
    pop = _population(settings, cases)
    out = _Rows(context.cdm.name, outcome)
    out.add(None, "cases", {"count": cases.cases_in_observation}, "persons with the outcome in observation")
    out.add(None, "cases", {"count": pop.n_cases}, "in the study population" if age or season
            else "in the study population, with an exposure record")
    if pop.n_cases == 0:
        context.warn(f"sccs {settings.analysis_id}: no case of '{outcome}' in the study population.")
        return out.rows
    _, table = _table(context, settings, pop, age, season)
    for note in table.notes:
        context.warn(f"sccs {settings.analysis_id}, '{outcome}': {note} (an age or season level without events).")
    summary = table.window_summary()
    n_cases = table.n_cases
    fit, reason = _fit(context, settings, outcome, table)
    few = {s["window"] for s in summary[:-1] if small(s["events"], mcc)}
    hide_all = small(n_cases, mcc)
    out.add(None, "number subjects", {"count": n_cases}, hide=hide_all)
    out.add(None, "cases", {"count": table.exposed_cases}, "exposed", hide=hide_all)
    out.add(None, "events", {"count": int(table.events.sum())}, hide=hide_all or bool(few))
    out.add(None, "person-time", _person_time(int(table.length.sum())), hide=hide_all or bool(few))
    for s in summary:
        w = s["window"]
        hide = hide_all or w in few
        out.add(w, "cases", {"count": s["cases"]}, hide=hide)
        out.add(w, "events", {"count": s["events"]}, hide=hide)
        out.add(w, "person-time", _person_time(s["person_days"]), hide=hide)
        if w != REFERENCE:
            out.add(w, "incidence rate ratio", _irr(fit, w, reason), hide=hide)
    if PRE_EXPOSURE in table.windows:
        est = _irr(fit, PRE_EXPOSURE, reason)
        flagged = None if est.get("irr") is None else not est["irr_95CI_lower"] <= 1 <= est["irr_95CI_upper"]
        out.add(None, "diagnostic", {**_ci_only(est), "flagged": flagged}, "pre-exposure window",
                hide=hide_all or PRE_EXPOSURE in few)
    if settings.end_of_observation_days > 0:
        out.add(None, "diagnostic", _probe(context, settings, cases, pop, age, season, data_end),
                "end of observation", hide=hide_all)
    stab = time_stability(pop.start, pop.end, pop.event_case, pop.event_day)
    out.add(None, "diagnostic", {"ratio": stab.ratio, "p_value": stab.p_value, "flagged": not stab.stable,
                                 "months": stab.months}, "time stability", hide=hide_all)
    return out.rows


def _fit(context, settings, outcome, table):
    """The fit, or (None, why not) when the data cannot give one (the outcome is still reported)."""
    try:
        return fit_sccs(table.X, table.events, table.length, table.case, table.names, level=LEVEL), None
    except (ConvergenceError, ValueError) as e:
        context.warn(f"sccs {settings.analysis_id}: no IRR for '{outcome}': {e}")
        return None, str(e)


def _irr(fit, name, reason) -> dict:
    if fit is None or name not in fit.irr:
        why = reason if fit is None else fit.not_estimable.get(name, "not estimable")
        return {"irr": None, "irr_95CI_lower": None, "irr_95CI_upper": None, "p_value": None, "reason": why}
    irr, lo, hi = fit.irr[name]
    return {"irr": irr, "irr_95CI_lower": lo, "irr_95CI_upper": hi, "p_value": fit.p_value[name],
            "log_irr": fit.coef[name], "se_log_irr": fit.se[name]}


def _ci_only(est: dict) -> dict:
    return {k: est.get(k) for k in ("irr", "irr_95CI_lower", "irr_95CI_upper", "p_value")}


def _probe(context, settings, cases, pop, age, season, data_end) -> dict:
    """The end-of-observation probe's events and IRR (its own model: main model + probe)."""
    days = settings.end_of_observation_days
    end = min(data_end, to_day(settings.end_date)) if settings.end_date else data_end
    _, table = _table(context, settings, pop, age, season, probe=(days, cases.series.end, end))
    on = table.X[:, table.names.index("end of observation")] == 1
    out = {"count": int(table.events[on].sum()), "probe_days": days}
    try:
        fit = fit_sccs(table.X, table.events, table.length, table.case, table.names, level=LEVEL)
    except (ConvergenceError, ValueError) as e:
        fit = None
        context.warn(f"sccs {settings.analysis_id}: the end-of-observation check could not be fitted: {e}")
    est = _ci_only(_irr(fit, "end of observation", "not estimable"))
    flagged = None if est["irr"] is None else not est["irr_95CI_lower"] <= 1 <= est["irr_95CI_upper"]
    if small(out["count"], context.study.min_cell_count):
        est, flagged = dict.fromkeys(est, SUPPRESSED), SUPPRESSED
    return {**out, **est, "flagged": flagged}


def _person_time(days: int) -> dict:
    return {"person_days": days, "person_years": days / 365.25}


class _Rows:
    def __init__(self, cdm_name, outcome):
        self.cdm_name, self.outcome, self.rows = cdm_name, outcome, []

    def add(self, window, variable, estimates, level=None, hide=False):
        if hide:
            estimates = dict.fromkeys(estimates, SUPPRESSED)
        self.rows += result_rows(cdm_name=self.cdm_name, group={"outcome": self.outcome},
                                 strata={"window": window} if window else None, variable_name=variable,
                                 variable_level=level, estimates=estimates,
                                 estimate_types={k: _TYPES[k] for k in estimates})


def _settings_text(settings) -> dict:
    def text(v):
        return "NA" if v is None else ("TRUE" if v is True else "FALSE" if v is False else str(v))

    wins = "; ".join(f"{w.name}: [{w.start}, {w.end}] from exposure {w.start_anchor}/{w.end_anchor}"
                     for w in windows(settings))
    age = settings.age
    season = settings.season
    return {
        "exposure": settings.exposure, "outcomes": ", ".join(settings.outcomes),
        "era_gap_days": text(settings.era_gap_days), "first_exposure_only": text(settings.first_exposure_only),
        "windows": wins, "day_zero_window": text(settings.day_zero_window),
        "age_adjustment": "none" if age is None else (f"groups cut at {age.groups} years" if age.groups
                                                      else f"quadratic spline, {age.spline_knots} knots"),
        "season_adjustment": "none" if season is None else (
            f"cyclic spline, {season.spline_knots} knots" if season.by == "spline" else f"by {season.by}"),
        "start_date": text(settings.start_date), "end_date": text(settings.end_date),
        "min_age_years": text(settings.min_age_years), "max_age_years": text(settings.max_age_years),
        "first_outcome_only": text(settings.first_outcome_only), "washout_days": text(settings.washout_days),
        "time_covariate_cases": text(settings.time_covariate_cases),
        "end_of_observation_days": text(settings.end_of_observation_days), "confidence_level": str(LEVEL),
    }
