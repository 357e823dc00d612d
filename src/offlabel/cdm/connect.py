"""`connect()`: one CDM reference over a DuckDB file, Parquet/CSV files, or PostgreSQL.

Every source becomes an Ibis connection plus two places: where the CDM tables are (read
only) and where offlabel may write (a results schema, or a scratch DuckDB for inputs that
are files). File inputs are opened through the scratch DuckDB: a `.duckdb` CDM is
ATTACHed read-only, Parquet files become views, CSV files (loose or zipped) are loaded
once into typed tables of the scratch database, keyed by a fingerprint of the files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import ibis

from offlabel.cdm.cdm import Cdm
from offlabel.cdm.schema import all_column_types, cdm_table_names
from offlabel.errors import CdmError

_FILE_SUFFIXES = (".parquet", ".csv")
_SCHEMES_HELP = (
    "Give a .duckdb file, a folder of Parquet or CSV files (one per CDM table), a .zip of "
    "CSV files, or postgresql://user@host:port/database?cdm_schema=cdm&results_schema=results."
)


def connect(cdm: str | Path, *, scratch: str | Path | None = None) -> Cdm:
    """Open a CDM read-only and return a `Cdm` whose tables are Ibis tables.

    cdm: a `.duckdb` file, a folder of Parquet/CSV files, a `.zip` of CSV files, or a
        `postgresql://` URL with `cdm_schema` and `results_schema` query parameters.
    scratch: a DuckDB file where offlabel may write for file inputs (default: in memory).
    """
    text = str(cdm)
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text):
        scheme = text.split("://", 1)[0].lower()
        if scheme in ("postgresql", "postgres"):
            return _connect_postgres(text)
        raise CdmError(f"Unknown CDM address scheme '{scheme}://' in '{text}'. {_SCHEMES_HELP}")
    path = Path(text).expanduser()
    if not path.exists():
        raise CdmError(f"The CDM '{text}' does not exist. {_SCHEMES_HELP}")
    if path.is_dir():
        return _connect_folder(path, scratch)
    suffix = path.suffix.lower()
    if suffix in (".duckdb", ".db", ".ddb"):
        return _connect_duckdb_file(path, scratch)
    if suffix == ".zip":
        return _connect_zip(path, scratch)
    raise CdmError(f"Cannot read the CDM '{text}': it is neither a folder nor a .duckdb or .zip file. {_SCHEMES_HELP}")


# -- DuckDB-backed sources ---------------------------------------------------------------


def _scratch_backend(scratch: str | Path | None):
    # DuckDB's own progress bar would garble offlabel's (rich) progress display.
    if scratch is None:
        con = ibis.duckdb.connect()
        con.raw_sql("SET enable_progress_bar = false")
        return con
    scratch = Path(scratch)
    try:
        scratch.parent.mkdir(parents=True, exist_ok=True)
        con = ibis.duckdb.connect(str(scratch))
        con.raw_sql("SET enable_progress_bar = false")
        return con
    except Exception as e:  # locked by another process, unwritable folder, corrupt file
        raise CdmError(f"Cannot open offlabel's scratch database '{scratch}': {e}. "
                       "Choose another output folder, or close the program that holds it.") from e


def _connect_duckdb_file(path: Path, scratch) -> Cdm:
    con = _scratch_backend(scratch)
    try:
        con.raw_sql(f"ATTACH '{_sql_str(path.resolve())}' AS cdm (READ_ONLY)")
    except Exception as e:
        raise CdmError(f"Cannot open '{path}' as a DuckDB database: {_first_line(e)}. "
                       "Is it a DuckDB file written by a compatible DuckDB version (1.x)?") from e
    rows = con.raw_sql(
        "SELECT table_schema, lower(table_name) FROM information_schema.tables "
        "WHERE table_catalog = 'cdm'"
    ).fetchall()
    schemas = sorted({s for s, t in rows if t == "person"})
    if not schemas:
        raise CdmError(f"'{path}' is a DuckDB database but has no PERSON table in any schema, so it "
                       "is not an OMOP CDM. Point --cdm at the database that holds the CDM tables.")
    schema = "main" if "main" in schemas else schemas[0]
    tables = {t: t_orig for (s, t_orig) in con.raw_sql(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = 'cdm'"
    ).fetchall() if s == schema for t in [t_orig.lower()]}
    return Cdm(con, cdm_database=("cdm", schema), tables=tables, write_database=None,
               source=str(path), dialect="duckdb", fingerprint_seed=_file_fingerprint([path]))


def _connect_folder(path: Path, scratch) -> Cdm:
    files = _table_files(p for p in path.rglob("*") if p.is_file())
    if not files:
        raise CdmError(f"The folder '{path}' holds no Parquet or CSV files of CDM tables "
                       "(person.parquet, PERSON.csv, ...). " + _SCHEMES_HELP)
    return _connect_files(files, scratch, source=str(path))


def _connect_zip(path: Path, scratch) -> Cdm:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise CdmError(f"'{path}' is not a readable zip archive ({e}).") from e
    members = {Path(n): n for n in archive.namelist() if not n.endswith("/")}
    chosen = {t: m for t, m in _table_files(members).items() if m.suffix.lower() == ".csv"}
    if not chosen:
        raise CdmError(f"The zip '{path}' holds no CSV files of CDM tables (PERSON.csv, ...).")
    # DuckDB cannot read inside a zip: extract the chosen members to a private temp folder.
    tmp = Path(tempfile.mkdtemp(prefix="offlabel-cdm-"))
    extracted = {}
    for table, member in chosen.items():
        target = tmp / f"{table}{member.suffix.lower()}"
        with archive.open(members[member]) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
        extracted[table] = target
    try:
        return _connect_files(extracted, scratch, source=str(path),
                              fingerprint=_file_fingerprint([path]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _table_files(paths) -> dict[str, Path]:
    """Map CDM table names to files: any case, metadata entries (`__MACOSX/`, `._*`) ignored."""
    known = cdm_table_names()
    found: dict[str, Path] = {}
    for p in sorted(paths, key=str):
        p = Path(p)
        if p.name.startswith(".") or "__MACOSX" in p.parts or p.suffix.lower() not in _FILE_SUFFIXES:
            continue
        table = p.stem.lower()
        if table in known and table not in found:
            found[table] = p
    return found


def _connect_files(files: dict[str, Path], scratch, source: str, fingerprint: str | None = None) -> Cdm:
    con = _scratch_backend(scratch)
    fingerprint = fingerprint or _file_fingerprint(files.values())
    schema = f"cdm_{fingerprint[:12]}"
    existing = {r[0] for r in con.raw_sql(
        f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{schema}' "
        f"AND table_catalog = current_database()").fetchall()}
    con.raw_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    types = all_column_types()
    for table, path in files.items():
        if table in existing:
            continue  # loaded by an earlier run with the same files
        try:
            if path.suffix.lower() == ".parquet":
                con.raw_sql(f'CREATE VIEW "{schema}"."{table}" AS '
                            f"SELECT * FROM read_parquet('{_sql_str(path.resolve())}')")
            else:
                _load_csv(con, schema, table, path, types.get(table, {}))
        except CdmError:
            raise
        except Exception as e:
            raise CdmError(f"Cannot read the {table.upper()} table from '{path.name}': {_first_line(e)}. "
                           "Check the file's format (comma-separated with a header row, or Parquet) "
                           "and the values in the column it names.") from e
    return Cdm(con, cdm_database=schema, tables={t: t for t in files}, write_database=None,
               source=source, dialect="duckdb", fingerprint_seed=fingerprint)


def _load_csv(con, schema: str, table: str, path: Path, types: dict[str, str]) -> None:
    with open(path, newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(io.StringIO(f.readline())), [])
    header = [h.strip() for h in header]
    # Column names of a CSV CDM may be upper case; types come from the CDM specification.
    select = []
    for i, col in enumerate(header):
        name = col.lower()
        target = types.get(name)
        expr = f'"{col}"'
        if target == "DATE":
            expr = f'TRY_CAST("{col}" AS TIMESTAMP)::DATE'
        elif target:
            expr = f'CAST("{col}" AS {target})'
        select.append(f'{expr} AS "{name}"')
    con.raw_sql(
        f'CREATE TABLE "{schema}"."{table}" AS SELECT {", ".join(select) or "*"} '
        f"FROM read_csv('{_sql_str(path.resolve())}', header=true, all_varchar=true, "
        f"quote='\"', escape='\"', sample_size=-1)"
    )


# -- PostgreSQL --------------------------------------------------------------------------


def _connect_postgres(url: str) -> Cdm:
    parsed = urlparse(url)
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    unknown = set(query) - {"cdm_schema", "results_schema", "sslmode"}
    if unknown:
        raise CdmError(f"Unknown parameter(s) {sorted(unknown)} in the PostgreSQL address. "
                       "Use cdm_schema=... and results_schema=....")
    cdm_schema = query.get("cdm_schema", "public")
    results_schema = query.get("results_schema")
    if not results_schema:
        raise CdmError("The PostgreSQL address has no results_schema: offlabel never writes into the "
                       "CDM schema, so name a schema it may write to, e.g. "
                       "postgresql://user@host:5432/db?cdm_schema=cdm&results_schema=results.")
    database = parsed.path.lstrip("/") or None
    try:
        con = ibis.postgres.connect(
            host=parsed.hostname or "localhost", port=parsed.port or 5432,
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            database=database,
        )
    except Exception as e:
        safe = url.replace(f":{parsed.password}@", ":***@") if parsed.password else url
        raise CdmError(f"Cannot connect to PostgreSQL at '{safe}': {_first_line(e)}. "
                       "Check that the server runs and that the user, password and database are right.") from e
    with con.con.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (cdm_schema,))
        names = [r[0] for r in cur.fetchall()]
        try:
            cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{results_schema}"')
        except Exception as e:
            raise CdmError(f"offlabel may write only to the results schema '{results_schema}', and cannot create "
                           f"it: {_first_line(e)}. Ask your database administrator to create it and grant you "
                           "CREATE and USAGE on it, or name a schema you own with results_schema=.") from e
    tables = {n.lower(): n for n in names}
    if "person" not in tables:
        raise CdmError(f"The schema '{cdm_schema}' of database '{database}' has no PERSON table, so it is "
                       "not an OMOP CDM. Set cdm_schema= in the address to the schema that holds the CDM.")
    return Cdm(con, cdm_database=cdm_schema, tables=tables, write_database=results_schema,
               source=f"postgresql://{parsed.hostname}:{parsed.port or 5432}/{database}?cdm_schema={cdm_schema}",
               dialect="postgres", fingerprint_seed=None)


# -- helpers -----------------------------------------------------------------------------


def _file_fingerprint(paths) -> str:
    h = hashlib.sha256()
    for p in sorted(Path(p).resolve() for p in paths):
        st = p.stat()
        h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _sql_str(value) -> str:
    return str(value).replace("'", "''")


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
