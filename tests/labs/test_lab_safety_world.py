"""Planted truth: the lab chart review on a synthetic world whose ALT is raised during LDN use.

The world (100,000 persons, the MS-raised config of tests/helpers/worlds.py: MS prevalence x20) multiplies ALT by
effects.alt_ratio = 1.5 from a person's first naltrexone collection to the last collection + 89
days, and plants nothing on the other labs or on anyone who never took naltrexone. Values are
lognormal around a person's own level, so the effect is multiplicative: its truth is stated on
the log scale, as the ratio of geometric means on treatment / at baseline, exp(mean of the
per-person log(value / baseline value)) = 1.5. The study (world_study.yaml) follows each cohort
on treatment (drug era of its drug), which lies inside the world's exposure.

Checks, at a family-wise 99% level (Bonferroni over the k CIs checked together: each 95% CI is
widened to its 1 - 0.01 / k t interval, with the standard error the 95% CI implies), so that a
correct analysis fails this test with probability at most 1%:
- the ALT ratio to baseline in LDN new users covers 1.5 at 0-6 and 6-12 months, and the plain 95%
  CI excludes 1 (the effect is found);
- every other lab's change from baseline in LDN new users, and every lab's (ALT too) in the
  glatiramer cohort, covers 0 at 0-6 and 6-12 months.
The share of plain 95% CIs that cover over many worlds is measured by benchmarks/bench_lab_coverage.py.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from offlabel.run import run_study
from offlabel.synth import synthesize
from offlabel.synth.config import WorldConfig
from tests.helpers.worlds import ms_raised

STUDY = Path(__file__).with_name("world_study.yaml")
ALT_RATIO = 1.5
SEED = 7
LABS = ("alt", "ast", "bilirubin", "creatinine", "haemoglobin", "leukocytes", "platelets")
INTERVALS = ("0-6 months", "6-12 months")
FAMILY_LEVEL = 0.99


def world_config(alt_ratio: float) -> WorldConfig:
    d = ms_raised()
    d["effects"]["alt_ratio"] = alt_ratio
    return WorldConfig.model_validate(d)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("labs_world") / "cdm.duckdb"
    truth = synthesize(100_000, SEED, out, world_config(ALT_RATIO), progress=False)
    return out, truth


@pytest.fixture(scope="module")
def estimates(world, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("labs_world_run") / "out"
    assert run_study(str(STUDY), str(world[0]), out) == 0
    return read_estimates(out / "results.csv")


def read_estimates(path) -> dict:
    """{(cohort, lab, interval, variable): {estimate: value}} of a lab_safety results.csv."""
    d = pd.read_csv(path, dtype=str, keep_default_na=False)
    d = d[d.variable_name.isin(["change from baseline", "ratio to baseline", "number subjects"])]
    out: dict = {}
    for r in d.itertuples():
        cohort, lab = r.group_level.split(" &&& ")
        out.setdefault((cohort, lab, r.strata_level, r.variable_name), {})[r.estimate_name] = r.estimate_value
    return out


def widened(e: dict, name: str, level: float, scale: str = "linear") -> tuple[float, float]:
    """The CI of `name` at `level` instead of 0.95, from the paired t interval the results hold."""
    import math

    n = int(e["count"])
    est, lo, hi = (float(e[k]) for k in (name, f"{name}_95CI_lower", f"{name}_95CI_upper"))
    if scale == "log":
        est, lo, hi = math.log(est), math.log(lo), math.log(hi)
    se = (hi - lo) / 2 / stats.t.ppf(0.975, n - 1)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * se
    bounds = (est - half, est + half)
    return tuple(math.exp(b) for b in bounds) if scale == "log" else bounds


def test_truth_is_planted(world):
    assert world[1]["planted"]["alt_ratio"]["value"] == ALT_RATIO


def test_planted_alt_ratio_is_recovered_and_nothing_else_moves(estimates):
    checks = [("ldn_new_users", "alt", i, "ratio to baseline", "ratio", "log", ALT_RATIO) for i in INTERVALS]
    checks += [("ldn_new_users", lab, i, "change from baseline", "mean", "linear", 0.0)
               for lab in LABS if lab != "alt" for i in INTERVALS]
    checks += [("glatiramer_no_ldn", lab, i, "change from baseline", "mean", "linear", 0.0)
               for lab in LABS for i in INTERVALS]
    each = 1 - (1 - FAMILY_LEVEL) / len(checks)
    missed = []
    for cohort, lab, interval, variable, name, scale, truth in checks:
        e = estimates[(cohort, lab, interval, variable)]
        assert int(e["count"]) >= 50, (cohort, lab, interval)  # enough pairs for the check to mean something
        lo, hi = widened(e, name, each, scale)
        if not lo <= truth <= hi:
            missed.append((cohort, lab, interval, variable, e[name], lo, hi))
    assert not missed
    for interval in INTERVALS:  # and the effect is found: the plain 95% CI excludes no change
        assert float(estimates[("ldn_new_users", "alt", interval, "ratio to baseline")]["ratio_95CI_lower"]) > 1.2
