"""Referential integrity, determinism, the CDM check, and truth.json of synthetic worlds."""

from __future__ import annotations

import json

import pytest

import offlabel
from offlabel.cdm.schema import cdm_spec
from offlabel.synth import WorldConfig, synthesize, truth_path
from offlabel.synth.calibration import open_world

EVENT_DATES = {"visit_occurrence": "visit_start_date", "condition_occurrence": "condition_start_date",
               "drug_exposure": "drug_exposure_start_date", "measurement": "measurement_date", "death": "death_date"}


@pytest.fixture(scope="module")
def con(world):
    c = open_world(world[0])
    yield c
    c.close()


def test_every_v54_table_exists_with_the_spec_columns_and_types(con):
    for table, spec in cdm_spec("5.4").items():
        cols = con.execute(f"SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '{table}' "
                           "ORDER BY ordinal_position").fetchall()
        assert [c for c, _ in cols] == list(spec.columns), table
        assert [t for _, t in cols] == [spec.columns[c].duckdb_type for c, _ in cols], table


@pytest.mark.parametrize("table", sorted(EVENT_DATES))
def test_every_event_is_inside_an_observation_period(con, table):
    date = EVENT_DATES[table]
    outside = con.execute(f"""SELECT count(*) FROM {table} e WHERE NOT EXISTS (SELECT 1 FROM observation_period o
        WHERE o.person_id = e.person_id AND e.{date} BETWEEN o.observation_period_start_date AND o.observation_period_end_date)""").fetchone()[0]
    assert outside == 0


def test_every_concept_id_is_in_the_vocabulary(con):
    for table, spec in cdm_spec("5.4").items():
        for col in spec.columns:
            if col.endswith("concept_id") and table not in ("concept", "concept_ancestor", "concept_relationship"):
                missing = con.execute(f'SELECT count(*) FROM "{table}" t WHERE "{col}" IS NOT NULL AND "{col}" NOT IN '
                                      "(SELECT concept_id FROM concept)").fetchone()[0]
                assert missing == 0, (table, col)
    for col in ("concept_id_1", "concept_id_2"):
        assert con.execute(f"SELECT count(*) FROM concept_relationship WHERE {col} NOT IN (SELECT concept_id FROM concept)").fetchone()[0] == 0


def test_visits_exist_for_every_linked_record(con):
    for table in ("condition_occurrence", "measurement"):
        assert con.execute(f"SELECT count(*) FROM {table} WHERE visit_occurrence_id NOT IN "
                           "(SELECT visit_occurrence_id FROM visit_occurrence)").fetchone()[0] == 0
        assert con.execute(f"""SELECT count(*) FROM {table} t JOIN visit_occurrence v USING (visit_occurrence_id)
            WHERE v.person_id <> t.person_id""").fetchone()[0] == 0


def test_vocabulary_makes_source_codes_and_doses_usable(con):
    # every ICD-10 source code maps to the standard concept recorded with it
    bad = con.execute("""SELECT count(*) FROM condition_occurrence c JOIN concept s ON s.concept_id = c.condition_source_concept_id
        WHERE s.vocabulary_id = 'ICD10' AND c.condition_concept_id <> 4102337 AND NOT EXISTS (SELECT 1 FROM concept_relationship r
        WHERE r.concept_id_1 = s.concept_id AND r.relationship_id = 'Maps to' AND r.concept_id_2 = c.condition_concept_id)""").fetchone()[0]
    assert bad == 0
    # G35 maps to MS 374919; MS is an ancestor of its subtypes and of the relapse concept
    assert con.execute("""SELECT r.concept_id_2 FROM concept s JOIN concept_relationship r ON r.concept_id_1 = s.concept_id
        WHERE s.vocabulary_id = 'ICD10' AND s.concept_code = 'G35' AND r.relationship_id = 'Maps to'""").fetchall() == [(374919,)]
    assert con.execute("SELECT count(*) FROM concept_ancestor WHERE ancestor_concept_id = 374919").fetchone()[0] >= 5
    # every product has a strength; both old and new ATC codes of gabapentin reach the same products
    assert con.execute("""SELECT count(*) FROM (SELECT DISTINCT drug_concept_id FROM drug_exposure)
        WHERE drug_concept_id NOT IN (SELECT drug_concept_id FROM drug_strength)""").fetchone()[0] == 0
    desc = con.execute("""SELECT c.concept_code, list(DISTINCT a.descendant_concept_id ORDER BY a.descendant_concept_id)
        FROM concept c JOIN concept_ancestor a ON a.ancestor_concept_id = c.concept_id JOIN concept d ON d.concept_id = a.descendant_concept_id
        WHERE c.vocabulary_id = 'ATC' AND c.concept_code IN ('N03AX12', 'N02BF01') AND d.concept_class_id = 'Clinical Drug'
        GROUP BY 1""").fetchall()
    assert len(desc) == 2 and desc[0][1] == desc[1][1]
    # naltrexone ingredient 1714319: LDN capsules are <= 5 mg, the alcohol-dependence tablet 50 mg
    doses = {r[0] for r in con.execute("SELECT amount_value FROM drug_strength WHERE ingredient_concept_id = 1714319").fetchall()}
    assert doses == {1.5, 3.0, 4.5, 50.0}
    # ids of the local range are >= 2,000,000,000
    assert con.execute("SELECT min(concept_id) FROM concept WHERE concept_id >= 3000000 AND concept_id < 2000000000 "
                       "AND concept_id > 50000000").fetchone()[0] is None


def test_primary_keys_unique_and_ids_dense(con):
    for table, key in (("person", "person_id"), ("visit_occurrence", "visit_occurrence_id"),
                       ("condition_occurrence", "condition_occurrence_id"), ("drug_exposure", "drug_exposure_id"),
                       ("measurement", "measurement_id")):
        n, distinct, lo, hi = con.execute(f"SELECT count(*), count(DISTINCT {key}), min({key}), max({key}) FROM {table}").fetchone()
        assert n == distinct == hi - lo + 1 and lo == 1, table


def test_parquet_world_connects_and_checks_clean(small_worlds):
    from offlabel.cdm.quality import check
    cdm = offlabel.connect(small_worlds["parquet5"])
    try:
        assert cdm.version == "5.4" and cdm.has_table("drug_strength")
        assert [f.message for f in check(cdm) if f.severity == "error"] == []
    finally:
        cdm.close()


def test_offlabel_cdm_check_finds_no_errors(world):
    from offlabel.cdm.quality import check
    cdm = offlabel.connect(world[0])
    try:
        findings = check(cdm)
    finally:
        cdm.close()
    errors = [f for f in findings if f.severity == "error"]
    assert errors == [], [f.message for f in errors]
    assert cdm.version == "5.4"


def test_truth_json_beside_the_cdm_matches_the_data(world, con):
    path, truth = world
    on_disk = json.loads(truth_path(path).read_text())
    assert truth_path(path) == path.parent / "truth.json"
    assert on_disk["realised"] == json.loads(json.dumps(truth["realised"]))
    rows = truth["realised"]["rows"]
    for table, n in rows.items():
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == n, table
    relapses = con.execute("SELECT count(*) FROM condition_occurrence WHERE condition_concept_id = 4102337").fetchone()[0]
    # relapses are counted when simulated; the few on the last day's edge may fall outside and are not written
    assert 0 <= truth["realised"]["ms"]["relapses_recorded"] - relapses <= 0.01 * relapses + 5
    planted = truth["planted"]
    assert planted["relapse_hazard_ratio"]["value"] == 1.0
    assert planted["adverse_events"]["insomnia"]["irr"] == 2.0
    assert sorted(pc["hazard_ratio"] for pc in planted["positive_controls"].values()) == [1.5, 2.0, 4.0]
    assert len(planted["negative_controls"]["outcomes"]) >= 30
    for pc in truth["realised"]["positive_controls"].values():
        assert pc["injected_events"] >= 0


def _fingerprint(path) -> dict:
    c = open_world(path)
    try:
        out = {}
        for table in cdm_spec("5.4"):
            out[table] = c.execute(f'SELECT count(*), coalesce(sum(hash(t)), 0) FROM (SELECT * FROM "{table}" ORDER BY ALL) t').fetchone()
        return out
    finally:
        c.close()


def test_same_seed_same_world_in_duckdb_and_parquet_different_seed_differs(small_worlds):
    a, b, c = (_fingerprint(small_worlds[k]) for k in ("duckdb5", "parquet5", "duckdb6"))
    assert a == b
    assert a["person"] != c["person"] and a["drug_exposure"] != c["drug_exposure"]
    assert (small_worlds["parquet5"] / "truth.json").exists()


def test_rebuild_is_identical_and_independent_of_workers(small_worlds, tmp_path):
    cfg = WorldConfig.model_validate({"ms": {"prevalence_multiplier": 10.0}})
    synthesize(3_000, 5, tmp_path / "w.duckdb", cfg, progress=False, workers=2)
    assert _fingerprint(tmp_path / "w.duckdb") == _fingerprint(small_worlds["duckdb5"])


def test_config_rejects_unknown_keys_and_bad_strata(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("ms:\n  prevalence_multipler: 2\n")
    with pytest.raises(Exception, match="prevalence_multipler"):
        WorldConfig.from_yaml(bad)
    with pytest.raises(Exception, match="collection_strata"):
        WorldConfig.model_validate({"ldn": {"collection_strata": {"1": 0.5, "2-3": 0.5}}})
    with pytest.raises(Exception, match="unknown drug groups"):
        WorldConfig.model_validate({"effects": {"dispensing": {"4+": {"opiods": 0.6}}}})


def test_demo_world_config_loads_and_raises_prevalence():
    from offlabel.synth import DEMO_WORLD
    cfg = WorldConfig.from_yaml(DEMO_WORLD)
    assert cfg.ms.prevalence_multiplier > 1
    assert "RAISED" in DEMO_WORLD.read_text()
    assert WorldConfig.model_validate(cfg.model_dump()) == cfg
