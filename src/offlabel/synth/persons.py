"""The persons of one chunk and what every module reads about them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from offlabel.synth.timeline import DAYS_PER_YEAR


@dataclass
class Persons:
    offset: int               # person_id of row 0 is offset + 1
    female: np.ndarray
    birth: np.ndarray         # day
    entry: np.ndarray         # first observed day
    exit: np.ndarray          # last observed day
    death: np.ndarray         # day of death if it falls in the observed window, else NEVER
    pain: np.ndarray          # latent pain liability, N(0, 1): drives analgesics, pain conditions and LDN start
    frailty: np.ndarray       # healthcare-seeking frailty (mean 1): raises recorded conditions and panels

    @property
    def n(self) -> int:
        return len(self.birth)

    def age(self, at) -> np.ndarray:
        return (np.asarray(at) - self.birth) / DAYS_PER_YEAR

    def observed_years(self) -> np.ndarray:
        return (self.exit - self.entry + 1) / DAYS_PER_YEAR


def uniform_days(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A uniform day in [lo, hi] (inclusive), elementwise; requires hi >= lo."""
    return lo + np.floor(rng.random(len(lo)) * (hi - lo + 1)).astype(np.int64)


def expand(counts: np.ndarray) -> np.ndarray:
    """Row index repeated `counts` times: the owner of each generated event."""
    return np.repeat(np.arange(len(counts)), counts)


def rank_within(owner: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within runs of equal `owner` values (owner sorted)."""
    if len(owner) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
    run = np.repeat(starts, np.diff(np.r_[starts, len(owner)]))
    return np.arange(len(owner)) - run
