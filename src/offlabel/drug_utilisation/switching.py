"""Add-on and switching after the index treatment, within a window (DrugUtilisation's
`summariseTreatment()` / `summariseDrugRestart()` ideas, on treatment cohorts).

For each person of the index cohort (first entry: index date = cohort_start_date, the
index treatment ends at cohort_end_date, e.g. the end of its era) and each other
treatment, the first start of that treatment in days [window_start, window_end] after
index counts as
- "add-on" if it starts while the index treatment is still going (on or before its end),
- "switch" if it starts after the index treatment ended.
Treatments already running on the index date are concomitant, not changes. Each person
then falls into one category: "add-on" (any add-on), "switch" (a switch and no add-on),
"continued" (neither, index treatment lasts through the window) or "discontinued"
(neither, index treatment stopped within the window). Only persons observed through the
whole window are counted (the rest are reported as "not observed through window").
Everything is counted in the database.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from offlabel.drug_utilisation._common import base_settings, temp_table
from offlabel.drug_utilisation._intervals import cohort_days, observation_days
from offlabel.errors import SpecError
from offlabel.results import SummarisedResult, result_rows

CATEGORIES = ("add-on", "switch", "continued", "discontinued")


def summarise_add_on_and_switch(cdm, cohort: ir.Table, treatments: Mapping[str, ir.Table], *,
                                cohort_name: str = "index", window: tuple[int, int] = (1, 180)) -> SummarisedResult:
    """Counts and percentages of add-on, switch, continued and discontinued after index.

    treatments: {name: cohort table of that treatment's use (e.g. its drug eras)}.
    window: (first, last) day after index, inclusive.

    Returns result_type "summarise_add_on_and_switch": group cohort_name, additional
    window_name ("1 to 180"); variable "treatment change" with levels add-on, switch,
    continued, discontinued (estimates count, percentage); variable "<treatment name>"
    with levels add-on and switch (count, percentage: of the persons counted); variable
    "number subjects" (count: observed through the window) and "not observed through
    window" (count).
    """
    w0, w1 = window
    if w0 < 0 or w1 < w0:
        raise SpecError(f"window must be (first, last) days after index with 0 <= first <= last, got {window}")
    if not treatments:
        raise SpecError("give at least one other treatment (a {name: cohort} mapping) to look for add-on or switch")
    c = cohort_days(cohort, what="index cohort")
    idx = c.group_by("subject_id").aggregate(_index=c.start.min())
    first_entry = c.join(idx, (c.subject_id == idx.subject_id) & (c.start == idx._index))
    idx = first_entry.group_by(_s=first_entry.subject_id).aggregate(_index=first_entry._index.min(),
                                                                    _index_end=first_entry.end.max())
    obs = observation_days(cdm, idx._s)
    observed = idx.join(obs, (idx._s == obs.subject_id) & (obs.start <= idx._index) & (obs.end >= idx._index))
    observed = observed.mutate(_full=ibis.ifelse(observed.end >= observed._index + w1, 1, 0))
    # Every treatment's records in one table (tagged with its name), so that what follows is one
    # grouped pass for all treatments instead of one join per treatment.
    tagged = [cohort_days(table, what=f"treatment cohort {name!r}").mutate(_treatment=ibis.literal(name, "string"))
              for name, table in treatments.items()]
    with temp_table(cdm, observed.select("_s", "_index", "_index_end", "_full")) as base:
        t = ibis.union(*tagged, distinct=False) if len(tagged) > 1 else tagged[0]
        j = base.join(t, base._s == t.subject_id)
        concurrent = j.filter((j.start < j._index) & (j.end >= j._index)).select(
            _cs=j._s, _ct=j._treatment).distinct()
        starts = j.filter((j.start >= j._index + w0) & (j.start <= j._index + w1))
        starts = starts.anti_join(concurrent, (starts._s == concurrent._cs) & (starts._treatment == concurrent._ct))
        first = starts.group_by(["_s", "_treatment", "_index_end"]).aggregate(_start=starts.start.min())
        change = first.select(_s=first._s, _treatment=first._treatment,
                              _kind=ibis.ifelse(first._start <= first._index_end, "add-on", "switch"))
        full = base.filter(base._full == 1)
        with temp_table(cdm, change.semi_join(full, change._s == full._s)) as per_treatment:
            totals = base.aggregate(n=base.count(), full=base._full.sum()).to_pyarrow().to_pylist()[0]
            counted, not_full = int(totals["full"] or 0), int(totals["n"]) - int(totals["full"] or 0)
            by_treatment = per_treatment.group_by(["_treatment", "_kind"]).aggregate(n=per_treatment._s.nunique())
            treatment_counts = {(r["_treatment"], r["_kind"]): r["n"] for r in by_treatment.to_pyarrow().to_pylist()}
            flags = per_treatment.group_by("_s").aggregate(
                _add=ibis.ifelse(per_treatment._kind == "add-on", 1, 0).max(),
                _switch=ibis.ifelse(per_treatment._kind == "switch", 1, 0).max())
            person = full.left_join(flags, full._s == flags._s)
            category = ibis.cases(
                (person._add.fill_null(0) == 1, "add-on"), (person._switch.fill_null(0) == 1, "switch"),
                (person._index_end >= person._index + w1, "continued"), else_="discontinued")
            person = person.select(_category=category)
            by_category = {r["_category"]: r["n"] for r in
                           person.group_by("_category").aggregate(n=person.count()).to_pyarrow().to_pylist()}
    group = {"cohort_name": cohort_name}
    additional = {"window_name": f"{w0} to {w1}"}
    rows = result_rows(cdm_name=cdm.name, group=group, additional=additional, variable_name="number subjects",
                       estimates={"count": int(counted)})
    rows += result_rows(cdm_name=cdm.name, group=group, additional=additional,
                        variable_name="not observed through window", estimates={"count": int(not_full)})
    for level in CATEGORIES:
        n = int(by_category.get(level, 0))
        rows += result_rows(cdm_name=cdm.name, group=group, additional=additional, variable_name="treatment change",
                            variable_level=level, estimates={"count": n, "percentage": _pct(n, counted)},
                            estimate_types={"percentage": "percentage"})
    for name in treatments:
        for kind in ("add-on", "switch"):
            n = int(treatment_counts.get((name, kind), 0))
            rows += result_rows(cdm_name=cdm.name, group=group, additional=additional, variable_name=name,
                                variable_level=kind, estimates={"count": n, "percentage": _pct(n, counted)},
                                estimate_types={"percentage": "percentage"})
    settings = base_settings("summarise_add_on_and_switch", window_start=w0, window_end=w1)
    return SummarisedResult.from_rows(rows, settings={1: settings})


def _pct(n: int, total: int) -> float | None:
    return 100.0 * n / total if total else None
