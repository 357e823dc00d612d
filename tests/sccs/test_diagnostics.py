"""The time-stability check (SelfControlledCaseSeries's computeTimeStability) on simulated case series."""

from __future__ import annotations

import numpy as np

from offlabel.stats.sccs_diagnostics import monthly_counts, time_stability


def series(rng, n=5000, spike=0.0):
    start = rng.integers(12_000, 13_000, n)
    end = start + rng.integers(100, 5000, n)
    k = rng.poisson(2, n) + 1
    case = np.repeat(np.arange(n), k)
    day = start[case] + (rng.random(len(case)) * (end[case] - start[case] + 1)).astype(int)
    if spike:  # an outbreak: a share of the events moved into two months
        moved = rng.random(len(day)) < spike
        day[moved] = np.clip(14_000 + rng.integers(0, 60, moved.sum()), start[case[moved]], end[case[moved]])
    return start, end, case, day


def test_expected_counts_add_up_to_the_observed():
    start, end, case, day = series(np.random.default_rng(1))
    observed, expected = monthly_counts(start, end, case, day)
    assert observed.sum() == len(day) and abs(expected.sum() - len(day)) < 1e-6 * len(day)


def test_a_constant_rate_is_stable_and_an_outbreak_is_not():
    stable = [time_stability(*series(np.random.default_rng(seed))) for seed in range(5)]
    assert all(s.stable for s in stable) and all(s.ratio < 1.1 for s in stable)
    outbreak = time_stability(*series(np.random.default_rng(9), spike=0.3))
    assert not outbreak.stable and outbreak.p_value < 1e-6 and outbreak.ratio > 1.25
