"""Small synthetic worlds built once per test session."""

from __future__ import annotations

import pytest

from offlabel.synth import WorldConfig, synthesize
from offlabel.synth.calibration import measure

# A world with MS prevalence raised 10-fold, so that 40,000 persons hold ~800 MS patients;
# every calibration test scales its DOMAIN.md target by the same multiplier where it applies.
MULTIPLIER = 10.0
PERSONS = 40_000


def raised_config() -> WorldConfig:
    return WorldConfig.model_validate({"ms": {"prevalence_multiplier": MULTIPLIER}})


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "world.duckdb"
    truth = synthesize(PERSONS, seed=11, out=out, config=raised_config(), progress=False)
    return out, truth


@pytest.fixture(scope="session")
def calibration(world):
    return measure(world[0])


@pytest.fixture(scope="session")
def small_worlds(tmp_path_factory):
    """Three 3,000-person worlds: DuckDB seed 5, Parquet seed 5, DuckDB seed 6."""
    base = tmp_path_factory.mktemp("small")
    cfg = raised_config()
    paths = {"duckdb5": base / "a" / "world.duckdb", "parquet5": base / "b" / "cdm", "duckdb6": base / "c" / "world.duckdb"}
    synthesize(3_000, 5, paths["duckdb5"], cfg, progress=False, workers=1)
    synthesize(3_000, 5, paths["parquet5"], cfg, progress=False, workers=1)
    synthesize(3_000, 6, paths["duckdb6"], cfg, progress=False, workers=1)
    return paths
