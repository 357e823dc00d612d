"""stats.balance against SMDs computed in R by hand with tableone's formulas (golden/smd.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from offlabel.stats.balance import smd_binary, smd_categorical, smd_continuous
from offlabel.stats.describe import describe_frequencies

GOLDEN = Path(__file__).with_name("golden")


@pytest.fixture(scope="module")
def data():
    d = pd.read_csv(GOLDEN / "smd_data.csv")
    return d[d.stratum == "persistent"], d[d.stratum == "reference"]


@pytest.fixture(scope="module")
def expected():
    e = pd.read_csv(GOLDEN / "smd_expected.csv", skipinitialspace=True)
    return dict(zip(e.variable, e.smd.astype(float)))


def test_continuous_matches_r(data, expected):
    a, b = data
    for v in ("age", "prior_days"):
        got = smd_continuous(a[v].mean(), a[v].std(ddof=1), b[v].mean(), b[v].std(ddof=1))
        assert got == pytest.approx(expected[v], rel=1e-12)


def test_continuous_from_a_frequency_table_matches_r(data, expected):
    # Table 1 summarises age from (distinct value, count) pairs that the database returns.
    a, b = data
    summaries = []
    for g in (a, b):
        freq = g.age.value_counts()
        summaries.append(describe_frequencies(freq.index.to_numpy(), freq.to_numpy()))
    got = smd_continuous(summaries[0]["mean"], summaries[0]["sd"], summaries[1]["mean"], summaries[1]["sd"])
    assert got == pytest.approx(expected["age"], rel=1e-12)


def test_binary_matches_r(data, expected):
    a, b = data
    for v in ("female", "opioid"):
        assert smd_binary(a[v].mean(), b[v].mean()) == pytest.approx(expected[v], rel=1e-12)


def test_categorical_matches_r(data, expected):
    a, b = data
    levels = sorted(set(a.age_group) | set(b.age_group))
    p = [g.age_group.value_counts(normalize=True).reindex(levels, fill_value=0).to_numpy() for g in (a, b)]
    assert smd_categorical(p[0], p[1]) == pytest.approx(expected["age_group"], rel=1e-12)


def test_two_levels_are_the_binary_smd():
    assert smd_categorical([0.3, 0.7], [0.5, 0.5]) == pytest.approx(abs(smd_binary(0.7, 0.5)))


def test_no_spread():
    assert smd_binary(0.0, 0.0) == 0.0
    assert smd_binary(1.0, 0.0) is None
    assert smd_continuous(50, 0, 50, 0) == 0.0
    assert smd_continuous(50, 0, 40, 0) is None
    assert smd_categorical([1, 0, 0], [1, 0, 0]) == 0.0


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="proportion"):
        smd_binary(1.2, 0.3)
    with pytest.raises(ValueError, match="finite"):
        smd_continuous(1.0, None, 2.0, 1.0)
    with pytest.raises(ValueError, match="sum to 1"):
        smd_categorical([0.2, 0.2], [0.5, 0.5])
    assert np.isfinite(smd_categorical([0.2, 0.3, 0.5], [0.3, 0.3, 0.4]))
