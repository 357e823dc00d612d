"""Before/after statistics against hand-computed values and scipy's t tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from offlabel.stats import before_after as ba


def test_paired_change_by_hand():
    # changes 1, 3, 0: mean 4/3, sd sqrt(7/3), se sqrt(7)/3, t(0.975, 2) = 4.302653
    c = ba.paired_change([0, 2, 4], [1, 5, 4])
    assert c.n == 3
    assert c.mean_before == pytest.approx(2.0) and c.mean_after == pytest.approx(10 / 3)
    assert c.mean_change == pytest.approx(4 / 3)
    assert c.sd_change == pytest.approx(math.sqrt(7 / 3))
    assert c.lower == pytest.approx(4 / 3 - 4.302653 * math.sqrt(7) / 3, abs=1e-5)
    assert c.upper == pytest.approx(4 / 3 + 4.302653 * math.sqrt(7) / 3, abs=1e-5)


def test_paired_change_matches_scipy_paired_t():
    rng = np.random.default_rng(1)
    before = rng.gamma(0.5, 40, 60)
    after = before * rng.lognormal(-0.2, 0.5, 60)
    c = ba.paired_change(before, after, level=0.9)
    ci = stats.ttest_rel(after, before).confidence_interval(0.9)
    assert (c.lower, c.upper) == pytest.approx((ci.low, ci.high), rel=1e-10)


def test_paired_change_degenerate():
    assert ba.paired_change([], []).mean_change is None
    one = ba.paired_change([1.0], [3.0])
    assert one.mean_change == 2.0 and one.lower is None and one.upper is None


def test_welch_difference_in_differences_by_hand():
    # x: mean 4/3, var 7/3, n 3; y: mean 1, var 4/3, n 4; se^2 = 7/9 + 1/3 = 10/9
    # df = (10/9)^2 / ((7/9)^2 / 2 + (1/3)^2 / 3) = 3.636364
    est, lo, hi = ba.difference_in_differences([1, 3, 0], [0, 0, 2, 2])
    half = stats.t.ppf(0.975, 3.636364) * math.sqrt(10 / 9)
    assert est == pytest.approx(1 / 3)
    assert (lo, hi) == pytest.approx((1 / 3 - half, 1 / 3 + half), abs=1e-5)


def test_welch_matches_scipy():
    rng = np.random.default_rng(2)
    x, y = rng.normal(-20, 40, 80), rng.normal(5, 15, 50)
    est, lo, hi = ba.difference_in_differences(x, y)
    ci = stats.ttest_ind(x, y, equal_var=False).confidence_interval(0.95)
    assert est == pytest.approx(x.mean() - y.mean())
    assert (lo, hi) == pytest.approx((ci.low, ci.high), rel=1e-10)


def test_relative_change_delta_method_by_hand():
    # before 1, 3 (mean 2, var 2); after 2, 2 (mean 2, var 0): var log ratio = (2 / 2^2) / 2 = 0.25
    ratio, lo, hi = ba.relative_change([1, 3], [2, 2])
    z = 1.959964
    assert ratio == pytest.approx(1.0)
    assert (lo, hi) == pytest.approx((math.exp(-z * 0.5), math.exp(z * 0.5)), rel=1e-6)


def test_relative_change_uses_paired_covariance():
    # after = 2 x before exactly: the ratio is known without error
    ratio, lo, hi = ba.relative_change([1, 2, 3, 6], [2, 4, 6, 12])
    assert (ratio, lo, hi) == pytest.approx((2.0, 2.0, 2.0))


def test_relative_difference_in_differences_by_hand():
    # stratum: log ratio 0, var 0.25; reference: after = 2 x before, log 2, var 0
    ratio, lo, hi = ba.relative_difference_in_differences([1, 3], [2, 2], [1, 1], [2, 2])
    z = 1.959964
    assert ratio == pytest.approx(0.5)
    assert (lo, hi) == pytest.approx((0.5 * math.exp(-z * 0.5), 0.5 * math.exp(z * 0.5)), rel=1e-6)


def test_relative_not_estimable_without_use():
    assert ba.relative_change([0, 0], [1, 2]) == (None, None, None)
    assert ba.relative_difference_in_differences([1, 2], [1, 2], [0, 0], [0, 0]) == (None, None, None)


def test_change_categories():
    before = [0, 10, 10, 10, 10, 10, 0]
    after = [0, 0, 5, 10.5, 9, 12, 3]
    # stopped: 10 -> 0; reduced: -50%; kept: +5%, -10% (the edge is kept); increased: +20%; started: 0 -> 3
    assert ba.change_categories(before, after) == {"stopped": 1, "reduced": 1, "kept": 2, "increased": 1, "started": 1}
    assert ba.change_categories(before, after, threshold_percent=4)["kept"] == 0


@pytest.mark.parametrize("call", [
    lambda: ba.paired_change([1, 2], [1]),
    lambda: ba.paired_change([1, float("nan")], [1, 2]),
    lambda: ba.paired_change([1, 2], [1, 2], level=95),
    lambda: ba.change_categories([1], [1], threshold_percent=0),
])
def test_bad_input_says_what_is_wrong(call):
    with pytest.raises(ValueError):
        call()
