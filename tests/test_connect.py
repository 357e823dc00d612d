"""connect(): every kind of CDM input, read-only, with its version and a place to write."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import duckdb
import pytest

import offlabel
from offlabel.errors import CdmError



def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_duckdb_file_is_opened_read_only(eunomia_path, tmp_path):
    copy = tmp_path / "eunomia.duckdb"
    shutil.copy(eunomia_path, copy)
    before = _sha(copy)
    with offlabel.connect(copy) as cdm:
        assert cdm.version == "5.3"
        assert cdm.person.count().execute() == 2694
        # Writing goes to the scratch database, never into the CDM.
        cdm.write_table("offlabel_probe", cdm.person.select("person_id").limit(3))
        assert cdm.written("offlabel_probe").count().execute() == 3
        with pytest.raises(Exception):
            cdm.con.raw_sql("CREATE TABLE cdm.main.intruder AS SELECT 1 AS x")
    assert _sha(copy) == before


def test_zip_of_upper_case_csv_with_macos_metadata(synthea_zip):
    with offlabel.connect(synthea_zip) as cdm:
        assert cdm.version == "5.4"
        assert "person" in cdm.table_names and "episode" in cdm.table_names
        assert not any(t.startswith("_") for t in cdm.table_names)
        person = cdm.person
        assert person.count().execute() == 28
        assert str(person.schema()["person_id"]) == "int64"
        assert str(cdm.observation_period.schema()["observation_period_start_date"]) == "date"


def test_folder_of_csv_and_of_parquet_files(synthea_zip, tmp_path):
    folder = tmp_path / "csv"
    with zipfile.ZipFile(synthea_zip) as z:
        z.extractall(folder)  # includes __MACOSX/._*.csv entries, which must be ignored
    with offlabel.connect(folder) as cdm:
        counts = {t: cdm.table(t).count().execute() for t in ("person", "drug_exposure", "concept")}
    assert counts["person"] == 28

    parquet = tmp_path / "parquet"
    parquet.mkdir()
    con = duckdb.connect()
    for name in ("person", "drug_exposure", "concept", "observation_period"):
        src = folder / f"{name.upper()}.csv"
        con.sql(f"COPY (SELECT * FROM read_csv('{src}')) TO '{parquet / (name + '.parquet')}' (FORMAT parquet)")
    (parquet / "notes.txt").write_text("not a table")
    with offlabel.connect(parquet) as cdm:
        assert sorted(cdm.table_names) == ["concept", "drug_exposure", "observation_period", "person"]
        assert {t: cdm.table(t).count().execute() for t in counts} == counts


def test_csv_load_is_reused_by_fingerprint(synthea_zip, tmp_path):
    scratch = tmp_path / "scratch.duckdb"
    with offlabel.connect(synthea_zip, scratch=scratch) as cdm:
        first = cdm.fingerprint
    with offlabel.connect(synthea_zip, scratch=scratch) as cdm:
        assert cdm.fingerprint == first
        assert cdm.person.count().execute() == 28


@pytest.mark.parametrize("address, words", [
    ("mysql://user@host/db", "Unknown CDM address scheme 'mysql://'"),
    ("/nonexistent/cdm.duckdb", "does not exist"),
    ("postgresql://postgres@127.0.0.1:5432/postgres?cdm_schema=cdm", "no results_schema"),
])
def test_bad_addresses_say_what_is_wrong(address, words):
    with pytest.raises(CdmError, match=words.replace("(", r"\(").replace(")", r"\)")):
        offlabel.connect(address)


def test_not_a_cdm(tmp_path):
    bogus = tmp_path / "empty.duckdb"
    duckdb.connect(str(bogus)).close()
    with pytest.raises(CdmError, match="no PERSON table"):
        offlabel.connect(bogus)
    text = tmp_path / "cdm.duckdb.txt"
    text.write_text("hello")
    with pytest.raises(CdmError, match="neither a folder"):
        offlabel.connect(text)
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_text("this is not a database")
    with pytest.raises(CdmError, match="Cannot open"):
        offlabel.connect(garbage)
    (tmp_path / "folder").mkdir()
    with pytest.raises(CdmError, match="no Parquet or CSV files"):
        offlabel.connect(tmp_path / "folder")


def test_a_study_runs_on_the_synthea_zip(synthea_zip, tmp_path):
    from offlabel.results import import_summarised_result
    from offlabel.run import run_study

    study = tmp_path / "snapshot.yaml"
    study.write_text("spec_version: 1\nname: snapshot\nanalyses:\n  - type: cdm_snapshot\n")
    assert run_study(study, str(synthea_zip), tmp_path / "out") == 0
    result = import_summarised_result(tmp_path / "out" / "results.csv")
    assert result.filter(variable_name="CDM", variable_level="version").rows[0].estimate_value == "5.4"
    persons = result.filter(variable_name="Number of persons").rows[0].estimate_value
    assert persons == 28
