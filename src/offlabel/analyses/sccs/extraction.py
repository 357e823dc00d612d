"""The SCCS's extraction, in the database: per-case rows of each outcome, nothing else.

One pass over each event table for all outcomes together (the outcomes' concepts joined to a small
outcome map), one for the exposure records (eras built in the database, `cohorts.eras.collapse`).
Then, per outcome, only the cases' rows leave the database, in a fixed order: the observation
period holding each event (a case is a person and observation period with an event), the event
days, the person's first-ever event day, the birth date, and the exposure eras of the case
persons. Without age or season terms only persons with an exposure can inform the IRRs, so the
others never leave the database (an unexposed case's conditional likelihood is constant).
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

import ibis
import numpy as np

from offlabel.cdm.domains import EVENT_TABLES
from offlabel.cohorts.eras import collapse
from offlabel.cohorts.events import concept_domains, concept_records
from offlabel.drug_utilisation._common import temp_table
from offlabel.drug_utilisation._intervals import epoch, observation_days
from offlabel.errors import CdmError
from offlabel.stats.sccs_intervals import CaseSeries

_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass
class OutcomeCases:
    """The cases of one outcome as the database holds them (before any restriction)."""

    series: CaseSeries          # start/end: the observation period holding the events
    first_event_day: np.ndarray  # per case: the person's first-ever event of the outcome
    person_id: np.ndarray        # per case
    cases_in_observation: int    # persons with the outcome in observation (exposed or not)


class SccsExtraction:
    """Temporary tables of the exposure eras and the outcome events; `cases(k)` pulls outcome k."""

    def __init__(self, context, settings, stack: ExitStack):
        self.context, self.settings = context, settings
        cdm = context.cdm
        self.eras = stack.enter_context(temp_table(cdm, _eras(context, settings)))
        self.events = stack.enter_context(temp_table(cdm, _outcome_events(context, settings)))
        obs = observation_days(cdm)
        self.data_end = int(obs.end.max().to_pyarrow().as_py() or 0)

    def cases(self, k: int, *, with_unexposed: bool) -> OutcomeCases:
        cdm = self.context.cdm
        ev = self.events.filter(self.events.outcome == k)
        obs = observation_days(cdm)
        j = ev.join(obs, (ev.person_id == obs.subject_id) & (ev.day >= obs.start) & (ev.day <= obs.end))
        j = j.select(person_id=j.person_id, op_start=j.start, op_end=j.end, day=j.day)
        n_all = int(j.person_id.nunique().to_pyarrow().as_py())
        if not with_unexposed:
            j = j.semi_join(self.eras, "person_id")
        first = ev.group_by("person_id").aggregate(first_day=ev.day.min())
        person = cdm.table("person")
        person = person.select(_pid=person.person_id.cast("int64"), yob=person.year_of_birth.cast("int64"),
                               mob=person.month_of_birth.cast("int64"), dob=person.day_of_birth.cast("int64"))
        j = j.join(first, "person_id")
        j = j.join(person, j.person_id == person._pid)
        rows = (j.select("person_id", "op_start", "op_end", "day", "first_day", "yob", "mob", "dob")
                .order_by(["person_id", "op_start", "day"]).to_pyarrow())
        col = {name: rows.column(name).to_numpy(zero_copy_only=False) for name in rows.column_names}
        persons = ibis.memtable({"person_id": np.unique(col["person_id"]).astype(np.int64)})
        eras = (self.eras.semi_join(persons, "person_id").select("person_id", "start", "end")
                .order_by(["person_id", "start", "end"]).to_pyarrow())
        return _assemble(col, {name: eras.column(name).to_numpy() for name in eras.column_names}, n_all)


def _assemble(col: dict, eras: dict, n_all: int) -> OutcomeCases:
    pid, op_start = col["person_id"].astype(np.int64), col["op_start"].astype(np.int64)
    new_case = np.r_[True, (pid[1:] != pid[:-1]) | (op_start[1:] != op_start[:-1])] if len(pid) else np.zeros(0, bool)
    event_case = np.cumsum(new_case) - 1
    heads = np.flatnonzero(new_case)
    case_person = pid[heads]
    # eras go to every case (observation period) of their person
    e_pid = eras["person_id"].astype(np.int64)
    lo, hi = np.searchsorted(case_person, e_pid, "left"), np.searchsorted(case_person, e_pid, "right")
    count = hi - lo
    era_row = np.repeat(np.arange(len(e_pid)), count)
    era_case = np.repeat(lo, count) + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))
    order = np.lexsort([eras["end"][era_row], eras["start"][era_row], era_case])
    era_row, era_case = era_row[order], era_case[order]
    series = CaseSeries(start=op_start[heads], end=col["op_end"][heads].astype(np.int64),
                        birth=_birth_day(col["yob"][heads], col["mob"][heads], col["dob"][heads]),
                        event_case=event_case, event_day=col["day"].astype(np.int64), exposure_case=era_case,
                        exposure_start=eras["start"][era_row], exposure_end=eras["end"][era_row])
    return OutcomeCases(series=series, first_event_day=col["first_day"][heads].astype(np.int64),
                        person_id=case_person, cases_in_observation=n_all)


def _birth_day(year, month, day) -> np.ndarray:
    """Day of birth from year/month/day of birth; a missing month or day is taken as 1 (as
    SelfControlledCaseSeries's extraction does)."""
    year = np.asarray(year, dtype=float)
    if np.isnan(year).any():
        raise CdmError("Some cases have no year_of_birth in PERSON, which the CDM requires: fix the ETL.")
    month = np.nan_to_num(np.asarray(month, dtype=float), nan=1.0).clip(1, 12)
    day = np.nan_to_num(np.asarray(day, dtype=float), nan=1.0).clip(1, 31)
    months = ((year - 1970) * 12 + month - 1).astype(np.int64)
    return ((months.astype("datetime64[M]").astype("datetime64[D]") - _EPOCH).astype(np.int64)
            + day.astype(np.int64) - 1)


def _eras(context, settings):
    """person_id, start, end (days) of every exposure era (or record) of the exposure concept set."""
    ids = context.concept_sets[settings.exposure].concept_ids
    records = concept_records(context.cdm, ids, name=settings.exposure)
    if settings.era_gap_days is not None:
        eras = collapse(records, gap_days=settings.era_gap_days, by=("person_id",), start="start_date",
                        end="end_date")
    else:
        eras = records.mutate(end_date=ibis.coalesce(records.end_date, records.start_date))
        eras = eras.filter(eras.end_date >= eras.start_date)
    return eras.select(person_id=eras.person_id, start=epoch(eras.start_date), end=epoch(eras.end_date))


def _outcome_events(context, settings):
    """outcome (position in settings.outcomes), person_id, day: one row per person, outcome and day
    with a record, from one pass over each event table the outcomes' concepts live in."""
    cdm = context.cdm
    pairs = [(int(c), k) for k, name in enumerate(settings.outcomes)
             for c in context.concept_sets[name].concept_ids]
    ids = sorted({c for c, _ in pairs})
    empty = ibis.memtable({"outcome": [0], "person_id": [0], "day": [0]},
                          schema={"outcome": "int64", "person_id": "int64", "day": "int64"}).limit(0)
    if not ids:
        return empty
    outcome_map = ibis.memtable({"_c": [c for c, _ in pairs], "outcome": [k for _, k in pairs]},
                                schema={"_c": "int64", "outcome": "int64"})
    parts = []
    for domain in concept_domains(cdm, ids):
        spec = EVENT_TABLES[domain]
        if not cdm.has_table(spec.table):
            raise CdmError(f"The SCCS outcomes have {domain} concepts, but the CDM has no {spec.table.upper()} "
                           "table. Load it, or remove those concepts from the outcome concept sets.")
        t = cdm.table(spec.table)
        t = t.filter(t[spec.concept_id].isin(ids), t[spec.start_date].notnull())
        t = t.select(_c=t[spec.concept_id].cast("int64"), person_id=t.person_id.cast("int64"),
                     day=epoch(t[spec.start_date]))
        j = t.join(outcome_map, "_c")
        parts.append(j.select("outcome", "person_id", "day"))
    if not parts:
        return empty
    u = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    return u.distinct()
