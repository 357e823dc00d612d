"""The self-controlled case series model: conditional Poisson regression on interval data.

Each case i has pieces j of its observation time, of length t_ij days, with covariates x_ij (risk
windows, age, season) and y_ij events. Conditional on the case's number of events n_i, the
events are multinomial over its pieces with probabilities

    p_ij = t_ij exp(x_ij' b) / sum_k t_ik exp(x_ik' b)

which is the Poisson model with one fixed effect per case and offset log(t_ij) (Farrington 1995;
Whitaker et al. 2006), i.e. R's `gnm(y ~ x + offset(log(t)), eliminate = factor(case),
family = poisson)`. Conditional log-likelihood, score and observed information:

    l(b) = sum_ij y_ij log p_ij
    U(b) = sum_ij y_ij x_ij - sum_i n_i xbar_i,              xbar_i = sum_j p_ij x_ij
    I(b) = sum_i n_i (sum_j p_ij x_ij x_ij' - xbar_i xbar_i')

Newton-Raphson from b = 0 with step halving, vectorised over cases with `np.add.reduceat` on
rows sorted by case (statsmodels' ConditionalPoisson loops over cases in Python, which is too
slow for 10^5 cases; it serves as a cross-check in the tests). Standard errors are the square
roots of the diagonal of I(b)^-1; confidence intervals and p-values are Wald's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from offlabel.errors import ConvergenceError

__all__ = ["ConditionalPoisson", "SccsFit", "fit_sccs"]

#: A log rate ratio beyond this is a run to infinity (IRR > 10^13), not an estimate.
_DIVERGED = 30.0


class ConditionalPoisson:
    """Conditional Poisson regression (the SCCS model), fitted by Newton-Raphson.

    >>> X = np.array([[0.], [1.], [0.], [1.]])
    >>> m = ConditionalPoisson().fit(X, events=[1, 2, 3, 1], length=[10, 10, 20, 5], case=[1, 1, 2, 2])
    >>> round(float(m.irr_[0]), 4)
    1.6116
    """

    def __init__(self, level: float = 0.95, max_iter: int = 100, tol: float = 1e-10):
        self.level = level
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X, events, length, case, names=None) -> "ConditionalPoisson":
        """X: (pieces x covariates); events: events per piece; length: days per piece (> 0);
        case: the case each piece belongs to (any sortable labels); names: covariate names."""
        X, y, t, case = _as_arrays(X, events, length, case)
        names = list(names) if names is not None else [f"x{i}" for i in range(X.shape[1])]
        if len(names) != X.shape[1]:
            raise ValueError(f"{len(names)} names for {X.shape[1]} covariates")
        order = np.argsort(case, kind="stable")
        X, y, t, case = X[order], y[order], t[order], case[order]
        starts = np.flatnonzero(np.r_[True, case[1:] != case[:-1]])
        n_case = np.add.reduceat(y, starts)
        keep = np.repeat(n_case > 0, np.diff(np.r_[starts, len(case)]))  # cases without events add nothing
        X, y, t, case = X[keep], y[keep], t[keep], case[keep]
        starts = np.flatnonzero(np.r_[True, case[1:] != case[:-1]]) if len(case) else np.zeros(0, int)
        _check(X, y, t, starts, names)
        beta, loglik, info, iterations = _newton(X, y, np.log(t), starts, self.max_iter, self.tol, names)
        cov = np.linalg.inv(info)
        se = np.sqrt(np.diag(cov))
        flat = [names[i] for i in np.flatnonzero(~(se < _DIVERGED))]
        if flat:
            raise ConvergenceError("The likelihood is flat in " + ", ".join(f"'{n}'" for n in flat) + " (standard "
                                   "error beyond 30 on the log scale): its events, or their absence, all but "
                                   "separate it from the rest of the cases' time. Check its events and person-time.")
        z = norm.ppf(0.5 + self.level / 2)
        self.names_ = names
        self.coef_ = beta
        self.se_ = se
        self.cov_ = cov
        self.ci_lower_ = beta - z * se
        self.ci_upper_ = beta + z * se
        with np.errstate(over="ignore"):
            self.irr_ = np.exp(beta)
            self.irr_lower_ = np.exp(self.ci_lower_)
            self.irr_upper_ = np.exp(self.ci_upper_)
        self.p_value_ = 2 * norm.sf(np.abs(beta / se))
        self.loglik_ = loglik
        self.n_iter_ = iterations
        self.n_cases_ = len(starts)
        self.n_events_ = int(y.sum())
        return self


def _as_arrays(X, events, length, case):
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    y = np.asarray(events, dtype=float)
    t = np.asarray(length, dtype=float)
    case = np.asarray(case)
    n = X.shape[0]
    if not (len(y) == len(t) == len(case) == n):
        raise ValueError(f"X has {n} rows but events, length and case have {len(y)}, {len(t)}, {len(case)}")
    if X.shape[1] == 0:
        raise ValueError("no covariates to estimate: give at least one risk window")
    if not np.all(np.isfinite(X)):
        raise ValueError("X holds NaN or infinite values")
    if np.any(y < 0) or np.any(y != np.floor(y)):
        raise ValueError("events must be whole numbers >= 0")
    if np.any(~(t > 0)):
        raise ValueError("every piece needs a length > 0 days (drop empty pieces)")
    return X, y, t, case


def _check(X, y, t, starts, names) -> None:
    """Say what to look at, before the numbers can fail."""
    if len(starts) == 0:
        raise ConvergenceError("No case has an event in its observation time, so there is nothing to fit. "
                               "Check the outcome concept set, the study period and the age limits.")
    if len(starts) < 2:
        raise ConvergenceError("Only one case has events: too few cases for an SCCS. Widen the study period "
                               "or the outcome concept set.")
    for k, name in enumerate(names):
        on = X[:, k] != 0
        if not on.any():
            raise ConvergenceError(f"'{name}' has no person-time in the cases: no case is observed in that "
                                   "window (or at that age / season). Remove it or check its days.")
        binary = np.isin(X[:, k], (0.0, 1.0)).all()
        if binary and y[on].sum() == 0:
            raise ConvergenceError(f"'{name}' has no events, so its IRR would be 0 (log IRR -infinity). "
                                   "Remove that window, widen it, or treat its time as not at risk.")
        if binary:
            exposed_cases = np.add.reduceat(on.astype(float), starts) > 0
            owner = np.repeat(exposed_cases, np.diff(np.r_[starts, len(y)]))
            if y[owner & ~on].sum() == 0:
                raise ConvergenceError(f"Every event of the cases with time in '{name}' falls in it: its IRR "
                                       "runs to infinity. Too few cases or events for this window.")
    info = _information_at_zero(X, y, t, starts)
    scale = np.sqrt(np.clip(np.diag(info), 1e-300, None))
    eigval, eigvec = np.linalg.eigh(info / np.outer(scale, scale))
    if eigval[0] < 1e-10 * max(eigval[-1], 1e-300):
        involved = [names[i] for i in np.flatnonzero(np.abs(eigvec[:, 0]) > 0.1)]
        raise ConvergenceError("The covariates " + ", ".join(f"'{n}'" for n in involved) + " are collinear "
                               "within cases (e.g. age or season terms that move with the exposure window, "
                               "or an age group no case is seen in): their effects cannot be told apart. "
                               "Use coarser age groups or season, or fewer windows.")


def _information_at_zero(X, y, t, starts) -> np.ndarray:
    n_rows = np.diff(np.r_[starts, len(y)])
    p = t / np.repeat(np.add.reduceat(t, starts), n_rows)
    return _information(X, p, np.add.reduceat(y, starts), starts, n_rows)


def _information(X, p, n_case, starts, n_rows) -> np.ndarray:
    xbar = np.add.reduceat(p[:, None] * X, starts, axis=0)
    w = np.repeat(n_case, n_rows) * p
    return (X * w[:, None]).T @ X - (xbar * n_case[:, None]).T @ xbar


def _state(beta, X, y, log_t, starts, n_rows):
    """Log-likelihood, probabilities and events per case at beta."""
    eta = X @ beta + log_t
    eta = eta - np.repeat(np.maximum.reduceat(eta, starts), n_rows)  # per-case shift: no overflow
    w = np.exp(eta)
    total = np.add.reduceat(w, starts)
    log_p = eta - np.repeat(np.log(total), n_rows)
    return float(y @ log_p), np.exp(log_p)


def _newton(X, y, log_t, starts, max_iter, tol, names):
    n_rows = np.diff(np.r_[starts, len(y)])
    n_case = np.add.reduceat(y, starts)
    beta = np.zeros(X.shape[1])
    loglik, p = _state(beta, X, y, log_t, starts, n_rows)
    for iteration in range(1, max_iter + 1):
        xbar = np.add.reduceat(p[:, None] * X, starts, axis=0)
        score = X.T @ y - xbar.T @ n_case
        info = _information(X, p, n_case, starts, n_rows)
        step = np.linalg.solve(info, score)
        for _ in range(50):  # step halving keeps every iteration an ascent
            new_ll, new_p = _state(beta + step, X, y, log_t, starts, n_rows)
            if new_ll >= loglik - 1e-12 * abs(loglik):
                break
            step = step / 2
        beta = beta + step
        converged = np.max(np.abs(step)) < tol or abs(new_ll - loglik) < tol * 1e-3 * max(1.0, abs(loglik))
        loglik, p = new_ll, new_p
        if np.any(np.abs(beta) > _DIVERGED):
            bad = [names[i] for i in np.flatnonzero(np.abs(beta) > _DIVERGED)]
            raise ConvergenceError("The estimate of " + ", ".join(f"'{n}'" for n in bad) + " runs to infinity: "
                                   "its events (or its absence of events) separate it from the rest of the "
                                   "cases' time. Check the window's events and person-time.")
        if converged:
            xbar = np.add.reduceat(p[:, None] * X, starts, axis=0)
            return beta, loglik, _information(X, p, n_case, starts, n_rows), iteration
    raise ConvergenceError(f"The SCCS model did not converge in {max_iter} Newton iterations. Look for windows "
                           "with very few events or age / season groups with very little time.")


@dataclass
class SccsFit:
    """Estimates of every covariate of an SCCS interval table, with the ones that could not be estimated."""

    names: list[str]
    coef: dict[str, float]
    se: dict[str, float]
    irr: dict[str, tuple[float, float, float]]
    p_value: dict[str, float]
    not_estimable: dict[str, str]
    loglik: float
    n_iter: int


def fit_sccs(X, events, length, case, names, *, level: float = 0.95) -> SccsFit:
    """Fit the SCCS model, first taking out the covariates the data cannot estimate.

    A 0/1 covariate (a window, an age or season group) with no person-time is left out; one with
    time but no events has MLE IRR = 0: the fit is its limit, which is the same model with that
    covariate's pieces removed (they would carry expected count 0). Both are listed in
    `not_estimable` with the reason; everything else goes to `ConditionalPoisson`, which raises
    ConvergenceError on what remains unfittable.
    """
    X, y, t, case = _as_arrays(X, events, length, case)
    names = list(names)
    keep_rows = np.ones(len(y), bool)
    keep_cols, not_estimable = [], {}
    for k, name in enumerate(names):
        on = X[:, k] != 0
        if not on.any():
            not_estimable[name] = "no person-time"
        elif np.isin(X[:, k], (0.0, 1.0)).all() and y[on].sum() == 0:
            not_estimable[name] = "no events"
            keep_rows &= ~on
        else:
            keep_cols.append(k)
    model = ConditionalPoisson(level=level).fit(X[keep_rows][:, keep_cols], y[keep_rows], t[keep_rows],
                                                case[keep_rows], [names[k] for k in keep_cols])
    kept = model.names_
    return SccsFit(names=names, coef=dict(zip(kept, model.coef_.tolist())), se=dict(zip(kept, model.se_.tolist())),
                   irr={n: (float(a), float(b), float(c)) for n, a, b, c in
                        zip(kept, model.irr_, model.irr_lower_, model.irr_upper_)},
                   p_value=dict(zip(kept, model.p_value_.tolist())), not_estimable=not_estimable,
                   loglik=model.loglik_, n_iter=model.n_iter_)
