"""The ratio of two incidence rates with its exact (conditional binomial) interval and p-value.

Given x1 events in person-time t1 and x2 in t2, conditionally on n = x1 + x2 the count x1 is
Binomial(n, p) with p = r t1 / (r t1 + t2) under a rate ratio r. The exact interval for r is
the Clopper-Pearson interval (pL, pU) for p mapped back, r = p / (1 - p) x t2 / t1, and the
p-value is the two-sided exact binomial test of p = t1 / (t1 + t2) (r = 1). This is R's
`poisson.test(c(x1, x2), c(t1, t2))`, checked against it (tests/safety/golden/rate_ratio.R).
scipy's `binomtest` gives the same two-sided p-value as R's `binom.test` (the sum of the
probabilities no larger than the observed one, with R's 1e-7 relative tolerance).

    rate_ratio(12, 1000.5, 30, 4000.0)   # RateRatio(estimate=1.599..., lower=0.745..., upper=3.216..., p_value=0.176...)
"""

from __future__ import annotations

import math
from typing import NamedTuple

from scipy.stats import binomtest

__all__ = ["RateRatio", "rate_ratio"]


class RateRatio(NamedTuple):
    estimate: float
    """(x1 / t1) / (x2 / t2); Inf when x2 = 0 < x1, NaN when there are no events."""
    lower: float
    upper: float
    """Exact confidence limits (upper Inf when x2 = 0)."""
    p_value: float
    """Two-sided exact p-value for a rate ratio of 1."""


_NAN = RateRatio(math.nan, math.nan, math.nan, math.nan)


def rate_ratio(x1: int, t1: float, x2: int, t2: float, level: float = 0.95) -> RateRatio:
    """Rate ratio of x1 events in person-time t1 over x2 events in t2, exact interval and p-value.

    Counts are whole numbers >= 0; person-times > 0 in the same unit (the ratio does not depend
    on it). With no events at all (x1 + x2 = 0) or no person-time on a side, nothing can be
    estimated and every field is NaN.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    for name, x in (("x1", x1), ("x2", x2)):
        if x < 0 or x != int(x):
            raise ValueError(f"{name} must be a whole number of events >= 0, got {x!r}")
    if t1 < 0 or t2 < 0:
        raise ValueError(f"person-time must be >= 0, got t1={t1!r}, t2={t2!r}")
    x1, x2 = int(x1), int(x2)
    n = x1 + x2
    if n == 0 or t1 == 0 or t2 == 0:
        return _NAN
    test = binomtest(x1, n, t1 / (t1 + t2))
    ci = test.proportion_ci(confidence_level=level, method="exact")
    scale = t2 / t1

    def to_ratio(p: float) -> float:
        return math.inf if p >= 1 else p / (1 - p) * scale

    estimate = math.inf if x2 == 0 else (x1 / t1) / (x2 / t2)
    return RateRatio(estimate, to_ratio(ci.low), to_ratio(ci.high), float(test.pvalue))
