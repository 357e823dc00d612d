"""The summarised_result CSV: byte-compatible with omopgenerics exportSummarisedResult, lossless round trip.

The fixtures in data/ are written by hand from omopgenerics' sources (see data/README.md):
omopgenerics_export.csv is the file the omopgenerics vignette "summarised_result" shows
exportSummarisedResult writing for `bind(result1, result2)` (R/exportSummarisedResult.R,
pivotSettings + utils::write.csv).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from offlabel.errors import OfflabelError, OutputError
from offlabel.results import (
    SUPPRESSED, ResultError, SummarisedResult, bind, export_summarised_result, import_summarised_result,
    result_rows, suppress,
)
from offlabel.results.r_csv import CsvFormatError, read_csv, read_csv_text

DATA = Path(__file__).parent / "data"


def vignette_results() -> list[SummarisedResult]:
    """result1 and result2 of the omopgenerics vignette "summarised_result"."""
    result1 = SummarisedResult.from_rows(
        result_rows(cdm_name="my_cdm", group={"cohort_name": "cohort1"}, strata={"sex": "male"},
                    variable_name="Age group", variable_level="10 to 50", estimates={"count": 5.0}),
        {1: {"package_name": "PatientProfiles", "package_version": "1.0.0",
             "study": "my_characterisation_study", "result_type": "stratified_by_age_group"}})
    result2 = SummarisedResult.from_rows(
        result_rows(cdm_name="my_cdm", variable_name="overall", variable_level="overall",
                    estimates={"count": 55.0}),
        {1: {"package_name": "PatientProfiles", "package_version": "1.0.0",
             "study": "my_characterisation_study", "result_type": "overall_analysis"}})
    return [result1, result2]


def every_kind_of_value() -> SummarisedResult:
    tricky_text = ['with "quotes", commas', "two\nlines", "NA", "", "  spaced  ", "ünïcödé ✓", "a &&& b"]
    rows = [
        *result_rows(cdm_name="synthea", group={"cohort_name": "ldn_users"}, strata={"sex": "Female"},
                     variable_name="number subjects", estimates={"count": 1234, "big": 2**40}),
        *result_rows(cdm_name="synthea", group={"cohort_name": "ldn_users"}, variable_name="age",
                     estimates={"mean": 0.1, "third": 1 / 3, "tiny": 1e-300, "huge": 1.7976931348623157e308,
                                "negative_zero": -0.0, "whole": 3.0, "infinite": math.inf,
                                "minus_infinite": -math.inf, "not_a_number": math.nan,
                                "percentage": 12.5, "proportion": 0.125}),
        *result_rows(cdm_name="synthea", variable_name="flags", variable_level="level",
                     estimates={"yes": True, "no": False, "first": dt.date(1999, 12, 31), "missing": None,
                                "hidden": SUPPRESSED},
                     estimate_types={"missing": "numeric", "hidden": "integer"}),
        *result_rows(cdm_name="synthea", variable_name="labels",
                     estimates={f"text_{i}": text for i, text in enumerate(tricky_text)}),
    ]
    settings = {1: {"result_type": "summarise_everything", "package_name": "offlabel", "package_version": "0.1.0",
                    "note": 'quoted "setting", with comma', "empty": "", "washout_days": 365}}
    return SummarisedResult.from_rows(rows, settings)


def test_export_is_byte_identical_to_omopgenerics(tmp_path):
    path = export_summarised_result(vignette_results(), tmp_path / "result.csv")
    assert path.read_bytes() == (DATA / "omopgenerics_export.csv").read_bytes()


def test_import_of_omopgenerics_file_then_export_gives_the_same_bytes(tmp_path):
    imported = import_summarised_result(DATA / "omopgenerics_export.csv")
    assert imported == suppress(bind(vignette_results()), 5)
    assert [r.estimate_value for r in imported] == [5.0, 55.0]
    assert imported.settings_for(2) == {
        "result_type": "overall_analysis", "package_name": "PatientProfiles", "package_version": "1.0.0",
        "group": "", "strata": "", "additional": "", "min_cell_count": "5", "study": "my_characterisation_study"}
    again = export_summarised_result(imported, tmp_path / "again.csv")
    assert again.read_bytes() == (DATA / "omopgenerics_export.csv").read_bytes()


def test_import_reads_the_older_readr_shape():
    imported = import_summarised_result(DATA / "omopgenerics_0x_readr_export.csv")
    assert [r.estimate_value for r in imported] == [12, None, None, 45.3333333333333]
    assert [r.variable_level for r in imported] == [None] * 4
    assert imported.settings_for(1)["min_cell_count"] == "5"
    assert imported.settings_for(1)["package_name"] == "CohortCharacteristics"


def test_round_trip_is_lossless(tmp_path):
    original = every_kind_of_value()
    path = export_summarised_result(original, tmp_path / "results.csv", min_cell_count=0)
    back = import_summarised_result(path)
    assert back == original
    for before, after in zip(original, back):
        assert type(before.estimate_value) is type(after.estimate_value), before.estimate_name
    negative_zero = next(r for r in back if r.estimate_name == "negative_zero").estimate_value
    assert math.copysign(1.0, negative_zero) == -1.0


def test_round_trip_of_a_suppressed_result(tmp_path):
    original = SummarisedResult.from_rows(
        [*result_rows(cdm_name="synthea", variable_name="sex", variable_level="Female",
                      estimates={"count": 3, "percentage": 7.5}),
         *result_rows(cdm_name="synthea", variable_name="sex", variable_level="Male",
                      estimates={"count": 37, "percentage": 92.5})],
        {1: {"result_type": "summarise_characteristics"}})
    back = import_summarised_result(export_summarised_result(original, tmp_path / "r.csv", min_cell_count=5))
    assert back == suppress(original, 5)
    assert [r.estimate_value for r in back] == [SUPPRESSED, SUPPRESSED, 37, 92.5]
    text = (tmp_path / "r.csv").read_text()
    assert '"count","integer","-"' in text and '"min_cell_count","character","5"' in text


def test_export_suppresses_by_default(tmp_path):
    result = SummarisedResult.from_rows(result_rows(cdm_name="x", variable_name="v", estimates={"count": 2}),
                                        {1: {"result_type": "t"}})
    back = import_summarised_result(export_summarised_result(result, tmp_path / "r.csv"))
    assert back.rows[0].estimate_value is SUPPRESSED


def test_export_is_deterministic(tmp_path):
    first = export_summarised_result(every_kind_of_value(), tmp_path / "a.csv").read_bytes()
    second = export_summarised_result(every_kind_of_value(), tmp_path / "b.csv").read_bytes()
    assert first == second
    assert str(dt.date.today()).encode() not in first


def test_settings_rows_repeat_per_cdm_name_when_a_result_spans_several(tmp_path):
    rows = [*result_rows(cdm_name="cdm_a", variable_name="v", estimates={"count": 10}),
            *result_rows(cdm_name="cdm_b", variable_name="v", estimates={"count": 20})]
    result = SummarisedResult.from_rows(rows, {1: {"result_type": "t"}})
    lines = export_summarised_result(result, tmp_path / "r.csv").read_text().splitlines()
    settings_lines = [line for line in lines if '"settings"' in line]
    assert settings_lines[:2] == [
        '"1","cdm_a","overall","overall","overall","overall","settings",NA,"result_type","character","t","overall","overall"',
        '"1","cdm_b","overall","overall","overall","overall","settings",NA,"result_type","character","t","overall","overall"']
    assert import_summarised_result(tmp_path / "r.csv") == suppress(result, 5)


def test_export_renumbers_like_omopgenerics_bind(tmp_path):
    result = SummarisedResult.from_rows(result_rows(cdm_name="x", result_id=7, variable_name="v",
                                                    estimates={"mean": 1.0}), {7: {"result_type": "t"}})
    back = import_summarised_result(export_summarised_result(result, tmp_path / "r.csv"))
    assert back.result_ids == (1,)


def test_import_of_a_folder_binds_its_files(tmp_path):
    a, b = vignette_results()
    export_summarised_result(a, tmp_path / "a.csv")
    export_summarised_result(b, tmp_path / "b.csv")
    assert import_summarised_result(tmp_path) == suppress(bind(a, b), 5)


def test_import_reports_bad_files_with_line_numbers(tmp_path):
    good = (DATA / "omopgenerics_export.csv").read_text().splitlines()
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([good[0], good[1].replace('"numeric","5"', '"numeric","five"'),
                              good[2].replace('"my_cdm"', "NA")]) + "\n")
    with pytest.raises(ResultError) as info:
        import_summarised_result(bad)
    text = str(info.value)
    assert "line 2: estimate_value of 'count' (numeric)" in text and "line 3: cdm_name must not be NA" in text
    assert isinstance(info.value, OfflabelError)

    wrong_header = tmp_path / "header.csv"
    wrong_header.write_text('"a","b"\n"1","2"\n')
    with pytest.raises(ResultError, match="does not have the summarised_result columns"):
        import_summarised_result(wrong_header)

    broken = tmp_path / "broken.csv"
    broken.write_text(good[0] + '\n"1,"unterminated\n')
    with pytest.raises(ResultError, match="line 2"):
        import_summarised_result(broken)

    with pytest.raises(ResultError, match="no such file"):
        import_summarised_result(tmp_path / "absent.csv")


def test_export_needs_a_file_path_in_an_existing_folder(tmp_path):
    result = vignette_results()[0]
    with pytest.raises(OutputError, match="is a folder"):
        export_summarised_result(result, tmp_path)
    with pytest.raises(OutputError, match="does not exist"):
        export_summarised_result(result, tmp_path / "missing" / "results.csv")
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_csv_reader_tells_na_from_quoted_text():
    records = read_csv_text('"a",NA,"NA","",,b\r\n"multi\nline","x""y"\n')
    assert records == [(1, ["a", None, "NA", "", None, "b"]), (2, ["multi\nline", 'x"y'])]
    with pytest.raises(CsvFormatError, match="line 1"):
        read_csv_text('"a"b\n')


def test_fast_and_line_aware_readers_agree():
    text = '"a","b","c"\r\n"x",NA,"NA"\n,"y""z","multi\nline"\n\n"","2",NA\n'
    assert read_csv(text) == [fields for _, fields in read_csv_text(text)]
    assert [line for line, _ in read_csv_text(text)] == [1, 2, 3, 6]


def test_import_names_the_line_of_a_short_record(tmp_path):
    lines = (DATA / "omopgenerics_export.csv").read_text().splitlines()
    short = tmp_path / "short.csv"
    short.write_text("\n".join([lines[0], lines[1], lines[2].rsplit(",", 1)[0]]) + "\n")
    with pytest.raises(ResultError, match="line 3: 12 fields, expected 13"):
        import_summarised_result(short)
