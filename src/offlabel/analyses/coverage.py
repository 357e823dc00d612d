"""Proportion of patients covered (PPC) by day since index, as DrugUtilisation's
`summariseProportionOfPatientsCovered()`, for a study cohort and a drug.

Day 0 is each person's first cohort_start_date (not their first era, which may lie years before);
the denominator on day d is the persons whose observation period holding index lasts to day d; the
numerator those of them in an era of the drug (`offlabel.cohorts.drug_eras`, `gap_days`) on day d.
The database gives per person the observation end and the eras in days since index; the counting
is `offlabel.stats.coverage.proportion_covered` (Wilson 95% interval). Result type
"summarise_proportion_of_patients_covered" (group cohort_name, additional time; outcome_count,
denominator_count, ppc, ppc_lower, ppc_upper in percent): the counts and the percentages share a
variable, so a small count hides its day's row at export.
"""

from __future__ import annotations

import math

import numpy as np

from offlabel.cohorts import drug_eras
from offlabel.drug_utilisation._intervals import epoch, observation_days
from offlabel.errors import EmptyCohortError
from offlabel.results import SummarisedResult, result_rows
from offlabel.stats.coverage import proportion_covered

LEVEL = 0.95


def run(context, settings) -> SummarisedResult:
    cdm = context.cdm
    cohort = context.cohort(settings.cohort).table
    index = cohort.group_by(subject_id=cohort.subject_id.cast("int64")).aggregate(
        _index=epoch(cohort.cohort_start_date).min())
    obs = observation_days(cdm, index.subject_id)
    persons = index.join(obs, [index.subject_id == obs.subject_id, obs.start <= index._index, obs.end >= index._index])
    persons = persons.select(subject_id=persons.subject_id, _index=persons._index, obs_end=persons.end - persons._index)
    ids = list(context.concept_sets[settings.drug].concept_ids)
    eras = drug_eras(cdm, ids, gap_days=settings.gap_days,
                     persons=persons.select(person_id=persons.subject_id))
    eras = eras.select(_p=eras.person_id, _s=epoch(eras.era_start_date), _e=epoch(eras.era_end_date))
    spans = eras.join(persons, eras._p == persons.subject_id)
    spans = spans.select(subject_id=spans.subject_id, start=spans._s - spans._index, end=spans._e - spans._index)
    spans = spans.filter((spans.end >= 0) & (spans.start <= settings.follow_up_days))
    people = persons.select("subject_id", "obs_end").order_by("subject_id").to_pyarrow()
    if people.num_rows == 0:
        raise EmptyCohortError(f"proportion_of_patients_covered {settings.analysis_id!r}: no person of cohort "
                               f"'{settings.cohort}' is in observation on their index date.")
    iv = spans.order_by(["subject_id", "start", "end"]).to_pyarrow()
    ids_sorted = np.asarray(people.column("subject_id").to_numpy())
    position = np.searchsorted(ids_sorted, np.asarray(iv.column("subject_id").to_numpy()))
    start = np.maximum(np.asarray(iv.column("start").to_numpy()), 0)  # an era running at index covers from day 0
    table = proportion_covered(people.column("obs_end").to_numpy(), position, start, iv.column("end").to_numpy(),
                               days=settings.follow_up_days, level=LEVEL)
    rows = []
    for r in table.itertuples(index=False):
        rows += result_rows(
            cdm_name=cdm.name, group={"cohort_name": settings.cohort}, additional={"time": str(r.day)},
            variable_name="overall", variable_level="overall",
            estimates={"outcome_count": int(r.outcome_count), "denominator_count": int(r.denominator_count),
                       "ppc": _pct(r.ppc), "ppc_lower": _pct(r.ppc_lower), "ppc_upper": _pct(r.ppc_upper)},
            estimate_types={"ppc": "percentage", "ppc_lower": "percentage", "ppc_upper": "percentage"})
    extra = {"cohort": settings.cohort, "drug": settings.drug, "gap_days": str(settings.gap_days),
             "follow_up_days": str(settings.follow_up_days), "analysis_level": str(LEVEL)}
    return SummarisedResult.from_rows(
        rows, settings={1: context.settings(settings, "summarise_proportion_of_patients_covered", **extra)})


def _pct(value) -> float | None:
    value = float(value)
    return None if math.isnan(value) else 100.0 * value
