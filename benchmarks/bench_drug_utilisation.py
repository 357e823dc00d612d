"""Time every drug utilisation verb on a CDM.

    offlabel synth --persons 1000000 --seed 1 --out /tmp/w1m.duckdb
    python benchmarks/bench_drug_utilisation.py /tmp/w1m.duckdb [tramadol]
    python benchmarks/bench_drug_utilisation.py "postgresql://...?cdm_schema=cdm&results_schema=r" tramadol

Prints the seconds each verb takes and writes each result's rows to OUT (default
./du_bench_<dialect>.pkl) so that two backends' results can be compared for identity.
"""

from __future__ import annotations

import pickle
import sys
import time

import ibis

import offlabel
from offlabel.drug_utilisation import (
    summarise_add_on_and_switch, summarise_dose_coverage, summarise_incidence, summarise_persistence,
    summarise_prevalence, summarise_proportion_of_patients_covered, who_ddd,
)
from offlabel.drug_utilisation._intervals import cohort_days, merge


def main(address: str, drug: str = "tramadol") -> None:
    cdm = offlabel.connect(address)
    if cdm.dialect == "duckdb":
        cdm.con.raw_sql("SET threads = 2")
    concept = cdm.table("concept")
    ingredients = {r["concept_name"]: r["concept_id"] for r in concept.filter(
        concept.concept_class_id == "Ingredient").select("concept_name", "concept_id").to_pyarrow().to_pylist()}
    ddd = who_ddd()
    atc = ddd[(ddd.ingredient == drug) & (ddd.code_status == "current")].atc_code.iloc[0]

    def cohort(name):
        de, ca = cdm.table("drug_exposure"), cdm.table("concept_ancestor")
        ids = ca.filter(ca.ancestor_concept_id == ingredients[name]).select(_d=ca.descendant_concept_id)
        de = de.join(ids, de.drug_concept_id == ids._d)
        return de.select(subject_id=de.person_id, cohort_start_date=de.drug_exposure_start_date,
                         cohort_end_date=de.drug_exposure_end_date)

    m = merge(cohort_days(cohort(drug)), gap=30)
    epoch = ibis.date(1970, 1, 1)
    eras = cdm.con.create_table("benchmark_eras", m.select(
        subject_id=m.subject_id, era_start_date=(epoch + m.start.as_interval("D")).cast("date"),
        era_end_date=(epoch + m.end.as_interval("D")).cast("date")), temp=True, overwrite=True)
    index = eras.select(subject_id=eras.subject_id, cohort_start_date=eras.era_start_date,
                        cohort_end_date=eras.era_end_date)
    others = {n: cohort(n) for n in ("oxycodone", "morphine") if n in ingredients and n != drug}
    verbs = {
        "incidence (months, years; washout 365)": lambda: summarise_incidence(
            cdm, cohort(drug), interval=["months", "years"], washout_days=365),
        "period prevalence (months, years)": lambda: summarise_prevalence(cdm, cohort(drug),
                                                                           interval=["months", "years"]),
        "point prevalence (years)": lambda: summarise_prevalence(cdm, cohort(drug), type="point", interval="years"),
        "dose coverage (mg and DDD)": lambda: summarise_dose_coverage(cdm, ingredients[drug], atc_code=atc),
        "persistence (KM)": lambda: summarise_persistence(cdm, index, eras),
        "PPC (365 days)": lambda: summarise_proportion_of_patients_covered(cdm, cohort(drug), follow_up_days=365),
        "add-on / switch": lambda: summarise_add_on_and_switch(cdm, index, others),
    }
    results, total = {}, 0.0
    for label, verb in verbs.items():
        start = time.time()
        result = verb()
        seconds = time.time() - start
        total += seconds
        results[label] = ([r[2:] for r in result.rows], result.settings.to_dict())
        print(f"{label:45s} {seconds:6.2f} s  ({len(result)} estimates)", flush=True)
    print(f"{'total':45s} {total:6.2f} s")
    with open(f"du_bench_{cdm.dialect}.pkl", "wb") as f:
        pickle.dump(results, f)
    cdm.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
