"""Standardised mean differences (SMD) between two groups: covariate balance of a Table 1.

Austin, Stat Med 2009;28:3083-3107 ("Balance diagnostics for comparing the distribution of
baseline covariates between treatment groups in propensity-score matched samples"):

- continuous: d = (mean_1 - mean_2) / sqrt((s_1^2 + s_2^2) / 2), sample variances (n - 1);
- binary: d = (p_1 - p_2) / sqrt((p_1 (1 - p_1) + p_2 (1 - p_2)) / 2);
- categorical with k levels (Yang & Dalton, SAS Global Forum 2012, as R's tableone):
  d = sqrt(t' S^-1 t), t the differences of the proportions of levels 2..k and S the mean of the
  two groups' multinomial covariance matrices (S_jj = p_j (1 - p_j), S_jl = -p_j p_l), with a
  generalised inverse as tableone uses (MASS::ginv).

Continuous and binary SMDs are signed (group 1 minus group 2; a Table 1 gives a stratum minus
its reference stratum); the categorical one is >= 0. Where both groups have no spread the SMD
is 0 when they agree and undefined (None) when they differ. Inputs are summaries, so a Table 1
computed from aggregates needs no per-person values. |d| < 0.1 is the usual mark of balance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["smd_binary", "smd_categorical", "smd_continuous"]


def _ratio(difference: float, pooled_variance: float) -> float | None:
    if pooled_variance <= 0:
        return 0.0 if difference == 0 else None
    return difference / math.sqrt(pooled_variance)


def smd_continuous(mean_1: float, sd_1: float, mean_2: float, sd_2: float) -> float | None:
    """(mean_1 - mean_2) / sqrt((sd_1^2 + sd_2^2) / 2), sd with denominator n - 1."""
    for name, v in (("mean_1", mean_1), ("sd_1", sd_1), ("mean_2", mean_2), ("sd_2", sd_2)):
        if v is None or not math.isfinite(v):
            raise ValueError(f"{name} must be a finite number, got {v!r} (a group of one person has no sd)")
    if sd_1 < 0 or sd_2 < 0:
        raise ValueError("standard deviations must be >= 0")
    return _ratio(mean_1 - mean_2, (sd_1 ** 2 + sd_2 ** 2) / 2)


def _check_proportion(p: float, name: str) -> None:
    if p is None or not 0 <= p <= 1:
        raise ValueError(f"{name} must be a proportion between 0 and 1, got {p!r}")


def smd_binary(p_1: float, p_2: float) -> float | None:
    """(p_1 - p_2) / sqrt((p_1 (1 - p_1) + p_2 (1 - p_2)) / 2) for proportions (0-1)."""
    _check_proportion(p_1, "p_1")
    _check_proportion(p_2, "p_2")
    return _ratio(p_1 - p_2, (p_1 * (1 - p_1) + p_2 * (1 - p_2)) / 2)


def smd_categorical(p_1: Sequence[float], p_2: Sequence[float]) -> float | None:
    """Yang & Dalton's SMD of a categorical variable from the proportions of each level (same order)."""
    a = np.asarray(p_1, dtype=float)
    b = np.asarray(p_2, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError("give the proportions of the same two or more levels for both groups")
    for p, name in ((a, "p_1"), (b, "p_2")):
        if (p < 0).any() or (p > 1).any() or abs(p.sum() - 1) > 1e-9:
            raise ValueError(f"{name} must be proportions of levels that sum to 1")
    if len(a) == 2:  # two levels: the binary SMD (its absolute value)
        d = smd_binary(float(a[1]), float(b[1]))
        return None if d is None else abs(d)
    t = (a - b)[1:]
    cov = [np.diag(p[1:]) - np.outer(p[1:], p[1:]) for p in (a, b)]
    s = (cov[0] + cov[1]) / 2
    value = float(t @ np.linalg.pinv(s) @ t)
    if not np.allclose(s @ np.linalg.pinv(s) @ t, t):  # t outside the levels that vary at all
        return None
    return math.sqrt(max(value, 0.0))
