"""Kaplan-Meier against R survival's `aml` summary (golden/make_golden.R, 15 significant digits)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from offlabel.stats.survival import KaplanMeier

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("group", ["Maintained", "Nonmaintained"])
def test_km_matches_survfit_aml(group):
    data = pd.read_csv(GOLDEN / "km_aml_data.csv").query("x == @group")
    ref = pd.read_csv(GOLDEN / "km_aml.csv").query("group == @group").reset_index(drop=True)
    table = KaplanMeier().fit(data.time, data.status).table_
    got = table[table.n_event > 0].reset_index(drop=True)  # summary() shows event times
    np.testing.assert_array_equal(got.time, ref.time)
    np.testing.assert_array_equal(got.n_risk, ref.n_risk)
    np.testing.assert_array_equal(got.n_event, ref.n_event)
    for col in ("survival", "std_err", "lower", "upper"):
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-12, equal_nan=True)

def test_km_median_and_step_function():
    data = pd.read_csv(GOLDEN / "km_aml_data.csv")
    km = {g: KaplanMeier().fit(d.time, d.status) for g, d in data.groupby("x")}
    # print(survfit(...)) gives medians 31 (Maintained) and 23 (Nonmaintained)
    assert km["Maintained"].median_ == 31
    assert km["Nonmaintained"].median_ == 23
    at = km["Maintained"].survival_at([0, 9, 10, 200])
    assert list(at.survival.round(4)) == [1.0, 0.9091, 0.9091, 0.1841]
    assert list(at.n_risk) == [11, 11, 10, 0]


def test_km_weights_equal_repeated_rows():
    t, e = np.array([1, 1, 2, 3, 3, 3]), np.array([1, 0, 1, 1, 1, 0])
    a = KaplanMeier().fit(t, e).table_
    b = KaplanMeier().fit([1, 1, 2, 3, 3], [1, 0, 1, 1, 0], weights=[1, 1, 1, 2, 1]).table_
    pd.testing.assert_frame_equal(a, b)


def test_km_log_log_interval_inside_unit_interval():
    rng = np.random.default_rng(1)
    km = KaplanMeier(conf_type="log-log").fit(rng.integers(1, 100, 500), rng.integers(0, 2, 500))
    ok = ~np.isnan(km.lower_)
    assert (km.lower_[ok] <= km.survival_[ok]).all() and (km.upper_[ok] <= 1).all()


def test_km_checks_inputs():
    with pytest.raises(ValueError, match="end date before the start date"):
        KaplanMeier().fit([-1, 2], [1, 0])
    with pytest.raises(ValueError, match="empty"):
        KaplanMeier().fit([], [])
    with pytest.raises(RuntimeError, match="not fitted"):
        KaplanMeier().table_
