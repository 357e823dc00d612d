"""Exact (Garwood) confidence intervals for Poisson counts and rates.

For k events the exact two-sided interval at level 1 - alpha is (Garwood 1936)

    lower = chi2.ppf(alpha / 2, 2k) / 2          (0 when k = 0)
    upper = chi2.ppf(1 - alpha / 2, 2k + 2) / 2

which is R's `poisson.test(k)$conf.int` and IncidencePrevalence's `incRateCiExact()`.
A rate's interval is the count's interval divided by the person-time.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2

__all__ = ["exact_poisson_ci", "poisson_rate"]


def _check_level(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    return 1.0 - level


def exact_poisson_ci(count, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact confidence limits (lower, upper) for Poisson counts (events); vectorised.

    >>> [round(float(x), 6) for x in exact_poisson_ci(10)]
    [4.795389, 18.390356]
    """
    alpha = _check_level(level)
    k = np.asarray(count, dtype=float)
    if np.any(k < 0) or np.any(np.isnan(k)) or np.any(k != np.floor(k)):
        raise ValueError("Poisson counts must be whole numbers >= 0 (numbers of events)")
    with np.errstate(invalid="ignore"):
        lower = np.where(k > 0, chi2.ppf(alpha / 2, np.maximum(2 * k, 1e-300)) / 2, 0.0)
    upper = chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2
    return lower, upper


def poisson_rate(count, person_time, *, per: float = 1.0, level: float = 0.95
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rate = count / person_time * per, with its exact (Garwood) limits; vectorised.

    person_time in the unit the rate is per (e.g. person-years with per=100_000 gives
    events per 100,000 person-years). A person-time of 0 gives NaN rate and limits.
    """
    k = np.asarray(count, dtype=float)
    t = np.asarray(person_time, dtype=float)
    if np.any(t < 0):
        raise ValueError("person_time must be >= 0")
    lower, upper = exact_poisson_ci(k, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(t > 0, per / np.where(t > 0, t, 1.0), np.nan)
    return k * scale, lower * scale, upper * scale
