"""Calendar periods, and per-period counts of persons and days from day-level totals.

The database reduces a table of per-person intervals (non-overlapping within a person)
to a few small day-level tables: how many intervals start on each day, how many end on
each day, how many events fall on each day, and the pairs of consecutive intervals of a
person (previous end, next start). From those, for any calendar period, numpy gives
exactly: the persons with an interval overlapping the period, the person-days in it, the
events in it and the persons active on a given day. All integers: identical on every
backend.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from offlabel.drug_utilisation._intervals import to_date, to_day

INTERVALS = ("months", "years", "overall")


@dataclass(frozen=True)
class Period:
    interval: str
    start: int  # days since 1970-01-01, inclusive
    end: int

    @property
    def start_date(self) -> dt.date:
        return to_date(self.start)

    @property
    def end_date(self) -> dt.date:
        return to_date(self.end)


def calendar_periods(start: int, end: int, interval: str, complete_only: bool) -> list[Period]:
    """Calendar months / years (or one overall period) between two days.

    complete_only keeps only the periods that lie wholly inside [start, end].
    """
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {INTERVALS}, got {interval!r}")
    if interval == "overall":
        return [Period("overall", start, end)]
    first, last = to_date(start), to_date(end)
    periods = []
    y, m = first.year, (first.month if interval == "months" else 1)
    while True:
        p_start = dt.date(y, m, 1)
        if p_start > last:
            break
        if interval == "months":
            ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        else:
            ny, nm = y + 1, 1
        p_end = dt.date(ny, nm, 1) - dt.timedelta(days=1)
        s, e = to_day(p_start), to_day(p_end)
        if not complete_only or (s >= start and e <= end):
            periods.append(Period(interval, max(s, start), min(e, end)))
        y, m = ny, nm
    return periods


class DayTotals:
    """Day-level totals of one set of intervals, all inside [origin, origin + n_days)."""

    def __init__(self, origin: int, n_days: int, starts: dict[int, int], ends: dict[int, int],
                 events: dict[int, int] | None = None, pairs: dict[tuple[int, int], int] | None = None):
        self.origin = origin
        self.n_days = n_days
        self._starts = self._array(starts)
        self._ends = self._array(ends)
        self._events = self._array(events or {})
        self._cum_starts = np.concatenate([[0], np.cumsum(self._starts)])
        self._cum_ends = np.concatenate([[0], np.cumsum(self._ends)])
        active = np.cumsum(self._starts) - np.concatenate([[0], np.cumsum(self._ends)[:-1]])
        self._active = active
        self._cum_active = np.concatenate([[0], np.cumsum(active)])
        self._cum_events = np.concatenate([[0], np.cumsum(self._events)])
        pairs = pairs or {}
        self._pair_prev_end = np.array([k[0] for k in pairs], dtype=np.int64)
        self._pair_next_start = np.array([k[1] for k in pairs], dtype=np.int64)
        self._pair_n = np.array(list(pairs.values()), dtype=np.int64)

    def _array(self, counts: dict[int, int]) -> np.ndarray:
        a = np.zeros(self.n_days, dtype=np.int64)
        for day, n in counts.items():
            i = day - self.origin
            if not 0 <= i < self.n_days:
                raise ValueError(f"day {to_date(day)} lies outside the study period")
            a[i] += n
        return a

    def _slice(self, period: Period) -> tuple[int, int]:
        return period.start - self.origin, period.end - self.origin + 1

    def persons(self, period: Period) -> int:
        """Persons with an interval overlapping the period."""
        i, j = self._slice(period)
        intervals = int(self._cum_starts[j] - self._cum_ends[i])  # started by its end, not ended before its start
        # a person whose consecutive intervals both touch the period was counted twice
        both = (self._pair_prev_end >= period.start) & (self._pair_next_start <= period.end)
        return intervals - int(self._pair_n[both].sum())

    def person_days(self, period: Period) -> int:
        i, j = self._slice(period)
        return int(self._cum_active[j] - self._cum_active[i])

    def events(self, period: Period) -> int:
        i, j = self._slice(period)
        return int(self._cum_events[j] - self._cum_events[i])

    def active_on(self, day: int) -> int:
        """Persons with an interval covering the day."""
        return int(self._active[day - self.origin])
