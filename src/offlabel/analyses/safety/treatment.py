"""What the safety designs share: each new user's index and observation and their drug eras.

Days are whole days since 1970-01-01 (int64) from here on: integer arithmetic is exact and the same
on every backend.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from offlabel.cohorts.eras import drug_eras
from offlabel.drug_utilisation._intervals import epoch, observation_days
from offlabel.errors import EmptyCohortError, SpecError
from offlabel.results import SUPPRESSED


def drug_ids(context, settings, name: str) -> list[int]:
    ids = list(context.concept_sets[name].concept_ids)
    if not ids:
        raise SpecError(f"{settings.type} analysis {settings.analysis_id!r}: concept set {name!r} resolves to no "
                        "concept in this CDM. Check its codes (offlabel cdm check shows the vocabulary).")
    return ids


def index_table(context, settings) -> ir.Table:
    """person_id, index_day, obs_start, obs_end: each person's first entry of the study cohort, with the
    observation period that holds it (persons whose index lies outside observation are left out)."""
    cohort = context.cohort(settings.cohort).table
    idx = cohort.group_by(person_id=cohort.subject_id.cast("int64")).aggregate(
        index_day=epoch(cohort.cohort_start_date).min())
    obs = observation_days(context.cdm)
    j = idx.join(obs, (idx.person_id == obs.subject_id) & (obs.start <= idx.index_day) & (obs.end >= idx.index_day))
    return j.select(person_id=j.person_id, index_day=j.index_day, obs_start=j.start, obs_end=j.end)


def era_days(context, ids, gap_days: int, persons: ir.Table) -> ir.Table:
    """person_id, era_start, era_end (days): the drug eras (gapEra semantics) of the persons."""
    eras = drug_eras(context.cdm, ids, gap_days=gap_days, persons=persons)
    return eras.select(person_id=eras.person_id, era_start=epoch(eras.era_start_date),
                       era_end=epoch(eras.era_end_date))


def count_rows(table: ir.Table) -> int:
    return int(table.count().to_pyarrow().as_py())


def require_persons(n: int, settings) -> None:
    if n == 0:
        raise EmptyCohortError(f"{settings.type} analysis {settings.analysis_id!r}: cohort {settings.cohort!r} has "
                               "no person with an index date inside an observation period. Check the cohort's "
                               "definition and its attrition (cohort_attrition analysis).")


def suppressed(value, hide: bool):
    return SUPPRESSED if hide else value


def literal_days(value: int) -> ir.IntegerValue:
    return ibis.literal(int(value), "int64")
