"""Write CDM v5.4 tables, chunk by chunk, to a DuckDB file or a folder of Parquet files.

Every table of the v5.4 specification is created with exactly its columns and types (empty
tables too); columns a chunk does not fill are NULL. DuckDB: one INSERT per chunk from Arrow.
Parquet: one file per table (`<table>.parquet`), one row group per chunk, so memory stays
bounded by a chunk however large the world.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from offlabel.cdm.schema import cdm_spec

_ARROW = {"BIGINT": pa.int64(), "DOUBLE": pa.float64(), "DATE": pa.date32(), "TIMESTAMP": pa.timestamp("us"),
          "VARCHAR": pa.string()}


def table_schema(table: str) -> pa.Schema:
    spec = cdm_spec("5.4")[table]
    return pa.schema([pa.field(c, _ARROW[col.duckdb_type], nullable=not col.required)
                      for c, col in spec.columns.items()])


def to_arrow(table: str, columns: dict) -> pa.Table:
    """An Arrow table with the spec's columns: given ones converted, the rest NULL."""
    schema = table_schema(table)
    n = None
    arrays = []
    for f in schema:
        if f.name in columns:
            v = columns[f.name]
            if isinstance(v, pa.Array | pa.ChunkedArray):
                a = v if v.type == f.type else v.cast(f.type)
            elif f.type == pa.date32() and isinstance(v, np.ndarray) and v.dtype.kind in "iu":
                a = pa.array(v.astype(np.int32), type=pa.int32()).view(pa.date32())
            else:
                a = pa.array(v, type=f.type)
            n = len(a)
            arrays.append(a)
        else:
            arrays.append(None)
    if n is None:
        n = 0
    arrays = [a if a is not None else pa.nulls(n, type=f.type) for a, f in zip(arrays, schema)]
    unknown = set(columns) - set(schema.names)
    if unknown:
        raise ValueError(f"{table}: columns {sorted(unknown)} are not in the CDM v5.4 specification")
    return pa.Table.from_arrays(arrays, schema=schema)


def rows_to_arrow(table: str, rows: list[dict]) -> pa.Table:
    schema = table_schema(table)
    cols = {name: [r.get(name) for r in rows] for name in schema.names if any(name in r for r in rows)}
    return to_arrow(table, cols)


class Writer:
    def __init__(self, out: Path):
        self.out = Path(out)
        self.tables = list(cdm_spec("5.4"))
        self.rows: dict[str, int] = {t: 0 for t in self.tables}

    def write(self, table: str, data: pa.Table) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class DuckDBWriter(Writer):
    def __init__(self, out: Path):
        super().__init__(out)
        if self.out.exists():
            self.out.unlink()
        wal = self.out.with_name(self.out.name + ".wal")
        if wal.exists():
            wal.unlink()
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(str(self.out))
        self.con.execute("SET enable_progress_bar = false")
        self.con.execute("SET memory_limit = '1GB'")
        for t in self.tables:
            cols = ", ".join(f'"{c}" {col.duckdb_type}{" NOT NULL" if col.required else ""}'
                             for c, col in cdm_spec("5.4")[t].columns.items())
            self.con.execute(f'CREATE TABLE "{t}" ({cols})')

    def write(self, table: str, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        self.con.register("_chunk", data)
        self.con.execute(f'INSERT INTO "{table}" SELECT * FROM _chunk')
        self.con.unregister("_chunk")
        self.rows[table] += data.num_rows

    def close(self) -> None:
        self.con.execute("CHECKPOINT")
        self.con.close()


class ParquetWriter(Writer):
    def __init__(self, out: Path):
        super().__init__(out)
        self.out.mkdir(parents=True, exist_ok=True)
        for f in self.out.glob("*.parquet"):
            f.unlink()
        self._w: dict[str, pq.ParquetWriter] = {}

    def write(self, table: str, data: pa.Table) -> None:
        if table not in self._w:
            self._w[table] = pq.ParquetWriter(self.out / f"{table}.parquet", table_schema(table), compression="zstd")
        if data.num_rows:
            self._w[table].write_table(data)
            self.rows[table] += data.num_rows

    def close(self) -> None:
        for t in self.tables:
            if t not in self._w:
                self._w[t] = pq.ParquetWriter(self.out / f"{t}.parquet", table_schema(t), compression="zstd")
        for w in self._w.values():
            w.close()


def open_writer(out: Path) -> Writer:
    out = Path(out)
    return DuckDBWriter(out) if out.suffix.lower() in (".duckdb", ".db", ".ddb") else ParquetWriter(out)
