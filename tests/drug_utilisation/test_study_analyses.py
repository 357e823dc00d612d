"""The drug-utilisation analyses of the study file (dose, persistence, PPC, prevalence, add-on/switch)
against brute-force counts in pandas on a synthetic world (about 200 LDN starters in 2013)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from offlabel.run import run_study
from offlabel.stats.survival import KaplanMeier
from offlabel.synth import synthesize
from offlabel.synth.vocabulary import build_vocabulary
from tests.helpers.worlds import MS_RAISED

STUDY = str(Path(__file__).with_name("study.yaml"))
LDN = ("ldn_1_5", "ldn_3", "ldn_4_5")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("du_study_world") / "cdm.duckdb"
    synthesize(persons=20_000, seed=21, out=path, config=MS_RAISED, progress=False)
    return path


def _run(world, out, min_cell_count=None) -> pd.DataFrame:
    assert run_study(STUDY, str(world), out, min_cell_count=min_cell_count) == 0
    return with_analysis_id(pd.read_csv(out / "results.csv", dtype=str, keep_default_na=False))


def with_analysis_id(d: pd.DataFrame) -> pd.DataFrame:
    """results.csv rows with the analysis_id of their result (from the settings rows)."""
    s = d[(d.variable_name == "settings") & (d.estimate_name == "analysis_id")]
    d = d[d.variable_name != "settings"].copy()
    d["analysis_id"] = d.result_id.map(dict(zip(s.result_id, s.estimate_value)))
    return d


@pytest.fixture(scope="module")
def results(world, tmp_path_factory):
    return _run(world, tmp_path_factory.mktemp("du_study") / "out")


@pytest.fixture(scope="module")
def ldn(world):
    """LDN dispensings and the 2013 starters (index = first LDN dispensing in 2013), by plain SQL."""
    v = build_vocabulary()
    ids = ", ".join(str(v.product[k]) for k in LDN)
    con = duckdb.connect(str(world), read_only=True)
    de = con.execute(f"""SELECT person_id, drug_concept_id, drug_exposure_start_date AS s, drug_exposure_end_date AS e,
                                quantity, days_supply FROM drug_exposure WHERE drug_concept_id IN ({ids})""").df()
    op = con.execute("SELECT person_id, observation_period_start_date AS o0, observation_period_end_date AS o1 "
                     "FROM observation_period").df()
    con.close()
    for c in ("s", "e"):
        de[c] = pd.to_datetime(de[c])
    idx = de[de.s.dt.year == 2013].groupby("person_id").s.min().rename("index").reset_index()
    idx = idx.merge(op, on="person_id")
    idx = idx[(pd.to_datetime(idx.o0) <= idx["index"]) & (pd.to_datetime(idx.o1) >= idx["index"])]
    return de, idx, v


def _value(d, analysis, variable, estimate, level=None, strata=None, additional=None):
    r = d[(d.analysis_id == analysis) & (d.variable_name == variable) & (d.estimate_name == estimate)]
    if level is not None:
        r = r[r.variable_level == level]
    if strata is not None:
        r = r[r.strata_level == strata]
    if additional is not None:
        r = r[r.additional_level == additional]
    assert len(r) == 1, (analysis, variable, estimate, level, strata, additional, len(r))
    return r.estimate_value.iloc[0]


def test_dose_by_product_matches_brute_force(results, ldn):
    de, idx, v = ldn
    j = de.merge(idx[["person_id", "index", "o1"]], on="person_id")
    j = j[(j.s >= j["index"]) & (j.s <= pd.to_datetime(j.o1))]  # cohort entry: index to end of observation
    strength = {v.product["ldn_1_5"]: 1.5, v.product["ldn_3"]: 3.0, v.product["ldn_4_5"]: 4.5}
    dose = j.drug_concept_id.map(strength) * j.quantity / j.days_supply
    assert int(_value(results, "dose", "daily_dose", "count", strata="overall")) == len(j)
    assert float(_value(results, "dose", "daily_dose", "median", strata="overall")) == pytest.approx(dose.median())
    assert float(_value(results, "dose", "daily_dose", "mean", strata="overall")) == pytest.approx(dose.mean(), rel=1e-12)
    ddd = float(_value(results, "dose", "daily_dose_ddd", "mean", strata="overall"))
    assert ddd == pytest.approx(dose.mean() / 50, rel=1e-12)  # naltrexone DDD 50 mg
    name = "naltrexone 4.5 MG Oral Capsule (compounded)"
    assert int(_value(results, "dose", "daily_dose", "count", strata=name)) == int((j.drug_concept_id == v.product["ldn_4_5"]).sum())


def _eras(records: pd.DataFrame, gap: int) -> pd.DataFrame:
    """gapEra by hand: sorted records of a person join the era when they start <= gap days after its end."""
    out = []
    for pid, g in records.sort_values(["person_id", "s", "e"]).groupby("person_id"):
        start = end = None
        for s, e in zip(g.s, g.e):
            if start is not None and (s - end).days <= gap:
                end = max(end, e)
            else:
                if start is not None:
                    out.append((pid, start, end))
                start, end = s, e
        out.append((pid, start, end))
    return pd.DataFrame(out, columns=["person_id", "start", "end"])


def test_persistence_matches_brute_force(results, ldn):
    de, idx, _ = ldn
    eras = _eras(de[de.person_id.isin(idx.person_id)], 30).merge(idx, on="person_id")
    held = eras[(eras.start <= eras["index"]) & (eras.end >= eras["index"])]
    to_end = (held.end - held["index"]).dt.days
    stop = np.minimum((pd.to_datetime(held.o1) - held["index"]).dt.days, 730)
    time, event = np.minimum(to_end, stop), (to_end < stop).astype(int)
    km = KaplanMeier().fit(time, event)
    checked = 0
    for day in (91, 133, 371, 728):
        got = _value(results, "persistence", "survival probability", "estimate", additional=str(day))
        if got != "-":
            assert float(got) == pytest.approx(float(km.survival_at([day]).survival.iloc[0]), rel=1e-12)
            checked += 1
    assert checked >= 3
    assert int(_value(results, "persistence", "summary", "number_records_count")) == len(held)
    assert int(_value(results, "persistence", "number at risk", "n_risk_count", additional="365")) == int((time >= 365).sum())


def test_persistence_curve_steps_over_drops_of_few_events(world, tmp_path):
    d = _run(world, tmp_path / "strict", min_cell_count=40)
    curve = d[(d.analysis_id == "persistence") & (d.variable_name == "survival probability")
              & (d.estimate_name == "estimate")]
    shown = [float(x) for x in curve.estimate_value if x != "-"]
    assert "-" in set(curve.estimate_value) and len(shown) > 3
    # each drop of the reported curve comes from at least 40 of the ~200 persons stopping
    summary = d[(d.analysis_id == "persistence") & (d.variable_name == "summary")]
    n = int(summary[summary.estimate_name == "number_records_count"].estimate_value.iloc[0])
    drops = -np.diff(shown)
    assert all(x == 0 or x >= 40 / n * 0.9 for x in drops)


def test_proportion_covered_matches_brute_force(results, ldn):
    de, idx, _ = ldn
    eras = _eras(de[de.person_id.isin(idx.person_id)], 0).merge(idx, on="person_id")
    for day in (0, 100, 300):
        when = idx["index"] + pd.Timedelta(days=day)
        observed = idx[pd.to_datetime(idx.o1) >= when]
        t = observed["index"] + pd.Timedelta(days=day)
        e = eras.merge(observed[["person_id"]], on="person_id")
        at = e.person_id.map(dict(zip(observed.person_id, t)))
        covered = e[(e.start <= at) & (e.end >= at)].person_id.nunique()
        assert int(_value(results, "proportion_of_patients_covered", "overall", "denominator_count",
                          additional=str(day))) == len(observed)
        got = _value(results, "proportion_of_patients_covered", "overall", "outcome_count", additional=str(day))
        assert int(got) == covered


def test_prevalence_counts_users_per_year(results, ldn):
    de, _, _ = ldn
    y2013 = de[(de.s <= "2013-12-31") & (de.e >= "2013-01-01")].person_id.nunique()
    r = results[(results.analysis_id == "prevalence") & (results.estimate_name == "outcome_count")
                & results.additional_level.str.startswith("2013-01-01")]
    assert int(r.estimate_value.iloc[0]) == y2013


def test_add_on_switch_categories_add_up(results):
    r = results[(results.analysis_id == "add_on_switch")]
    n = int(_value(results, "add_on_switch", "number subjects", "count"))
    counts = r[(r.variable_name == "treatment change") & (r.estimate_name == "count")].estimate_value.tolist()
    assert n > 20 and len(counts) == 4
    hidden = counts.count("-")
    assert hidden != 1  # one hidden category alone would follow by subtraction
    if hidden == 0:
        assert sum(map(int, counts)) == n
