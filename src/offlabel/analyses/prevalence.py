"""Prevalence of use of a drug by calendar period: wraps `offlabel.drug_utilisation.summarise_prevalence`.

The drug's records (drug_exposure of the concept set, from start to end) are the outcome; a study
cohort (or everyone in observation) the denominator. A prevalence is linked to its outcome count
(the same variable), so suppressing a small count hides it; a denominator below min_cell_count
bounds the count below it too.
"""

from __future__ import annotations

from offlabel.drug_utilisation import summarise_prevalence
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
    result = summarise_prevalence(
        cdm, use, outcome_name=settings.drug, denominator=denominator, denominator_name=settings.population,
        type=settings.prevalence_type, interval=tuple(settings.intervals), start_date=settings.start_date,
        end_date=settings.end_date, by_sex=settings.by_sex)
    rid = result.result_ids[0]
    own = {**result.settings_for(rid), **context.settings(settings, "prevalence")}
    return bind(SummarisedResult(result.rows, {rid: own}))
