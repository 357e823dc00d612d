"""The characteristics analysis (Table 1) against a brute-force count in pandas on a synthetic world."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from offlabel.run import run_study
from offlabel.stats.balance import smd_binary, smd_continuous
from offlabel.synth import synthesize
from offlabel.synth.vocabulary import build_vocabulary
from tests.helpers.worlds import MS_RAISED

STUDY = str(Path(__file__).with_name("study.yaml"))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("char_world") / "cdm.duckdb"
    synthesize(persons=15_000, seed=3, out=path, config=MS_RAISED, progress=False)
    return path


@pytest.fixture(scope="module")
def results(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("char_run") / "out"
    assert run_study(STUDY, str(world), out) == 0
    d = pd.read_csv(out / "results.csv", dtype=str, keep_default_na=False)
    return d[d.result_type == "summarise_characteristics"] if "result_type" in d else d


def _get(d, strata_level, variable, level, estimate):
    r = d[(d.strata_level == strata_level) & (d.variable_name == variable) & (d.estimate_name == estimate)
          & (d.variable_level == (level if level is not None else "NA"))]
    assert len(r) == 1, (strata_level, variable, level, estimate, len(r))
    return r.estimate_value.iloc[0]


@pytest.fixture(scope="module")
def brute(world):
    """One row per MS patient at their first MS record, computed with plain SQL and pandas."""
    v = build_vocabulary()
    ms = v.condition["multiple_sclerosis"]
    con = duckdb.connect(str(world), read_only=True)
    persons = con.execute(f"""
        WITH first AS (SELECT person_id, min(condition_start_date) AS idx FROM condition_occurrence
                       WHERE condition_concept_id IN (SELECT descendant_concept_id FROM concept_ancestor
                                                      WHERE ancestor_concept_id = {ms})
                       GROUP BY person_id)
        SELECT f.person_id, f.idx, p.gender_concept_id, p.year_of_birth, p.month_of_birth, p.day_of_birth,
               o.observation_period_start_date AS obs_start, o.observation_period_end_date AS obs_end
        FROM first f JOIN person p USING (person_id)
        JOIN observation_period o ON o.person_id = f.person_id
             AND f.idx BETWEEN o.observation_period_start_date AND o.observation_period_end_date
        ORDER BY f.person_id""").df()
    opioid_ids = [v.product[k] for k in ("tramadol_50", "oxycodone_10", "morphine_10")]
    de = con.execute(f"SELECT person_id, drug_exposure_start_date AS d FROM drug_exposure "
                     f"WHERE drug_concept_id IN ({', '.join(map(str, opioid_ids))})").df()
    con.close()
    idx = pd.to_datetime(persons.idx)
    birth = pd.to_datetime({"year": persons.year_of_birth, "month": persons.month_of_birth.fillna(1),
                            "day": persons.day_of_birth.fillna(1)})
    persons["age"] = idx.dt.year - birth.dt.year - ((idx.dt.month < birth.dt.month) |
                                                    ((idx.dt.month == birth.dt.month) & (idx.dt.day < birth.dt.day)))
    persons["sex"] = persons.gender_concept_id.map({8532: "Female", 8507: "Male"})
    persons["prior"] = (idx - pd.to_datetime(persons.obs_start)).dt.days
    j = de.merge(persons[["person_id", "idx", "obs_start", "obs_end"]], on="person_id")
    off = (pd.to_datetime(j.d) - pd.to_datetime(j.idx)).dt.days
    inobs = (pd.to_datetime(j.d) >= pd.to_datetime(j.obs_start)) & (pd.to_datetime(j.d) <= pd.to_datetime(j.obs_end))
    persons["opioid_year"] = persons.person_id.isin(j[inobs & (off >= -365) & (off <= -1)].person_id)
    persons["opioid_ever"] = persons.person_id.isin(j[inobs & (off <= -1)].person_id)
    return persons


def test_counts_means_and_covariates_match_brute_force(results, brute):
    for sex, g in brute.groupby("sex"):
        assert int(_get(results, sex, "Number subjects", None, "count")) == len(g)
        assert float(_get(results, sex, "Age", None, "mean")) == pytest.approx(g.age.mean(), rel=1e-12)
        assert float(_get(results, sex, "Age", None, "median")) == pytest.approx(g.age.median())
        assert float(_get(results, sex, "Prior observation", None, "q75")) == pytest.approx(g.prior.quantile(0.75))
        assert int(_get(results, sex, "Age group", "40 to 59", "count")) == int(g.age.between(40, 59).sum())
        assert int(_get(results, sex, "Concept sets, days -365 to -1", "opioids", "count")) == int(g.opioid_year.sum())
        assert int(_get(results, sex, "Opioids any time before", "opioids", "count")) == int(g.opioid_ever.sum())
    assert int(_get(results, "overall", "Number subjects", None, "count")) == len(brute)
    assert int(_get(results, "overall", "Sex", "Female", "count")) == int((brute.sex == "Female").sum())


def test_smds_against_the_reference_stratum(results, brute):
    f, m = brute[brute.sex == "Female"], brute[brute.sex == "Male"]
    expected = smd_continuous(m.age.mean(), m.age.std(), f.age.mean(), f.age.std())
    assert float(_get(results, "Male", "Age", None, "smd")) == pytest.approx(expected, rel=1e-9)
    expected = smd_binary(m.opioid_year.mean(), f.opioid_year.mean())
    assert float(_get(results, "Male", "Concept sets, days -365 to -1", "opioids", "smd")) == pytest.approx(expected)
    assert (results[results.strata_level == "Female"].estimate_name != "smd").all()  # the reference has none
    assert np.isfinite(float(_get(results, "Male", "Age group", "60 or older", "smd")))
