"""Every verb gives the same result, to the last digit, on DuckDB and on PostgreSQL.

Runs each verb on the same CDM through both backends in one test (Eunomia: celecoxib and
diclofenac; the tiny CDM: doses) and compares the SummarisedResults for equality.
"""

import ibis

import offlabel
from offlabel.drug_utilisation import (
    summarise_add_on_and_switch, summarise_dose_coverage, summarise_incidence, summarise_persistence,
    summarise_prevalence, summarise_proportion_of_patients_covered,
)
from offlabel.drug_utilisation._intervals import cohort_days, merge
from tests.drug_utilisation.conftest import NALTREXONE

CELECOXIB, DICLOFENAC = 1118084, 1124300


def _cohort(cdm, concept_id):
    de = cdm.table("drug_exposure")
    de = de.filter(de.drug_concept_id == concept_id)
    return de.select(subject_id=de.person_id, cohort_start_date=de.drug_exposure_start_date,
                     cohort_end_date=de.drug_exposure_end_date)


def _eras(cdm, cohort, gap):
    m = merge(cohort_days(cohort), gap=gap)
    epoch = ibis.date(1970, 1, 1)
    return m.select(subject_id=m.subject_id, era_start_date=(epoch + m.start.as_interval("D")).cast("date"),
                    era_end_date=(epoch + m.end.as_interval("D")).cast("date"))


def _eunomia_results(cdm):
    cel = _cohort(cdm, CELECOXIB)
    eras = _eras(cdm, cel, gap=30)
    index = eras.select(subject_id=eras.subject_id, cohort_start_date=eras.era_start_date,
                        cohort_end_date=eras.era_end_date)
    window = dict(start_date="1990-01-01", end_date="2018-12-31")
    return {
        "incidence": summarise_incidence(cdm, cel, interval=["months", "years"], washout_days=365, **window),
        "incidence_repeated": summarise_incidence(cdm, cel, interval="years", washout_days=90,
                                                  repeated_events=True, **window),
        "prevalence": summarise_prevalence(cdm, cel, interval=["months", "years"], **window),
        "point_prevalence": summarise_prevalence(cdm, cel, type="point", interval="years", **window),
        "persistence": summarise_persistence(cdm, index, eras, cohort_name="celecoxib"),
        "ppc": summarise_proportion_of_patients_covered(cdm, cel, follow_up_days=90),
        "switch": summarise_add_on_and_switch(cdm, index, {"diclofenac": _cohort(cdm, DICLOFENAC)},
                                              window=(1, 365)),
    }


def test_verbs_identical_on_eunomia(eunomia_path, eunomia_postgres, tmp_path):
    with offlabel.connect(eunomia_path, scratch=tmp_path / "a.duckdb") as duck, \
            offlabel.connect(eunomia_postgres) as pg:
        a, b = _eunomia_results(duck), _eunomia_results(pg)
    for name in a:
        assert len(a[name]) > 0, name
        assert a[name] == b[name], f"{name}: DuckDB and PostgreSQL differ"
    yearly = a["incidence"].filter(lambda r: r.additional_level.endswith("years"), estimate_name="outcome_count")
    assert sum(r.estimate_value for r in yearly.rows) > 50


def test_dose_identical_on_tiny_cdm(tiny_path, tiny_postgres, tmp_path):
    with offlabel.connect(tiny_path, scratch=tmp_path / "a.duckdb") as duck, offlabel.connect(tiny_postgres) as pg:
        a = summarise_dose_coverage(duck, NALTREXONE, atc_code="N07BB04")
        b = summarise_dose_coverage(pg, NALTREXONE, atc_code="N07BB04")
    assert len(a) > 0 and a == b
