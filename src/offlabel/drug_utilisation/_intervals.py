"""Interval building blocks shared by the drug utilisation verbs (Ibis, in the database).

Dates become whole days since 1970-01-01 (`epoch_days`) as early as possible: integer
arithmetic is exact and identical on every backend, and the few day counts that leave the
database are plain integers. Every interval is inclusive at both ends.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from offlabel.errors import CdmError

#: Open ends of an interval, in days since 1970-01-01 (far outside any real CDM date).
NEG_INF = -10_000_000
POS_INF = 10_000_000
_EPOCH = dt.date(1970, 1, 1)

COHORT_COLUMNS = ("subject_id", "cohort_start_date", "cohort_end_date")


def to_day(value) -> int:
    """A date (or ISO text) as days since 1970-01-01."""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    return (value - _EPOCH).days


def to_date(day: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(day))


def epoch(column: ir.Value) -> ir.IntegerValue:
    """A date column as whole days since 1970-01-01 (int64)."""
    return column.cast("date").epoch_days().cast("int64")


def check_cohort(cohort: ir.Table, what: str = "cohort") -> None:
    missing = [c for c in COHORT_COLUMNS if c not in cohort.columns]
    if missing:
        raise CdmError(f"The {what} table lacks the cohort column(s) {missing}: a cohort needs subject_id, "
                       f"cohort_start_date and cohort_end_date (OMOP cohort table); it has {list(cohort.columns)}.")


def cohort_days(cohort: ir.Table, cohort_definition_id: int | None = None, what: str = "cohort") -> ir.Table:
    """subject_id, start, end (days) of a cohort table, optionally one cohort_definition_id."""
    check_cohort(cohort, what)
    if cohort_definition_id is not None:
        if "cohort_definition_id" not in cohort.columns:
            raise CdmError(f"cohort_definition_id={cohort_definition_id} was given but the {what} table has no "
                           "cohort_definition_id column.")
        cohort = cohort.filter(cohort.cohort_definition_id == cohort_definition_id)
    return cohort.select(subject_id=cohort.subject_id.cast("int64"), start=epoch(cohort.cohort_start_date),
                         end=epoch(cohort.cohort_end_date))


def observation_days(cdm, persons: ir.Column | None = None) -> ir.Table:
    """subject_id, start, end (days) of every observation period, or of those of `persons` (a column of
    person ids).

    Give `persons` when only a cohort's few persons are looked at: their periods are found before the
    days are computed. Left to DuckDB, a join of a cohort's index dates to all periods can build its
    hash table on every period of the CDM and compute their days first, when the cohort's side comes
    from an expression it cannot size (a third of a 1M-person persistence query).
    """
    op = cdm.table("observation_period")
    if persons is not None:
        wanted = persons.name("_wanted").as_table()
        op = op.semi_join(wanted, op.person_id.cast("int64") == wanted._wanted.cast("int64"))
    return op.select(subject_id=op.person_id.cast("int64"), start=epoch(op.observation_period_start_date),
                     end=epoch(op.observation_period_end_date))


def clip(t: ir.Table, start: int | None, end: int | None) -> ir.Table:
    """Intervals cut to [start, end] (days); empty ones dropped."""
    if start is None and end is None:
        return t
    s = ibis.greatest(t.start, ibis.literal(start, "int64")) if start is not None else t.start
    e = ibis.least(t.end, ibis.literal(end, "int64")) if end is not None else t.end
    out = t.mutate(start=s, end=e)
    return out.filter(out.start <= out.end)


def merge(t: ir.Table, gap: int = 0, keys: tuple[str, ...] = ("subject_id",)) -> ir.Table:
    """Union of each person's intervals: intervals less than `gap` + 1 days apart join.

    gap=0 merges overlapping and adjacent intervals (an era with no gap); gap=30 also
    joins intervals with up to 30 uncovered days between them. Gaps-and-islands with
    window functions; deterministic on every backend.
    """
    order = ibis.window(group_by=list(keys), order_by=["start", "end"], rows=(None, 0))
    running = t.mutate(_run_end=t.end.max().over(order))
    lagged = running.mutate(_prev_end=running._run_end.lag().over(
        ibis.window(group_by=list(keys), order_by=["start", "end"])))
    flagged = lagged.mutate(_new=ibis.ifelse(
        lagged._prev_end.isnull() | (lagged.start - lagged._prev_end - 1 > gap), 1, 0))
    islands = flagged.mutate(_island=flagged._new.sum().over(order))
    return islands.group_by([*keys, "_island"]).aggregate(start=islands.start.min(), end=islands.end.max()) \
        .select(*keys, "start", "end")


def intersect(a: ir.Table, b: ir.Table) -> ir.Table:
    """The days that are in an interval of `a` and in one of `b`, per person.

    Both sides must be merged (non-overlapping per person) for the result to be too.
    """
    b = b.rename(_b_subject="subject_id", _b_start="start", _b_end="end")
    j = a.join(b, (a.subject_id == b._b_subject) & (a.start <= b._b_end) & (a.end >= b._b_start))
    return j.select(subject_id=j.subject_id, start=ibis.greatest(j.start, j._b_start),
                    end=ibis.least(j.end, j._b_end))


def day_counts(t: ir.Table, column: str) -> dict[int, int]:
    """{day: number of rows} of an integer day column, aggregated in the database."""
    agg = t.group_by(day=t[column]).aggregate(n=t.count())
    return {int(r["day"]): int(r["n"]) for r in agg.to_pyarrow().to_pylist()}


def day_totals(t: ir.Table, origin: int, n_days: int, event_column: str | None = None):
    """`DayTotals` of per-person intervals `t` (subject_id, start, end; non-overlapping within a
    person), all inside the study period. One query: starts per day, ends per day, events per
    day (on an interval's last day, where `event_column` is 1) and consecutive-interval pairs.
    """
    from offlabel.drug_utilisation._periods import DayTotals

    def part(kind: int, table: ir.Table, a, b=None) -> ir.Table:
        agg = table.group_by(_a=a, _b=b if b is not None else ibis.null("int64")).aggregate(_n=table.count())
        return agg.select(_kind=ibis.literal(kind, "int8"), _a=agg._a.cast("int64"), _b=agg._b.cast("int64"),
                          _n=agg._n.cast("int64"))

    w = ibis.window(group_by="subject_id", order_by=["start", "end"])
    with_prev = t.mutate(_prev_end=t.end.lag().over(w))
    pairs = with_prev.filter(with_prev._prev_end.notnull())
    parts = [part(0, t, t.start), part(1, t, t.end), part(3, pairs, pairs._prev_end, pairs.start)]
    if event_column is not None:
        events = t.filter(t[event_column] == 1)
        parts.append(part(2, events, events.end))
    found: dict[int, dict] = {0: {}, 1: {}, 2: {}, 3: {}}
    for r in ibis.union(*parts, distinct=False).to_pyarrow().to_pylist():
        key = (r["_a"], r["_b"]) if r["_kind"] == 3 else r["_a"]
        found[r["_kind"]][key] = r["_n"]
    return DayTotals(origin, n_days, found[0], found[1], found[2] if event_column else None, found[3])


def persons_per_period(t: ir.Table, periods, *, point: bool = False) -> list[int]:
    """Distinct persons of `t` (subject_id, start, end; may overlap) with an interval that
    overlaps each period (or, with point=True, covers its first day). For short intervals
    such as drug use: the range join yields about one row per interval and period touched.
    """
    if not periods:
        return []
    p = ibis.memtable({"_pid": list(range(len(periods))), "_p0": [q.start for q in periods],
                       "_p1": [q.end for q in periods]},
                      schema={"_pid": "int64", "_p0": "int64", "_p1": "int64"})
    if point:
        cond = (t.start <= p._p0) & (t.end >= p._p0)
    else:
        cond = (t.start <= p._p1) & (t.end >= p._p0)
    j = t.join(p, cond)
    agg = j.group_by("_pid").aggregate(n=j.subject_id.nunique())
    counts = {int(r["_pid"]): int(r["n"]) for r in agg.to_pyarrow().to_pylist()}
    return [counts.get(i, 0) for i in range(len(periods))]
