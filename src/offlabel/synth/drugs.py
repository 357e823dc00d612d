"""Dispensings (drug_exposure rows): symptomatic and other drug groups, DMT episodes, steroids.

Drug groups: a person's dispensing rate in calendar year y is
    rate * propensity_i * noise_iy * sex * age * MS/severity * trend(y) * (observed share of y)
with a gamma-distributed propensity (few heavy users, many non-users) that loads on the pain
liability shared with LDN start. Counts are drawn per person and spread over years by inverse
cumulative intensity; the planted LDN effect then thins (or, generated in excess, keeps) the
dispensings that fall in the effect window of a starter of each collection stratum, so the
dispensing intensity, and with it DDD, is multiplied exactly by the planted rate ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from offlabel.synth.config import DrugGroupConfig, EffectsConfig
from offlabel.synth.ldn import LDN_PRODUCTS, STRATA, LDNUse
from offlabel.synth.ms import MSCourse
from offlabel.synth.persons import Persons, expand, rank_within, uniform_days
from offlabel.synth.timeline import DAYS_PER_YEAR, day, year_starts
from offlabel.synth.vocabulary import read_data

ATC_SWITCH_DAY = day(2018, 1, 1)  # moved ATC codes switch to their new code here (see docs)


@dataclass
class Products:
    keys: list[str]
    group: np.ndarray
    quantity: np.ndarray
    daily_units: np.ndarray
    interval: np.ndarray
    max_dispensings: np.ndarray
    weight: np.ndarray
    atc_old: list[str]
    atc_new: list[str]
    route: list[str]
    strength: np.ndarray
    ddd: np.ndarray

    def index(self, key: str) -> int:
        return self.keys.index(key)

    def of_group(self, group: str) -> np.ndarray:
        return np.flatnonzero(self.group == group)


def load_products() -> Products:
    rows = read_data("drugs.csv")
    f = lambda k, d=np.nan: np.array([float(r[k]) if r[k] else d for r in rows])  # noqa: E731
    return Products(keys=[r["key"] for r in rows], group=np.array([r["group"] for r in rows]),
                    quantity=f("quantity"), daily_units=f("daily_units"), interval=f("interval_days", 0),
                    max_dispensings=f("max_dispensings", 10**6), weight=f("weight"),
                    atc_old=[r["atc_old"] for r in rows], atc_new=[r["atc_new"] or r["atc_old"] for r in rows],
                    route=[r["route"] for r in rows], strength=f("strength"), ddd=f("ddd"))


@dataclass
class Dispensings:
    person: np.ndarray
    day: np.ndarray
    product: np.ndarray
    quantity: np.ndarray

    @staticmethod
    def concat(parts: list["Dispensings"]) -> "Dispensings":
        return Dispensings(*(np.concatenate([getattr(x, k) for x in parts]) for k in ("person", "day", "product", "quantity")))


def _pack(rng, products: Products, prod: np.ndarray) -> np.ndarray:
    """Quantity dispensed: the product's pack, sometimes two."""
    return products.quantity[prod] * np.where(rng.random(len(prod)) < 0.2, 2, 1)


def group_dispensings(p: Persons, ms: MSCourse, ldn: LDNUse, condition_onset: dict[str, np.ndarray],
                      groups: dict[str, DrugGroupConfig], effects: EffectsConfig, products: Products,
                      first_year: int, last_year: int, rng: np.random.Generator) -> tuple[Dispensings, dict]:
    edges = year_starts(first_year, last_year)
    n, n_years = p.n, len(edges) - 1
    lo = np.maximum(p.entry[:, None], edges[None, :-1])
    hi = np.minimum(p.exit[:, None] + 1, edges[None, 1:])
    mid = (edges[:-1] + edges[1:]) // 2
    age0 = (mid[0] - p.birth) / DAYS_PER_YEAR                       # age in the middle of first_year
    child = (age0[:, None] + np.arange(n_years)[None, :]) < 18
    # observed person-years per cell, children at 15% of the adult rate (shared by all groups)
    base = (np.clip(hi - lo, 0, None) / DAYS_PER_YEAR * np.where(child, 0.15, 1.0)).astype(np.float32)
    dx_rows = np.flatnonzero(ms.diagnosis <= p.exit[ms.idx])
    ms_persons = ms.idx[dx_rows]
    ms_on = ms.diagnosis[dx_rows][:, None] <= mid[None, :]
    ms_sev = np.stack([ms.severity(np.full(len(dx_rows), m), dx_rows) for m in mid], axis=1)
    ms_pos = np.full(n, -1)
    ms_pos[ms_persons] = np.arange(len(ms_persons))
    year = np.arange(first_year, last_year + 1)
    l_pos = np.full(n, -1)
    l_pos[ldn.idx] = np.arange(len(ldn.idx))
    parts, realised = [], {}
    for name, g in groups.items():
        prods = products.of_group(name)
        if len(prods) == 0:
            continue
        mults = {s: effects.dispensing.get(s, {}).get(name, 1.0) for s in STRATA}
        big = max(1.0, *mults.values())
        theta = rng.gamma(g.heterogeneity_shape, 1 / g.heterogeneity_shape, n)
        # which persons can be dispensed this group at all
        if g.ms_only:
            rows = ms_persons
        elif g.indication:
            rows = np.flatnonzero(condition_onset[g.indication] <= p.exit)
        else:
            rows = np.arange(n)
        person_f = (g.rate * big * theta[rows] * np.exp(g.pain_loading * p.pain[rows] - g.pain_loading ** 2 / 2)
                    * np.where(p.female[rows], g.female_rr, 1.0) * np.exp(g.age_log_slope * (age0[rows] - 50)))
        year_f = np.exp(g.trend_per_year * (year - 2012) + g.age_log_slope * np.arange(n_years))
        if g.first_year:
            year_f = year_f * (year >= g.first_year)
        lam = (person_f[:, None] * year_f[None, :]).astype(np.float32) * base[rows]
        if g.year_shape > 0:  # lognormal year-to-year variation with the CV of a gamma(year_shape)
            sd = np.float32(np.sqrt(np.log1p(1 / g.year_shape)))
            noise = rng.standard_normal((len(rows), n_years), dtype=np.float32)
            lam *= np.exp(sd * noise - sd * sd / 2)
        if g.indication:
            lam *= condition_onset[g.indication][rows][:, None] <= mid[None, :]
        # MS: rate ratio and severity after diagnosis (only MS rows change)
        mp = ms_pos[rows]
        r_ms = np.flatnonzero(mp >= 0)
        f_ms = g.ms_rr * np.exp(g.severity_log_slope * (ms_sev[mp[r_ms]] - 3.0))
        lam[r_ms] *= np.where(ms_on[mp[r_ms]], f_ms, 0.0 if g.ms_only else 1.0).astype(np.float32)
        lam = lam.astype(np.float64)
        flat = np.cumsum(lam.ravel())
        total = lam.sum(axis=1)
        count = rng.poisson(total)
        owner_r = expand(count)                                     # index into rows
        # year of each event: inverse of the cumulative intensity over the flattened (row, year) cells
        row_start = np.r_[0.0, flat[n_years - 1::n_years][:-1]]
        u = row_start[owner_r] + rng.random(len(owner_r)) * total[owner_r]
        cell = np.searchsorted(flat, u, side="right")
        y_of = np.clip(cell - owner_r * n_years, 0, n_years - 1)
        bad = lam[owner_r, y_of] == 0                               # rounding at a row edge
        if bad.any():
            y_of[bad] = np.argmax(lam[owner_r[bad]] > 0, axis=1)
        owner = rows[owner_r]
        d = uniform_days(rng, lo[owner, y_of], hi[owner, y_of] - 1)
        keep_p = np.full(len(owner), 1.0 / big)
        lp = l_pos[owner]
        if len(ldn.idx) and any(v != 1.0 for v in mults.values()):
            s_m = np.array([mults[s] for s in STRATA])
            in_win = (lp >= 0) & (d >= ldn.index_day[lp]) & (d < ldn.index_day[lp] + effects.dispensing_window_days)
            keep_p = np.where(in_win, s_m[ldn.stratum[lp]] / big, keep_p)
        keep = rng.random(len(owner)) < keep_p
        owner, d = owner[keep], d[keep]
        w = products.weight[prods] / products.weight[prods].sum()
        prod = prods[rng.choice(len(prods), size=len(owner), p=w)]
        parts.append(Dispensings(owner, d, prod, _pack(rng, products, prod)))
        realised[name] = int(len(owner))
    return (Dispensings.concat(parts) if parts else _empty()), realised


def _empty() -> Dispensings:
    z = np.zeros(0, dtype=np.int64)
    return Dispensings(z, z, z, z.astype(float))


def episode_dispensings(person, drug_key_index: np.ndarray, start, end, first_day: int,
                        products: Products) -> Dispensings:
    """Regular dispensings every `interval_days` from each episode start to its end (from first_day on)."""
    interval = products.interval[drug_key_index].astype(np.int64)
    k0 = np.where(start < first_day, -((start - first_day) // interval), 0)  # first dispensing on/after first_day
    first = start + k0 * interval
    n = np.where(end >= first, (end - first) // interval + 1, 0)
    n = np.minimum(n, np.maximum(products.max_dispensings[drug_key_index] - k0, 0)).astype(np.int64)
    owner = expand(n)
    k = rank_within(owner)
    d = first[owner] + k * interval[owner]
    prod = drug_key_index[owner]
    return Dispensings(person[owner], d, prod, products.quantity[prod].astype(float))


def ldn_dispensings(ldn: LDNUse, products: Products) -> Dispensings:
    idx = np.array([products.index(k) for k in LDN_PRODUCTS])
    prod = idx[ldn.c_product]
    return Dispensings(ldn.c_person, ldn.c_day, prod, products.quantity[prod].astype(float))


def high_dose_naltrexone(p: Persons, alcohol_onset: np.ndarray, rng: np.random.Generator,
                         products: Products, share: float = 0.05) -> Dispensings:
    """Naltrexone 50 mg for alcohol dependence: a few persons, 1-4 monthly packs after diagnosis."""
    cand = np.flatnonzero((alcohol_onset <= p.exit) & (rng.random(p.n) < share))
    lo = np.maximum(alcohol_onset[cand], p.entry[cand])
    start = uniform_days(rng, lo, p.exit[cand])
    k = rng.integers(1, 5, len(cand))
    owner = expand(k)
    d = start[owner] + 28 * rank_within(owner)
    keep = d <= p.exit[cand][owner]
    prod = np.full(keep.sum(), products.index("naltrexone_50"))
    return Dispensings(cand[owner][keep], d[keep], prod, products.quantity[prod].astype(float))


def steroid_dispensings(person, relapse_day, fraction: float, rng, products: Products) -> Dispensings:
    treated = rng.random(len(person)) < fraction
    prod = np.full(treated.sum(), products.index("methylprednisolone_1000"))
    qty = np.where(rng.random(treated.sum()) < 0.5, 3.0, 5.0)
    return Dispensings(person[treated], relapse_day[treated] + rng.integers(0, 3, treated.sum()), prod, qty)
