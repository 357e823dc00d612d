"""Summaries from a frequency table equal numpy's on the expanded data (R's type-7 quantiles)."""

import numpy as np
import pytest

from offlabel.stats.describe import describe_frequencies


def test_matches_expanded_data():
    rng = np.random.default_rng(3)
    values = np.round(rng.gamma(2, 3, 40), 3)
    counts = rng.integers(1, 30, 40)
    data = np.repeat(values, counts)
    got = describe_frequencies(values, counts)
    assert got["count"] == len(data)
    assert got["mean"] == pytest.approx(data.mean(), rel=1e-14)
    assert got["sd"] == pytest.approx(data.std(ddof=1), rel=1e-12)
    for key, q in (("q25", 0.25), ("median", 0.5), ("q75", 0.75)):
        assert got[key] == pytest.approx(np.quantile(data, q), rel=1e-14)  # numpy's default is type 7


def test_small_example_by_hand():
    # 4.5 five times and 25 twice: R quantile(c(rep(4.5, 5), 25, 25)) gives 4.5, 4.5, 14.75
    got = describe_frequencies([25.0, 4.5], [2, 5])
    assert (got["q25"], got["median"], got["q75"]) == (4.5, 4.5, 14.75)
    assert got["mean"] == 72.5 / 7 and (got["min"], got["max"]) == (4.5, 25.0)
    assert describe_frequencies([3.0], [1])["sd"] is None


def test_order_of_rows_does_not_matter():
    a = describe_frequencies([0.1, 0.2, 0.3], [1_000_003, 7, 999_999])
    b = describe_frequencies([0.3, 0.1, 0.2], [999_999, 1_000_003, 7])
    assert a == b


def test_rejects_missing_values():
    with pytest.raises(ValueError, match="missing"):
        describe_frequencies([np.nan], [1])
