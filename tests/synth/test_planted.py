"""Planted truths are recoverable by the designs later issues run (difference-in-differences of
dispensing after LDN start; injected adverse events and positive controls in their windows)."""

from __future__ import annotations

import math

import pytest

from offlabel.synth import WorldConfig, synthesize
from offlabel.synth.calibration import open_world

PLANTED_OPIOID_RATIO = 0.6  # -40% opioid dispensing (so DDD) in persistent users, as issue 4 plans


@pytest.fixture(scope="module")
def effect_world(tmp_path_factory):
    """60,000 persons, MS prevalence raised 10-fold, LDN starts raised 3-fold in MS and 100-fold outside MS
    (many starters), and an opioid effect planted in persistent users."""
    ldn = WorldConfig().ldn
    cfg = WorldConfig.model_validate({
        "ms": {"prevalence_multiplier": 10.0},
        "ldn": {"ms_start_rate_per_month": 3 * ldn.ms_start_rate_per_month,
                "pain_start_rate_per_month": 100 * ldn.pain_start_rate_per_month,
                "other_start_rate_per_month": 100 * ldn.other_start_rate_per_month},
        "effects": {"dispensing": {"4+": {"opioids": PLANTED_OPIOID_RATIO}}},
    })
    out = tmp_path_factory.mktemp("effect") / "world.duckdb"
    truth = synthesize(60_000, 3, out, cfg, progress=False)
    return out, truth


def _did(con) -> tuple[float, float, dict]:
    """Opioid dispensings 730 days after vs before the first LDN collection, stratum 4+ vs 1."""
    rows = con.execute("""
        WITH ldn AS (SELECT d.person_id, d.drug_exposure_start_date AS day FROM drug_exposure d
                     JOIN drug_strength s USING (drug_concept_id) WHERE s.ingredient_concept_id = 1714319 AND s.amount_value <= 5),
        idx AS (SELECT person_id, min(day) AS index_date FROM ldn GROUP BY 1),
        strata AS (SELECT i.person_id, i.index_date, count(*) AS n FROM idx i JOIN ldn l USING (person_id)
                   WHERE l.day < i.index_date + INTERVAL 730 DAY GROUP BY 1, 2),
        full_window AS (SELECT s.* FROM strata s JOIN observation_period o USING (person_id)
                        WHERE s.index_date - INTERVAL 730 DAY >= o.observation_period_start_date
                          AND s.index_date + INTERVAL 730 DAY <= o.observation_period_end_date),
        opioid AS (SELECT d.person_id, d.drug_exposure_start_date AS day FROM drug_exposure d
                   JOIN concept_ancestor a ON a.descendant_concept_id = d.drug_concept_id
                   JOIN concept c ON c.concept_id = a.ancestor_concept_id WHERE c.vocabulary_id = 'ATC' AND c.concept_code = 'N02A')
        SELECT CASE WHEN f.n = 1 THEN '1' WHEN f.n <= 3 THEN '2-3' ELSE '4+' END AS stratum, f.person_id,
               count(o.day) FILTER (WHERE o.day < f.index_date) AS before,
               count(o.day) FILTER (WHERE o.day >= f.index_date) AS after
        FROM full_window f LEFT JOIN opioid o ON o.person_id = f.person_id
          AND o.day >= f.index_date - INTERVAL 730 DAY AND o.day < f.index_date + INTERVAL 730 DAY
        GROUP BY 1, 2""").fetchall()
    by: dict[str, list[tuple[int, int]]] = {}
    for stratum, _, b, a in rows:
        by.setdefault(stratum, []).append((b, a))
    logs, var = {}, {}
    for s, pairs in by.items():
        sb, sa = sum(b for b, _ in pairs), sum(a for _, a in pairs)
        r = sa / sb
        v_r = sum((a - r * b) ** 2 for b, a in pairs) / sb ** 2  # ratio-estimator variance
        logs[s], var[s] = math.log(r), v_r / r ** 2
    return logs["4+"] - logs["1"], math.sqrt(var["4+"] + var["1"]), {s: len(p) for s, p in by.items()}


def test_difference_in_differences_recovers_the_planted_opioid_effect(effect_world):
    con = open_world(effect_world[0])
    try:
        log_did, se, n = _did(con)
    finally:
        con.close()
    assert n["4+"] > 300 and n["1"] > 300, n
    assert abs(log_did - math.log(PLANTED_OPIOID_RATIO)) < 3 * se, (math.exp(log_did), se, n)
    assert log_did + 2 * se < 0  # the effect is detectable
    assert effect_world[1]["planted"]["dispensing"]["rate_ratio"]["4+"]["opioids"] == PLANTED_OPIOID_RATIO


def test_injected_events_follow_the_planted_ratios(world):
    truth = world[1]
    planted, realised = truth["planted"], truth["realised"]
    for kind, ratio_key in (("adverse_events", "irr"), ("positive_controls", "hazard_ratio")):
        for outcome, r in realised[kind].items():
            ratio = planted[kind][outcome][ratio_key]
            expected = max(ratio - 1, 0) * r["expected_baseline_events_in_window"]
            assert abs(r["injected_events"] - expected) <= 3 * math.sqrt(expected) + 1, (outcome, r)


def test_confounding_by_indication_makes_a_naive_comparison_spurious(effect_world):
    """No effect of LDN on pain drugs is planted, yet MS patients who started LDN in 2013 use more
    pain drugs (opioids, paracetamol, gabapentinoids) in 2014-15 than MS patients who did not."""
    con = open_world(effect_world[0])
    try:
        rows = con.execute("""
            WITH ms AS (SELECT DISTINCT c.person_id FROM condition_occurrence c WHERE c.condition_concept_id = 374919
                        AND c.condition_start_date < DATE '2013-01-01'),
            prev AS (SELECT person_id FROM ms JOIN observation_period o USING (person_id)
                     WHERE o.observation_period_end_date >= DATE '2015-12-31'),
            starters AS (SELECT d.person_id FROM drug_exposure d JOIN drug_strength s USING (drug_concept_id)
                         WHERE s.ingredient_concept_id = 1714319 AND s.amount_value <= 5 GROUP BY 1
                         HAVING year(min(d.drug_exposure_start_date)) = 2013),
            pain AS (SELECT DISTINCT d.person_id FROM drug_exposure d JOIN concept_ancestor a ON a.descendant_concept_id = d.drug_concept_id
                     JOIN concept c ON c.concept_id = a.ancestor_concept_id
                     WHERE c.vocabulary_id = 'ATC' AND c.concept_code IN ('N02A', 'N02B', 'N03AX12', 'N03AX16')
                       AND year(d.drug_exposure_start_date) IN (2014, 2015))
            SELECT p.person_id IN (SELECT person_id FROM starters), count(*),
                   avg(CASE WHEN p.person_id IN (SELECT person_id FROM pain) THEN 1.0 ELSE 0.0 END)
            FROM prev p GROUP BY 1""").fetchall()
    finally:
        con.close()
    share = {bool(s): (n, p) for s, n, p in rows}
    (n1, p1), (n0, p0) = share[True], share[False]
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    assert p1 - p0 > 2 * se, (share, se)
