"""The lab chart review's estimators against R (tests/labs/golden/paired_change.R, R 4.2):
the paired change (t.test(after, before, paired = TRUE)), the ratio of geometric means
(exp of t.test(log(after), log(before), paired = TRUE)) and the summaries (mean, sd, quantile type 7)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from offlabel.stats.before_after import paired_change
from offlabel.stats.lab_summary import GeometricMeanRatio, summarise_values

GOLDEN = Path(__file__).with_name("golden")
DATA = pd.read_csv(GOLDEN / "paired_change_data.csv")
EXPECTED = pd.read_csv(GOLDEN / "paired_change.csv")


@pytest.mark.parametrize("row", EXPECTED.to_dict("records"), ids=lambda r: f"set{int(r['set'])}")
def test_against_r(row):
    x = DATA[DATA.set == row["set"]]
    before, after = x.before.to_numpy(float), x.after.to_numpy(float)
    change = paired_change(before, after)
    assert change.n == row["n"]
    for ours, theirs in ((change.mean_change, "mean_change"), (change.lower, "lower"), (change.upper, "upper"),
                         (change.sd_change, "sd_change")):
        assert ours == pytest.approx(row[theirs], rel=1e-12)
    ratio = GeometricMeanRatio().fit(before, after)
    assert ratio.n_ == row["n"]
    for ours, theirs in ((ratio.ratio_, "ratio"), (ratio.lower_, "ratio_lower"), (ratio.upper_, "ratio_upper")):
        assert ours == pytest.approx(row[theirs], rel=1e-12)
    summary = summarise_values(after)
    for ours, theirs in (("mean", "mean_after"), ("sd", "sd_after"), ("q25", "q25_after"),
                         ("median", "median_after"), ("q75", "q75_after")):
        assert summary[ours] == pytest.approx(row[theirs], rel=1e-12)


def test_ratio_needs_positive_values_and_two_pairs():
    with pytest.raises(ValueError, match="> 0"):
        GeometricMeanRatio().fit([1.0, 0.0], [2.0, 3.0])
    one = GeometricMeanRatio().fit([2.0], [3.0])
    assert one.ratio_ == pytest.approx(1.5) and one.lower_ is None and one.upper_ is None
    none = GeometricMeanRatio().fit([], [])
    assert none.n_ == 0 and none.ratio_ is None


def test_summaries_do_not_depend_on_order():
    rng = np.random.default_rng(5)
    x = np.round(rng.lognormal(3, 0.3, 101), 1)
    assert summarise_values(x) == summarise_values(x[::-1])
    assert summarise_values([]) == dict.fromkeys(("mean", "sd", "median", "q25", "q75"))
