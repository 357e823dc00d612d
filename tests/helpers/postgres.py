"""Test set-up for PostgreSQL: reach the server, load a DuckDB CDM into it, checksum tables."""

from __future__ import annotations

import io
import os
from urllib.parse import urlparse, urlunparse

import duckdb
import psycopg
import pyarrow.csv as pacsv

# Arrow/DuckDB types → PostgreSQL types for the CDM copy.
_PG_TYPES = {
    "BIGINT": "BIGINT", "INTEGER": "INTEGER", "SMALLINT": "SMALLINT", "DOUBLE": "DOUBLE PRECISION",
    "FLOAT": "REAL", "DATE": "DATE", "TIMESTAMP": "TIMESTAMP", "VARCHAR": "TEXT", "BOOLEAN": "BOOLEAN",
}


def admin_url() -> str:
    return os.environ.get("OFFLABEL_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def unreachable_reason(url: str) -> str | None:
    try:
        with psycopg.connect(url, connect_timeout=3) as con:
            con.execute("SELECT 1")
    except Exception as e:  # any failure to reach the server means: no PostgreSQL here
        return f"no server answered at {url} ({str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__})"
    return None


def _with_database(url: str, database: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{database}"))


def cdm_url(admin: str, database: str, cdm_schema: str, results_schema: str) -> str:
    return _with_database(admin, database) + f"?cdm_schema={cdm_schema}&results_schema={results_schema}"


def load_duckdb_cdm(admin: str, duckdb_path, database: str, schema: str) -> str:
    """Copy every table of a DuckDB CDM into a freshly created PostgreSQL database."""
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{database}"')
    src = duckdb.connect(str(duckdb_path), read_only=True)
    src.execute("SET enable_progress_bar = false")
    try:
        tables = [r[0] for r in src.sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema='main' ORDER BY 1").fetchall()]
        with psycopg.connect(_with_database(admin, database), autocommit=True) as con:
            con.execute(f'CREATE SCHEMA "{schema}"')
            for table in tables:
                cols = src.sql(f"SELECT column_name, data_type FROM information_schema.columns "
                               f"WHERE table_name='{table}' AND table_schema='main' ORDER BY ordinal_position").fetchall()
                ddl = ", ".join(f'"{c}" {_PG_TYPES.get(t.split("(")[0], "TEXT")}' for c, t in cols)
                con.execute(f'CREATE TABLE "{schema}"."{table}" ({ddl})')
                data = io.BytesIO()
                pacsv.write_csv(src.sql(f'SELECT * FROM main."{table}"').to_arrow_table(), data)
                with con.cursor().copy(f'COPY "{schema}"."{table}" FROM STDIN (FORMAT csv, HEADER true)') as copy:
                    copy.write(data.getvalue())
    finally:
        src.close()
    return database


def drop_database(admin: str, database: str) -> None:
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def table_checksums(url: str, schema: str) -> dict[str, str]:
    """md5 over each table's rows in a fixed order: any change to any value changes it."""
    base = url.split("?")[0]
    out = {}
    with psycopg.connect(base) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1", (schema,))]
        for t in tables:
            out[t] = con.execute(
                f'SELECT count(*) || \':\' || coalesce(md5(string_agg(x::text, \'|\' ORDER BY x::text)), \'\') '
                f'FROM "{schema}"."{t}" x').fetchone()[0]
        out["__schema__"] = str(con.execute(
            "SELECT array_agg(table_name || '.' || column_name || ':' || data_type ORDER BY table_name, column_name) "
            "FROM information_schema.columns WHERE table_schema = %s", (schema,)).fetchone()[0])
    return out
