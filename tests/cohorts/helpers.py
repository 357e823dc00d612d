"""Small helpers of the cohort tests: write fixture tables, read cohorts as sorted rows."""

from __future__ import annotations

import datetime as dt

import ibis

# Eunomia's celecoxib and diclofenac records last one day and nobody has both; acetaminophen 325 mg
# (9,365 records of 2,580 persons) has repeated records with durations.
EUNOMIA = {"celecoxib": [1118084], "diclofenac": [1124300], "nsaids": [1118084, 1124300], "gi_bleed": [192671],
           "acetaminophen": [1127433]}


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def write_intervals(cdm, name: str, rows, *, person: str = "subject_id", start: str = "cohort_start_date",
                    end: str = "cohort_end_date"):
    """Write (person, start, end) rows (ISO strings or None) as a table with date columns."""
    schema = ibis.schema({person: "int64", start: "date", end: "date"})
    data = {person: [r[0] for r in rows], start: [d(r[1]) for r in rows],
            end: [d(r[2]) if r[2] else None for r in rows]}
    return cdm.write_table(name, ibis.memtable(data, schema=schema))


def rows(table, columns=("subject_id", "cohort_start_date", "cohort_end_date")) -> list[tuple]:
    """The table's rows as sorted tuples, dates as ISO strings."""
    frame = table.select(*columns).to_pyarrow().to_pylist()
    return sorted(tuple(str(r[c]) if isinstance(r[c], dt.date) else r[c] for c in columns) for r in frame)


def add_death_table(cdm, deaths: dict[int, str]):
    """Give the CDM a DEATH table (Eunomia's has no columns), written to offlabel's own schema."""
    schema = ibis.schema({"person_id": "int64", "death_date": "date"})
    table = cdm.write_table("test_death", ibis.memtable(
        {"person_id": list(deaths), "death_date": [d(v) for v in deaths.values()]}, schema=schema))
    cdm._tables["death"] = "test_death"
    cdm._cache["death"] = table
