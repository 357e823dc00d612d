"""Dates as integer days since 1970-01-01 (what Arrow's date32 stores), and the calendar grid."""

from __future__ import annotations

import datetime as dt

import numpy as np

DAYS_PER_YEAR = 365.25
NEVER = np.int64(10**6)  # a day number after every real date (year ~4700)


def day(y: int, m: int = 1, d: int = 1) -> int:
    return (dt.date(y, m, d) - dt.date(1970, 1, 1)).days


def to_day(value: dt.date) -> int:
    return (value - dt.date(1970, 1, 1)).days


def year_starts(first_year: int, last_year: int) -> np.ndarray:
    """Day numbers of 1 January of first_year ... last_year + 1 (edges of the yearly grid)."""
    return np.array([day(y) for y in range(first_year, last_year + 2)], dtype=np.int64)


def month_starts(first_year: int, last_year: int) -> np.ndarray:
    """Day numbers of the first of every month, first_year-01 ... (last_year + 1)-01 (edges)."""
    return np.array([day(y, m) for y in range(first_year, last_year + 1) for m in range(1, 13)]
                    + [day(last_year + 1)], dtype=np.int64)


def years_of(days: np.ndarray) -> np.ndarray:
    """Calendar year of day numbers (vectorised)."""
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def age_years(birth: np.ndarray, at: np.ndarray) -> np.ndarray:
    return (np.asarray(at) - np.asarray(birth)) / DAYS_PER_YEAR
