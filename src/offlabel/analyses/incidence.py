"""The calendar trend of new use of a drug: incidence per 100,000 person-years by month and year.

Wraps `offlabel.drug_utilisation.summarise_incidence` for the study file: the drug's records
(drug_exposure of the concept set) are the outcome, a study cohort (or everyone in
observation) the denominator.
"""

from __future__ import annotations

from offlabel.drug_utilisation import summarise_incidence
from offlabel.results import SummarisedResult, bind


def run(context, settings) -> SummarisedResult:
    cdm = context.cdm
    ids = list(context.concept_sets[settings.drug].concept_ids)
    de = cdm.table("drug_exposure")
    use = de.filter(de.drug_concept_id.isin(ids)).select(
        subject_id=de.person_id,
        cohort_start_date=de.drug_exposure_start_date,
        cohort_end_date=de.drug_exposure_end_date.fill_null(de.drug_exposure_start_date),
    )
    denominator = context.cohort(settings.population).table if settings.population else None
    result = summarise_incidence(
        cdm, use, outcome_name=settings.drug, denominator=denominator,
        denominator_name=settings.population, interval=tuple(settings.intervals),
        start_date=settings.start_date, end_date=settings.end_date, washout_days=settings.washout_days,
        by_sex=settings.by_sex)
    # One settings row per analysis: the verb's own settings plus the study's.
    rid = result.result_ids[0]
    own = {**result.settings_for(rid), **context.settings(settings, "incidence")}
    return bind(SummarisedResult(result.rows, {rid: own}))
