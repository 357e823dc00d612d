"""Validation of a summarised_result on construction; every problem is reported at once.

Follows omopgenerics validateSummarisedResult / createSettings (R/classSummarisedResult.R):
the 13 columns, allowed estimate_type values, name-level pairs with as many names as
levels, no duplicated estimate, every result_id of the rows present in settings, one
distinct set of settings per result_id, no name in two of group/strata/additional.
Stricter than omopgenerics where it only warns (unequal name-level pairs) and where
offlabel needs it (estimate values typed; "settings" reserved as a variable_name).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping

from offlabel.results import name_level
from offlabel.results.estimate_values import (
    ESTIMATE_TYPES, SUPPRESSED, SUPPRESSED_TEXT, coerce_value, setting_text,
)
from offlabel.results.schema import (
    COMPULSORY_SETTINGS, RESULT_COLUMNS, TEXT_COLUMNS, ResultError, ResultRow, settings_columns,
)


def validate(rows, settings) -> tuple[tuple[ResultRow, ...], dict[int, dict[str, str]]]:
    """(rows ordered by result_id, completed settings by result_id); raises ResultError."""
    problems: list[str] = []
    valid_pairs: set[tuple] = set()
    numbered = [(i, r) for i, raw in enumerate(rows)
                if (r := _check_row(i, raw, problems, valid_pairs)) is not None]
    seen: dict[tuple, int] = {}
    for i, row in numbered:
        key = row[:9] + row[11:]  # all but estimate_type and estimate_value
        if key in seen:
            problems.append(f"row {i}: duplicates the estimate of row {seen[key]} "
                            f"({row.variable_name!r} / {row.variable_level!r} / {row.estimate_name!r})")
        else:
            seen[key] = i
    checked = [r for _, r in numbered]
    ids_in_rows = sorted({r.result_id for r in checked})
    by_id = _normalise_settings(settings, ids_in_rows, problems)
    for rid in ids_in_rows:
        if rid not in by_id:
            problems.append(f"result_id {rid} is in the rows but not in settings")
    rows_by_id: dict[int, list[ResultRow]] = defaultdict(list)
    for row in checked:
        rows_by_id[row.result_id].append(row)
    completed = {rid: _complete_settings(s, rows_by_id.get(rid, []), rid, problems)
                 for rid, s in sorted(by_id.items())}
    first_with: dict[tuple, int] = {}
    for rid, s in completed.items():
        other = first_with.setdefault(tuple(sorted(s.items())), rid)
        if other != rid:
            problems.append(f"result_id {rid} has the same settings as result_id {other}; "
                            "each result_id needs a distinct set of settings (use bind to merge them)")
    if problems:
        raise ResultError("not a valid summarised_result", problems)
    ordered = tuple(sorted(checked, key=lambda r: r.result_id))  # stable, as dplyr::arrange
    return ordered, completed


_TEXT_POSITIONS = tuple(RESULT_COLUMNS.index(c) for c in TEXT_COLUMNS)
_ESTIMATE_TYPES = frozenset(ESTIMATE_TYPES)
#: (estimate_type, Python type) pairs that need no coercion: the fast path for large results.
_ALREADY_TYPED = frozenset({("integer", int), ("numeric", float), ("proportion", float), ("percentage", float),
                            ("logical", bool), ("date", dt.date), ("character", str)})


def _check_row(i: int, raw, problems: list[str], valid_pairs: set) -> ResultRow | None:
    if isinstance(raw, ResultRow):
        row = raw
    elif isinstance(raw, Mapping):
        missing = [c for c in RESULT_COLUMNS if c not in raw]
        extra = [c for c in raw if c not in RESULT_COLUMNS]
        if missing or extra:
            problems.append(f"row {i}: " + "; ".join(
                part for part in (missing and f"missing columns {missing}", extra and f"unknown columns {extra}")
                if part))
            return None
        row = ResultRow(*(raw[c] for c in RESULT_COLUMNS))
    else:
        problems.append(f"row {i}: expected a ResultRow or a mapping, got {type(raw).__name__}")
        return None
    bad = len(problems)
    rid = row.result_id
    if type(rid) is not int:
        if isinstance(rid, bool) or not hasattr(rid, "__index__"):
            problems.append(f"row {i}: result_id must be an int, not {rid!r}")
        else:
            row = row._replace(result_id=int(rid.__index__()))
    for k in _TEXT_POSITIONS:
        if not isinstance(row[k], str):
            problems.append(f"row {i}: {RESULT_COLUMNS[k]} must be a str, not {row[k]!r}")
    if row.variable_level is not None and not isinstance(row.variable_level, str):
        problems.append(f"row {i}: variable_level must be a str or None, not {row.variable_level!r}")
    if len(problems) > bad:
        return None
    if row.variable_name == "settings":
        problems.append(f'row {i}: variable_name "settings" is reserved for settings rows in the CSV')
    pairs = (row.group_name, row.group_level, row.strata_name, row.strata_level, row.additional_name,
             row.additional_level)
    if pairs not in valid_pairs:
        for k, prefix in enumerate(name_level.PAIRS):
            try:
                name_level.split(pairs[2 * k], pairs[2 * k + 1])
            except ValueError as exc:
                problems.append(f"row {i}: {prefix} {exc}")
        if len(problems) == bad:
            valid_pairs.add(pairs)
    estimate_type, value = row.estimate_type, row.estimate_value
    if estimate_type not in _ESTIMATE_TYPES:
        problems.append(f"row {i}: estimate_type {estimate_type!r} is not one of {', '.join(ESTIMATE_TYPES)}")
        return None
    typed = (estimate_type, type(value)) in _ALREADY_TYPED and value != SUPPRESSED_TEXT
    if value is not None and value is not SUPPRESSED and not typed:
        try:
            row = row._replace(estimate_value=coerce_value(value, estimate_type))
        except ValueError as exc:
            problems.append(f"row {i} ({row.estimate_name!r}): {exc}")
    return row if len(problems) == bad else None


def _normalise_settings(settings, ids_in_rows: list[int], problems: list[str]) -> dict[int, dict[str, str]]:
    if settings is None:
        return {rid: {} for rid in ids_in_rows}
    if isinstance(settings, Mapping):
        items = list(settings.items())
    else:
        items = []
        for k, record in enumerate(settings):
            if not isinstance(record, Mapping) or "result_id" not in record:
                problems.append(f"settings entry {k} must be a mapping with a result_id")
                continue
            items.append((record["result_id"], record))
    out: dict[int, dict[str, str]] = {}
    for rid, record in items:
        if isinstance(rid, bool) or not hasattr(rid, "__index__"):
            problems.append(f"settings: result_id must be an int, not {rid!r}")
            continue
        rid = int(rid.__index__())
        if rid in out:
            problems.append(f"settings: result_id {rid} appears twice")
            continue
        clean: dict[str, str] = {}
        for key, value in record.items():
            if key == "result_id":
                if value != rid:
                    problems.append(f"settings of result_id {rid} contain result_id {value!r}")
                continue
            if not isinstance(key, str) or not key:
                problems.append(f"settings of result_id {rid}: a setting name must be a non-empty str, not {key!r}")
                continue
            try:
                text = setting_text(value)
            except ValueError as exc:
                problems.append(f"settings of result_id {rid}: {key}: {exc}")
                continue
            if text is not None:
                clean[key] = text
        out[rid] = clean
    return out


def _complete_settings(s: dict[str, str], rows: list[ResultRow], rid: int, problems: list[str]) -> dict[str, str]:
    s = dict(s)
    for key in COMPULSORY_SETTINGS:
        s.setdefault(key, "")
    for prefix in name_level.PAIRS:
        if prefix not in s:
            s[prefix] = name_level.labels(getattr(r, f"{prefix}_name") for r in rows)
    count = s.setdefault("min_cell_count", "0")
    if not count.isdigit():
        problems.append(f"settings of result_id {rid}: min_cell_count must be a whole number, not {count!r}")
    elif count == "1":
        s["min_cell_count"] = "0"  # suppressing counts below 1 suppresses nothing (omopgenerics)
    labels = {p: set(s[p].split(name_level.SEPARATOR)) - {""} for p in name_level.PAIRS}
    for a, b in (("group", "strata"), ("group", "additional"), ("strata", "additional")):
        if both := sorted(labels[a] & labels[b]):
            problems.append(f"result_id {rid}: {both} present in both {a} and {b}")
    return {k: s[k] for k in settings_columns([s]) if k in s}


