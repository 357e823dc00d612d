"""Exact Poisson and binomial intervals against R's poisson.test / binom.test / prop.test."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import gamma

from offlabel.stats.binomial import clopper_pearson_ci, wilson_ci
from offlabel.stats.poisson import exact_poisson_ci, poisson_rate

GOLDEN = Path(__file__).parent / "golden"


def test_exact_poisson_ci_matches_r_poisson_test():
    ref = pd.read_csv(GOLDEN / "poisson_exact_ci.csv")
    lower, upper = exact_poisson_ci(ref.events)
    np.testing.assert_allclose(lower, ref.lower, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(upper, ref.upper, rtol=1e-12)


def test_exact_poisson_ci_equals_gamma_quantiles():
    # chi2(2k)/2 quantiles are Gamma(k) quantiles: an independent route to the same limits
    k = np.arange(1, 60)
    lower, upper = exact_poisson_ci(k)
    np.testing.assert_allclose(lower, gamma.ppf(0.025, k), rtol=1e-12)
    np.testing.assert_allclose(upper, gamma.ppf(0.975, k + 1), rtol=1e-12)


def test_poisson_rate_scales_and_handles_zero_time():
    rate, lower, upper = poisson_rate([10, 3], [2.0, 0.0], per=100_000)
    assert rate[0] == pytest.approx(500_000)
    assert lower[0] == pytest.approx(4.795389 / 2 * 100_000, rel=1e-6)
    assert np.isnan(rate[1]) and np.isnan(lower[1]) and np.isnan(upper[1])


def test_poisson_rejects_bad_counts():
    with pytest.raises(ValueError, match="whole numbers"):
        exact_poisson_ci([1.5])
    with pytest.raises(ValueError, match="level"):
        exact_poisson_ci([1], level=95)


def test_binomial_intervals_match_r():
    ref = pd.read_csv(GOLDEN / "binomial_ci.csv")
    lo, hi = clopper_pearson_ci(ref.successes, ref.trials)
    np.testing.assert_allclose(lo, ref.exact_lower, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hi, ref.exact_upper, rtol=1e-12, atol=1e-15)
    lo, hi = wilson_ci(ref.successes, ref.trials)
    np.testing.assert_allclose(lo, ref.wilson_lower, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hi, ref.wilson_upper, rtol=1e-12, atol=1e-15)


def test_binomial_empty_denominator_is_nan():
    lo, hi = clopper_pearson_ci([0], [0])
    assert np.isnan(lo[0]) and np.isnan(hi[0])
