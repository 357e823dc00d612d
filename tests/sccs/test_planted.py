"""The SCCS recovers the adverse-event IRRs planted in a synthetic world (tests/sccs/world.py).

One world, one seed: the 95% CI of the days 1-30 window covers each planted IRR (2.0 insomnia,
1.8 nausea, 1.0 headache and toxic liver disease) and excludes 1 for insomnia, with and without
age and season terms. Coverage over 20 seeds is benchmarks/bench_sccs_coverage.py's job.
"""

from __future__ import annotations

import pandas as pd
import pytest

from offlabel.run import run_study
from offlabel.synth import synthesize
from tests.sccs.world import OUTCOMES, PERSONS, world_config, write_study

SEED = 1
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("sccs_world") / "cdm.duckdb"
    truth = synthesize(PERSONS, SEED, out, world_config(), progress=False)
    return out, truth


@pytest.fixture(scope="module")
def results(world, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sccs_run")
    assert run_study(write_study(folder), str(world[0]), folder / "out") == 0
    d = pd.read_csv(folder / "out" / "results.csv", dtype=str, keep_default_na=False)
    settings = d[d.variable_name == "settings"]
    analysis = dict(zip(settings[settings.estimate_name == "analysis_id"].result_id,
                        settings[settings.estimate_name == "analysis_id"].estimate_value))
    return d.assign(analysis_id=d.result_id.map(analysis))


def irr(results, analysis, outcome, window="days 1-30"):
    d = results[(results.analysis_id == analysis) & (results.group_level == outcome)
                & (results.strata_level == window) & (results.variable_name == "incidence rate ratio")]
    v = dict(zip(d.estimate_name, d.estimate_value))
    return float(v["irr"]), float(v["irr_95CI_lower"]), float(v["irr_95CI_upper"])


@pytest.mark.parametrize("analysis", ["adjusted", "unadjusted"])
@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_ci_covers_the_planted_irr(world, results, analysis, outcome):
    planted = world[1]["planted"]["adverse_events"][OUTCOMES[outcome]]
    assert planted["window_days"] == [1, 30] and planted["anchor"] == "first LDN collection (day 0)"
    est, lo, hi = irr(results, analysis, outcome)
    assert lo <= planted["irr"] <= hi, f"{outcome}: IRR {est:.2f} ({lo:.2f}-{hi:.2f}), planted {planted['irr']}"
    if outcome == "insomnia":
        assert lo > 1


def test_enough_events_for_the_check(results):
    d = results[(results.analysis_id == "adjusted") & (results.strata_level == "days 1-30")
                & (results.variable_name == "events")]
    events = dict(zip(d.group_level, d.estimate_value.astype(int)))
    assert events["insomnia"] > 200 and events["toxic_liver_disease"] >= 5
