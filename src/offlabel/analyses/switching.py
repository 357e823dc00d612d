"""Add-on and switching after index: wraps `offlabel.drug_utilisation.summarise_add_on_and_switch`.

The index treatment of each person of the cohort is the era of the drug (`gap_days`) that holds
their index date (first cohort_start_date); the other treatments are the eras of their concept
sets. Result type "summarise_add_on_and_switch" (see the verb). The four categories of "treatment
change" add up to "number subjects", so a small one could follow by subtraction: the smallest
other categories are suppressed with it (here, `offlabel.results.secondary.complementary_cells`;
the small one itself at export); categories of one person each are left out (`unprotectable`).
"""

from __future__ import annotations

from offlabel.cohorts import drug_eras_of_sets
from offlabel.drug_utilisation._common import temp_table
from offlabel.drug_utilisation import summarise_add_on_and_switch
from offlabel.results import SUPPRESSED, SummarisedResult, bind
from offlabel.results.secondary import complementary_cells, unprotectable


def run(context, settings) -> SummarisedResult:
    cdm = context.cdm
    cohort = context.cohort(settings.cohort).table
    index = cohort.group_by(subject_id=cohort.subject_id.cast("int64")).aggregate(
        cohort_start_date=cohort.cohort_start_date.cast("date").min())
    persons = index.select(person_id=index.subject_id)

    names = [settings.drug, *[t for t in settings.treatments if t != settings.drug]]
    # The eras of the drug and of every treatment from one read of drug_exposure.
    all_eras = drug_eras_of_sets(cdm, {n: list(context.concept_sets[n].concept_ids) for n in names},
                                 gap_days=settings.gap_days, persons=persons)
    with temp_table(cdm, all_eras) as all_eras:
        def eras(name):
            e = all_eras.filter(all_eras.concept_set == name)
            return e.select(subject_id=e.person_id, cohort_start_date=e.era_start_date,
                            cohort_end_date=e.era_end_date)

        own = eras(settings.drug)
        j = index.left_join(own, [index.subject_id == own.subject_id, own.cohort_start_date <= index.cohort_start_date,
                                  own.cohort_end_date >= index.cohort_start_date])
        index_treatment = j.group_by(subject_id=j.subject_id, cohort_start_date=j.cohort_start_date).aggregate(
            cohort_end_date=j.cohort_end_date.max())
        index_treatment = index_treatment.mutate(
            cohort_end_date=index_treatment.cohort_end_date.fill_null(index_treatment.cohort_start_date))
        result = summarise_add_on_and_switch(cdm, index_treatment, {name: eras(name) for name in settings.treatments},
                                             cohort_name=settings.cohort, window=tuple(settings.window))
    changes = {r.variable_level: r.estimate_value for r in result.rows
               if r.variable_name == "treatment change" and r.estimate_name == "count"}
    rows = list(result.rows)
    if unprotectable(changes, context.study.min_cell_count):  # one person per category: leave them out
        rows = [r for r in rows if r.variable_name != "treatment change"]
    hidden = complementary_cells(changes, context.study.min_cell_count)
    rows = [r._replace(estimate_value=SUPPRESSED) if r.variable_name == "treatment change"
            and r.variable_level in hidden else r for r in rows]
    rid = result.result_ids[0]
    extra = {"cohort": settings.cohort, "drug": settings.drug, "treatments": ", ".join(settings.treatments),
             "gap_days": str(settings.gap_days)}
    own_settings = {**result.settings_for(rid), **context.settings(settings, "summarise_add_on_and_switch", **extra)}
    return bind(SummarisedResult(rows, {rid: own_settings}))
