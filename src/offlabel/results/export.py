"""The summarised_result CSV: written as omopgenerics exportSummarisedResult writes it, read back.

Export follows omopgenerics >= 1.0 (R/exportSummarisedResult.R, exportSummarisedResult and
pivotSettings): the results are bound (`bind`, renumbering result_id) and suppressed
(`suppress`), then the settings are appended as rows after the estimates:

    result_id, cdm_name=NA, group/strata/additional = "overall", variable_name="settings",
    variable_level=NA, estimate_name=<setting>, estimate_type="character",
    estimate_value=<value>

one per setting (missing ones left out), ordered by result_id and then in settings column
order. cdm_name is NA unless a result_id spans several cdm_names, in which case each
setting is repeated for each of them (pivotSettings' left join). The text is R's
`utils::write.csv` (see r_csv.py); it has no date or time in it, so the same result
gives the same bytes. The vignette "summarised_result" shows such a file; the test
fixture tests/results/data/omopgenerics_export.csv reproduces it.

Import follows importSummarisedResult (R/importSummarisedResult.R): the 13 columns in
any order, settings rows turned back into settings (omopgenerics createSettings), a
folder means every .csv in it, bound. Values are typed from estimate_type. Unlike R,
import keeps the row order of the file (R sorts by cdm_name, result_id) so that a round
trip gives back an equal result.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from offlabel.errors import OutputError
from offlabel.results.estimate_values import format_value, parse_value
from offlabel.results.r_csv import CsvFormatError, read_csv, read_csv_text, write_csv_text
from offlabel.results.schema import RESULT_COLUMNS, ResultError, ResultRow
from offlabel.results.summarised_result import SummarisedResult, bind
from offlabel.results.suppression import suppress

SETTINGS_VARIABLE = "settings"
_OVERALL = "overall"
_NA_ALLOWED = ("variable_level", "estimate_value")


def export_summarised_result(result: SummarisedResult | Iterable[SummarisedResult], path: str | os.PathLike,
                             min_cell_count: int = 5) -> Path:
    """Write `result` (or several, bound) to the CSV file `path`, suppressed at `min_cell_count`.

    Returns the path written. The file is replaced atomically; its folder must exist.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path} is a folder; give the path of the CSV file to write, e.g. {path / 'results.csv'}")
    if not path.parent.is_dir():
        raise OutputError(f"cannot write {path}: the folder {path.parent} does not exist; create it first")
    exported = suppress(bind(result), min_cell_count)
    text = write_csv_text(RESULT_COLUMNS, [*_estimate_rows(exported), *_settings_rows(exported)])
    _write_atomically(path, text.encode("utf-8"))
    return path


def import_summarised_result(path: str | os.PathLike) -> SummarisedResult:
    """Read a summarised_result CSV (or every .csv in a folder, bound) with typed values."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".csv")
        if not files:
            raise ResultError(f"{path} has no .csv file to import")
        return bind(_import_file(f) for f in files)
    if not path.is_file():
        raise ResultError(f"cannot import {path}: no such file")
    return _import_file(path)


def _estimate_rows(result: SummarisedResult):
    for row in result.rows:
        values = list(row)
        values[0] = str(row.result_id)
        values[10] = format_value(row.estimate_value)
        yield values


def _settings_rows(result: SummarisedResult):
    """omopgenerics pivotSettings: one row per setting, after the estimates."""
    cdm_names: dict[int, dict[str, None]] = {}
    for row in result.rows:
        cdm_names.setdefault(row.result_id, {}).setdefault(row.cdm_name)
    for rid in result.result_ids:
        names = list(cdm_names.get(rid, {}))
        for setting, value in result.settings_for(rid).items():
            for cdm_name in names if len(names) > 1 else [None]:
                yield [str(rid), cdm_name, _OVERALL, _OVERALL, _OVERALL, _OVERALL, SETTINGS_VARIABLE, None,
                       setting, "character", value, _OVERALL, _OVERALL]


def _import_file(path: Path) -> SummarisedResult:
    try:
        text = path.read_bytes().decode("utf-8-sig")
        records = read_csv(text)
    except (UnicodeDecodeError, CsvFormatError) as exc:
        raise ResultError(f"cannot read {path}: {exc}") from None
    if not records:
        raise ResultError(f"{path} is empty; a summarised_result CSV starts with a header line")
    header = records[0]
    if len(header) != len(RESULT_COLUMNS) or set(header) != set(RESULT_COLUMNS):
        raise ResultError(f"{path} does not have the summarised_result columns",
                          [f"expected: {', '.join(RESULT_COLUMNS)}", f"found: {', '.join(map(str, header))}"])
    order = [header.index(column) for column in RESULT_COLUMNS]
    rows, settings, problems = [], {}, []  # problems: (record number, message)
    for number, fields in enumerate(records[1:], start=1):
        values = [fields[k] for k in order]
        try:
            rid = int(values[0])
        except (TypeError, ValueError):
            problems.append((number, f"result_id {values[0]!r} is not a whole number"))
            continue
        if values[6] == SETTINGS_VARIABLE:
            _read_setting(settings.setdefault(rid, {}), values[8], values[10], number, problems)
            continue
        if None in values[1:7] or None in values[8:10] or None in values[11:]:
            missing = [c for c, v in zip(RESULT_COLUMNS, values) if v is None and c not in _NA_ALLOWED]
            problems.append((number, f"{', '.join(missing)} must not be NA"))
            continue
        try:
            values[10] = parse_value(values[10], values[9])
        except ValueError as exc:
            problems.append((number, f"estimate_value of {values[8]!r} ({values[9]}): {exc}"))
            continue
        values[0] = rid
        rows.append(ResultRow(*values))
    if problems:
        lines = [line for line, _ in read_csv_text(text)]
        raise ResultError(f"cannot import {path}", [f"line {lines[n]}: {message}" for n, message in problems])
    try:
        ids = sorted({*settings, *(r.result_id for r in rows)})
        return SummarisedResult(rows, {rid: settings.get(rid, {}) for rid in ids})
    except ResultError as exc:
        raise ResultError(f"{path} is not a valid summarised_result (rows counted from 0 after the "
                          "header, settings rows left out)", exc.problems) from None


def _read_setting(settings: dict, name: str | None, value: str | None, number: int, problems: list) -> None:
    if name is None:
        problems.append((number, "a settings row needs an estimate_name (the setting's name)"))
    elif value is None:
        return  # omopgenerics leaves missing settings out; tolerate an explicit NA
    elif settings.setdefault(name, value) != value:
        problems.append((number, f"setting {name!r} has two values, {settings[name]!r} and {value!r}"))


def _write_atomically(path: Path, data: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        # mkstemp makes the file private (0600); give it the permissions an ordinary file gets.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
