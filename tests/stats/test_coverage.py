"""Proportion of patients covered, against a day-by-day count by hand."""

import numpy as np
import pytest

from offlabel.stats.coverage import proportion_covered


def _brute_force(obs, person, start, end, days):
    rows = []
    for d in range(days + 1):
        in_obs = [p for p in range(len(obs)) if obs[p] >= d]
        covered = {p for p, s, e in zip(person, start, end) if s <= d <= e and obs[p] >= d}
        rows.append((len(in_obs), len(covered)))
    return np.array(rows)


def test_ppc_small_example_by_hand():
    # person 0: observed to day 10, covered 0-3 and 5-10; person 1: to day 5, covered 0-5;
    # person 2: to day 10, covered 0-0, 1-2, 2-2 (overlaps count once)
    table = proportion_covered([10, 5, 10], [0, 0, 1, 2, 2, 2], [0, 5, 0, 0, 1, 2], [3, 10, 5, 0, 2, 2], days=7)
    assert list(table.denominator_count) == [3, 3, 3, 3, 3, 3, 2, 2]
    assert list(table.outcome_count) == [3, 3, 3, 2, 1, 2, 1, 1]
    assert table.ppc[4] == pytest.approx(1 / 3)
    assert table.ppc_lower[3] == pytest.approx(0.2076596, abs=1e-6)  # prop.test(2, 3, correct=FALSE)


def test_ppc_random_against_brute_force():
    rng = np.random.default_rng(7)
    n = 40
    obs = rng.integers(0, 60, n)
    person = rng.integers(0, n, 120)
    start = rng.integers(0, 70, 120)
    end = start + rng.integers(0, 20, 120)
    table = proportion_covered(obs, person, start, end, days=50)
    expected = _brute_force(obs, person, start, end, 50)
    np.testing.assert_array_equal(table[["denominator_count", "outcome_count"]].to_numpy(), expected)


def test_ppc_checks_inputs():
    with pytest.raises(ValueError, match="before their index date"):
        proportion_covered([-1], [0], [0], [1], days=3)
