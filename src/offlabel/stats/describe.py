"""Summaries of a numeric variable from its frequency table (distinct value, count).

A database can reduce millions of rows to their distinct values and counts exactly;
summing floating-point numbers in the database cannot be reproduced across engines (the
order of addition differs). From the frequency table these summaries are exact and the
same everywhere: the mean uses a correctly rounded sum (`math.fsum`), quantiles are R's
default (type 7, linear interpolation: `quantile()`, PostgreSQL `percentile_cont`,
DuckDB `quantile_cont`), and the standard deviation has denominator n - 1 (R's `sd`).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["describe_frequencies"]


def describe_frequencies(values, counts, quantiles=(0.25, 0.5, 0.75)) -> dict[str, float | int | None]:
    """count, mean, sd, min, max and the quantiles (keys "q25", "median", "q75", or "qNN").

    values: distinct non-missing values; counts: how often each occurs (whole numbers > 0).
    Statistics that need more values than there are give None.
    """
    v = np.asarray(values, dtype=float).ravel()
    c = np.asarray(counts, dtype=np.int64).ravel()
    if len(v) != len(c):
        raise ValueError("values and counts must have the same length")
    if (c <= 0).any() or np.isnan(v).any():
        raise ValueError("counts must be > 0 and values not missing (count missing values separately)")
    order = np.argsort(v, kind="stable")
    v, c = v[order], c[order]
    n = int(c.sum())
    out: dict[str, float | int | None] = {"count": n}
    if n == 0:
        return {**out, "mean": None, "sd": None, "min": None, "max": None,
                **{_name(q): None for q in quantiles}}
    mean = math.fsum(float(x) * int(k) for x, k in zip(v, c)) / n
    out["mean"] = mean
    if n > 1:
        squares = math.fsum(int(k) * (float(x) - mean) ** 2 for x, k in zip(v, c))
        out["sd"] = math.sqrt(squares / (n - 1))
    else:
        out["sd"] = None
    out["min"], out["max"] = float(v[0]), float(v[-1])
    upper_rank = np.cumsum(c) - 1  # 0-based rank of the last copy of each value
    for q in quantiles:
        h = (n - 1) * q
        lo, hi = math.floor(h), math.ceil(h)
        x_lo = float(v[np.searchsorted(upper_rank, lo)])
        x_hi = float(v[np.searchsorted(upper_rank, hi)])
        out[_name(q)] = x_lo + (h - lo) * (x_hi - x_lo)
    return out


def _name(q: float) -> str:
    return {0.5: "median"}.get(q, f"q{round(q * 100):02d}")
