"""Low-dose naltrexone: who starts when, and the collection pattern.

Start is an inhomogeneous Poisson process on a monthly calendar: a low base rate that jumps
`surge_fold`-fold at the February 2013 event and decays to `post_surge_level`. In MS the rate
rises with severity, relapse frailty and pain liability (confounding by indication); outside MS
it is mostly persons with fibromyalgia or chronic pain. Each starter belongs to a collection
stratum (1, 2-3, 4+ collections in the 2 years after the first) drawn at start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from offlabel.synth.config import LDNConfig
from offlabel.synth.ms import MSCourse
from offlabel.synth.persons import Persons, expand
from offlabel.synth.timeline import DAYS_PER_YEAR, NEVER, day, month_starts, to_day

STRATA = ("1", "2-3", "4+")
LDN_PRODUCTS = ("ldn_1_5", "ldn_3", "ldn_4_5")


@dataclass
class LDNUse:
    idx: np.ndarray        # person index of each starter
    index_day: np.ndarray  # first collection
    stratum: np.ndarray    # planned stratum (0: 1, 1: 2-3, 2: 4+)
    is_ms: np.ndarray
    era_end: np.ndarray    # last collection + days_supply - 1, clipped to observation end
    # collections
    c_person: np.ndarray
    c_day: np.ndarray
    c_product: np.ndarray  # index into LDN_PRODUCTS

    def realised_stratum(self, exit_day: np.ndarray) -> np.ndarray:
        """Stratum by the collections seen within 2 years (730 days) after the first one."""
        pos = np.searchsorted(self.idx, self.c_person)
        within = self.c_day < self.index_day[pos] + 730
        counts = np.bincount(pos[within], minlength=len(self.idx))
        return np.where(counts >= 4, 2, np.where(counts >= 2, 1, 0))


def calendar_multiplier(cfg: LDNConfig, first_year: int, last_year: int) -> tuple[np.ndarray, np.ndarray]:
    """Month edges (days) and the start-rate multiplier of each month."""
    edges = month_starts(first_year, last_year)
    mid = (edges[:-1] + edges[1:]) / 2
    months_after = (mid - to_day(cfg.event_date)) / (DAYS_PER_YEAR / 12)
    surge = cfg.post_surge_level + (cfg.surge_fold - cfg.post_surge_level) * np.exp(-np.maximum(months_after, 0) / cfg.surge_decay_months)
    return edges, np.where(months_after > 0, surge, 1.0)


def sample_starts(rate_per_month: np.ndarray, eligible_from: np.ndarray, until: np.ndarray,
                  edges: np.ndarray, mult: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """First start day of a Poisson process with rate * mult(month), or NEVER (inverse cumulative hazard)."""
    month_len = np.diff(edges) / (DAYS_PER_YEAR / 12)
    cum = np.r_[0.0, np.cumsum(mult * month_len)]  # baseline-months at each edge
    c0 = np.interp(eligible_from, edges, cum)
    target = c0 + rng.exponential(1.0, len(rate_per_month)) / np.maximum(rate_per_month, 1e-300)
    t = np.floor(np.interp(target, cum, edges, right=np.inf))
    ok = (t <= until) & (eligible_from <= until) & (target < cum[-1])
    return np.where(ok, t, NEVER).astype(np.int64)


def simulate_ldn(p: Persons, ms: MSCourse, pain_onset: np.ndarray, cfg: LDNConfig,
                 first_year: int, last_year: int, rng: np.random.Generator) -> LDNUse:
    n = p.n
    edges, mult = calendar_multiplier(cfg, first_year, last_year)
    adult = p.birth + int(cfg.min_age * DAYS_PER_YEAR)
    rate = cfg.other_start_rate_per_month * np.ones(n)
    eligible = np.maximum(p.entry, adult)
    has_pain = pain_onset <= p.exit
    rate = np.where(has_pain, cfg.pain_start_rate_per_month, rate)
    eligible = np.where(has_pain, np.maximum(eligible, pain_onset), eligible)
    is_ms = np.zeros(n, dtype=bool)
    dx_ok = ms.diagnosis <= p.exit[ms.idx]
    mi = ms.idx[dx_ok]
    is_ms[mi] = True
    sev = ms.severity(np.full(dx_ok.sum(), day(2013, 6, 1)), np.flatnonzero(dx_ok))
    rate[mi] = (cfg.ms_start_rate_per_month * np.exp(cfg.severity_log_hr * (sev - 3.0))
                * ms.frailty[dx_ok] ** cfg.relapse_frailty_log_hr)
    eligible[mi] = np.maximum(eligible[mi], ms.diagnosis[dx_ok])
    rate = rate * np.exp(cfg.pain_log_hr * p.pain - cfg.pain_log_hr ** 2 / 2)
    age_hr = np.where(is_ms, cfg.age_log_hr, cfg.non_ms_age_log_hr)
    rate = rate * np.exp(age_hr * (p.age(day(2013, 6, 1)) - 50))
    start = sample_starts(rate, eligible, p.exit, edges, mult, rng)
    idx = np.flatnonzero(start < NEVER)
    k = len(idx)
    index_day = start[idx]
    shares = np.array([cfg.collection_strata[s] for s in STRATA])
    stratum = rng.choice(3, size=k, p=shares / shares.sum())
    extra = rng.geometric(1.0 / (1.0 + cfg.persistent_extra_collections_mean), k) - 1
    n_coll = np.where(stratum == 0, 1, np.where(stratum == 1, 2 + (rng.random(k) < 0.5), 4 + extra))
    owner = expand(n_coll)
    gaps = cfg.days_supply + np.round(rng.exponential(cfg.gap_days_mean, len(owner))).astype(np.int64)
    gaps[np.r_[0, np.cumsum(n_coll)[:-1]] if k else []] = 0
    # cumulative gap within each starter
    csum = np.cumsum(gaps)
    first = np.r_[0, np.cumsum(n_coll)[:-1]] if k else np.zeros(0, dtype=np.int64)
    offset = csum - np.repeat(csum[first], n_coll)
    c_day = index_day[owner] + offset
    # one strength per starter (titration is not modelled)
    product = rng.choice(3, size=k, p=[0.1, 0.45, 0.45])
    keep = c_day <= p.exit[idx][owner]
    c_person, c_day, c_product = idx[owner][keep], c_day[keep], product[owner][keep]
    last = np.zeros(k, dtype=np.int64)
    np.maximum.at(last, np.searchsorted(idx, c_person), c_day)
    era_end = np.minimum(last + cfg.days_supply - 1, p.exit[idx])
    return LDNUse(idx=idx, index_day=index_day, stratum=stratum, is_ms=is_ms[idx], era_end=era_end,
                  c_person=c_person, c_day=c_day, c_product=c_product)


__all__ = ["LDNUse", "simulate_ldn", "STRATA", "LDN_PRODUCTS"]
