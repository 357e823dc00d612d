"""SummarisedResult: the DARWIN EU / omopgenerics `summarised_result`, with typed values.

A result is one long table of the 13 omopgenerics columns (`RESULT_COLUMNS`, as
omopgenerics::resultColumns()) plus a settings table keyed by `result_id`. Every analysis
verb returns one; `report/` reads only these; `export.py` writes them as the CSV that
omopgenerics::importSummarisedResult reads.

Rows are kept as an immutable tuple of `ResultRow` named tuples rather than a DataFrame:
the tables are small (aggregates only), values of several Python types share the
`estimate_value` column, and pandas would blur None/NaN, int/float and bool/int there.
`to_frame()` and `tidy()` give pandas frames when wanted.

Settings follow omopgenerics >= 1.0 (createSettings in R/classSummarisedResult.R): every
setting is text; `result_type`, `package_name` and `package_version` are always present
("" when not given); `group`, `strata` and `additional` list the names used in the pairs
(derived from the rows when not given); `min_cell_count` is "0" until `suppress()` records
its threshold; each result_id has a distinct set of settings; columns are ordered
result_id, result_type, package_name, package_version, group, strata, additional,
min_cell_count, then the others alphabetically (by code point; R sorts by locale).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

from offlabel.results import name_level
from offlabel.results.estimate_values import coerce_value, infer_estimate_type
from offlabel.results.schema import (
    LEADING_SETTINGS, RESULT_COLUMNS, ResultError, ResultRow, settings_columns,
)
from offlabel.results.validation import validate

__all__ = ["SummarisedResult", "ResultRow", "ResultError", "RESULT_COLUMNS", "result_rows", "bind"]


class SummarisedResult:
    """Estimates in the omopgenerics long format, with their settings. Immutable."""

    __slots__ = ("_rows", "_settings")
    __hash__ = None  # equality is by value

    def __init__(self, rows: Iterable[ResultRow | Mapping[str, Any]],
                 settings: Mapping[int, Mapping[str, Any]] | Iterable[Mapping[str, Any]] | None = None):
        self._rows, self._settings = validate(rows, settings)

    @classmethod
    def from_rows(cls, rows: Iterable[ResultRow | Mapping[str, Any]],
                  settings: Mapping[int, Mapping[str, Any]] | Iterable[Mapping[str, Any]] | pd.DataFrame
                  | None = None) -> SummarisedResult:
        """Build and validate a result.

        `rows` are `ResultRow`s (see `result_rows`) or mappings with the 13 columns.
        `settings` maps result_id to {setting: value}, or is a list of mappings / a
        DataFrame with a `result_id` column; None gives every result_id empty settings.
        Raises ResultError listing every problem.
        """
        if isinstance(settings, pd.DataFrame):
            settings = [{k: (None if _is_na(v) else v) for k, v in record.items()}
                        for record in settings.to_dict("records")]
        return cls(rows, settings)

    @classmethod
    def empty(cls, settings=None) -> SummarisedResult:
        """A result with no estimates (omopgenerics emptySummarisedResult)."""
        return cls((), settings)

    @classmethod
    def _trusted(cls, rows: tuple[ResultRow, ...], settings: dict[int, dict[str, str]]) -> SummarisedResult:
        """A result from parts that already satisfy the invariants (no validation)."""
        result = object.__new__(cls)
        result._rows, result._settings = rows, settings
        return result

    # -- access -------------------------------------------------------------------------
    @property
    def rows(self) -> tuple[ResultRow, ...]:
        return self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self):
        return iter(self._rows)

    @property
    def result_ids(self) -> tuple[int, ...]:
        """Every result_id that has settings, ascending."""
        return tuple(self._settings)

    def settings_for(self, result_id: int) -> dict[str, str]:
        """The settings of one result_id, as text."""
        try:
            return dict(self._settings[result_id])
        except KeyError:
            raise KeyError(f"result_id {result_id} is not in this result (ids: {list(self._settings)})") from None

    @property
    def settings(self) -> pd.DataFrame:
        """The settings table (omopgenerics `settings()`): one row per result_id, text values."""
        columns = settings_columns(self._settings.values())
        records = [{"result_id": rid, **{c: s.get(c) for c in columns}} for rid, s in self._settings.items()]
        frame = pd.DataFrame(records, columns=["result_id", *columns], dtype=object)
        return frame.astype({"result_id": "int64"})

    def to_frame(self) -> pd.DataFrame:
        """The long table as a DataFrame; `estimate_value` keeps the Python values (object dtype)."""
        columns = {c: pd.Series([getattr(r, c) for r in self._rows], dtype=object) for c in RESULT_COLUMNS}
        return pd.DataFrame(columns).astype({"result_id": "int64"})

    # -- verbs --------------------------------------------------------------------------
    def filter(self, predicate: Callable[[ResultRow], bool] | None = None, /, **criteria: Any) -> SummarisedResult:
        """Rows matching `predicate` and every criterion; settings are kept whole.

        A criterion names a column or a setting; its value is matched by equality, or by
        membership when it is a list, tuple, set or frozenset:
        `result.filter(result_type="summarise_incidence", estimate_name=["count", "mean"])`.
        """
        tests = []
        known_settings = {key for s in self._settings.values() for key in s}
        for key, wanted in criteria.items():
            match = _matcher(wanted)
            if key in RESULT_COLUMNS:
                tests.append(lambda row, k=key, m=match: m(getattr(row, k)))
            elif key in known_settings:
                ids = {rid for rid, s in self._settings.items() if match(s.get(key))}
                tests.append(lambda row, ids=ids: row.result_id in ids)
            else:
                raise ResultError(f"cannot filter on {key!r}: it is neither a result column nor a setting",
                                  [f"columns: {', '.join(RESULT_COLUMNS)}",
                                   f"settings: {', '.join(sorted(known_settings)) or '(none)'}"])
        rows = tuple(r for r in self._rows
                     if (predicate is None or predicate(r)) and all(t(r) for t in tests))
        return SummarisedResult._trusted(rows, self._settings)

    def suppress(self, min_cell_count: int = 5) -> SummarisedResult:
        """Minimum cell count suppression; see `offlabel.results.suppression.suppress`."""
        from offlabel.results.suppression import suppress

        return suppress(self, min_cell_count)

    def tidy(self) -> pd.DataFrame:
        """A wide frame for reports (omopgenerics `tidy()`).

        Group, strata and additional pairs become one column per name (missing ones
        "overall"), each estimate_name becomes a column of its values, and the settings
        other than the omopgenerics metadata become columns; result_id is dropped.
        Columns: cdm_name, pair columns, variable_name, variable_level, estimates,
        settings. A column holding only int, float or bool values gets that dtype; one
        with missing (None) or SUPPRESSED values stays object, so they stay visible.
        """
        records: dict[tuple, dict[str, Any]] = {}
        pair_columns: dict[str, None] = {}
        estimate_columns: dict[str, None] = {}
        for row in self._rows:
            key = _variable_key(row)
            if key not in records:
                pairs = {}
                for prefix in name_level.PAIRS:
                    pairs.update(name_level.split(getattr(row, f"{prefix}_name"), getattr(row, f"{prefix}_level")))
                pair_columns.update(dict.fromkeys(pairs))
                records[key] = {"row": row, "pairs": pairs, "estimates": {}}
            records[key]["estimates"][row.estimate_name] = row.estimate_value
            estimate_columns.setdefault(row.estimate_name)
        setting_columns = [c for c in settings_columns(self._settings.values()) if c not in LEADING_SETTINGS]
        names = ["cdm_name", *pair_columns, "variable_name", "variable_level", *estimate_columns, *setting_columns]
        if clashes := sorted({n for n in names if names.count(n) > 1}):
            raise ResultError("tidy() would give several columns the same name; rename the pair names, "
                              "estimates or settings involved", clashes)
        values: dict[str, list] = {}
        rows = [record["row"] for record in records.values()]
        values["cdm_name"] = [row.cdm_name for row in rows]
        for name in pair_columns:
            values[name] = [record["pairs"].get(name, name_level.OVERALL) for record in records.values()]
        values["variable_name"] = [row.variable_name for row in rows]
        values["variable_level"] = [row.variable_level for row in rows]
        for name in estimate_columns:
            values[name] = [record["estimates"].get(name) for record in records.values()]
        for name in setting_columns:
            values[name] = [self._settings[row.result_id].get(name) for row in rows]
        return pd.DataFrame({name: _typed_series(column) for name, column in values.items()}, columns=names)

    # -- dunder -------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SummarisedResult):
            return NotImplemented
        return self._settings == other._settings and _comparable(self._rows) == _comparable(other._rows)

    def __repr__(self) -> str:
        types = sorted({s.get("result_type", "") for s in self._settings.values()})
        return (f"<SummarisedResult: {len(self._rows)} estimates, result_ids {list(self._settings)}, "
                f"result_types {types}>")


def result_rows(*, cdm_name: str, variable_name: str, estimates: Mapping[str, Any],
                variable_level: str | None = None, group: Mapping[str, object] | None = None,
                strata: Mapping[str, object] | None = None, additional: Mapping[str, object] | None = None,
                result_id: int = 1, estimate_types: Mapping[str, str] | None = None) -> list[ResultRow]:
    """Rows for the estimates of one variable, estimate_type inferred from each value.

    `group`, `strata` and `additional` are {name: level} ({} or None for "overall"), e.g.
    `result_rows(cdm_name="synthea", group={"cohort_name": "ldn_users"}, strata={"sex": "Female"},
    variable_name="number subjects", estimates={"count": 12})`. Floats named like
    "percentage"/"proportion" get that type; None or SUPPRESSED values need `estimate_types`.
    """
    estimate_types = dict(estimate_types or {})
    pairs, problems = {}, []
    for prefix, value in (("group", group), ("strata", strata), ("additional", additional)):
        try:
            pairs[prefix] = name_level.unite(value)
        except ValueError as exc:
            problems.append(f"{prefix}: {exc}")
    rows = []
    for name, value in estimates.items():
        try:
            estimate_type = estimate_types.pop(name, None) or infer_estimate_type(name, value)
            value = coerce_value(value, estimate_type)
        except ValueError as exc:
            problems.append(f"estimate {name!r}: {exc}")
            continue
        if not problems:
            rows.append(ResultRow(result_id, cdm_name, *pairs["group"], *pairs["strata"], variable_name,
                                  variable_level, name, estimate_type, value, *pairs["additional"]))
    problems += [f"estimate_types names {name!r}, which is not in estimates" for name in estimate_types]
    if problems:
        raise ResultError(f"cannot build the rows of variable {variable_name!r}", problems)
    return rows


def bind(*results: SummarisedResult | Iterable[SummarisedResult] | None) -> SummarisedResult:
    """Several results as one, renumbering result_id like omopgenerics `bind()` (R/methodBind.R).

    The new result_ids number the distinct sets of settings in order of first appearance
    (results in argument order, each by result_id); result_ids with identical settings
    merge, and rows that then repeat exactly are kept once.
    """
    flat: list[SummarisedResult] = []
    for item in results:
        if item is None:
            continue
        for result in ([item] if isinstance(item, SummarisedResult) else item):
            if result is None:
                continue
            if not isinstance(result, SummarisedResult):
                raise ResultError(f"bind() takes SummarisedResult objects, not {type(result).__name__}")
            flat.append(result)
    if len(flat) == 1:  # one valid result: nothing merges, only the ids change (keeping order)
        (result,) = flat
        renumber = {rid: k for k, rid in enumerate(result.result_ids, start=1)}
        rows = result.rows if all(k == rid for rid, k in renumber.items()) else tuple(
            row._replace(result_id=renumber[row.result_id]) for row in result.rows)
        return SummarisedResult._trusted(rows, {renumber[rid]: s for rid, s in result._settings.items()})
    new_ids: dict[tuple, int] = {}
    settings: dict[int, dict[str, str]] = {}
    rows: dict[ResultRow, None] = {}
    for result in flat:
        renumber = {}
        for rid, s in result._settings.items():
            new = new_ids.setdefault(tuple(sorted(s.items())), len(new_ids) + 1)
            settings.setdefault(new, s)
            renumber[rid] = new
        for row in result._rows:
            rows.setdefault(row._replace(result_id=renumber[row.result_id]))
    return SummarisedResult(rows, settings)


def _variable_key(row: ResultRow) -> tuple:
    """Everything that identifies a variable of a result: all columns but the estimate ones."""
    return (row.result_id, row.cdm_name, row.group_name, row.group_level, row.strata_name, row.strata_level,
            row.additional_name, row.additional_level, row.variable_name, row.variable_level)


def _matcher(wanted: Any) -> Callable[[Any], bool]:
    if isinstance(wanted, (list, tuple, set, frozenset)):
        options = frozenset(wanted)
        return lambda value: value in options
    return lambda value: value == wanted


def _typed_series(values: list) -> pd.Series:
    kinds = {type(v) for v in values}
    dtype = {frozenset({int}): "int64", frozenset({float}): "float64", frozenset({bool}): "bool"}.get(
        frozenset(kinds), object)
    try:
        return pd.Series(values, dtype=dtype)
    except OverflowError:  # an int beyond int64
        return pd.Series(values, dtype=object)


_NAN = object()


def _comparable(rows: tuple[ResultRow, ...]) -> tuple:
    """Rows with NaN replaced by one marker, so that NaN equals NaN."""
    return tuple(r._replace(estimate_value=_NAN) if isinstance(r.estimate_value, float)
                 and math.isnan(r.estimate_value) else r for r in rows)


def _is_na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
