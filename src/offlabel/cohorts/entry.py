"""Entry events and required observation: the first steps of a cohort, each a filtered table.

An entry is one person and day (`subject_id`, `cohort_start_date`); `event_end_date` is the
latest end of that day's records (a missing end counts as the start date).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from offlabel.cohorts.dates import days_between
from offlabel.cohorts.events import concept_records
from offlabel.spec.cohorts import CohortDefinition, CohortEntry

Stage = tuple[str, ir.Table]


def entry_stages(cdm, entry: CohortEntry, concept_ids, keep=lambda t: t) -> list[Stage]:
    """The entry steps in order, each (reason, table of entries left after it). `keep` is applied
    to the entry days (e.g. to materialise them: every later step and its count reads them)."""
    records = concept_records(cdm, concept_ids, name=entry.concept_set)
    days = keep(records.group_by(subject_id=records.person_id, cohort_start_date=records.start_date)
                .aggregate(event_end_date=ibis.coalesce(records.end_date, records.start_date).max()))
    stages: list[Stage] = [(f"Initial qualifying events: records of '{entry.concept_set}' "
                            "(one per person and day)", days)]
    current = days
    in_range = _in_range(entry)
    if entry.events == "first_ever":
        current = _first_day(current)
        stages.append(("First record per person (in all history)", current))
    if in_range is not None:
        current = current.filter(in_range(current.cohort_start_date))
        stages.append((f"Entry from {entry.date_range.label()}", current))
    if entry.events == "first":
        current = _first_day(current)
        stages.append(("First entry per person" + (" in that range" if in_range is not None else ""), current))
    return stages


def observation_stages(cdm, definition: CohortDefinition, entries: ir.Table) -> list[Stage]:
    """Index in an observation period, with the required days of observation around it.
    Adds observation_period_start_date / _end_date of the period holding the index date."""
    op = cdm.table("observation_period")
    op = op.select(op_person=op.person_id.cast("int64"),
                   observation_period_start_date=op.observation_period_start_date.cast("date"),
                   observation_period_end_date=op.observation_period_end_date.cast("date"))
    joined = entries.join(op, [entries.subject_id == op.op_person,
                               entries.cohort_start_date >= op.observation_period_start_date,
                               entries.cohort_start_date <= op.observation_period_end_date]).drop("op_person")
    stages: list[Stage] = [("Index date in an observation period", joined)]
    current = joined
    if definition.prior_observation_days > 0:
        n = definition.prior_observation_days
        current = current.filter(
            days_between(current.cohort_start_date, current.observation_period_start_date) >= n)
        stages.append((f"At least {n} days of observation before index", current))
    if definition.post_observation_days > 0:
        n = definition.post_observation_days
        current = current.filter(
            days_between(current.observation_period_end_date, current.cohort_start_date) >= n)
        stages.append((f"At least {n} days of observation after index", current))
    if definition.entry.events == "first_observed":
        current = _first(current)
        stages.append(("First entry per person that meets the observation requirements", current))
    return stages


def _first_day(days: ir.Table) -> ir.Table:
    """The first of a person's entry days (one row per person and day, so one per person): a
    grouped min with arg_min, which DuckDB runs about twice as fast as the window of `_first`."""
    return days.group_by("subject_id").aggregate(cohort_start_date=days.cohort_start_date.min(),
                                                 event_end_date=days.event_end_date.argmin(days.cohort_start_date))


def _first(t: ir.Table) -> ir.Table:
    # The window goes into a column before filtering: a window inside a filter compiles to SQL
    # that PostgreSQL rejects.
    t = t.mutate(first_start=t.cohort_start_date.min().over(ibis.window(group_by=t.subject_id)))
    return t.filter(t.cohort_start_date == t.first_start).drop("first_start")


def _in_range(entry: CohortEntry):
    r = entry.date_range
    if r is None or (r.start is None and r.end is None):
        return None

    def test(date):
        conditions = []
        if r.start is not None:
            conditions.append(date >= ibis.literal(r.start, "date"))
        if r.end is not None:
            conditions.append(date <= ibis.literal(r.end, "date"))
        return ibis.and_(*conditions)
    return test
