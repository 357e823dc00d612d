"""Proportion of patients covered (PPC) by day since first treatment, as DrugUtilisation's
`summariseProportionOfPatientsCovered()`.

Index = a person's first cohort entry. On each day 0..follow_up_days after it, the
denominator is the persons still in observation (the observation period holding the
index date), the numerator those of them in a cohort entry on that day. The database
gives, per person, the observation end and the treatment intervals in days since
index; `offlabel.stats.coverage.proportion_covered` merges and counts them (Wilson 95%
interval).
"""

from __future__ import annotations

import numpy as np
import ibis.expr.types as ir

from offlabel.drug_utilisation._common import base_settings
from offlabel.drug_utilisation._intervals import cohort_days, observation_days
from offlabel.errors import EmptyCohortError
from offlabel.results import SummarisedResult, result_rows
from offlabel.stats.coverage import proportion_covered


def summarise_proportion_of_patients_covered(cdm, cohort: ir.Table, *, cohort_name: str = "cohort",
                                             cohort_definition_id: int | None = None,
                                             follow_up_days: int = 365, level: float = 0.95) -> SummarisedResult:
    """PPC for days 0..follow_up_days after first cohort entry.

    Returns result_type "summarise_proportion_of_patients_covered": group cohort_name,
    variable "overall", additional "time" (days since index), estimates outcome_count,
    denominator_count, ppc, ppc_lower, ppc_upper (percentages, 0-100).
    """
    c = cohort_days(cohort, cohort_definition_id)  # overlaps are merged in numpy
    first = c.group_by("subject_id").aggregate(_index=c.start.min())
    obs = observation_days(cdm, first.subject_id)
    persons = first.join(obs, (first.subject_id == obs.subject_id) & (obs.start <= first._index)
                         & (obs.end >= first._index))
    persons = persons.select(subject_id=persons.subject_id, _index=persons._index,
                             obs_end=persons.end - persons._index)
    spans = c.join(persons, c.subject_id == persons.subject_id)
    spans = spans.select(subject_id=spans.subject_id, start=spans.start - spans._index,
                         end=spans.end - spans._index)
    people = persons.select("subject_id", "obs_end").order_by("subject_id").to_pyarrow()
    if people.num_rows == 0:
        raise EmptyCohortError(f"No person of cohort {cohort_name!r} starts treatment inside an observation period.")
    iv = spans.filter(spans.start <= follow_up_days).to_pyarrow()
    ids = np.asarray(people.column("subject_id").to_numpy())
    position = np.searchsorted(ids, np.asarray(iv.column("subject_id").to_numpy()))
    table = proportion_covered(people.column("obs_end").to_numpy(), position, iv.column("start").to_numpy(),
                               iv.column("end").to_numpy(), days=follow_up_days, level=level)
    rows = []
    for r in table.itertuples(index=False):
        rows += result_rows(
            cdm_name=cdm.name, group={"cohort_name": cohort_name}, additional={"time": str(r.day)},
            variable_name="overall", variable_level="overall",
            estimates={"outcome_count": int(r.outcome_count), "denominator_count": int(r.denominator_count),
                       "ppc": _pct(r.ppc), "ppc_lower": _pct(r.ppc_lower), "ppc_upper": _pct(r.ppc_upper)},
            estimate_types={"ppc": "percentage", "ppc_lower": "percentage", "ppc_upper": "percentage"})
    settings = base_settings("summarise_proportion_of_patients_covered", follow_up_days=follow_up_days,
                             analysis_level=level)
    return SummarisedResult.from_rows(rows, settings={1: settings})


def _pct(value) -> float | None:
    value = float(value)
    return None if value != value else 100.0 * value
