"""Cdm.write_table: what offlabel's work tables are, on every backend.

On DuckDB they are made by one CREATE TABLE ... AS with every column cast to its Ibis type; these
tests pin down that the result is what Ibis's typed create_table gives on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import ibis


def _rows(table) -> list[tuple]:
    return [tuple(r.values()) for r in table.order_by(table.columns[0]).to_pyarrow().to_pylist()]


def test_types_are_those_of_the_expression(backend_cdm):
    op = backend_cdm.observation_period
    # In DuckDB a date plus days is a TIMESTAMP, while Ibis types it a date: the table must hold dates.
    expr = op.select(person_id=op.person_id.cast("int64"),
                     end=(op.observation_period_start_date.cast("date") + ibis.interval(days=30)),
                     label=ibis.literal("x"), n=ibis.literal(1, "int32")).order_by("person_id").limit(3)
    table = backend_cdm.write_table("offlabel_probe_types", expr)
    assert dict(table.schema().items()) == {"person_id": ibis.dtype("int64"), "end": ibis.dtype("date"),
                                            "label": ibis.dtype("string"), "n": ibis.dtype("int32")}
    rows = _rows(table)
    assert len(rows) == 3 and all(type(r[1]) is dt.date for r in rows)
    # The returned table and the table as the database describes it agree.
    assert backend_cdm.written("offlabel_probe_types").schema() == table.schema()


def test_overwrite_and_in_memory_tables(backend_cdm):
    first = backend_cdm.write_table("offlabel_probe_over", ibis.memtable({"a": [1, 2]}).mutate(b=ibis._.a * 2))
    assert _rows(first) == [(1, 2), (2, 4)]
    sets = ibis.memtable({"a": [2, 3], "c": ["two", "three"]})
    second = backend_cdm.write_table("offlabel_probe_over", first.join(sets, "a"))
    assert _rows(second) == [(2, 4, "two")]
    assert _rows(backend_cdm.written("offlabel_probe_over")) == [(2, 4, "two")]


def test_temporary_tables_go_with_the_connection(eunomia_address, tmp_path):
    import offlabel

    scratch = tmp_path / "scratch.duckdb"
    with offlabel.connect(eunomia_address, scratch=scratch) as cdm:
        t = cdm.write_table("offlabel_probe_temp", ibis.memtable({"x": [1, 2, 3]}), temp=True)
        kept = cdm.write_table("offlabel_probe_kept", t)
        assert t.count().to_pyarrow().as_py() == 3 and kept.count().to_pyarrow().as_py() == 3
    with offlabel.connect(eunomia_address, scratch=scratch) as cdm:
        assert cdm.has_written("offlabel_probe_kept") and not cdm.has_written("offlabel_probe_temp")
