"""Summaries of lab values per person: distribution, and change from baseline within person.

Pure functions on arrays (no database):

- `summarise_values`: mean, SD (n - 1), median and quartiles (R's type 7) of one value per
  person, from their frequency table (`offlabel.stats.describe`): exact and order-independent.
- the change from baseline (after - before, in the lab's unit) is the paired t interval of
  `offlabel.stats.before_after.paired_change`;
- `GeometricMeanRatio`: the ratio of the geometric means after / before, exp(mean of the
  per-person log(after / before)), with the paired t interval on the log scale (R:
  exp(t.test(log(after), log(before), paired = TRUE)$conf.int)). Lab values such as enzyme
  activities and cell counts are right-skewed and effects on them multiplicative (a drug that
  raises ALT by half raises a high ALT more in U/L than a low one): on the log scale such an
  effect is one number, whatever the person's level, and this ratio estimates it.
"""

from __future__ import annotations

import math

import numpy as np

from offlabel.stats.before_after import paired_change
from offlabel.stats.describe import describe_frequencies

__all__ = ["GeometricMeanRatio", "summarise_values"]


def summarise_values(values) -> dict[str, float | None]:
    """mean, sd, median, q25, q75 of `values` (one per person; None where too few)."""
    v = np.asarray(values, dtype=float).ravel()
    if np.isnan(v).any():
        raise ValueError("values must not be missing (leave out persons without a value)")
    if len(v) == 0:
        return dict.fromkeys(("mean", "sd", "median", "q25", "q75"))
    distinct, counts = np.unique(v, return_counts=True)
    d = describe_frequencies(distinct, counts)
    return {k: d[k] for k in ("mean", "sd", "median", "q25", "q75")}


class GeometricMeanRatio:
    """Ratio of geometric means after / before of paired positive values, with its t interval.

    Parameters: level, the confidence level (default 0.95).
    Learned: n_ (pairs), ratio_, lower_, upper_ (None when n_ < 2 for the bounds, n_ = 0 for all),
    log_mean_ and log_sd_ (mean and SD of log(after / before)).
    """

    def __init__(self, level: float = 0.95):
        self.level = level

    def fit(self, before, after) -> GeometricMeanRatio:
        b = np.asarray(before, dtype=float)
        a = np.asarray(after, dtype=float)
        if b.shape != a.shape or b.ndim != 1:
            raise ValueError(f"before and after must be 1-d arrays of the same length, got {b.shape} and {a.shape}")
        if (b <= 0).any() or (a <= 0).any() or not (np.isfinite(a).all() and np.isfinite(b).all()):
            raise ValueError("a ratio of geometric means needs finite values > 0; leave out persons with a value <= 0")
        change = paired_change(np.log(b), np.log(a), self.level)
        self.n_ = change.n
        self.log_mean_, self.log_sd_ = change.mean_change, change.sd_change

        def exp(x):
            return None if x is None else math.exp(x)
        self.ratio_, self.lower_, self.upper_ = exp(change.mean_change), exp(change.lower), exp(change.upper)
        return self
