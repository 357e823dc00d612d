"""Multiple sclerosis: who gets it, onset, subtype, diagnosis, and a latent severity that progresses.

Severity is an EDSS-like score: it starts at 1-2.5 (relapsing onset) or 2-3.5 (primary
progressive), grows by a person-specific slope, and faster after conversion to secondary
progressive MS. It drives relapses (by phase), symptomatic drug use, LDN start and labs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from offlabel.synth.config import MSConfig
from offlabel.synth.timeline import DAYS_PER_YEAR, NEVER

RR, PP = 0, 1


@dataclass
class MSCourse:
    """One row per person who ever gets MS (index into the chunk's persons)."""

    idx: np.ndarray          # person index in the chunk
    subtype: np.ndarray      # RR (relapsing onset) or PP
    onset: np.ndarray        # day
    diagnosis: np.ndarray    # day
    sp_onset: np.ndarray     # day of SP conversion (NEVER if none)
    s0: np.ndarray           # severity at onset
    slope: np.ndarray        # severity gain per year
    extra_slope: float
    frailty: np.ndarray      # relapse-rate frailty, mean 1

    def severity(self, at: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Severity at day(s) `at` for MS rows `rows` (all when None)."""
        r = slice(None) if rows is None else rows
        years = np.maximum(np.asarray(at) - self.onset[r], 0) / DAYS_PER_YEAR
        sp_years = np.maximum(np.asarray(at) - self.sp_onset[r], 0) / DAYS_PER_YEAR
        return np.clip(self.s0[r] + self.slope[r] * years + self.extra_slope * sp_years, 0.0, 9.5)


def sample_ms(female: np.ndarray, birth: np.ndarray, cfg: MSConfig, rng: np.random.Generator) -> MSCourse:
    n = len(female)
    birth_year = 1970 + birth / 365.25
    risk = np.where(female, cfg.lifetime_risk_female, cfg.lifetime_risk_male) * cfg.prevalence_multiplier
    risk = np.minimum(risk * np.exp(cfg.risk_birth_year_log_trend * (birth_year - 1965)), 1.0)
    idx = np.flatnonzero(rng.random(n) < risk)
    m = len(idx)
    fem = female[idx]
    subtype = np.where(rng.random(m) < np.where(fem, cfg.pp_fraction_female, cfg.pp_fraction_male), PP, RR)
    modes = np.asarray(cfg.onset_age_modes)
    rr_age = rng.normal(modes[rng.integers(0, len(modes), m)], cfg.onset_age_sd)
    pp_age = rng.normal(cfg.pp_onset_age_mean, cfg.onset_age_sd * 1.3, m)
    onset_age = np.clip(np.where(subtype == PP, pp_age, rr_age), 12, 75)
    onset = birth[idx] + (onset_age * DAYS_PER_YEAR).astype(np.int64)
    lag_median = cfg.diagnosis_lag_median_years * np.where(subtype == PP, 2.0, 1.0)
    lag = lag_median * np.exp(rng.normal(0, 0.8, m))
    diagnosis = onset + (lag * DAYS_PER_YEAR).astype(np.int64)
    converts = (subtype == RR) & (rng.random(m) < cfg.sp_conversion_probability)
    sp_years = cfg.sp_conversion_median_years * np.exp(rng.normal(0, 0.5, m))
    sp_onset = np.where(converts, onset + (sp_years * DAYS_PER_YEAR).astype(np.int64), NEVER)
    lo, hi = np.where(subtype == PP, cfg.pp_severity_at_onset[0], cfg.severity_at_onset[0]), \
        np.where(subtype == PP, cfg.pp_severity_at_onset[1], cfg.severity_at_onset[1])
    s0 = lo + (hi - lo) * rng.random(m)
    slope_median = np.where(subtype == PP, cfg.pp_severity_slope_median, cfg.severity_slope_median)
    slope = slope_median * np.exp(rng.normal(0, 0.5, m))
    frailty = rng.gamma(cfg.relapse_frailty_shape, 1 / cfg.relapse_frailty_shape, m)
    return MSCourse(idx=idx, subtype=subtype, onset=onset, diagnosis=diagnosis, sp_onset=sp_onset, s0=s0,
                    slope=slope, extra_slope=cfg.sp_extra_slope, frailty=frailty)


def keep(course: MSCourse, mask: np.ndarray) -> MSCourse:
    """The course restricted to rows where mask holds (e.g. onset before death)."""
    return MSCourse(**{k: (getattr(course, k)[mask] if isinstance(getattr(course, k), np.ndarray) else getattr(course, k))
                       for k in course.__dataclass_fields__})
