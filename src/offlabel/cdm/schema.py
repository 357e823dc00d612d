"""The OMOP CDM v5.3 and v5.4 table and column specifications, read from data.

`specs/cdm_fields.csv` is derived from OHDSI CommonDataModel's field-level CSVs
(`inst/csv/OMOP_CDMv5.x_Field_Level.csv`); `specs/cdm_tables.csv` from the table-level ones.
Checks and loaders read these files; no table or column is named in code branches.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

VERSIONS = ("5.3", "5.4")


@dataclass(frozen=True)
class ColumnSpec:
    table: str
    column: str
    required: bool
    datatype: str  # as the CDM specification writes it: integer, varchar(50), date, ...
    primary_key: bool
    fk_table: str | None
    fk_domain: str | None

    @property
    def duckdb_type(self) -> str:
        return duckdb_type(self.datatype)


@dataclass(frozen=True)
class TableSpec:
    table: str
    required: bool
    columns: dict[str, ColumnSpec]


def duckdb_type(datatype: str) -> str:
    """The DuckDB/SQL type that stores a CDM datatype."""
    d = datatype.strip().lower()
    if d == "integer":
        # CDM ids outgrow 32 bits in national registries; BIGINT holds every integer column.
        return "BIGINT"
    if d == "bigint":
        return "BIGINT"
    if d == "float":
        return "DOUBLE"
    if d == "date":
        return "DATE"
    if d == "datetime":
        return "TIMESTAMP"
    return "VARCHAR"


def type_family(datatype: str) -> str:
    """integer, float, date, datetime or string: what a column's values must be."""
    d = datatype.strip().lower()
    if d in ("integer", "bigint"):
        return "integer"
    if d in ("float", "date", "datetime"):
        return d
    return "string"


@cache
def cdm_spec(version: str) -> dict[str, TableSpec]:
    if version not in VERSIONS:
        raise ValueError(f"CDM version must be one of {VERSIONS}, got {version!r}")
    base = resources.files("offlabel.cdm") / "specs"
    with (base / "cdm_tables.csv").open(newline="") as f:
        table_required = {(r["cdm_version"], r["table"]): r["required"] == "yes" for r in csv.DictReader(f)}
    tables: dict[str, dict[str, ColumnSpec]] = {}
    with (base / "cdm_fields.csv").open(newline="") as f:
        for r in csv.DictReader(f):
            if r["cdm_version"] != version:
                continue
            spec = ColumnSpec(
                table=r["table"], column=r["column"], required=r["required"] == "yes",
                datatype=r["datatype"], primary_key=r["primary_key"] == "yes",
                fk_table=r["fk_table"] or None, fk_domain=r["fk_domain"] or None,
            )
            tables.setdefault(spec.table, {})[spec.column] = spec
    return {t: TableSpec(t, table_required.get((version, t), False), cols) for t, cols in tables.items()}


@cache
def cdm_table_names() -> frozenset[str]:
    """Every table name of CDM v5.3 or v5.4."""
    return frozenset(t for v in VERSIONS for t in cdm_spec(v))


@cache
def all_column_types() -> dict[str, dict[str, str]]:
    """table -> column -> DuckDB type, over v5.3 and v5.4 (v5.4 wins where they differ)."""
    out: dict[str, dict[str, str]] = {}
    for v in VERSIONS:
        for t, spec in cdm_spec(v).items():
            for c, col in spec.columns.items():
                out.setdefault(t, {})[c] = col.duckdb_type
    return out
