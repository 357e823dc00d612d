"""Disease-modifying treatment and relapses, quarter by quarter for all MS patients at once.

Each quarter: relapses arrive at a rate set by the untreated rate, the person's frailty, time
since onset, phase (relapsing / progressive), the current DMT's efficacy and, when planted,
LDN exposure; then untreated relapsing patients start a DMT (more after a relapse and just
after diagnosis, more in later calendar years), treated ones stop, and most stoppers switch.
Drug choice follows the calendar year's market shares (data/dmt_shares.csv).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from offlabel.synth.config import DMTConfig, MSConfig
from offlabel.synth.ldn import LDNUse
from offlabel.synth.ms import PP, MSCourse
from offlabel.synth.persons import Persons, expand
from offlabel.synth.timeline import DAYS_PER_YEAR, NEVER, day
from offlabel.synth.vocabulary import read_data

PULSED = {"alemtuzumab": 730, "cladribine": 730}  # courses end after this many days


def dmt_names() -> list[str]:
    return [c for c in read_data("dmt_shares.csv")[0] if c != "year"]


def shares_by_year(first_year: int, last_year: int) -> np.ndarray:
    """(years x drugs) start probabilities: the latest anchor row at or before each year."""
    rows = read_data("dmt_shares.csv")
    names = dmt_names()
    anchors = sorted((int(r["year"]), np.array([float(r[n]) for n in names])) for r in rows)
    out = []
    for y in range(first_year, last_year + 1):
        w = [a for yr, a in anchors if yr <= y][-1]
        out.append(w / w.sum())
    return np.array(out)


@dataclass
class Treatment:
    e_person: np.ndarray   # DMT episodes: person index, drug index, first and last day
    e_drug: np.ndarray
    e_start: np.ndarray
    e_end: np.ndarray
    r_person: np.ndarray   # recorded relapses: person index, day
    r_day: np.ndarray
    r_ldn: int             # recorded relapses during LDN exposure


def simulate_treatment(p: Persons, ms: MSCourse, ldn: LDNUse, ms_cfg: MSConfig, cfg: DMTConfig,
                       relapse_hr: float, first_year: int, last_year: int, rng: np.random.Generator) -> Treatment:
    names = dmt_names()
    n_drugs = len(names)
    efficacy = np.array([cfg.efficacy.get(nm, 1.0) for nm in names] + [1.0])  # last: untreated
    pulsed_len = np.array([PULSED.get(nm, 0) for nm in names])
    ocr = names.index("ocrelizumab")
    shares = shares_by_year(first_year, last_year)
    m = len(ms.idx)
    entry, exit_ = p.entry[ms.idx], p.exit[ms.idx]
    # LDN exposure era per MS row (if any)
    l_start = np.full(m, NEVER)
    l_end = np.full(m, NEVER)
    pos = np.searchsorted(ldn.idx, ms.idx)
    pos = np.minimum(pos, max(len(ldn.idx) - 1, 0))
    has = (len(ldn.idx) > 0) & (ldn.idx[pos] == ms.idx) if len(ldn.idx) else np.zeros(m, bool)
    l_start[has], l_end[has] = ldn.index_day[pos[has]], ldn.era_end[pos[has]]

    q_edges = np.array([day(y, mo) for y in range(first_year, last_year + 1) for mo in (1, 4, 7, 10)]
                       + [day(last_year + 1)], dtype=np.int64)
    drug = np.full(m, -1)
    ep_start = np.zeros(m, dtype=np.int64)
    start0 = q_edges[0]
    init = (ms.diagnosis < start0) & (entry <= start0) & (exit_ >= start0) & (ms.subtype != PP) & (ms.sp_onset > start0)
    init &= rng.random(m) < cfg.initially_treated
    drug[init] = rng.choice(n_drugs, size=init.sum(), p=shares[0])
    ep_start[init] = start0 - rng.integers(0, 3 * 365, init.sum())
    eps, rel = [], []
    r_ldn = 0
    for q in range(len(q_edges) - 1):
        qs, qe = q_edges[q], q_edges[q + 1]  # [qs, qe)
        year = first_year + q // 4
        lo = np.maximum(np.maximum(qs, entry), ms.onset)
        hi = np.minimum(qe, exit_ + 1)
        live = hi > lo
        # relapses
        years_since = np.maximum(qs - ms.onset, 0) / DAYS_PER_YEAR
        phase = np.where(ms.subtype == PP, ms_cfg.progressive_relapse_factor / 2,
                         np.where(ms.sp_onset <= qs, ms_cfg.progressive_relapse_factor, 1.0))
        rate = (ms_cfg.relapse_rate_untreated * ms.frailty * np.exp(-ms_cfg.relapse_rate_decline_per_year * years_since)
                * phase * efficacy[drug]) / DAYS_PER_YEAR
        e_lo, e_hi = np.maximum(lo, l_start), np.minimum(hi, l_end + 1)
        exp_len = np.where(live, np.maximum(e_hi - e_lo, 0), 0)
        unexp_len = np.where(live, hi - lo - exp_len, 0)
        mean = rate * (unexp_len + relapse_hr * exp_len)
        count = rng.poisson(np.maximum(mean, 0))
        owner = expand(count)
        if len(owner):
            w_exp = relapse_hr * exp_len[owner] / np.maximum(unexp_len[owner] + relapse_hr * exp_len[owner], 1e-12)
            in_exp = rng.random(len(owner)) < w_exp
            u = rng.random(len(owner))
            t_exp = e_lo[owner] + np.floor(u * exp_len[owner])
            # unexposed part: [lo, e_lo) then [e_hi, hi)
            first_len = np.clip(e_lo[owner] - lo[owner], 0, None)
            first_len = np.where(exp_len[owner] > 0, first_len, unexp_len[owner])
            x = np.floor(u * unexp_len[owner])
            t_unexp = np.where(x < first_len, lo[owner] + x, np.maximum(e_hi[owner], lo[owner]) + x - first_len)
            t = np.where(in_exp, t_exp, t_unexp).astype(np.int64)
            recorded = t >= ms.diagnosis[owner]
            rel.append((owner[recorded], t[recorded]))
            r_ldn += int((in_exp & recorded).sum())
        relapsed = np.bincount(owner, minlength=m) > 0
        # treatment transitions at a uniform day of the quarter
        active = live & (ms.diagnosis < qe) & (exit_ >= qe - 1)
        t_day = np.maximum(qs + rng.integers(0, qe - qs, m), ms.diagnosis)
        sp_now = (ms.sp_onset >= qs) & (ms.sp_onset < qe)
        on = active & (drug >= 0)
        pulsed_done = on & (pulsed_len[np.maximum(drug, 0)] > 0) & (t_day - ep_start >= pulsed_len[np.maximum(drug, 0)])
        stop = on & ((rng.random(m) < 1 - np.exp(-cfg.stop_rate / 4)) | pulsed_done
                     | (sp_now & (rng.random(m) < cfg.stop_at_sp_conversion)))
        switch = stop & ~pulsed_done & ~sp_now & (rng.random(m) < cfg.switch_fraction)
        if stop.any():
            s = np.flatnonzero(stop)
            eps.append((s, drug[s], ep_start[s], t_day[s]))
        new_drug = _choose(rng, shares[year - first_year], drug, m)
        sw = np.flatnonzero(switch)
        drug[stop] = -1
        drug[sw] = new_drug[sw]
        ep_start[sw] = t_day[sw] + rng.integers(1, 180, len(sw))
        # starts of untreated patients
        rr_phase = (ms.subtype != PP) & (ms.sp_onset > qs)
        frac = (year - first_year) / max(last_year - first_year, 1)
        h = cfg.start_rate_first_year + (cfg.start_rate_last_year - cfg.start_rate_first_year) * frac
        h = h * np.where(qs - ms.diagnosis < 365, cfg.new_diagnosis_start_factor, 1.0)
        h = h * np.where(relapsed, cfg.relapse_start_factor, 1.0)
        start = active & ~stop & (drug < 0) & rr_phase & (rng.random(m) < 1 - np.exp(-h / 4))
        st = np.flatnonzero(start)
        drug[st] = new_drug[st]
        ep_start[st] = t_day[st]
        if year >= 2018:
            pp = active & (drug < 0) & (ms.subtype == PP) & (rng.random(m) < 1 - np.exp(-cfg.pp_treated_from_ocrelizumab / 4))
            drug[pp] = ocr
            ep_start[pp] = t_day[pp]
    # close open episodes at the end of observation
    s = np.flatnonzero(drug >= 0)
    eps.append((s, drug[s], ep_start[s], exit_[s]))
    e_person = np.concatenate([e[0] for e in eps])
    e_drug = np.concatenate([e[1] for e in eps])
    e_start = np.concatenate([e[2] for e in eps])
    e_end = np.concatenate([e[3] for e in eps])
    ok = e_end >= np.maximum(e_start, entry[e_person])
    r_person = np.concatenate([r[0] for r in rel]) if rel else np.zeros(0, np.int64)
    r_day = np.concatenate([r[1] for r in rel]) if rel else np.zeros(0, np.int64)
    return Treatment(e_person=e_person[ok], e_drug=e_drug[ok], e_start=e_start[ok], e_end=e_end[ok],
                     r_person=r_person, r_day=r_day, r_ldn=r_ldn)


def _choose(rng, w: np.ndarray, current: np.ndarray, m: int) -> np.ndarray:
    """A drug per row from shares w, never the row's current drug."""
    choice = rng.choice(len(w), size=m, p=w)
    clash = choice == current
    for _ in range(5):
        if not clash.any():
            break
        choice[clash] = rng.choice(len(w), size=clash.sum(), p=w)
        clash = choice == current
    return choice
