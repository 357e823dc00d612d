"""The exact rate ratio against R's poisson.test (golden numbers made by golden/rate_ratio.R)."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from offlabel.stats.rates import rate_ratio

GOLDEN = Path(__file__).parent / "golden"


def test_rate_ratio_matches_r_poisson_test():
    ref = pd.read_csv(GOLDEN / "rate_ratio.csv")
    got = pd.DataFrame([rate_ratio(r.x1, r.t1, r.x2, r.t2, r.level) for r in ref.itertuples()])
    for column in ("estimate", "lower", "upper", "p_value"):
        # R writes 15 significant digits
        np.testing.assert_allclose(got[column], ref[column].astype(float), rtol=1e-9, atol=1e-300,
                                   err_msg=column)


def test_rate_ratio_does_not_depend_on_the_unit_of_person_time():
    days = rate_ratio(30, 3650, 40, 9131)
    years = rate_ratio(30, 3650 / 365.25, 40, 9131 / 365.25)
    assert np.allclose(days, years, rtol=1e-12)


def test_rate_ratio_without_events_or_time_is_not_estimable():
    assert all(math.isnan(v) for v in rate_ratio(0, 10, 0, 20))
    assert all(math.isnan(v) for v in rate_ratio(3, 0, 2, 20))


def test_rate_ratio_rejects_bad_input():
    with pytest.raises(ValueError, match="whole number"):
        rate_ratio(1.5, 10, 2, 10)
    with pytest.raises(ValueError, match="level"):
        rate_ratio(1, 10, 2, 10, level=95)
