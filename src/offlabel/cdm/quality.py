"""Data quality of an OMOP CDM: its shape (rows and date range per table) and its findings.

`describe(cdm)` counts rows and spans dates; `check(cdm)` returns `Finding`s; `render()`
(quality_report.py) prints both; `exit_code()` turns findings into 0 (clean), 1 (warnings only) or 2 (errors).

Every check reads the CDM specification (`schema.cdm_spec`), never a table name in a branch:
which tables and columns are required, their types, primary keys, `*_concept_id` columns that
reference CONCEPT, and start/end pairs named `<x>_start_date` / `<x>_end_date`. Each check is
one aggregate query (per table, or per concept column) built with Ibis and run in the
database, so it means the same on DuckDB and PostgreSQL and no row leaves the database.
A finding's example id is the smallest primary key of an offending row (the smallest
person_id where a table has no primary key), so a rerun names the same row.

Decisions:
- Types: an integer column may be any integer width (or a DECIMAL without scale); a float
  column any numeric type; a date or datetime column a date or a timestamp; a string column
  any type (a source value stored as a number loses nothing offlabel reads). An integer
  column stored as floating point is a warning (it still joins and compares, exactly up to
  2**53); text where a number or a date belongs is an error, even in an empty column, since
  typed expressions on it fail. Date checks skip columns whose type is wrong.
- Non-standard concepts follow DataQualityDashboard's isStandardValidConcept: every
  `*_concept_id` column referencing CONCEPT outside the vocabulary tables, except
  `*_source_concept_id`; type, unit and status concepts included, as in DQD. A row counts
  when its concept exists, is not 0, and is not standard and valid (standard_concept is not
  'S', NULL included, or invalid_reason is set). Ids missing from CONCEPT are not counted.
- Outside observation: event tables are those with a person_id and an event date (the
  `<x>_start_date` column, else the table's one required date column), except
  OBSERVATION_PERIOD itself, PAYER_PLAN_PERIOD (enrolment, not an event) and the era tables
  (derived from events that are already checked). DEATH is included, as in Achilles.
- Future dates: date columns (and datetime columns without a date twin, e.g.
  birth_datetime) outside the vocabulary tables, where 2099-12-31 is the convention.
- Unknown persons (an addition, DQD's isForeignKey for person_id only): rows whose
  person_id, a foreign key to PERSON by the spec, is not in PERSON.
- Birth after death: death_date before the year of birth, or before birth_datetime where
  it is filled; the month and day of birth are not used (they may be absent).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from offlabel.cdm.schema import TableSpec, cdm_spec, duckdb_type, type_family

# OHDSI's standardized vocabulary tables: reference data, not records of persons.
VOCABULARY_TABLES = frozenset({
    "concept", "vocabulary", "domain", "concept_class", "concept_relationship", "relationship",
    "concept_synonym", "concept_ancestor", "source_to_concept_map", "drug_strength",
})
# Tables with a person and a start date whose rows are not clinical events (see above).
NOT_EVENT_TABLES = frozenset({"observation_period", "payer_plan_period", "condition_era", "drug_era", "dose_era"})
# The order findings are listed in, within a severity.
CHECKS = ("missing_table", "missing_column", "wrong_type", "duplicate_primary_key", "end_before_start",
          "birth_after_death", "future_date", "unknown_person", "person_without_observation",
          "outside_observation", "non_standard_concept", "check_failed")


@dataclass(frozen=True)
class TableSummary:
    table: str
    rows: int
    first_date: dt.date | None  # earliest value over `date_columns`
    last_date: dt.date | None  # latest value over `date_columns`
    date_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    severity: str  # 'error' | 'warning'
    check: str  # one of CHECKS
    table: str
    column: str | None  # missing_column: the missing columns, comma-separated
    count: int  # offending rows (missing_column: missing columns; missing_table: 1)
    example_id: int | str | None  # smallest `id_column` value among the offending rows
    message: str  # what is wrong and what to do
    id_column: str | None = None
    total: int | None = None  # rows the check looked at


# -- the CDM's shape ------------------------------------------------------------------------


def describe(cdm) -> list[TableSummary]:
    """Rows and first/last date of every table, one aggregate query per table.

    The dates span the table's main date columns: its required date columns (else any date
    column, else any datetime column), e.g. a drug exposure's start and end dates.
    """
    spec = cdm_spec(cdm.version)
    out = []
    for name in cdm.table_names:
        t = cdm.table(name)
        cols = _main_date_columns(spec.get(name), t)
        aggs = {"rows": t.count()}
        for i, c in enumerate(cols):
            aggs[f"lo{i}"], aggs[f"hi{i}"] = _as_date(t[c]).min(), _as_date(t[c]).max()
        row = _one(t.aggregate(**aggs))
        los = [row[f"lo{i}"] for i in range(len(cols)) if row[f"lo{i}"] is not None]
        his = [row[f"hi{i}"] for i in range(len(cols)) if row[f"hi{i}"] is not None]
        out.append(TableSummary(name, int(row["rows"]), min(los) if los else None, max(his) if his else None,
                                tuple(cols)))
    return out


def _main_date_columns(tspec: TableSpec | None, t: ir.Table) -> list[str]:
    specs = tspec.columns.values() if tspec else ()
    dated = [c for c in specs if c.column in t.columns and _is_date(t[c.column])]
    for pick in (lambda c: type_family(c.datatype) == "date" and c.required,
                 lambda c: type_family(c.datatype) == "date",
                 lambda c: type_family(c.datatype) == "datetime"):
        chosen = [c.column for c in dated if pick(c)]
        if chosen:
            return chosen
    return []


# -- findings -------------------------------------------------------------------------------


def check(cdm, today: dt.date | None = None) -> list[Finding]:
    """Every data-quality finding of the CDM, errors first. Reads only; writes nothing.

    today: the date after which a date is in the future (default: the computer's today).
    """
    ctx = _Context(cdm, today or dt.date.today())
    findings = list(_structure(ctx))
    for table in ctx.tables:
        for step in (_wrong_type, _duplicate_primary_key, _end_before_start, _future_date, _unknown_person,
                     _outside_observation, _non_standard_concept):
            findings += _guarded(step, ctx, table)
    findings += _guarded(_person_without_observation, ctx, "person")
    findings += _guarded(_birth_after_death, ctx, "death")
    return sorted(findings, key=lambda f: (f.severity != "error", CHECKS.index(f.check), f.table, f.column or ""))


def exit_code(findings: list[Finding]) -> int:
    """0 when clean, 1 with warnings only, 2 with any error."""
    if any(f.severity == "error" for f in findings):
        return 2
    return 1 if findings else 0


class _Context:
    """The CDM, its specification, and which of its columns the checks can read."""

    def __init__(self, cdm, today: dt.date):
        self.cdm, self.today = cdm, today
        self.spec = cdm_spec(cdm.version)
        self.tables = {t: cdm.table(t) for t in self.spec if cdm.has_table(t)}

    def usable(self, table: str) -> set[str]:
        """The spec's columns that are present with a type the checks can compute on."""
        t = self.tables.get(table)
        if t is None:
            return set()
        return {c for c, col in self.spec[table].columns.items()
                if c in t.columns and _type_severity(col.datatype, t[c].type()) != "error"}

    def id_column(self, table: str) -> str | None:
        """The single primary key column, else person_id: the column example ids come from."""
        t = self.tables[table]
        pks = [c for c, col in self.spec[table].columns.items() if col.primary_key]
        if len(pks) == 1 and pks[0] in t.columns:
            return pks[0]
        return "person_id" if "person_id" in t.columns else None


def _guarded(step, ctx: _Context, table: str) -> list[Finding]:
    """Run one check; a query the database refuses becomes a finding, not a crash."""
    if table not in ctx.tables:
        return []
    try:
        return list(step(ctx, table))
    except _QueryFailed as e:
        return [Finding("warning", "check_failed", table, None, 0, None,
                        f"The {step.__name__.strip('_')} check could not run on {table.upper()}: {e}. The table "
                        "deviates from the CDM specification; fix what the other findings name and check again.")]


def _structure(ctx: _Context):
    version = ctx.cdm.version
    for table, tspec in ctx.spec.items():
        t = ctx.tables.get(table)
        if t is None:
            if tspec.required:
                yield Finding("error", "missing_table", table, None, 1, None,
                              f"The CDM has no {table.upper()} table, which every OMOP CDM v{version} must have. "
                              f"Create it with the OHDSI CommonDataModel v{version} DDL.")
            continue
        missing = [c for c, col in tspec.columns.items() if col.required and c not in t.columns]
        if missing:
            ddl = f"the OHDSI CommonDataModel v{version} DDL"
            fix = f"Recreate it with {ddl}."
            if all(re.fullmatch(r"column\d+", c) for c in t.columns):
                fix = (f"Its columns are named {', '.join(t.columns[:2])}, ...: it was loaded from a CSV file "
                       f"without its header, which is now a row of data. Reload it with the header, or "
                       f"recreate it with {ddl}.")
            yield Finding("error", "missing_column", table, ", ".join(missing), len(missing), None,
                          f"{table.upper()} lacks the required column(s) {', '.join(missing)}. {fix}")


def _wrong_type(ctx: _Context, table: str):
    t, key = ctx.tables[table], ctx.id_column(table)
    wrong = [(c, col, _type_severity(col.datatype, t[c].type())) for c, col in ctx.spec[table].columns.items()
             if c in t.columns]
    wrong = [w for w in wrong if w[2]]
    if not wrong:
        return
    total, tallies = _tally(t, key, [t[c].notnull() for c, _, _ in wrong])
    for (c, col, severity), (n, example) in zip(wrong, tallies):
        if severity == "warning":
            harm = "ids and counts stored as floating point print as 1.0 and are exact only up to 2**53"
        elif type_family(col.datatype) in ("date", "datetime"):
            harm = "date comparisons and intervals on it fail or compare text"
        else:
            harm = "numeric comparisons and sums on it fail"
        held = f"{n:,} row(s) hold a value" if n else "it holds no values, so nothing is lost"
        yield Finding(severity, "wrong_type", table, c, n, example,
                      f"{table.upper()}.{c} is {t[c].type()} but the CDM specifies {col.datatype}: {harm} "
                      f"({held}). Reload the column as {duckdb_type(col.datatype)}.", key, total)


def _type_severity(datatype: str, dtype) -> str | None:
    """None when a column's type serves its CDM datatype, else 'warning' or 'error'."""
    family = type_family(datatype)
    if dtype.is_null() or family == "string":
        return None
    if family == "integer":
        if dtype.is_integer() or (dtype.is_decimal() and not dtype.scale):
            return None
        return "warning" if dtype.is_floating() or dtype.is_decimal() else "error"
    if family == "float":
        return None if dtype.is_numeric() else "error"
    return None if dtype.is_date() or dtype.is_timestamp() else "error"  # date, datetime


def _duplicate_primary_key(ctx: _Context, table: str):
    pks = [c for c, col in ctx.spec[table].columns.items() if col.primary_key]
    if len(pks) != 1 or pks[0] not in ctx.tables[table].columns:
        return
    t, pk = ctx.tables[table], pks[0]
    keyed = t.filter(t[pk].notnull())
    groups = keyed.group_by(key=keyed[pk]).aggregate(n=keyed.count())
    groups = groups.filter(groups.n > 1)
    row = _one(groups.aggregate(extra=(groups.n - 1).sum(), example=groups.key.min(), keys=groups.count()))
    extra = int(row["extra"] or 0)
    if extra:
        yield Finding("warning", "duplicate_primary_key", table, pk, extra, _py(row["example"]),
                      f"{extra:,} extra {table.upper()} row(s) repeat a {pk} that another row has "
                      f"({int(row['keys']):,} value(s) repeated): joins on {pk} multiply rows and inflate "
                      "counts. Remove the duplicate rows, or give each row its own id, in the ETL.", pk)


def _end_before_start(ctx: _Context, table: str):
    usable, t, key = ctx.usable(table), ctx.tables[table], ctx.id_column(table)
    pairs = [(s, s[: -len("_start_date")] + "_end_date") for s in sorted(usable) if s.endswith("_start_date")]
    pairs = [(s, e) for s, e in pairs if e in usable and _is_date(t[s]) and _is_date(t[e])]
    if not pairs:
        return
    total, tallies = _tally(t, key, [_as_date(t[e]) < _as_date(t[s]) for s, e in pairs])
    for (s, e), (n, example) in zip(pairs, tallies):
        if n:
            yield Finding("warning", "end_before_start", table, e, n, example,
                          f"{_share(n, total)} in {table.upper()} end ({e}) before they start ({s}). Their "
                          "durations are negative, so they drop out of exposure and follow-up; fix the end "
                          "dates in the ETL (often swapped, or a default).", key, total)


def _future_date(ctx: _Context, table: str):
    if table in VOCABULARY_TABLES:
        return
    t, key, spec = ctx.tables[table], ctx.id_column(table), ctx.spec[table].columns
    usable = ctx.usable(table)
    cols = [c for c in spec if c in usable and _is_date(t[c]) and (
        type_family(spec[c].datatype) == "date"
        or (type_family(spec[c].datatype) == "datetime" and re.sub(r"_datetime$", "_date", c) not in usable))]
    if not cols:
        return
    today = ibis.literal(ctx.today, type="date")
    total, tallies = _tally(t, key, [_as_date(t[c]) > today for c in cols])
    for c, (n, example) in zip(cols, tallies):
        if n:
            yield Finding("warning", "future_date", table, c, n, example,
                          f"{_share(n, total)} in {table.upper()} have their {c} after today ({ctx.today}), usually "
                          "a placeholder (e.g. 2099-12-31) or a typo. Set unknown end dates to the data "
                          "extraction date in the ETL.", key, total)


def _event_date_column(ctx: _Context, table: str) -> str | None:
    """The date an event happens on, by the spec: `<x>_start_date`, else the one required date."""
    columns = ctx.spec[table].columns
    if table in NOT_EVENT_TABLES or table in VOCABULARY_TABLES or "person_id" not in columns:
        return None
    chosen = [c for c in columns if c.endswith("_start_date")][:1] or [
        c for c, col in columns.items() if col.required and type_family(col.datatype) == "date"]
    if len(chosen) != 1:
        return None
    usable = ctx.usable(table)
    ok = chosen[0] in usable and "person_id" in usable and _is_date(ctx.tables[table][chosen[0]])
    return chosen[0] if ok else None


def _observation_periods(ctx: _Context) -> ir.Table | None:
    if not {"person_id", "observation_period_start_date", "observation_period_end_date"} <= ctx.usable(
            "observation_period"):
        return None
    op = ctx.tables["observation_period"]
    return op.select(op_person_id=op.person_id, op_start=_as_date(op.observation_period_start_date),
                     op_end=_as_date(op.observation_period_end_date))


def _outside_observation(ctx: _Context, table: str):
    date_col, op = _event_date_column(ctx, table), _observation_periods(ctx)
    if date_col is None or op is None:
        return
    t, key = ctx.tables[table], ctx.id_column(table)
    ev = t.select(ev_person_id=t.person_id, ev_date=_as_date(t[date_col]), ev_key=t[key])
    ev = ev.filter(ev.ev_person_id.notnull(), ev.ev_date.notnull())
    outside = ev.anti_join(op, [ev.ev_person_id == op.op_person_id, ev.ev_date >= op.op_start,
                                ev.ev_date <= op.op_end])
    row = _one(outside.aggregate(n=outside.count(), example=outside.ev_key.min())
               .cross_join(ev.aggregate(total=ev.count())))
    n, total = int(row["n"]), int(row["total"])
    if n:
        yield Finding("warning", "outside_observation", table, date_col, n, _py(row["example"]),
                      f"{_share(n, total)} in {table.upper()} have their {date_col} outside every observation period "
                      "of their person. Analyses count only what happens while a person is observed, so these "
                      "records are ignored; widen the observation periods in the ETL to cover them, or accept "
                      "their loss.", key, total)


def _unknown_person(ctx: _Context, table: str):
    """Rows whose person_id (a foreign key to PERSON, says the spec) is not in PERSON."""
    col = ctx.spec[table].columns.get("person_id")
    if (table == "person" or col is None or (col.fk_table or "").lower() != "person"
            or "person_id" not in ctx.usable(table) or "person_id" not in ctx.usable("person")):
        return
    t, p, key = ctx.tables[table], ctx.tables["person"], ctx.id_column(table)
    rows = t.select(pid=t.person_id, k=t[key]).filter(lambda r: r.pid.notnull())
    known = p.select(known_id=p.person_id)
    unknown = rows.anti_join(known, rows.pid == known.known_id)
    row = _one(unknown.aggregate(n=unknown.count(), example=unknown.k.min(), persons=unknown.pid.nunique())
               .cross_join(rows.aggregate(total=rows.count())))
    n, total = int(row["n"]), int(row["total"])
    if n:
        yield Finding("warning", "unknown_person", table, "person_id", n, _py(row["example"]),
                      f"{_share(n, total)} in {table.upper()} belong to {int(row['persons']):,} person_id(s) that "
                      "PERSON does not have, so no cohort or analysis sees them. Add the persons to PERSON, or "
                      "remove their rows, in the ETL.", key, total)


def _person_without_observation(ctx: _Context, table: str):
    op = _observation_periods(ctx)
    if op is None or "person_id" not in ctx.usable("person"):
        return
    p = ctx.tables["person"]
    persons = p.select(pid=p.person_id)
    persons = persons.filter(persons.pid.notnull())
    unobserved = persons.anti_join(op, persons.pid == op.op_person_id)
    row = _one(unobserved.aggregate(n=unobserved.count(), example=unobserved.pid.min())
               .cross_join(persons.aggregate(total=persons.count())))
    n, total = int(row["n"]), int(row["total"])
    if n:
        yield Finding("warning", "person_without_observation", "person", "person_id", n, _py(row["example"]),
                      f"{_share(n, total, 'person')} have no observation period, so they never enter a cohort. "
                      "Derive observation periods for them in the ETL (e.g. first to last record), or leave "
                      "them out of PERSON.", "person_id", total)


def _non_standard_concept(ctx: _Context, table: str):
    if table in VOCABULARY_TABLES or not {"concept_id", "standard_concept", "invalid_reason"} <= ctx.usable("concept"):
        return
    concept = ctx.tables["concept"]
    ref = concept.select(cid=concept.concept_id, std=concept.standard_concept, inv=concept.invalid_reason)
    usable, t, key = ctx.usable(table), ctx.tables[table], ctx.id_column(table)
    for c, col in ctx.spec[table].columns.items():
        if not (c in usable and c.endswith("_concept_id") and not c.endswith("_source_concept_id")
                and (col.fk_table or "").lower() == "concept" and t[c].type().is_integer()):
            continue
        rows = t.select(value=t[c], **({key: t[key]} if key else {}))
        j = rows.left_join(ref, rows.value == ref.cid)
        bad = j.cid.notnull() & (j.cid != 0) & ((j.std.fill_null("") != "S") | (j.inv.fill_null("") != ""))
        total, [(n, example)] = _tally(j, key, [bad])
        if n:
            yield Finding("warning", "non_standard_concept", table, c, n, example,
                          f"{_share(n, total)} in {table.upper()}.{c} hold a concept that is not a standard, "
                          "valid concept. Concept sets resolve to standard concepts, so analyses miss these rows; "
                          "map the source codes through 'Maps to' in the ETL, or put 0 where no standard concept "
                          "exists.", key, total)


def _birth_after_death(ctx: _Context, table: str):
    pu, du = ctx.usable("person"), ctx.usable("death")
    if not ({"person_id", "year_of_birth"} <= pu and {"person_id", "death_date"} <= du):
        return
    p, d = ctx.tables["person"], ctx.tables["death"]
    births = p.select(b_person_id=p.person_id, yob=p.year_of_birth.cast("int64"),
                      bdt=_as_date(p.birth_datetime) if "birth_datetime" in pu else ibis.null("date"))
    deaths = d.select(person_id=d.person_id, ddate=_as_date(d.death_date))
    j = deaths.join(births, deaths.person_id == births.b_person_id)
    total, [(n, example)] = _tally(j, "person_id", [(j.ddate.year() < j.yob) | (j.bdt.notnull() & (j.ddate < j.bdt))])
    if n:
        yield Finding("warning", "birth_after_death", "death", "death_date", n, example,
                      f"{_share(n, total, 'death record')} date a death before the person's birth (death_date "
                      "before year_of_birth or birth_datetime), so their ages and follow-up are wrong. Check "
                      "year_of_birth and death_date in the ETL.", "person_id", total)


# -- helpers --------------------------------------------------------------------------------


class _QueryFailed(Exception):
    """The database refused a check's query (an expression Ibis cannot build is a bug instead)."""


def _one(expr) -> dict:
    try:
        table = expr.to_pyarrow()
    except Exception as e:  # each backend raises its own error types
        raise _QueryFailed((str(e).strip().splitlines() or [type(e).__name__])[0]) from e
    return table.to_pylist()[0]


def _tally(t: ir.Table, key: str | None, conditions: list) -> tuple[int, list[tuple[int, object]]]:
    """Rows of t, and per condition the rows meeting it and their smallest key: one query."""
    aggs = {"total": t.count()}
    for i, cond in enumerate(conditions):
        aggs[f"n{i}"] = t.count(where=cond)
        if key:
            aggs[f"x{i}"] = t[key].min(where=cond)
    row = _one(t.aggregate(**aggs))
    return int(row["total"]), [(int(row[f"n{i}"]), _py(row.get(f"x{i}"))) for i in range(len(conditions))]


def _is_date(col) -> bool:
    return col.type().is_date() or col.type().is_timestamp()


def _as_date(col):
    return col.date() if col.type().is_timestamp() else col


def _py(value):
    """An example id as Python: ids stored as floating point become int."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _share(n: int, total: int, noun: str = "row") -> str:
    if not total:
        return f"{n:,} {noun}s"
    pct = 100 * n / total
    return f"{n:,} of {total:,} {noun}s ({'<0.1' if pct < 0.1 else f'{pct:.1f}'}%)"
