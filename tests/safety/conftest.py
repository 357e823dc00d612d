"""Fixtures of the safety tests: the tiny hand-made CDM (tests/safety/tiny.py) on DuckDB and PostgreSQL."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from tests.helpers import postgres as pg
from tests.safety import tiny


@pytest.fixture(scope="session")
def tiny_safety_path(tmp_path_factory):
    return tiny.build(tmp_path_factory.mktemp("tiny_safety") / "tiny.duckdb")


@pytest.fixture(scope="session")
def tiny_safety_postgres(request, tiny_safety_path):
    server = request.getfixturevalue("postgres_server")
    database = f"offlabel_safety_tiny_{os.getpid()}"
    pg.load_duckdb_cdm(server, tiny_safety_path, database=database, schema="cdm")
    yield pg.cdm_url(server, database, cdm_schema="cdm", results_schema="offlabel_results")
    pg.drop_database(server, database)


@pytest.fixture()
def tiny_safety_address(request, backend, tiny_safety_path):
    return str(tiny_safety_path) if backend == "duckdb" else request.getfixturevalue("tiny_safety_postgres")


def run_tiny(address: str, analyses: str, tmp_path, min_cell_count: int = 1):
    """Run a study of the tiny CDM; returns (results.csv bytes, {(group, strata, variable, level, estimate): text})."""
    from offlabel.run import run_study

    tmp_path.mkdir(parents=True, exist_ok=True)
    study = tmp_path / "study.yaml"
    study.write_text(tiny.study_text(analyses, min_cell_count), encoding="utf-8")
    out = tmp_path / "out"
    assert run_study(study, address, out) == 0
    return (out / "results.csv").read_bytes(), estimates(out / "results.csv")


def estimates(path) -> dict:
    d = pd.read_csv(path, dtype=str, keep_default_na=False)
    d = d[d.variable_name != "settings"]
    return {(r.group_level, r.strata_level, r.variable_name, r.variable_level, r.estimate_name): r.estimate_value
            for r in d.itertuples()}


@pytest.fixture(scope="module")
def tiny_safety_context(tiny_safety_path, tmp_path_factory):
    """A StudyContext on the tiny CDM for a study whose analyses are given as YAML lines (factory)."""
    import offlabel
    from offlabel.analyses.context import StudyContext
    from offlabel.cdm.vocabulary import resolve_concept_sets
    from offlabel.spec import load_study

    folder = tmp_path_factory.mktemp("tiny_context")
    cdm = offlabel.connect(str(tiny_safety_path), scratch=folder / "scratch.duckdb")

    def make(analyses: str, min_cell_count: int = 1):
        path = folder / "study.yaml"
        path.write_text(tiny.study_text(analyses, min_cell_count), encoding="utf-8")
        study = load_study(path)
        return StudyContext(cdm=cdm, study=study, concept_sets=resolve_concept_sets(cdm, study.concept_sets))

    yield make
    cdm.close()
