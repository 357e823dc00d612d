"""A tiny hand-made CDM for the drug utilisation verbs, on DuckDB and on PostgreSQL.

Six persons observed in 2020-2021, naltrexone (ingredient 1714319) in four formulations,
methylprednisolone injections and a fentanyl patch; every expected number in the tests
is worked out by hand from the tables below.
"""

from __future__ import annotations

import datetime as dt
import os

import duckdb
import pandas as pd
import pytest

from tests.helpers import postgres as pg
from tests.helpers.worlds import MS_RAISED

D = dt.date
NALTREXONE, METHYLPRED, FENTANYL, GABAPENTIN = 1714319, 1506270, 1154029, 797399

CONCEPTS = [
    (NALTREXONE, "naltrexone", "Ingredient"),
    (METHYLPRED, "methylprednisolone", "Ingredient"),
    (FENTANYL, "fentanyl", "Ingredient"),
    (GABAPENTIN, "gabapentin", "Ingredient"),
    (2001, "naltrexone 4.5 MG Oral Capsule", "Clinical Drug"),
    (2002, "naltrexone 50 MG Oral Tablet", "Clinical Drug"),
    (2003, "naltrexone 1 MG/ML Oral Solution", "Clinical Drug"),
    (2004, "methylprednisolone 40 MG/ML Injectable Solution", "Clinical Drug"),
    (2005, "fentanyl 0.012 MG/HR Transdermal System", "Clinical Drug"),
    (2006, "naltrexone 4500 UG Oral Capsule", "Clinical Drug"),
    (2007, "gabapentin 300 MG Oral Capsule", "Clinical Drug"),
]
ANCESTRY = {NALTREXONE: [2001, 2002, 2003, 2006], METHYLPRED: [2004], FENTANYL: [2005], GABAPENTIN: [2007]}
# drug, ingredient, amount, amount unit, numerator, numerator unit, denominator, denominator unit
STRENGTH = [
    (2001, NALTREXONE, 4.5, 8576, None, None, None, None),
    (2002, NALTREXONE, 50.0, 8576, None, None, None, None),
    (2003, NALTREXONE, None, None, 1.0, 8576, None, 8587),
    (2004, METHYLPRED, None, None, 40.0, 8576, 1.0, 8587),
    (2005, FENTANYL, None, None, 0.012, 8576, None, 8505),
    (2006, NALTREXONE, 4500.0, 9655, None, None, None, None),
    (2007, GABAPENTIN, 300.0, 8576, None, None, None, None),
]
OBSERVATION = [
    (1, D(2020, 1, 1), D(2021, 12, 31)),
    (2, D(2020, 1, 1), D(2020, 6, 30)),
    (2, D(2020, 9, 1), D(2021, 12, 31)),
    (3, D(2020, 3, 15), D(2021, 12, 31)),
    (4, D(2020, 1, 1), D(2020, 12, 31)),
    (5, D(2020, 1, 1), D(2021, 12, 31)),
    (6, D(2021, 1, 1), D(2021, 12, 31)),
]
# person, drug, start, end, quantity, days_supply
EXPOSURES = [
    (1, 2001, D(2020, 2, 1), D(2020, 3, 1), 30.0, 30),
    (1, 2001, D(2020, 3, 2), D(2020, 3, 31), 30.0, 30),
    (1, 2001, D(2020, 6, 1), D(2020, 6, 30), 30.0, 30),
    (2, 2002, D(2020, 5, 1), D(2020, 5, 30), 15.0, 30),
    (2, 2002, D(2021, 3, 1), D(2021, 3, 30), 15.0, 30),
    (3, 2003, D(2020, 3, 1), D(2020, 3, 20), 90.0, None),
    (5, 2006, D(2021, 1, 10), D(2021, 2, 8), 30.0, 30),
    (6, 2001, D(2021, 6, 1), D(2021, 6, 30), None, 30),
    (4, 2004, D(2020, 4, 1), D(2020, 4, 1), 1.0, 1),
    (5, 2005, D(2020, 1, 1), D(2020, 1, 30), 10.0, 30),
    (1, 2007, D(2020, 5, 1), D(2020, 5, 30), 90.0, 30),
]


def build_tiny_cdm(path) -> None:
    con = duckdb.connect(str(path))
    con.register("person_df", pd.DataFrame({
        "person_id": range(1, 7), "gender_concept_id": [8507, 8532] * 3, "year_of_birth": [1970] * 6,
        "race_concept_id": [0] * 6, "ethnicity_concept_id": [0] * 6}))
    con.execute("CREATE TABLE person AS SELECT * FROM person_df")
    con.register("op_df", pd.DataFrame(OBSERVATION, columns=["person_id", "observation_period_start_date",
                                                             "observation_period_end_date"]))
    con.execute("CREATE TABLE observation_period AS SELECT row_number() OVER () AS observation_period_id, "
                "CAST(person_id AS BIGINT) AS person_id, CAST(observation_period_start_date AS DATE) AS "
                "observation_period_start_date, CAST(observation_period_end_date AS DATE) AS "
                "observation_period_end_date, 32880 AS period_type_concept_id FROM op_df")
    de = pd.DataFrame(EXPOSURES, columns=["person_id", "drug_concept_id", "drug_exposure_start_date",
                                          "drug_exposure_end_date", "quantity", "days_supply"])
    con.register("de_df", de)
    con.execute("CREATE TABLE drug_exposure AS SELECT row_number() OVER () AS drug_exposure_id, "
                "CAST(person_id AS BIGINT) AS person_id, CAST(drug_concept_id AS BIGINT) AS drug_concept_id, "
                "CAST(drug_exposure_start_date AS DATE) AS drug_exposure_start_date, "
                "CAST(drug_exposure_end_date AS DATE) AS drug_exposure_end_date, "
                "CAST(quantity AS DOUBLE) AS quantity, CAST(days_supply AS INTEGER) AS days_supply, "
                "38000177 AS drug_type_concept_id FROM de_df")
    con.register("ds_df", pd.DataFrame(STRENGTH, columns=[
        "drug_concept_id", "ingredient_concept_id", "amount_value", "amount_unit_concept_id", "numerator_value",
        "numerator_unit_concept_id", "denominator_value", "denominator_unit_concept_id"]))
    con.execute("CREATE TABLE drug_strength AS SELECT CAST(drug_concept_id AS BIGINT) AS drug_concept_id, "
                "CAST(ingredient_concept_id AS BIGINT) AS ingredient_concept_id, "
                "CAST(amount_value AS DOUBLE) AS amount_value, CAST(amount_unit_concept_id AS BIGINT) AS "
                "amount_unit_concept_id, CAST(numerator_value AS DOUBLE) AS numerator_value, "
                "CAST(numerator_unit_concept_id AS BIGINT) AS numerator_unit_concept_id, "
                "CAST(denominator_value AS DOUBLE) AS denominator_value, "
                "CAST(denominator_unit_concept_id AS BIGINT) AS denominator_unit_concept_id FROM ds_df")
    con.register("c_df", pd.DataFrame(CONCEPTS, columns=["concept_id", "concept_name", "concept_class_id"]))
    con.execute("CREATE TABLE concept AS SELECT CAST(concept_id AS BIGINT) AS concept_id, concept_name, "
                "'Drug' AS domain_id, 'RxNorm' AS vocabulary_id, concept_class_id, 'S' AS standard_concept, "
                "CAST(concept_id AS VARCHAR) AS concept_code FROM c_df")
    pairs = [(a, a) for a in ANCESTRY] + [(a, d) for a, ds in ANCESTRY.items() for d in ds] + \
            [(d, d) for ds in ANCESTRY.values() for d in ds]
    con.register("ca_df", pd.DataFrame(pairs, columns=["ancestor_concept_id", "descendant_concept_id"]))
    con.execute("CREATE TABLE concept_ancestor AS SELECT CAST(ancestor_concept_id AS BIGINT) AS "
                "ancestor_concept_id, CAST(descendant_concept_id AS BIGINT) AS descendant_concept_id, "
                "0 AS min_levels_of_separation, 0 AS max_levels_of_separation FROM ca_df")
    con.execute("CREATE TABLE cdm_source AS SELECT 'tiny' AS cdm_source_name, 'tiny' AS "
                "cdm_source_abbreviation, 'v5.4' AS cdm_version")
    con.close()


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "tiny.duckdb"
    build_tiny_cdm(path)
    return path


@pytest.fixture(scope="session")
def tiny_postgres(request, tiny_path):
    server = request.getfixturevalue("postgres_server")
    database = f"offlabel_du_tiny_{os.getpid()}"
    pg.load_duckdb_cdm(server, tiny_path, database=database, schema="cdm")
    yield pg.cdm_url(server, database, cdm_schema="cdm", results_schema="offlabel_results")
    pg.drop_database(server, database)


@pytest.fixture()
def tiny_cdm(request, backend, tiny_path, tmp_path):
    """The tiny CDM on the backend under test (DuckDB and PostgreSQL, as `backend_cdm`)."""
    import offlabel

    address = str(tiny_path) if backend == "duckdb" else request.getfixturevalue("tiny_postgres")
    with offlabel.connect(address, scratch=tmp_path / "scratch.duckdb") as cdm:
        yield cdm


def exposure_cohort(cdm, ingredient_ids):
    """Drug exposures of concepts (ids or descendants) as a cohort table."""
    de = cdm.table("drug_exposure")
    ca = cdm.table("concept_ancestor")
    ids = ca.filter(ca.ancestor_concept_id.isin(list(ingredient_ids))).select(_d=ca.descendant_concept_id)
    de = de.join(ids, de.drug_concept_id == ids._d)
    return de.select(subject_id=de.person_id, cohort_start_date=de.drug_exposure_start_date,
                     cohort_end_date=de.drug_exposure_end_date)


@pytest.fixture(scope="session")
def world_path(tmp_path_factory):
    """A small synthetic world (2,000 persons, the MS-raised config of tests/helpers/worlds.py): its vocabulary, doses and eras."""
    from offlabel.synth import synthesize

    path = tmp_path_factory.mktemp("du_world") / "cdm.duckdb"
    synthesize(persons=2_000, seed=5, out=path, config=MS_RAISED, progress=False)
    return path


@pytest.fixture()
def world_cdm(world_path, tmp_path):
    import offlabel

    with offlabel.connect(str(world_path), scratch=tmp_path / "scratch.duckdb") as cdm:
        yield cdm
