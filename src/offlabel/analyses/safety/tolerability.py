"""Tolerability (Turel et al. 2015; DOMAIN.md §2): discontinuation within 3, 6 and 12 months and its reasons.

For each person of a new-user cohort (index = first cohort_start_date), the drug era (gap
`gap_days`, DrugUtilisation's gapEra) that covers the index date is the treatment episode.
Time to discontinuation and its event come from `offlabel.drug_utilisation.persistence_times`:
the era's last day is a discontinuation when the person is still observed after it, else the
person is censored at the end of the observation period (which ends at death). In the database
the same episode also yields the follow-up (observation end - index), the stop_reason of the
era's last record(s) and the start of the next era; only these per-person numbers leave it.
(As in persistence_times, a person whose observation ends within `gap_days` after the era's end
counts as discontinued, though a refill might have come after; on the synthetic world the 3-month
share still covered its planted value in 20 of 20 worlds.)

Result (result_type "summarise_tolerability"), group cohort_name:
- "number subjects" (count); "discontinued" (count, censored_count, percentage of all);
  "time on treatment (days)" (median: Kaplan-Meier median, days);
- "cumulative discontinuation" by "<t> days": Kaplan-Meier 1 - S(t) with its 95% CI (log scale on
  S, as R's survfit), n_risk_count (still followed at t) and n_events_count (discontinued by t);
- "observed at least" by "<t> days" (count) and "discontinued by" by "<t> days" (count,
  continuing_count, percentage): the crude share among persons observed t days or more;
- "cumulative discontinuation curve" by "<d> days": 1 - S(d) every `curve_step_days` days;
- "reason for discontinuation" by reason (and "none recorded"): count, percentage of discontinued
  (the stop_reason of the era's last record; of several ending that day, the latest started);
- "restart within <w> days" ("restarted", "not restarted", "censored"): count, percentage.

Suppression: counts below min_cell_count are hidden at export, with every estimate of their
variable; so each proportion carries its counts and its complement in its own variable. Done
here (secondary suppression): reasons and restart categories add up to the number discontinued,
so a small category hides the smallest others too (`offlabel.results.secondary.complementary_cells`),
and categories of one person each are left out (`unprotectable`: their number would say so); curve
points with fewer than min_cell_count persons at risk or events so far are hidden.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np

from offlabel.analyses.safety.treatment import (
    count_rows,
    drug_ids,
    index_table,
    require_persons,
    suppressed,
)
from offlabel.cohorts.eras import drug_eras
from offlabel.drug_utilisation._common import temp_table
from offlabel.drug_utilisation._intervals import epoch
from offlabel.drug_utilisation.persistence import persistence_times
from offlabel.errors import EmptyCohortError
from offlabel.results import SummarisedResult, result_rows
from offlabel.results.secondary import complementary_cells, unprotectable
from offlabel.stats.survival import KaplanMeier

LEVEL = 0.95
NONE_RECORDED = "none recorded"
RESTART_LEVELS = ("restarted", "not restarted", "censored")


def run(context, settings) -> SummarisedResult:
    per = person_table(context, settings)
    rows = _rows(context.cdm.name, settings, per, context.study.min_cell_count)
    extra = {"cohort": settings.cohort, "drug": settings.drug, "gap_days": str(settings.gap_days),
             "times_days": ", ".join(map(str, settings.times_days)),
             "curve_step_days": str(settings.curve_step_days) if settings.curve_step_days else "NA",
             "restart_window_days": str(settings.restart_window_days) if settings.restart_window_days else "NA",
             "confidence_level": str(LEVEL), "stop_reason_column": "TRUE" if per["has_stop_reason"] else "FALSE"}
    return SummarisedResult.from_rows(rows, settings={1: context.settings(settings, "summarise_tolerability", **extra)})


# -- in the database ---------------------------------------------------------------------------


def person_table(context, settings) -> dict:
    """Per person of the cohort with an era covering index: time, event, follow_up (days), reason,
    restart_days (days from the era's end to the next era's start, or None); as numpy arrays."""
    cdm = context.cdm
    ids = drug_ids(context, settings, settings.drug)
    with temp_table(cdm, index_table(context, settings)) as index:
        n_index = count_rows(index)
        require_persons(n_index, settings)
        eras = drug_eras(cdm, ids, gap_days=settings.gap_days, persons=index)
        with temp_table(cdm, eras) as eras:
            cohort = context.cohort(settings.cohort).table
            times = persistence_times(cdm, cohort, eras.rename(subject_id="person_id"))
            episode, has_reason = _episodes(cdm, index, eras, ids)
            j = times.join(episode, times.subject_id == episode._pid)
            out = j.select("subject_id", "time", "event", "follow_up", "reason", "restart_days").order_by("subject_id")
            table = out.to_pyarrow()
    if table.num_rows == 0:
        raise EmptyCohortError(f"tolerability analysis {settings.analysis_id!r}: no person of cohort "
                               f"{settings.cohort!r} has an era of {settings.drug!r} covering their index date. "
                               "Check that the cohort's entry is the drug (new users).")
    if table.num_rows < n_index:
        context.warn(f"tolerability {settings.analysis_id}: {n_index - table.num_rows} of {n_index} persons of cohort "
                     f"'{settings.cohort}' have no era of '{settings.drug}' covering their index date and were left "
                     "out (is the cohort's entry the drug?).")
    restart = table.column("restart_days").to_pylist()
    return {"time": table.column("time").to_numpy().astype(np.int64),
            "event": table.column("event").to_numpy().astype(bool),
            "follow_up": table.column("follow_up").to_numpy().astype(np.int64),
            "reason": table.column("reason").to_pylist(),
            "restart_days": np.array([np.nan if v is None else v for v in restart], dtype=float),
            "has_stop_reason": has_reason}


def _episodes(cdm, index: ir.Table, eras: ir.Table, ids) -> tuple[ir.Table, bool]:
    """_pid, follow_up, reason, restart_days of the era covering each person's index date."""
    er = eras.select(_ep=eras.person_id, _es=epoch(eras.era_start_date), _ee=epoch(eras.era_end_date))
    ep = index.join(er, (index.person_id == er._ep) & (er._es <= index.index_day) & (er._ee >= index.index_day))
    ep = ep.select(_pid=ep.person_id, _index=ep.index_day, _obs_end=ep.obs_end, _es=ep._es, _ee=ep._ee)
    de = cdm.table("drug_exposure")
    has_reason = "stop_reason" in de.columns
    de = de.filter(de.drug_concept_id.isin(ids))
    start = epoch(de.drug_exposure_start_date)
    reason = de.stop_reason.cast("string").strip().nullif("") if has_reason else ibis.null("string")
    rec = de.select(_rp=de.person_id.cast("int64"), _rid=de.drug_exposure_id.cast("int64"), _r0=start,
                    _r1=ibis.coalesce(epoch(de.drug_exposure_end_date), start), _reason=reason)
    # The era's last record(s): those ending on its last day. Of several with a reason, the latest
    # started (then the highest drug_exposure_id): integer keys, so every backend picks the same one
    # (text order would follow each database's collation).
    last = ep.join(rec, (ep._pid == rec._rp) & (rec._r1 == ep._ee) & (rec._r0 >= ep._es))
    last = last.filter(last._reason.notnull())
    last = last.mutate(_rank=ibis.row_number().over(
        ibis.window(group_by=last._pid, order_by=[ibis.desc(last._r0), ibis.desc(last._rid)])))
    last = last.filter(last._rank == 0)
    reasons = last.select(_lp=last._pid, reason=last._reason)
    later = er.select(_np=er._ep, _ns=er._es)
    nxt = ep.join(later, (ep._pid == later._np) & (later._ns > ep._ee))
    nxt = nxt.group_by(_xp=nxt._pid).aggregate(_next=nxt._ns.min())
    j = ep.left_join(reasons, ep._pid == reasons._lp)
    j = j.select(_pid=j._pid, _ee=j._ee, follow_up=j._obs_end - j._index, reason=j.reason)
    j = j.left_join(nxt, j._pid == nxt._xp)
    return j.select(_pid=j._pid, follow_up=j.follow_up, reason=j.reason,
                    restart_days=(j._next - j._ee).cast("int64")), has_reason


# -- statistics and rows -----------------------------------------------------------------------


def _rows(cdm_name: str, settings, per: dict, min_cell_count: int) -> list:
    time, event, follow_up = per["time"], per["event"], per["follow_up"]
    group = {"cohort_name": settings.cohort}
    rows = []

    def add(variable, estimates, level=None):
        types = {k: "integer" if _is_int(k) else "percentage" if k == "percentage" else "numeric" for k in estimates}
        rows.extend(result_rows(cdm_name=cdm_name, group=group, variable_name=variable, variable_level=level,
                                estimates=estimates, estimate_types=types))

    n = len(time)
    n_events = int(event.sum())
    km = KaplanMeier(conf_level=LEVEL).fit(time, event)
    add("number subjects", {"count": n})
    add("discontinued", {"count": n_events, "censored_count": n - n_events, "percentage": 100.0 * n_events / n})
    add("time on treatment (days)", {"median": _num(km.median_)})
    at = km.survival_at(settings.times_days)
    for t, r in zip(settings.times_days, at.itertuples()):
        add("cumulative discontinuation", {
            "cumulative_incidence": 1.0 - float(r.survival), "cumulative_incidence_95CI_lower": _num(1.0 - r.upper),
            "cumulative_incidence_95CI_upper": _num(1.0 - r.lower), "n_risk_count": int(r.n_risk),
            "n_events_count": int((event & (time <= t)).sum())}, f"{t} days")
    for t in settings.times_days:
        observed = follow_up >= t
        stopped = int((observed & event & (time <= t)).sum())
        add("observed at least", {"count": int(observed.sum())}, f"{t} days")
        add("discontinued by", {"count": stopped, "continuing_count": int(observed.sum()) - stopped,
                                "percentage": 100.0 * stopped / observed.sum() if observed.any() else None},
            f"{t} days")
    if settings.curve_step_days:
        days = list(range(0, max(settings.times_days) + 1, settings.curve_step_days))
        curve = km.survival_at(days)
        for d, r in zip(days, curve.itertuples()):
            events_so_far = int((event & (time <= d)).sum())
            few = 0 < r.n_risk < min_cell_count or 0 < events_so_far < min_cell_count
            values = (1.0 - r.survival, _num(1.0 - r.upper), _num(1.0 - r.lower)) if r.n_risk > 0 else (None,) * 3
            add("cumulative discontinuation curve",
                dict(zip(("cumulative_incidence", "cumulative_incidence_95CI_lower", "cumulative_incidence_95CI_upper"),
                         (suppressed(v, few) for v in values))), f"{d} days")
    stopped_reasons = [r if r is not None else NONE_RECORDED for r, e in zip(per["reason"], event) if e]
    reasons = {k: stopped_reasons.count(k) for k in sorted(set(stopped_reasons), key=lambda k: (k == NONE_RECORDED, k))}
    _categories(add, "reason for discontinuation", reasons, n_events, min_cell_count)
    if settings.restart_window_days:
        w = settings.restart_window_days
        restart = per["restart_days"][event]
        after = (follow_up - time)[event]  # days observed after the era's end
        restarted = (restart <= w) & (restart <= after)  # a new era within the window and in observation
        counts = {"restarted": int(restarted.sum()), "not restarted": int((~restarted & (after >= w)).sum()),
                  "censored": int((~restarted & (after < w)).sum())}
        _categories(add, f"restart within {w} days", counts, n_events, min_cell_count)
    return rows


def _categories(add, variable: str, counts: dict[str, int], total: int, min_cell_count: int) -> None:
    if unprotectable(counts, min_cell_count):  # one person per level: the levels would say it
        return
    hide = complementary_cells(counts, min_cell_count)
    for level, count in counts.items():
        add(variable, {"count": suppressed(count, level in hide),
                       "percentage": suppressed(100.0 * count / total if total else None, level in hide)}, level)


def _is_int(name: str) -> bool:
    return name == "count" or name.endswith("_count")


def _num(value) -> float | None:
    value = float(value)
    return None if value != value else value
