"""Proportion of patients covered (PPC) by day since index, on in-memory arrays.

For each day d = 0..days after a person's index date (their first treatment start):
the denominator is the number of persons still in observation on day d, the numerator
the number of those covered by treatment on day d (as DrugUtilisation's
`summariseProportionOfPatientsCovered`). Intervals are in days since index, inclusive;
overlapping or repeated intervals of one person count once. Computed with difference
arrays, O(persons + intervals + days).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from offlabel.stats.binomial import wilson_ci

__all__ = ["proportion_covered"]


def proportion_covered(observation_end, interval_person, interval_start, interval_end, *, days: int,
                       level: float = 0.95) -> pd.DataFrame:
    """PPC table for days 0..days.

    observation_end: per person, the last day since index they are observed (>= 0).
    interval_person: per covered interval, the index (0-based) of its person in
        `observation_end`; interval_start / interval_end: first and last covered day since
        index (inclusive).
    Returns columns day, denominator_count, outcome_count, ppc, ppc_lower, ppc_upper
    (proportions in [0, 1], Wilson score interval).
    """
    if days < 0:
        raise ValueError(f"days must be >= 0, got {days}")
    obs = np.asarray(observation_end, dtype=np.int64).ravel()
    person = np.asarray(interval_person, dtype=np.int64).ravel()
    start = np.asarray(interval_start, dtype=np.int64).ravel()
    end = np.asarray(interval_end, dtype=np.int64).ravel()
    if not (len(person) == len(start) == len(end)):
        raise ValueError("interval_person, interval_start and interval_end must have the same length")
    if (obs < 0).any():
        raise ValueError("observation_end must be >= 0 (days since index): a person left observation "
                         "before their index date; check the cohort against observation_period")
    if len(person) and (person.min() < 0 or person.max() >= len(obs)):
        raise ValueError("interval_person must index into observation_end")
    # Clip each interval to [0, min(observation end, days)] and drop what is left empty.
    stop = np.minimum(end, np.minimum(obs[person], days))
    begin = np.maximum(start, 0)
    keep = begin <= stop
    person, begin, stop = person[keep], begin[keep], stop[keep]
    begin, stop = _merge(person, begin, stop)
    covered = np.zeros(days + 2, dtype=np.int64)
    np.add.at(covered, begin, 1)
    np.add.at(covered, stop + 1, -1)
    outcome = covered.cumsum()[: days + 1]
    # in observation on day d: observation_end >= d
    leaving = np.bincount(np.minimum(obs, days + 1), minlength=days + 2)[: days + 1]
    denominator = len(obs) - np.concatenate([[0], leaving.cumsum()[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        ppc = np.where(denominator > 0, outcome / np.maximum(denominator, 1), np.nan)
    lower, upper = wilson_ci(outcome, denominator, level)
    return pd.DataFrame({"day": np.arange(days + 1), "denominator_count": denominator, "outcome_count": outcome,
                         "ppc": ppc, "ppc_lower": lower, "ppc_upper": upper})


def _merge(person: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of each person's intervals (overlapping or adjacent ones merged)."""
    if len(person) == 0:
        return start, end
    order = np.lexsort((end, start, person))
    person, start, end = person[order], start[order], end[order]
    # running max of end within each person: shift persons apart so one cumulative max works
    span = int(end.max() - start.min() + 2)
    shifted = end + person * span
    running = np.maximum.accumulate(shifted) - person * span
    previous = np.concatenate([[np.iinfo(np.int64).min // 2], running[:-1]])
    new = np.concatenate([[True], person[1:] != person[:-1]]) | (start > previous + 1)
    return start[new], np.maximum.reduceat(end, np.flatnonzero(new))
