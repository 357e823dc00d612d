"""Date arithmetic pinned down so DuckDB and PostgreSQL agree.

Both databases turn `date + interval` into a timestamp; these helpers always return dates, and
count days between dates as whole days (no time zones, no fractional days).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


def add_days(date: ir.DateValue, days) -> ir.DateValue:
    """`date` plus `days` (an int or an integer column; negative goes back), as a date."""
    if isinstance(days, int):
        if days == 0:
            return date
        return (date + ibis.interval(days=days)).cast("date")
    return (date + days.cast("int32").as_interval("D")).cast("date")


def days_between(later: ir.DateValue, earlier: ir.DateValue) -> ir.IntegerValue:
    """Whole days from `earlier` to `later` (negative when `later` is before `earlier`)."""
    return later.delta(earlier, unit="day").cast("int64")
