"""Checks of the SCCS assumptions that are not coefficients of the model.

The pre-exposure window (event-dependent exposure) and the end-of-observation probe
(event-dependent observation) are covariates of the SCCS model itself (`offlabel.stats.sccs`);
this module holds the check that the outcome rate is stable over calendar time, as
SelfControlledCaseSeries's `computeTimeStability` does it:

- each case's events are spread over its analysed time at its own constant rate, which gives the
  expected count of each calendar month (the sum over the cases observed in it);
- with o_m observed and e_m expected events in month m, the likelihood of a global ratio x >= 1
  by which months are off, up or down, is prod_m [Pois(o_m; e_m x) + Pois(o_m; e_m / x)];
- its mass above `max_ratio` (default 1.25) against that in [1, max_ratio] gives a likelihood
  ratio statistic, and p = P(chi2_1 > 2 log(l1 / l0)); the rate is called unstable when p <= alpha.

SelfControlledCaseSeries keeps only months with at least one observed event; here every month
with expected events counts (a month without events is evidence too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, logsumexp
from scipy.stats import chi2

__all__ = ["TimeStability", "time_stability"]

_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass(frozen=True)
class TimeStability:
    ratio: float       # the most likely global ratio x (1 to 10)
    p_value: float
    stable: bool
    months: int        # calendar months with expected events


def monthly_counts(start, end, event_case, event_day) -> tuple[np.ndarray, np.ndarray]:
    """(observed, expected) events per calendar month, over the months the cases are observed in."""
    start, end = np.asarray(start, np.int64), np.asarray(end, np.int64)
    event_case, event_day = np.asarray(event_case, np.int64), np.asarray(event_day, np.int64)
    origin, last = int(start.min()), int(end.max())
    days = end - start + 1
    rate = np.bincount(event_case, minlength=len(start)) / days
    per_day = np.zeros(last - origin + 2)
    np.add.at(per_day, start - origin, rate)
    np.add.at(per_day, end + 1 - origin, -rate)
    per_day = np.cumsum(per_day)[:-1]
    month_of = ((_EPOCH + np.arange(origin, last + 1)).astype("datetime64[M]").astype(np.int64))
    first = month_of[0]
    expected = np.bincount(month_of - first, weights=per_day)
    ev_month = (_EPOCH + event_day).astype("datetime64[M]").astype(np.int64) - first
    observed = np.bincount(ev_month, minlength=len(expected)).astype(float)
    keep = expected > 0
    return observed[keep], expected[keep]


def time_stability(start, end, event_case, event_day, *, max_ratio: float = 1.25,
                   alpha: float = 0.05) -> TimeStability:
    """The stability of the outcome rate over calendar months (module docstring)."""
    o, e = monthly_counts(start, end, event_case, event_day)
    if len(o) < 2:
        return TimeStability(ratio=float("nan"), p_value=1.0, stable=True, months=int(len(o)))
    x = np.r_[np.linspace(1.0, 10.0, 9001), np.geomspace(10.0, 1000.0, 2001)[1:]]

    const = gammaln(o + 1)
    ll = np.empty(len(x))
    for i in range(0, len(x), 1000):  # (grid points x months) in blocks: vectorised, bounded memory
        v = x[i:i + 1000, None]
        up, down = e * v, e / v
        ll[i:i + 1000] = np.logaddexp(o * np.log(up) - up - const, o * np.log(down) - down - const).sum(axis=1)
    inner = x <= 10.0
    ratio = float(x[inner][np.argmax(ll[inner])])
    log_mass = _log_trapezoid(ll, x)
    low, high = x <= max_ratio, x >= max_ratio
    llr = 2 * (log_mass(high) - log_mass(low))
    p = float(chi2.sf(llr, 1)) if llr > 0 else 1.0
    return TimeStability(ratio=ratio, p_value=p, stable=p > alpha, months=int(len(o)))


def _log_trapezoid(log_f: np.ndarray, x: np.ndarray):
    """log of the trapezoid integral of exp(log_f) over the grid points where a mask is true."""

    def mass(mask):
        lf, xs = log_f[mask], x[mask]
        pair = np.logaddexp(lf[1:], lf[:-1]) + np.log(np.diff(xs) / 2)
        return float(logsumexp(pair))

    return mass
