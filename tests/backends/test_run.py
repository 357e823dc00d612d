"""A whole study run on each backend: identical results, and the CDM left as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from offlabel.run import run_study
from tests.helpers import postgres as pg

STUDY = Path(__file__).resolve().parents[1] / "data" / "eunomia_study.yaml"


@pytest.fixture(scope="module")
def duckdb_results(eunomia_path, tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("duckdb") / "run"
    assert run_study(STUDY, str(eunomia_path), out) == 0
    return (out / "results.csv").read_bytes()


def test_results_are_identical_on_every_backend(backend, eunomia_address, duckdb_results, tmp_path):
    out = tmp_path / "run"
    assert run_study(STUDY, eunomia_address, out) == 0
    produced = (out / "results.csv").read_bytes()
    assert produced == duckdb_results, f"results on {backend} differ from DuckDB's"


def test_a_run_leaves_the_postgres_cdm_unchanged(eunomia_postgres, tmp_path):
    before = pg.table_checksums(eunomia_postgres, "cdm")
    assert run_study(STUDY, eunomia_postgres, tmp_path / "run") == 0
    assert pg.table_checksums(eunomia_postgres, "cdm") == before
