"""Eras: gaps-and-islands over date intervals, in the database.

Semantics of DARWIN DrugUtilisation's `gapEra` (its internal `erafy`): within a person, records
sorted by start date; a record joins the current era when it starts at most `gap_days` days after
the latest end date of the era so far (overlapping records always merge; with gap_days = 0 a
record starting on the era's last day merges, one starting the next day does not). An era runs
from its first start to its latest end. Records with a missing end date count as one day (end =
start); records ending before they start are dropped, as DrugUtilisation drops them.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from offlabel.cohorts.dates import days_between


def collapse(table: ir.Table, *, gap_days: int = 0, by=("subject_id",), start: str = "cohort_start_date",
             end: str = "cohort_end_date") -> ir.Table:
    """Merge each group's intervals [start, end] that overlap or lie at most `gap_days` apart.

    Returns the `by` columns, `start`, `end` and `n_records` (records merged into the era).
    """
    by = list(by)
    t = table.select(*by, start, end)
    t = t.filter(t[end].isnull() | (t[end] >= t[start]))
    t = t.mutate(**{end: ibis.coalesce(t[end], t[start])})
    # The latest end of all earlier records of the group (the era so far). Ties in start are
    # ordered by end, so the frame is the same on every backend.
    before = ibis.window(group_by=by, order_by=[t[start], t[end]], rows=(None, -1))
    t = t.mutate(_reach=t[end].max().over(before))
    t = t.mutate(_new=ibis.ifelse(t["_reach"].isnull() | (days_between(t[start], t["_reach"]) > gap_days), 1, 0))
    upto = ibis.window(group_by=by, order_by=[t[start], t[end]], rows=(None, 0))
    t = t.mutate(_era=t["_new"].sum().over(upto))
    return (t.group_by([*by, "_era"])
            .aggregate(**{start: t[start].min(), end: t[end].max()}, n_records=t.count())
            .drop("_era"))


def drug_eras(cdm, concept_ids, *, gap_days: int = 0, persons: ir.Table | None = None) -> ir.Table:
    """Drug eras of the drug_exposure records of `concept_ids`: person_id, era_start_date,
    era_end_date, n_records. `persons` (a table with person_id) limits the persons looked at."""
    de = cdm.table("drug_exposure")
    records = _records(de.filter(de.drug_concept_id.isin(list(concept_ids))), persons)
    return collapse(records, gap_days=gap_days, by=("person_id",), start="era_start_date", end="era_end_date")


def drug_eras_of_sets(cdm, concept_sets: dict[str, Sequence[int]], *, gap_days: int = 0,
                      persons: ir.Table | None = None) -> ir.Table:
    """`drug_eras` of several concept sets from one read of drug_exposure: concept_set, person_id,
    era_start_date, era_end_date, n_records (a record of a drug in two sets is in the eras of both)."""
    members = [(name, int(c)) for name, ids in concept_sets.items() for c in sorted(set(ids))]
    sets = ibis.memtable({"concept_set": [m[0] for m in members], "_member": [m[1] for m in members]},
                         schema={"concept_set": "string", "_member": "int64"})
    de = cdm.table("drug_exposure")
    # The join to `sets` filters; an IN list on top of it only slows DuckDB's scan (see tagged_records).
    de = de.join(sets, de.drug_concept_id.cast("int64") == sets._member)
    records = _records(de, persons, "concept_set")
    return collapse(records, gap_days=gap_days, by=("concept_set", "person_id"), start="era_start_date",
                    end="era_end_date")


def _records(de: ir.Table, persons: ir.Table | None, *keys: str) -> ir.Table:
    records = de.select(*keys, person_id=de.person_id.cast("int64"),
                        era_start_date=de.drug_exposure_start_date.cast("date"),
                        era_end_date=de.drug_exposure_end_date.cast("date"))
    records = records.filter(records.era_start_date.notnull())
    if persons is not None:
        wanted = persons.select(person_id=persons.person_id.cast("int64")).distinct()
        records = records.semi_join(wanted, "person_id")
    return records
