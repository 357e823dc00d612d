"""Confidence intervals for proportions: exact (Clopper-Pearson) and Wilson score.

Clopper-Pearson is R's `binom.test(x, n)$conf.int`; Wilson (without continuity
correction) is what IncidencePrevalence uses for prevalence and DrugUtilisation for the
proportion of patients covered.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import beta, norm

__all__ = ["clopper_pearson_ci", "wilson_ci"]


def _inputs(successes, trials):
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if np.any(x < 0) or np.any(x > n):
        raise ValueError("successes must be between 0 and the number of trials")
    return x, n


def clopper_pearson_ci(successes, trials, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial limits (lower, upper) of x / n; NaN where n = 0."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    x, n = _inputs(successes, trials)
    alpha = 1 - level
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(x > 0, beta.ppf(alpha / 2, np.maximum(x, 1e-300), n - x + 1), 0.0)
        upper = np.where(x < n, beta.ppf(1 - alpha / 2, x + 1, np.maximum(n - x, 1e-300)), 1.0)
    empty = n == 0
    return np.where(empty, np.nan, lower), np.where(empty, np.nan, upper)


def wilson_ci(successes, trials, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score limits (lower, upper) of x / n, clipped to [0, 1]; NaN where n = 0."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    x, n = _inputs(successes, trials)
    z = norm.ppf(1 - (1 - level) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        centre = (x + z**2 / 2) / (n + z**2)
        half = z * np.sqrt(n) / (n + z**2) * np.sqrt(p * (1 - p) + z**2 / (4 * n))
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
