"""SummarisedResult: construction, validation, bind, filter, tidy."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from offlabel.errors import OfflabelError
from offlabel.results import (
    RESULT_COLUMNS, SUPPRESSED, ResultError, ResultRow, SummarisedResult, bind, result_rows,
)

SETTINGS = {1: {"result_type": "summarise_characteristics", "package_name": "offlabel", "package_version": "0.1.0"}}


def row(**changes) -> dict:
    base = dict(result_id=1, cdm_name="synthea", group_name="cohort_name", group_level="ldn_users",
                strata_name="overall", strata_level="overall", variable_name="number subjects",
                variable_level=None, estimate_name="count", estimate_type="integer", estimate_value=12,
                additional_name="overall", additional_level="overall")
    return base | changes


def test_result_rows_infers_estimate_types_and_unites_pairs():
    rows = result_rows(cdm_name="synthea", group={"cohort_name": "ldn_users"},
                       strata={"sex": "Female", "age_group": "18 to 64"}, variable_name="age",
                       estimates={"count": 12, "mean": 43.5, "percentage": 25.0, "any": True,
                                  "first": dt.date(2020, 1, 31), "label": "x", "missing": None},
                       estimate_types={"missing": "numeric"})
    types = {r.estimate_name: r.estimate_type for r in rows}
    assert types == {"count": "integer", "mean": "numeric", "percentage": "percentage", "any": "logical",
                     "first": "date", "label": "character", "missing": "numeric"}
    first = rows[0]
    assert (first.strata_name, first.strata_level) == ("sex &&& age_group", "Female &&& 18 to 64")
    assert (first.group_name, first.group_level) == ("cohort_name", "ldn_users")
    assert (first.additional_name, first.additional_level) == ("overall", "overall")
    assert isinstance(first, ResultRow) and first._fields == RESULT_COLUMNS


def test_result_rows_reports_values_it_cannot_type():
    with pytest.raises(ResultError) as info:
        result_rows(cdm_name="x", variable_name="v", estimates={"a": None, "b": object()},
                    estimate_types={"c": "integer"})
    assert len(info.value.problems) == 3


def test_values_are_typed_and_numpy_scalars_become_python():
    rows = [row(estimate_value=np.int64(7)), row(estimate_name="mean", estimate_type="numeric",
                                                 estimate_value=np.float32(2.5)),
            row(estimate_name="sd", estimate_type="numeric", estimate_value=3)]
    result = SummarisedResult.from_rows(rows, SETTINGS)
    values = [r.estimate_value for r in result]
    assert values == [7, 2.5, 3.0]
    assert [type(v) for v in values] == [int, float, float]


def test_settings_are_completed_as_omopgenerics_does():
    result = SummarisedResult.from_rows(
        [row(strata_name="sex", strata_level="Female")],
        {1: {"result_type": "t", "washout_days": 365, "restrict_to_first": True, "note": None}})
    assert result.settings_for(1) == {
        "result_type": "t", "package_name": "", "package_version": "", "group": "cohort_name",
        "strata": "sex", "additional": "", "min_cell_count": "0", "restrict_to_first": "TRUE",
        "washout_days": "365"}
    frame = result.settings
    assert list(frame.columns) == ["result_id", "result_type", "package_name", "package_version", "group",
                                   "strata", "additional", "min_cell_count", "restrict_to_first", "washout_days"]
    assert frame["result_id"].tolist() == [1]


def test_settings_may_be_records_or_a_frame():
    as_records = SummarisedResult.from_rows([row()], [{"result_id": 1, "result_type": "t"}])
    as_frame = SummarisedResult.from_rows([row()], as_records.settings)
    assert as_records == as_frame


def test_rows_are_ordered_by_result_id_stably():
    settings = {1: {"result_type": "a"}, 2: {"result_type": "b"}}
    result = SummarisedResult.from_rows(
        [row(result_id=2, estimate_value=1), row(result_id=1, estimate_value=2),
         row(result_id=2, variable_name="age", estimate_name="mean", estimate_type="numeric", estimate_value=3.0)],
        settings)
    assert [(r.result_id, r.estimate_value) for r in result] == [(1, 2), (2, 1), (2, 3.0)]


def test_validation_reports_every_problem_at_once():
    rows = [
        {k: v for k, v in row().items() if k != "cdm_name"},                   # missing column
        row(estimate_type="count"),                                             # not an estimate_type
        row(variable_name="age", estimate_value="12"),                          # text for an integer
        row(variable_name="sex", strata_name="sex &&& age_group", strata_level="Female"),  # pair mismatch
        row(result_id=2),                                                       # no settings
        row(variable_name="settings"),                                          # reserved
        row(variable_name="label", estimate_type="character", estimate_value="-"),  # reserved text
        row(), row(),                                                           # duplicated estimate
    ]
    with pytest.raises(ResultError) as info:
        SummarisedResult.from_rows(rows, SETTINGS)
    text = str(info.value)
    for needle in ("missing columns ['cdm_name']", "'count' is not one of", "must be an int",
                   "2 part(s) but level 'Female' has 1", "result_id 2 is in the rows but not in settings",
                   '"settings" is reserved', '"-" is reserved', "duplicates the estimate"):
        assert needle in text, needle
    assert isinstance(info.value, OfflabelError) and info.value.exit_code == 2


def test_each_result_id_needs_distinct_settings():
    with pytest.raises(ResultError, match="same settings as result_id 1"):
        SummarisedResult.from_rows([row(), row(result_id=2)], {1: {"result_type": "a"}, 2: {"result_type": "a"}})


def test_a_name_cannot_be_both_group_and_strata():
    with pytest.raises(ResultError, match="present in both group and strata"):
        SummarisedResult.from_rows([row(strata_name="cohort_name", strata_level="x")], SETTINGS)


def test_bind_renumbers_result_ids_like_omopgenerics():
    a = SummarisedResult.from_rows([row(estimate_value=10)], {1: {"result_type": "a"}})
    b = SummarisedResult.from_rows([row(estimate_value=20), row(result_id=2, variable_name="age",
                                                                 estimate_value=30)],
                                   {1: {"result_type": "b"}, 2: {"result_type": "a"}})
    bound = bind(a, b)
    # distinct settings numbered in order of first appearance; "a" appears twice: merged into 1
    assert [bound.settings_for(i)["result_type"] for i in bound.result_ids] == ["a", "b"]
    assert [(r.result_id, r.estimate_value) for r in bound] == [(1, 10), (1, 30), (2, 20)]


def test_bind_merging_identical_results_keeps_rows_once():
    a = SummarisedResult.from_rows([row()], SETTINGS)
    assert bind(a, a) == a
    assert bind([a, None]) == a


def test_bind_refuses_two_values_for_one_estimate():
    a = SummarisedResult.from_rows([row(estimate_value=10)], SETTINGS)
    b = SummarisedResult.from_rows([row(estimate_value=11)], SETTINGS)
    with pytest.raises(ResultError, match="duplicates the estimate"):
        bind(a, b)


def test_filter_on_columns_lists_and_settings():
    result = SummarisedResult.from_rows(
        [row(), row(variable_name="age", estimate_name="mean", estimate_type="numeric", estimate_value=40.0),
         row(result_id=2, variable_name="age", estimate_name="sd", estimate_type="numeric", estimate_value=9.0)],
        {1: {"result_type": "a"}, 2: {"result_type": "b"}})
    assert [r.estimate_name for r in result.filter(variable_name="age")] == ["mean", "sd"]
    assert [r.estimate_name for r in result.filter(estimate_name=["count", "sd"])] == ["count", "sd"]
    assert [r.estimate_name for r in result.filter(result_type="b")] == ["sd"]
    assert len(result.filter(lambda r: r.estimate_type == "numeric", result_type="a")) == 1
    assert result.filter(result_type="b").result_ids == (1, 2)  # settings kept whole
    with pytest.raises(ResultError, match="neither a result column nor a setting"):
        result.filter(colour="red")


def test_tidy_splits_pairs_pivots_estimates_and_joins_settings():
    rows = [*result_rows(cdm_name="synthea", group={"cohort_name": "ldn"}, variable_name="number subjects",
                         estimates={"count": 40}),
            *result_rows(cdm_name="synthea", group={"cohort_name": "ldn"}, strata={"sex": "Female"},
                         variable_name="age", estimates={"mean": 44.5, "sd": 10.0}),
            *result_rows(cdm_name="synthea", group={"cohort_name": "ldn"}, strata={"sex": "Male"},
                         variable_name="age", estimates={"mean": 47.0, "sd": SUPPRESSED},
                         estimate_types={"sd": "numeric"})]
    tidy = SummarisedResult.from_rows(rows, {1: {"result_type": "t", "study": "ldn_ms"}}).tidy()
    assert list(tidy.columns) == ["cdm_name", "cohort_name", "sex", "variable_name", "variable_level",
                                  "count", "mean", "sd", "study"]
    assert tidy["sex"].tolist() == ["overall", "Female", "Male"]
    assert tidy["count"].tolist()[0] == 40
    assert tidy["mean"].tolist()[1:] == [44.5, 47.0]
    assert tidy["sd"].tolist()[2] is SUPPRESSED
    assert set(tidy["study"]) == {"ldn_ms"}


def test_to_frame_keeps_missing_apart_from_nan():
    result = SummarisedResult.from_rows(
        [row(estimate_name="mean", estimate_type="numeric", estimate_value=float("nan")),
         row(estimate_name="sd", estimate_type="numeric", estimate_value=None)], SETTINGS)
    values = result.to_frame()["estimate_value"].tolist()
    assert np.isnan(values[0]) and values[1] is None
    assert result == SummarisedResult.from_rows(list(result), SETTINGS)  # NaN equals NaN here


def test_empty_result():
    empty = SummarisedResult.empty({1: {"result_type": "t"}})
    assert len(empty) == 0 and empty.settings_for(1)["group"] == ""
