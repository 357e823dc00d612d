"""Cohort attrition: records and persons after each step, and how many each step removed.

The result follows CohortCharacteristics' `summariseCohortAttrition()`: group cohort_name,
strata reason, variables number_records / number_subjects / excluded_records /
excluded_subjects with estimate "count", additional reason_id.

Each exclusion is the difference of the counts before and after its step, so a small exclusion
hidden at export would still be given away by its neighbours. Unlike omopgenerics, the
complements are hidden here (`offlabel.results.secondary.suppress_chain`), for records and for
persons separately.
"""

from __future__ import annotations

from offlabel.results import SUPPRESSED, SummarisedResult, result_rows
from offlabel.results.secondary import suppress_chain

_VARIABLES = ("number_records", "number_subjects", "excluded_records", "excluded_subjects")
_CHAINS = (("number_records", "excluded_records"), ("number_subjects", "excluded_subjects"))


def run(context, settings) -> SummarisedResult:
    rows = []
    for name in settings.cohorts or list(context.study.cohorts):
        steps = context.cohort(name).attrition.to_dict("records")
        values = [{v: int(step[v]) for v in _VARIABLES} for step in steps]
        for total, excluded in _CHAINS:
            hide_total, hide_excluded = suppress_chain([v[total] for v in values], context.study.min_cell_count)
            for v, ht, he in zip(values, hide_total, hide_excluded):
                v[total] = SUPPRESSED if ht else v[total]
                v[excluded] = SUPPRESSED if he else v[excluded]
        for step, counts in zip(steps, values):
            for variable, count in counts.items():
                rows += result_rows(
                    cdm_name=context.cdm.name, group={"cohort_name": name}, strata={"reason": step["reason"]},
                    additional={"reason_id": str(step["reason_id"])}, variable_name=variable,
                    estimates={"count": count}, estimate_types={"count": "integer"})
    return SummarisedResult.from_rows(rows, settings={1: context.settings(settings, "summarise_cohort_attrition")})
