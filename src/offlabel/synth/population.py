"""Persons: sex, birth, registry entry (resident in 2004, born, or immigrated), emigration, death.

Every person of the world was resident at some time in first_year..last_year, in the
proportions of the residents on 1 January, the births and the immigrants of that period.
Death follows a Gompertz hazard, raised by MS's SMR after MS onset.
"""

from __future__ import annotations

import numpy as np

from offlabel.synth.config import PopulationConfig
from offlabel.synth.timeline import DAYS_PER_YEAR, day


def sample_persons(n: int, cfg: PopulationConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    start, end = day(cfg.first_year), day(cfg.last_year + 1) - 1
    span = end - start + 1
    years = span / DAYS_PER_YEAR
    weights = np.array([cfg.start_population, cfg.births_per_year * years, cfg.immigrants_per_year * years])
    origin = rng.choice(3, size=n, p=weights / weights.sum())  # 0 resident, 1 born, 2 immigrant
    female = rng.random(n) < cfg.female_fraction
    pyramid = np.asarray(cfg.age_pyramid, dtype=float)
    band = rng.choice(len(pyramid), size=n, p=pyramid / pyramid.sum())
    age0 = (band + rng.random(n)) * 5 * DAYS_PER_YEAR
    arrival = start + rng.integers(0, span, size=n)
    imm_age = np.clip(rng.normal(cfg.immigrant_age_mean, cfg.immigrant_age_sd, n), 0, 85) * DAYS_PER_YEAR
    birth = np.where(origin == 0, start - age0, np.where(origin == 1, arrival, arrival - imm_age)).astype(np.int64)
    entry = np.where(origin == 0, start, arrival).astype(np.int64)
    rate = np.where(origin == 2, cfg.immigrant_emigration_rate, cfg.native_emigration_rate)
    emigration = (entry + rng.exponential(1.0, n) / rate * DAYS_PER_YEAR).astype(np.int64)
    return dict(origin=origin, female=female, birth=birth, entry=entry, emigration=emigration)


def sample_death(birth: np.ndarray, entry: np.ndarray, onset: np.ndarray, smr: float,
                 cfg: PopulationConfig, rng: np.random.Generator) -> np.ndarray:
    """Day of death, given alive at entry; hazard A*exp(b*age), times `smr` after `onset` (NEVER = no MS)."""
    a_, b = cfg.gompertz_hazard_at_0, cfg.gompertz_slope
    a0 = (entry - birth) / DAYS_PER_YEAR
    o = np.minimum((onset - birth) / DAYS_PER_YEAR, 150.0)
    o = np.maximum(o, 0.0)

    def cum(age):
        base = a_ / b * (np.exp(b * np.minimum(age, o)) - 1)
        return base + smr * a_ / b * np.clip(np.exp(b * age) - np.exp(b * o), 0, None)

    target = cum(a0) + rng.exponential(1.0, len(birth))
    h_o = cum(o)
    before = np.log1p(target * b / a_) / b
    after = np.log(np.exp(b * o) + np.maximum(target - h_o, 0) * b / (smr * a_)) / b
    age = np.where(target <= h_o, before, after)
    death = birth + np.floor(age * DAYS_PER_YEAR).astype(np.int64)
    return np.maximum(death, entry)


def observation_end(entry, emigration, death, last_day: int) -> np.ndarray:
    return np.minimum(np.minimum(emigration, death), last_day).astype(np.int64)


__all__ = ["sample_persons", "sample_death", "observation_end"]
