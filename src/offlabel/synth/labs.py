"""Lab panels (ALT, AST, bilirubin, creatinine, haemoglobin, leukocytes, platelets).

Panels come at a rate rising with age and healthcare frailty, more often after an MS diagnosis
(DMT monitoring), and around LDN starts (baseline and follow-up). Values: a person-level level
plus visit noise around sex-specific centres inside the Norwegian reference ranges (DOMAIN.md),
lognormal for enzymes and counts; ALT is multiplied by the planted ratio during LDN exposure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from offlabel.synth.config import LabsConfig
from offlabel.synth.ldn import LDNUse
from offlabel.synth.ms import MSCourse
from offlabel.synth.persons import Persons, expand, uniform_days
from offlabel.synth.timeline import DAYS_PER_YEAR
from offlabel.synth.vocabulary import read_data


@dataclass
class Measurements:
    person: np.ndarray
    day: np.ndarray
    lab: np.ndarray       # index into lab_rows()
    value: np.ndarray
    low: np.ndarray
    high: np.ndarray


def lab_rows() -> list[dict]:
    return read_data("labs.csv")


def simulate_labs(p: Persons, ms: MSCourse, ldn: LDNUse, cfg: LabsConfig, alt_ratio: float,
                  rng: np.random.Generator) -> Measurements:
    age_mid = p.age((p.entry + p.exit) / 2)
    rate = cfg.panel_rate * np.exp(cfg.panel_age_log_slope * (age_mid - 50)) * p.frailty
    k = rng.poisson(rate * p.observed_years())
    owner = expand(k)
    persons = [owner]
    days = [uniform_days(rng, p.entry[owner], p.exit[owner])]
    dx = np.flatnonzero(ms.diagnosis <= p.exit[ms.idx])
    lo = np.maximum(ms.diagnosis[dx], p.entry[ms.idx[dx]])
    k = rng.poisson(cfg.ms_panel_rate * (p.exit[ms.idx[dx]] - lo + 1) / DAYS_PER_YEAR)
    o = expand(k)
    persons.append(ms.idx[dx][o])
    days.append(uniform_days(rng, lo[o], p.exit[ms.idx[dx]][o]))
    base = rng.random(len(ldn.idx)) < cfg.ldn_baseline_probability
    persons.append(ldn.idx[base])
    days.append(ldn.index_day[base] - rng.integers(0, 60, base.sum()))
    for d in cfg.ldn_follow_up_days:
        f = rng.random(len(ldn.idx)) < cfg.ldn_follow_up_probability
        persons.append(ldn.idx[f])
        days.append(ldn.index_day[f] + d + rng.integers(-14, 15, f.sum()))
    person = np.concatenate(persons)
    day_ = np.concatenate(days)
    ok = (day_ >= p.entry[person]) & (day_ <= p.exit[person])
    person, day_ = person[ok], day_[ok]
    # one panel per person-day
    key = np.unique(person.astype(np.int64) * 1_000_000 + day_ - day_.min() if len(day_) else person)
    if len(day_):
        person, day_ = key // 1_000_000, key % 1_000_000 + day_.min()
    labs = lab_rows()
    n_lab, n_panel = len(labs), len(person)
    female = p.female[person]
    level = rng.standard_normal((p.n, n_lab))  # person-level deviation, in person SDs
    values, lows, highs = [], [], []
    # LDN exposure (for ALT)
    l_pos = np.full(p.n, -1)
    l_pos[ldn.idx] = np.arange(len(ldn.idx))
    lp = l_pos[person]
    exposed = (lp >= 0) & (day_ >= ldn.index_day[np.maximum(lp, 0)]) & (day_ <= ldn.era_end[np.maximum(lp, 0)]) \
        if len(ldn.idx) else np.zeros(n_panel, bool)
    for j, r in enumerate(labs):
        centre = np.where(female, float(r["female_center"]), float(r["male_center"]))
        psd, vsd = float(r["person_sd"]), float(r["visit_sd"])
        z = level[person, j] * psd + rng.standard_normal(n_panel) * vsd
        v = centre * np.exp(z) if r["distribution"] == "lognormal" else centre + z
        if r["key"] == "alt" and alt_ratio != 1.0:
            v = np.where(exposed, v * alt_ratio, v)
        values.append(np.round(np.maximum(v, 0.1 if int(r["decimals"]) else 1.0), int(r["decimals"])))
        lows.append(np.where(female, float(r["female_low"]), float(r["male_low"])))
        highs.append(np.where(female, float(r["female_high"]), float(r["male_high"])))
    lab = np.repeat(np.arange(n_lab)[None, :], n_panel, axis=0).T.ravel()
    return Measurements(person=np.tile(person, n_lab), day=np.tile(day_, n_lab), lab=lab,
                        value=np.concatenate(values), low=np.concatenate(lows), high=np.concatenate(highs))
