"""Before/after (paired) comparisons and the difference in differences between strata.

Pure functions on per-person arrays (no database). For each person: the cumulative amount
(e.g. DDD) of a drug group in the window before and the window after an index date.

- `paired_change`: mean change after - before within one stratum, with a t-based CI on n - 1
  degrees of freedom (the paired t interval: the per-person differences are the data).
- `difference_in_differences`: mean change in a stratum minus mean change in the reference
  stratum. The strata hold different persons, so the two means are independent; their
  variances differ (persistent users have more variable use), so the CI is Welch's: standard
  error sqrt(s1^2/n1 + s2^2/n2) with Welch-Satterthwaite degrees of freedom.
- `relative_change` and `relative_difference_in_differences`: the same on the ratio scale,
  mean(after) / mean(before) within a stratum, and its ratio to the reference stratum's
  (a ratio of ratios, whose log is a difference in differences of log means). CIs by the
  delta method on the log scale (normal quantile), with the paired covariance of before and
  after. A planted rate ratio on dispensing intensity is estimated by the ratio of ratios,
  whatever the level of use: this is the scale on which the synthetic world's truth is stated.
- `change_categories`: users who stopped, reduced, kept, increased or started.

All CIs are two-sided at `level` (default 0.95). Where a quantity is not defined (fewer than
two persons, a zero mean, no variance) its value is None rather than nan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

__all__ = ["PairedChange", "paired_change", "difference_in_differences", "relative_change",
           "relative_difference_in_differences", "change_categories", "CATEGORIES"]

CATEGORIES = ("stopped", "reduced", "kept", "increased", "started")


@dataclass(frozen=True)
class PairedChange:
    n: int
    mean_before: float | None
    mean_after: float | None
    sd_before: float | None
    sd_after: float | None
    mean_change: float | None
    sd_change: float | None
    lower: float | None
    upper: float | None


def _arrays(before, after) -> tuple[np.ndarray, np.ndarray]:
    b = np.asarray(before, dtype=float)
    a = np.asarray(after, dtype=float)
    if b.shape != a.shape or b.ndim != 1:
        raise ValueError(f"before and after must be 1-d arrays of the same length, got {b.shape} and {a.shape}")
    if not (np.isfinite(b).all() and np.isfinite(a).all()):
        raise ValueError("before and after must be finite numbers (a person without use has 0, not a missing value)")
    return b, a


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")


def _sd(x: np.ndarray) -> float | None:
    return float(np.std(x, ddof=1)) if len(x) > 1 else None


def paired_change(before, after, level: float = 0.95) -> PairedChange:
    """Mean of after - before with the paired t confidence interval (n - 1 degrees of freedom)."""
    _check_level(level)
    b, a = _arrays(before, after)
    n = len(b)
    if n == 0:
        return PairedChange(0, None, None, None, None, None, None, None, None)
    d = a - b
    mean = float(d.mean())
    sd = _sd(d)
    lower = upper = None
    if sd is not None:
        half = _st.t.ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n)
        lower, upper = mean - half, mean + half
    return PairedChange(n, float(b.mean()), float(a.mean()), _sd(b), _sd(a), mean, sd, lower, upper)


def difference_in_differences(change, reference_change, level: float = 0.95) -> tuple[float | None, float | None, float | None]:
    """(estimate, lower, upper): mean(change) - mean(reference_change), Welch CI.

    change, reference_change: per-person after - before of the two (independent) strata.
    """
    _check_level(level)
    x = np.asarray(change, dtype=float)
    y = np.asarray(reference_change, dtype=float)
    if len(x) == 0 or len(y) == 0:
        return None, None, None
    estimate = float(x.mean() - y.mean())
    if len(x) < 2 or len(y) < 2:
        return estimate, None, None
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se2 = vx + vy
    if se2 == 0:
        return estimate, estimate, estimate
    df = se2 ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1))
    half = _st.t.ppf(0.5 + level / 2, df) * math.sqrt(se2)
    return estimate, estimate - half, estimate + half


def _log_ratio(before, after) -> tuple[float, float] | None:
    """log(mean after / mean before) and its delta-method variance, or None if undefined."""
    b, a = _arrays(before, after)
    n = len(b)
    if n < 2 or b.mean() <= 0 or a.mean() <= 0:
        return None
    mb, ma = b.mean(), a.mean()
    cov = np.cov(a, b, ddof=1)
    var = (cov[0, 0] / ma ** 2 + cov[1, 1] / mb ** 2 - 2 * cov[0, 1] / (ma * mb)) / n
    return float(math.log(ma / mb)), float(max(var, 0.0))


def _ratio_ci(log_value: float, var: float, level: float) -> tuple[float, float, float]:
    half = _st.norm.ppf(0.5 + level / 2) * math.sqrt(var)
    return math.exp(log_value), math.exp(log_value - half), math.exp(log_value + half)


def relative_change(before, after, level: float = 0.95) -> tuple[float | None, float | None, float | None]:
    """(ratio, lower, upper): mean(after) / mean(before) within one stratum, delta-method CI on the log scale."""
    _check_level(level)
    found = _log_ratio(before, after)
    return (None, None, None) if found is None else _ratio_ci(*found, level)


def relative_difference_in_differences(before, after, reference_before, reference_after,
                                       level: float = 0.95) -> tuple[float | None, float | None, float | None]:
    """(ratio of ratios, lower, upper): [mean after / mean before] in a stratum over the same in the
    reference stratum; the log ratios of the two independent strata add their variances."""
    _check_level(level)
    s = _log_ratio(before, after)
    r = _log_ratio(reference_before, reference_after)
    if s is None or r is None:
        return None, None, None
    return _ratio_ci(s[0] - r[0], s[1] + r[1], level)


def change_categories(before, after, threshold_percent: float = 10.0) -> dict[str, int]:
    """Users by what happened to their use: counts of stopped, reduced, kept, increased, started.

    stopped: before > 0, after 0; started: before 0, after > 0; persons with use in both windows
    are reduced (change < -threshold%), kept (within +-threshold%, ends included) or increased
    (> +threshold%). Persons without use in either window are in no category.
    """
    b, a = _arrays(before, after)
    if not 0 < threshold_percent < 100:
        raise ValueError(f"threshold_percent must be between 0 and 100, got {threshold_percent!r}")
    both = (b > 0) & (a > 0)
    rel = np.divide(a - b, b, out=np.zeros_like(b), where=b > 0) * 100
    t = threshold_percent
    return {
        "stopped": int(((b > 0) & (a == 0)).sum()),
        "reduced": int((both & (rel < -t)).sum()),
        "kept": int((both & (rel >= -t) & (rel <= t)).sum()),
        "increased": int((both & (rel > t)).sum()),
        "started": int(((b == 0) & (a > 0)).sum()),
    }
