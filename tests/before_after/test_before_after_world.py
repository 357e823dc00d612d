"""End to end on a synthetic world with a planted effect and a strong secular trend.

The world (100,000 persons, the MS-raised config of tests/helpers/worlds.py, LDN start rates x5 so that ~900 persons start in
2013) plants a rate ratio of 0.6 on opioid dispensings in the 730 days from the first LDN
collection of persistent (4+) users, none for the DMTs, and a secular opioid trend of +0.25 on
the log scale per calendar year. What is planted is a rate ratio on dispensing intensity, so
expected DDD after index in 4+ = 0.6 x what it would have been; the strata are drawn at random
at LDN start, so the reference (1-collection) stratum shows what it would have been. The truth
is therefore on the ratio scale: the ratio of ratios [mean DDD after / before in 4+] over the
same in the 1-collection stratum is 0.6. (The absolute DiD's truth, -0.4 x the counterfactual
mean DDD after index, is not known in advance.)
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from offlabel.synth import synthesize
from offlabel.synth.config import WorldConfig
from tests.helpers.worlds import ms_raised

STUDY = str(Path(__file__).with_name("study.yaml"))
SEED = 7
TREND = 0.25


def world_config(rate_ratio: float = 0.6, trend: float = TREND) -> WorldConfig:
    d = ms_raised()
    d["ldn"]["other_start_rate_per_month"] *= 5
    d["ldn"]["pain_start_rate_per_month"] *= 5
    d["drug_groups"]["opioids"]["trend_per_year"] = trend
    d["effects"]["dispensing"] = {"4+": {"opioids": rate_ratio}, "2-3": {}}
    return WorldConfig.model_validate(d)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("ba_world") / "cdm.duckdb"
    truth = synthesize(100_000, SEED, out, world_config(), progress=False)
    return out, truth


@pytest.fixture(scope="module")
def run_dir(world, tmp_path_factory):
    from offlabel.run import run_study

    out = tmp_path_factory.mktemp("ba_run") / "out"
    assert run_study(STUDY, str(world[0]), out) == 0
    return out


@pytest.fixture(scope="module")
def estimates(run_dir):
    d = pd.read_csv(run_dir / "results.csv", dtype=str, keep_default_na=False)
    d = d[d.group_name == "drug_group"]
    out = defaultdict(dict)
    for r in d.itertuples():
        key = (r.group_level, r.strata_level, r.variable_name, r.variable_level if r.variable_level not in ("", "NA") else None)
        out[key][r.estimate_name] = r.estimate_value
    return out


def _ci(estimates, group, stratum, variable, name="ratio"):
    v = estimates[(group, stratum, variable, None)]
    return float(v[name]), float(v[f"{name}_95CI_lower"]), float(v[f"{name}_95CI_upper"])


def test_planted_opioid_effect_is_covered_by_the_did(world, estimates):
    truth = world[1]["planted"]["dispensing"]["rate_ratio"]["4+"]["opioids"]
    assert truth == 0.6
    est, lo, hi = _ci(estimates, "opioids", "4+", "relative difference in differences")
    assert lo <= truth <= hi
    assert hi < 1.0  # and the effect is detected
    mean, lo, hi = _ci(estimates, "opioids", "4+", "difference in differences", "mean")
    assert mean < 0 and hi < 0


def test_no_effect_on_dmts(estimates):
    for stratum in ("2-3", "4+"):
        _, lo, hi = _ci(estimates, "disease_modifying_drugs", stratum, "relative difference in differences")
        assert lo <= 1.0 <= hi


def test_naive_change_is_biased_by_the_secular_trend(world, estimates):
    """Persistent users alone: after/before mixes the planted 0.6 with the trend exp(2 x 0.25)."""
    truth = world[1]["planted"]["dispensing"]["rate_ratio"]["4+"]["opioids"]
    assert world[1]["planted"]["secular_trends_log_per_year"]["opioids"] == TREND
    naive, lo, hi = _ci(estimates, "opioids", "4+", "relative change")
    assert not lo <= truth <= hi and naive > truth
    _, lo, hi = _ci(estimates, "opioids", "1", "relative change")
    assert lo > 1.0  # the trend, seen in the reference stratum, is what the DiD removes
    _, lo, hi = _ci(estimates, "opioids", "4+", "relative difference in differences")
    assert lo <= truth <= hi


def test_counts_are_consistent_and_suppressible(run_dir, estimates):
    d = pd.read_csv(run_dir / "results.csv", dtype=str, keep_default_na=False)
    counts = d[d.variable_name.isin(["number subjects", "users", "users by change"])]
    assert set(counts.estimate_name) == {"count"} and set(counts.estimate_type) == {"integer"}
    for group in ("opioids", "disease_modifying_drugs"):
        n = {s: int(estimates[(group, s, "number subjects", None)]["count"]) for s in ("1", "2-3", "4+")}
        assert min(n.values()) > 100
        for s in n:
            cats = [estimates[(group, s, "users by change", c)]["count"] for c in
                    ("stopped", "reduced", "kept", "increased", "started")]
            if "-" not in cats:
                assert sum(map(int, cats)) <= n[s]
    # the same persons in every drug group
    assert all(estimates[("opioids", s, "number subjects", None)] ==
               estimates[("disease_modifying_drugs", s, "number subjects", None)] for s in ("1", "2-3", "4+"))


def test_report_has_tables_and_forest_plot(run_dir):
    html = (run_dir / "report.html").read_text()
    assert "Before/after dispensing" in html and "ratio of ratios" in html
    assert html.count("<svg") >= 1


def test_person_table_matches_brute_force(world):
    """DDD per person and window against a plain computation from the world's own products table."""
    import offlabel
    from offlabel.analyses.before_after import person_table
    from offlabel.analyses.context import StudyContext
    from offlabel.cdm.vocabulary import resolve_concept_sets
    from offlabel.spec import load_study
    from offlabel.synth.drugs import load_products

    path, truth = world
    study = load_study(STUDY)
    settings = study.analyses[0]
    with offlabel.connect(str(path), scratch=path.parent / "scratch.duckdb") as cdm:
        context = StudyContext(cdm=cdm, study=study, concept_sets=resolve_concept_sets(cdm, study.concept_sets))
        table = pd.DataFrame(person_table(context, settings, ["1", "2-3", "4+"], "1")[0])
        naltrexone = list(context.concept_sets["naltrexone"].concept_ids)  # LDN and high-dose products
    got = table[table.drug_group == "opioids"].set_index("person_id")

    products = load_products()
    rows = products.of_group("opioids")
    ddd_per_unit = dict(zip(truth["concepts"]["drug_groups"]["opioids"]["products"],
                            products.strength[rows] / products.ddd[rows]))
    con = duckdb.connect(str(path), read_only=True)
    ids = ",".join(map(str, got.index))
    de = con.sql(f"select person_id, drug_concept_id, drug_exposure_start_date d, quantity from drug_exposure "
                 f"where person_id in ({ids})").df()
    con.close()
    de["day"] = (pd.to_datetime(de.d) - pd.Timestamp("1970-01-01")).dt.days
    nal = de[de.drug_concept_id.isin(naltrexone)]
    index = nal[pd.to_datetime(nal.d).dt.year == 2013]
    index = index.groupby("person_id").day.min()
    op = de[de.drug_concept_id.isin(list(ddd_per_unit))].copy()
    op["ddd"] = op.quantity * op.drug_concept_id.map(ddd_per_unit)
    op["rel"] = op.day - op.person_id.map(index)
    before = op[(op.rel >= -730) & (op.rel <= -1)].groupby("person_id").ddd.sum()
    after = op[(op.rel >= 0) & (op.rel <= 729)].groupby("person_id").ddd.sum()
    nal = nal.assign(rel=nal.day - nal.person_id.map(index))
    n_coll = nal[(nal.rel >= 0) & (nal.rel <= 729)].groupby("person_id").size()
    stratum = np.where(n_coll >= 4, "4+", np.where(n_coll >= 2, "2-3", "1"))
    # Each dispensing's DDD is summed as whole millionths (for identical sums on every backend), so a
    # person's sum may differ from the exact one by at most 0.5e-6 DDD per dispensing.
    for window, exact in (("ddd_before", before), ("ddd_after", after)):
        lo, hi = (-730, -1) if window == "ddd_before" else (0, 729)
        n = op[(op.rel >= lo) & (op.rel <= hi)].groupby("person_id").size().reindex(got.index).fillna(0)
        error = (got[window] - exact.reindex(got.index).fillna(0)).abs()
        assert (error <= 0.5e-6 * n + 1e-9).all(), error[error > 0.5e-6 * n + 1e-9].head()
    assert (got.stratum == pd.Series(stratum, index=n_coll.index).reindex(got.index)).all()


def test_table_one_describes_the_same_persons_by_stratum(run_dir, estimates, world):
    """Table 1 (result_type summarise_characteristics) has the before/after strata, the same number of
    persons in each, women as the world plants them, and SMDs only against the reference stratum."""
    d = pd.read_csv(run_dir / "results.csv", dtype=str, keep_default_na=False)
    types = d[(d.variable_name == "settings") & (d.estimate_name == "result_type")]
    rid = types[types.estimate_value == "summarise_characteristics"].result_id.iloc[0]
    t1 = d[(d.result_id == rid) & (d.variable_name != "settings")]
    assert set(t1.strata_name) == {"collection_stratum"} and set(t1.strata_level) == {"1", "2-3", "4+"}
    for s in ("1", "2-3", "4+"):
        n = t1[(t1.strata_level == s) & (t1.variable_name == "Number subjects")].estimate_value.iloc[0]
        assert n == estimates[("opioids", s, "number subjects", None)]["count"]
        women = t1[(t1.strata_level == s) & (t1.variable_name == "Sex") & (t1.variable_level == "Female")
                   & (t1.estimate_name == "percentage")].estimate_value.iloc[0]
        assert 50 < float(women) < 90  # LDN starters are mostly women in the world (DOMAIN.md: 74%)
    smd = t1[t1.estimate_name == "smd"]
    assert set(smd.strata_level) == {"2-3", "4+"}
    # strata are drawn at random at LDN start in the world: age differs between them by chance only, and
    # an SMD between independent groups of n1 and n2 has a standard error of about sqrt(1/n1 + 1/n2)
    n = {s: int(estimates[("opioids", s, "number subjects", None)]["count"]) for s in ("1", "2-3", "4+")}
    for s in ("2-3", "4+"):
        age = float(smd[(smd.variable_name == "Age") & (smd.strata_level == s)].estimate_value.iloc[0])
        assert abs(age) < 4 * np.sqrt(1 / n[s] + 1 / n["1"])
