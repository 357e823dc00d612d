"""ATLAS/Circe JSON: offlabel's translation gives the same members as Circe's own SQL.

The reference is the SQL that circe-be generates (through duckcdm's exact port), run on the
Eunomia DuckDB file; offlabel's engine runs the translated definition on each backend.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import offlabel
from offlabel.cdm.vocabulary import resolve_concept_sets
from offlabel.cohorts import build_cohort
from offlabel.cohorts.circe import build_circe_cohort, definition_from_circe
from offlabel.errors import SpecError
from tests.cohorts.helpers import rows

DATA = Path(__file__).parent / "data"
DEFINITIONS = ["celecoxib_new_users.json", "acetaminophen_episodes.json", "aspirin_until_acetaminophen_era_ends.json"]


@pytest.fixture(scope="module")
def circe_members(eunomia_path, tmp_path_factory) -> dict[str, list[tuple]]:
    """Members by Circe's SQL on Eunomia (DuckDB), per definition file."""
    out = {}
    with offlabel.connect(eunomia_path, scratch=tmp_path_factory.mktemp("circe") / "scratch.duckdb") as cdm:
        for name in DEFINITIONS:
            out[name] = rows(build_circe_cohort(cdm, DATA / name))
    return out


@pytest.mark.parametrize("name", DEFINITIONS)
def test_import_gives_circe_members(backend_cdm, circe_members, name):
    definition, concept_sets = definition_from_circe(DATA / name)
    cohort = build_cohort(backend_cdm, definition, resolve_concept_sets(backend_cdm, concept_sets))
    assert len(circe_members[name]) > 1000
    assert rows(cohort.table) == circe_members[name]


def test_translation_of_the_new_user_definition():
    definition, concept_sets = definition_from_circe(DATA / "celecoxib_new_users.json", name="celecoxib")
    assert definition.entry.events == "first_ever" and definition.prior_observation_days == 365
    assert definition.exit.type == "fixed_days" and definition.exit.days == 30
    assert [i.concept_id for i in concept_sets["celecoxib"]] == [1118084]
    no_bleed = definition.inclusion[0].all_of[0]
    assert (no_bleed.min_count, no_bleed.max_count, no_bleed.window.start, no_bleed.window.end) == (0, 0, None, -1)
    either = definition.inclusion[1]
    assert either.any_of[1].calendar_window.end.isoformat() == "2009-12-31"


def test_untranslatable_features_are_all_named():
    cx = json.loads((DATA / "celecoxib_new_users.json").read_text())
    cx["CensoringCriteria"] = [{"Death": {}}]
    cx["ConceptSets"][0]["expression"]["items"][0]["includeMapped"] = True
    cx["InclusionRules"][0]["expression"]["CriteriaList"][0]["RestrictVisit"] = True
    with pytest.raises(SpecError) as info:
        definition_from_circe(cx)
    text = str(info.value)
    assert "CensoringCriteria" in text and "includeMapped" in text and "RestrictVisit" in text
    assert "build_circe_cohort" in text


def test_circe_sql_where_it_cannot_run_is_a_clear_error(eunomia_postgres, tmp_path):
    # Upper-case column names only matter on PostgreSQL: the test loader copies Eunomia's
    # upper-case column names into PostgreSQL (quoted), where Circe's unquoted SQL misses them.
    import offlabel
    from offlabel.errors import CdmError

    with offlabel.connect(eunomia_postgres, scratch=tmp_path / "s.duckdb") as cdm:
        with pytest.raises(CdmError, match="lower case"):
            build_circe_cohort(cdm, DATA / "celecoxib_new_users.json")


def test_circe_sql_runs_on_postgresql_with_ohdsi_names(eunomia_postgres, circe_members, tmp_path):
    """duckcdm's Circe SQL, translated for PostgreSQL, gives the same members there (on a copy of
    Eunomia with lower-case column names, as OHDSI's DDL creates them)."""
    import psycopg

    base = eunomia_postgres.split("?")[0]
    with psycopg.connect(base, autocommit=True) as con:
        con.execute("DROP SCHEMA IF EXISTS cdm_lower CASCADE")
        con.execute("CREATE SCHEMA cdm_lower")
        for table in ("person", "observation_period", "drug_exposure", "condition_occurrence", "concept",
                      "concept_ancestor", "visit_occurrence"):
            columns = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'cdm' "
                "AND table_name = %s ORDER BY ordinal_position", (table,))]
            select = ", ".join(f'"{c}" AS {c.lower()}' for c in columns)
            con.execute(f'CREATE TABLE cdm_lower.{table} AS SELECT {select} FROM cdm."{table}"')
    with offlabel.connect(f"{base}?cdm_schema=cdm_lower&results_schema=offlabel_results") as cdm:
        for name in DEFINITIONS:
            assert rows(build_circe_cohort(cdm, DATA / name, table_name=f"circe_pg_{name[:12]}")) == circe_members[name]
