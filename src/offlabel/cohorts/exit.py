"""Exit: each entry's cohort_end_date, never past the end of its observation period.

end_of_observation: the observation period's end. fixed_days: index + days. event_end: the entry
record's end (+ offset). drug_era: the end of the drug era holding the index date (+ offset), or
the observation end when no era holds it (as ATLAS's custom era strategy). With censor_at_death,
the date of death ends follow-up when it comes first (never before the index date).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from offlabel.cohorts.dates import add_days
from offlabel.cohorts.eras import drug_eras
from offlabel.spec.cohorts import (CohortDefinition, DrugEraExit, EndOfObservationExit, EventEndExit,
                                   FixedDaysExit)


def add_exit(cdm, definition: CohortDefinition, entries: ir.Table, concept_ids) -> ir.Table:
    """`entries` (with observation_period_end_date) plus cohort_end_date."""
    rule = definition.exit
    op_end = entries.observation_period_end_date
    if isinstance(rule, EndOfObservationExit):
        t = entries.mutate(cohort_end_date=op_end)
    elif isinstance(rule, FixedDaysExit):
        t = entries.mutate(cohort_end_date=add_days(entries.cohort_start_date, rule.days))
    elif isinstance(rule, EventEndExit):
        t = entries.mutate(cohort_end_date=add_days(entries.event_end_date, rule.offset_days))
    elif isinstance(rule, DrugEraExit):
        t = _era_end(cdm, entries, rule, concept_ids[rule.concept_set or definition.entry.concept_set])
    else:  # pragma: no cover - the spec's union is closed
        raise TypeError(f"unknown exit {rule!r}")
    t = t.mutate(cohort_end_date=ibis.least(t.cohort_end_date, t.observation_period_end_date))
    if definition.censor_at_death and _has_deaths(cdm):
        t = _censor_at_death(cdm, t)
    return t


def _era_end(cdm, entries: ir.Table, rule: DrugEraExit, ids) -> ir.Table:
    # The offset extends every record (as ATLAS's custom era does): records merge when they start
    # at most gap_days + offset_days after the era's end so far, and the era ends offset_days late.
    eras = drug_eras(cdm, ids, gap_days=rule.gap_days + rule.offset_days,
                     persons=entries.select(person_id=entries.subject_id))
    eras = eras.select(era_person=eras.person_id, era_start=eras.era_start_date,
                       era_end=add_days(eras.era_end_date, rule.offset_days))
    joined = entries.left_join(eras, [entries.subject_id == eras.era_person,
                                      entries.cohort_start_date >= eras.era_start,
                                      entries.cohort_start_date <= eras.era_end])
    end = ibis.coalesce(joined.era_end, joined.observation_period_end_date)
    return joined.mutate(cohort_end_date=end).drop("era_person", "era_start", "era_end")


def _has_deaths(cdm) -> bool:
    # Some CDMs ship a DEATH table without its columns (Eunomia GiBleed does): no deaths then.
    return cdm.has_table("death") and {"person_id", "death_date"} <= set(cdm.columns("death"))


def _censor_at_death(cdm, t: ir.Table) -> ir.Table:
    death = cdm.table("death")
    # One date per person (the earliest), so duplicated death records never duplicate entries.
    death = (death.filter(death.death_date.notnull())
             .group_by(death_person=death.person_id.cast("int64"))
             .aggregate(death_date=death.death_date.cast("date").min()))
    joined = t.left_join(death, t.subject_id == death.death_person)
    censored = ibis.ifelse(joined.death_date.notnull() & (joined.death_date < joined.cohort_end_date),
                           ibis.greatest(joined.death_date, joined.cohort_start_date), joined.cohort_end_date)
    return joined.mutate(cohort_end_date=censored).drop("death_person", "death_date")
