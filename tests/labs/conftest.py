"""A tiny hand-made CDM for the lab chart review, on DuckDB and on PostgreSQL.

Eight persons observed from 2019 to 2022 (person 4 only to day 300 after index). Persons 1-5 start
the study drug (concept 1001) and persons 6-8 the comparator (1002), all on 2020-06-01 (index,
day 0). Their ALT and creatinine records, with mixed, unknown and missing units and missing
reference ranges, are listed below by day relative to index; the tests work out every expected
number from these lists by hand.
"""

from __future__ import annotations

import datetime as dt
import os

import duckdb
import pandas as pd
import pytest

from tests.helpers import postgres as pg

INDEX = dt.date(2020, 6, 1)
STUDY_DRUG, COMPARATOR = 1001, 1002
ALT, CREATININE = 5001, 5002
U_L, IU_L, UKAT_L, MG_DL, UMOL_L, PERCENT, UNKNOWN = 8645, 8923, 44777578, 8840, 8749, 8554, 777
FEMALE, MALE = 8532, 8507

SEX = {1: FEMALE, 2: MALE, 3: FEMALE, 4: MALE, 5: FEMALE, 6: FEMALE, 7: MALE, 8: FEMALE}
OBSERVATION_END = {p: dt.date(2022, 12, 31) for p in SEX} | {4: INDEX + dt.timedelta(days=300)}
# person, drug, first day, last day (relative to index)
EXPOSURES = [(1, STUDY_DRUG, 0, 59), (2, STUDY_DRUG, 0, 365), (3, STUDY_DRUG, 0, 89), (4, STUDY_DRUG, 0, 29),
             (5, STUDY_DRUG, 0, 29), (6, COMPARATOR, 0, 89), (7, COMPARATOR, 0, 89), (8, COMPARATOR, 0, 89)]
# person, lab, day, value, unit concept (None: no unit), range_low, range_high (in the record's unit)
MEASUREMENTS = [
    (1, ALT, -100, 20.0, U_L, 10.0, 40.0),
    (1, ALT, -10, 30.0, U_L, 10.0, 40.0),
    (1, ALT, 30, 150.0, IU_L, None, None),        # IU/L = U/L for an enzyme; no range: the study file's
    (1, ALT, 90, 40.0, U_L, 10.0, 40.0),
    (2, ALT, -5, 20.0, U_L, 10.0, 70.0),
    (2, ALT, 0, 0.5, UKAT_L, 0.17, 1.17),         # 30 U/L, range 10.2-70.2 U/L
    (2, ALT, 100, 35.0, U_L, 10.0, 70.0),
    (2, ALT, 100, 45.0, U_L, 10.0, 70.0),         # same day: averaged with the 35
    (3, ALT, -200, 50.0, U_L, 10.0, 45.0),        # before the baseline window
    (3, ALT, 60, 60.0, U_L, None, None),
    (3, ALT, 61, 999.0, UNKNOWN, None, None),     # a unit concept the vocabulary lacks: left out
    (3, ALT, 62, 888.0, 0, None, None),           # no unit: left out
    (4, ALT, -30, 50.0, U_L, 10.0, 50.0),         # at the ULN, not above it
    (4, ALT, 200, 55.0, U_L, 10.0, 50.0),
    (4, ALT, 400, 70.0, U_L, 10.0, 50.0),         # after the end of observation
    (5, ALT, -1, 8.0, U_L, 10.0, 35.0),
    (5, ALT, 10, None, U_L, 10.0, 35.0),          # no value
    (5, ALT, 20, 12.0, U_L, None, None),
    (6, ALT, -50, 22.0, U_L, 10.0, 45.0),
    (6, ALT, 40, 24.0, U_L, 10.0, 45.0),
    (7, ALT, -3, 30.0, U_L, 10.0, 70.0),
    (7, ALT, 150, 33.0, U_L, 10.0, 70.0),
    (7, ALT, 170, 36.0, U_L, 10.0, 70.0),
    (8, ALT, 300, 28.0, U_L, 10.0, 45.0),
    (1, CREATININE, -10, 1.0, MG_DL, 0.5, 1.1),   # 88.4 umol/L, range 44.2-97.24
    (1, CREATININE, 30, 90.0, UMOL_L, 45.0, 90.0),
    (2, CREATININE, -20, 80.0, UMOL_L, None, None),   # no range, and the study file gives none
    (2, CREATININE, 100, 1.2, MG_DL, 0.7, 1.3),
    (3, CREATININE, 60, 5.0, PERCENT, None, None),    # no conversion from % to umol/L: left out
]
CONCEPTS = [
    (STUDY_DRUG, "study drug", "Drug", "RxNorm", "1001"),
    (COMPARATOR, "comparator drug", "Drug", "RxNorm", "1002"),
    (ALT, "Alanine aminotransferase", "Measurement", "LOINC", "1742-6"),
    (CREATININE, "Creatinine", "Measurement", "LOINC", "2160-0"),
    (U_L, "unit per liter", "Unit", "UCUM", "U/L"),
    (IU_L, "international unit per liter", "Unit", "UCUM", "[IU]/L"),
    (UKAT_L, "microkatal per liter", "Unit", "UCUM", "ukat/L"),
    (MG_DL, "milligram per deciliter", "Unit", "UCUM", "mg/dL"),
    (UMOL_L, "micromole per liter", "Unit", "UCUM", "umol/L"),
    (PERCENT, "percent", "Unit", "UCUM", "%"),
]


def day(k: int) -> dt.date:
    return INDEX + dt.timedelta(days=k)


def build_tiny_cdm(path) -> None:
    con = duckdb.connect(str(path))
    frames = {
        "person": pd.DataFrame({"person_id": list(SEX), "gender_concept_id": list(SEX.values()),
                                "year_of_birth": 1970, "race_concept_id": 0, "ethnicity_concept_id": 0}),
        "observation_period": pd.DataFrame({
            "observation_period_id": list(SEX), "person_id": list(SEX),
            "observation_period_start_date": [dt.date(2019, 1, 1)] * len(SEX),
            "observation_period_end_date": [OBSERVATION_END[p] for p in SEX], "period_type_concept_id": 32880}),
        "drug_exposure": pd.DataFrame({
            "drug_exposure_id": range(1, len(EXPOSURES) + 1), "person_id": [e[0] for e in EXPOSURES],
            "drug_concept_id": [e[1] for e in EXPOSURES], "drug_exposure_start_date": [day(e[2]) for e in EXPOSURES],
            "drug_exposure_end_date": [day(e[3]) for e in EXPOSURES], "drug_type_concept_id": 38000177}),
        "measurement": pd.DataFrame({
            "measurement_id": range(1, len(MEASUREMENTS) + 1), "person_id": [m[0] for m in MEASUREMENTS],
            "measurement_concept_id": [m[1] for m in MEASUREMENTS],
            "measurement_date": [day(m[2]) for m in MEASUREMENTS], "measurement_type_concept_id": 32856,
            "value_as_number": pd.array([m[3] for m in MEASUREMENTS], dtype="Float64"),
            "unit_concept_id": pd.array([m[4] for m in MEASUREMENTS], dtype="Int64"),
            "range_low": pd.array([m[5] for m in MEASUREMENTS], dtype="Float64"),
            "range_high": pd.array([m[6] for m in MEASUREMENTS], dtype="Float64")}),
        "concept": pd.DataFrame(CONCEPTS, columns=["concept_id", "concept_name", "domain_id", "vocabulary_id",
                                                   "concept_code"]).assign(concept_class_id="x", standard_concept="S"),
        "concept_ancestor": pd.DataFrame({"ancestor_concept_id": [c[0] for c in CONCEPTS],
                                          "descendant_concept_id": [c[0] for c in CONCEPTS],
                                          "min_levels_of_separation": 0, "max_levels_of_separation": 0}),
        "cdm_source": pd.DataFrame({"cdm_source_name": ["tiny labs"], "cdm_source_abbreviation": ["tiny labs"],
                                    "cdm_version": ["v5.4"]}),
    }
    for name, frame in frames.items():
        con.register("frame", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
        con.unregister("frame")
    for table, column in (("person", "person_id"), ("measurement", "person_id"), ("drug_exposure", "person_id")):
        con.execute(f"ALTER TABLE {table} ALTER {column} TYPE BIGINT")
    con.close()


@pytest.fixture(scope="session")
def tiny_labs_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny_labs") / "tiny_labs.duckdb"
    build_tiny_cdm(path)
    return path


@pytest.fixture(scope="session")
def tiny_labs_postgres(request, tiny_labs_path):
    server = request.getfixturevalue("postgres_server")
    database = f"offlabel_labs_tiny_{os.getpid()}"
    pg.load_duckdb_cdm(server, tiny_labs_path, database=database, schema="cdm")
    yield pg.cdm_url(server, database, cdm_schema="cdm", results_schema="offlabel_results")
    pg.drop_database(server, database)
