"""The `Cdm` reference: an OMOP CDM's tables as Ibis tables, and a place to write."""

from __future__ import annotations

import hashlib
import re
from functools import cached_property

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import sqlglot as sg
from ibis.backends.sql.datatypes import DuckDBType

from offlabel.cdm.schema import VERSIONS
from offlabel.errors import CdmError

# Columns that exist in only one CDM version: how the version is told when cdm_source does not say.
_V54_ONLY = {("visit_occurrence", "admitted_from_concept_id"), ("visit_detail", "admitted_from_concept_id")}


class Cdm:
    """An OMOP CDM, read-only, with a writable database for offlabel's own tables.

    Tables are reached by name, lower case: `cdm.person`, `cdm["drug_exposure"]`.
    Use `offlabel.connect()` to make one.
    """

    def __init__(self, con, *, cdm_database, tables: dict[str, str], write_database,
                 source: str, dialect: str, fingerprint_seed: str | None):
        self.con = con
        self.cdm_database = cdm_database
        self.write_database = write_database
        self.source = source
        self.dialect = dialect
        self._tables = dict(sorted(tables.items()))
        self._fingerprint_seed = fingerprint_seed
        self._cache: dict[str, ir.Table] = {}

    # -- reading ----------------------------------------------------------------------------

    @property
    def table_names(self) -> list[str]:
        return list(self._tables)

    def has_table(self, name: str) -> bool:
        return name.lower() in self._tables

    def table(self, name: str) -> ir.Table:
        key = name.lower()
        if key not in self._tables:
            raise CdmError(f"The CDM at {self.source} has no {key.upper()} table, which this step needs. "
                           f"Add the table to the CDM (run `offlabel cdm check --cdm ...` to see what is there).")
        if key not in self._cache:
            t = self.con.table(self._tables[key], database=self.cdm_database)
            # Some CDMs (CSV exports, PostgreSQL created with quoted names) carry upper-case columns.
            renames = {c.lower(): c for c in t.columns if c != c.lower()}
            self._cache[key] = t.rename(renames) if renames else t
        return self._cache[key]

    __getitem__ = table

    def __getattr__(self, name: str) -> ir.Table:
        if name.startswith("_"):
            raise AttributeError(name)
        if name.lower() in self.__dict__.get("_tables", {}):
            return self.table(name)
        raise AttributeError(name)

    def columns(self, name: str) -> list[str]:
        return list(self.table(name).columns)

    # -- what the CDM is --------------------------------------------------------------------

    @cached_property
    def cdm_source(self) -> dict:
        if not self.has_table("cdm_source"):
            return {}
        rows = self.table("cdm_source").limit(1).to_pyarrow().to_pylist()
        return rows[0] if rows else {}

    @cached_property
    def version(self) -> str:
        """'5.3' or '5.4': from cdm_source.cdm_version, else from the columns only one version has."""
        stated = str(self.cdm_source.get("cdm_version") or "")
        m = re.search(r"5\.(\d)", stated)
        if m and f"5.{m.group(1)}" in VERSIONS:
            return f"5.{m.group(1)}"
        if self.has_table("episode") or self.has_table("episode_event"):
            return "5.4"
        for table, column in _V54_ONLY:
            if self.has_table(table) and column in self.columns(table):
                return "5.4"
        return "5.3"

    @property
    def name(self) -> str:
        return str(self.cdm_source.get("cdm_source_abbreviation") or self.cdm_source.get("cdm_source_name")
                   or self.source)

    @cached_property
    def fingerprint(self) -> str:
        """A short hash that changes when the CDM's data change (files) or its shape does (servers)."""
        h = hashlib.sha256(f"{self.dialect}|{self.source}|{self._fingerprint_seed}".encode())
        if self._fingerprint_seed is None:
            # A server CDM: summarise what it holds cheaply.
            person = self.table("person").count().to_pyarrow().as_py()
            h.update(f"|{person}|{sorted(self.cdm_source.items(), key=str)}".encode())
        return h.hexdigest()[:16]

    # -- writing (never into the CDM) -------------------------------------------------------

    def write_table(self, name: str, obj, *, overwrite: bool = True, temp: bool = False) -> ir.Table:
        """Materialise an expression or frame into offlabel's own schema and return it.

        temp: a temporary table, seen only by this connection and gone when it closes.
        """
        if self.dialect == "duckdb" and isinstance(obj, ir.Table) and (temp or self.write_database is None):
            return self._duckdb_create_table_as(name, obj, overwrite=overwrite, temp=temp)
        return self.con.create_table(name, obj, database=None if temp else self.write_database,
                                     overwrite=overwrite, temp=temp)

    def _duckdb_create_table_as(self, name: str, expr: ir.Table, *, overwrite: bool, temp: bool) -> ir.Table:
        # One CREATE TABLE ... AS SELECT instead of Ibis's create_table, which asks for the current
        # catalog and schema, creates the table, inserts into it, and for overwrite renames it: six
        # round trips and three sqlglot renderings for every work table (about 100 per study).
        # Ibis registers the in-memory tables (memtables) an expression uses only when it runs it;
        # here that is done by hand with its pre-execute hook.
        # Every column is cast to its Ibis type, as Ibis's typed CREATE TABLE would: Ibis may elide a cast
        # whose SQL type differs (a date plus days is a TIMESTAMP in DuckDB, a date to Ibis). The table's
        # schema is then known, and the table is referred to without asking DuckDB for it (DESCRIBE).
        self.con._run_pre_execute_hooks(expr)
        schema = ibis.schema({c: t.copy(nullable=True) for c, t in expr.schema().items()})
        columns = ", ".join(f"CAST({_quote(c)} AS {DuckDBType.to_string(t)}) AS {_quote(c)}" for c, t in schema.items())
        replace = "OR REPLACE " if overwrite else ""
        kind = "TEMP TABLE" if temp else "TABLE"
        # Unqualified: the scratch database's current schema (or the temp schema).
        self.con.raw_sql(f"CREATE {replace}{kind} {_quote(name)} AS "
                         f"SELECT {columns} FROM ({self.con.compile(expr)}) AS _offlabel")
        namespace = ops.Namespace(catalog="temp", database="main") if temp else ops.Namespace()
        return ops.DatabaseTable(name, schema=schema, source=self.con, namespace=namespace).to_expr()

    def has_written(self, name: str) -> bool:
        return name in self.con.list_tables(database=self.write_database)

    def written(self, name: str) -> ir.Table:
        return self.con.table(name, database=self.write_database)

    def close(self) -> None:
        try:
            self.con.disconnect()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"<Cdm {self.name!r} v{self.version} ({self.dialect}, {len(self._tables)} tables)>"


def _quote(identifier: str) -> str:
    return sg.to_identifier(identifier, quoted=True).sql("duckdb")
