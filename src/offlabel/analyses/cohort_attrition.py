"""Cohort attrition: records and persons after each step, and how many each step removed.

The result follows CohortCharacteristics' `summariseCohortAttrition()`: group cohort_name,
strata reason, variables number_records / number_subjects / excluded_records /
excluded_subjects with estimate "count", additional reason_id.
"""

from __future__ import annotations

from offlabel.results import SummarisedResult, result_rows

_VARIABLES = ("number_records", "number_subjects", "excluded_records", "excluded_subjects")


def run(context, settings) -> SummarisedResult:
    rows = []
    for name in settings.cohorts or list(context.study.cohorts):
        attrition = context.cohort(name).attrition
        for step in attrition.to_dict("records"):
            for variable in _VARIABLES:
                rows += result_rows(
                    cdm_name=context.cdm.name, group={"cohort_name": name}, strata={"reason": step["reason"]},
                    additional={"reason_id": str(step["reason_id"])}, variable_name=variable,
                    estimates={"count": int(step[variable])})
    return SummarisedResult.from_rows(rows, settings={1: context.settings(settings, "summarise_cohort_attrition")})
