"""Minimum cell count suppression (omopgenerics suppress(), plus offlabel's stricter rules)."""

from __future__ import annotations

import warnings

import pytest

from offlabel.results import SUPPRESSED, ResultError, SummarisedResult, is_count, result_rows, suppress

SETTINGS = {1: {"result_type": "summarise_characteristics", "package_name": "offlabel", "package_version": "0.1.0"}}


def build(*row_groups, settings=SETTINGS) -> SummarisedResult:
    return SummarisedResult.from_rows([r for rows in row_groups for r in rows], settings)


def rows(variable_name, estimates, strata=None, variable_level=None, **kwargs):
    return result_rows(cdm_name="synthea", group={"cohort_name": "ldn_users"}, strata=strata,
                       variable_name=variable_name, variable_level=variable_level, estimates=estimates, **kwargs)


def values(result, **where) -> list:
    return [r.estimate_value for r in result.filter(**where)]


@pytest.fixture()
def characteristics() -> SummarisedResult:
    return build(
        rows("number subjects", {"count": 40}),
        rows("sex", {"count": 3, "percentage": 7.5}, variable_level="Female"),
        rows("sex", {"count": 37, "percentage": 92.5}, variable_level="Male"),
        rows("prior MS relapse", {"count": 0, "percentage": 0.0}),
        rows("age", {"mean": 44.2, "sd": 12.0}),
    )


def test_small_count_is_suppressed_with_its_percentage(characteristics):
    out = suppress(characteristics, min_cell_count=5)
    assert values(out, variable_level="Female") == [SUPPRESSED, SUPPRESSED]
    assert values(out, variable_level="Male") == [37, 92.5]
    assert values(out, variable_name="age") == [44.2, 12.0]


def test_zero_is_not_suppressed(characteristics):
    out = suppress(characteristics, min_cell_count=5)
    assert values(out, variable_name="prior MS relapse") == [0, 0.0]


def test_threshold_itself_is_not_suppressed():
    result = build(rows("sex", {"count": 5, "percentage": 12.5}, variable_level="Female"))
    assert values(suppress(result, 5)) == [5, 12.5]
    assert values(suppress(result, 6)) == [SUPPRESSED, SUPPRESSED]


def test_threshold_is_recorded_in_settings(characteristics):
    assert characteristics.settings_for(1)["min_cell_count"] == "0"
    assert suppress(characteristics, 10).settings_for(1)["min_cell_count"] == "10"
    assert suppress(characteristics, 1).settings_for(1)["min_cell_count"] == "0"  # as omopgenerics


def test_suppress_is_idempotent_and_also_a_method(characteristics):
    once = suppress(characteristics, 5)
    assert suppress(once, 5) == once
    assert characteristics.suppress(5) == once
    assert characteristics.suppress() == once  # default min_cell_count is 5


def test_a_higher_previous_threshold_is_kept_with_a_warning(characteristics):
    strict = suppress(characteristics, 10)
    with pytest.warns(UserWarning, match="higher min_cell_count"):
        lenient = suppress(strict, 5)
    assert lenient == strict
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert suppress(strict, 10) == strict


def test_group_is_suppressed_when_number_subjects_is_small():
    result = build(
        rows("number subjects", {"count": 40}),
        rows("age", {"mean": 44.2}),
        rows("number subjects", {"count": 3}, strata={"sex": "Female"}),
        rows("number records", {"count": 9}, strata={"sex": "Female"}),  # a count >= 5, still about 3 people
        rows("age", {"mean": 51.0, "sd": 4.0}, strata={"sex": "Female"}),
        rows("most common drug", {"name": "naltrexone"}, strata={"sex": "Female"}),
        rows("number subjects", {"count": 37}, strata={"sex": "Male"}),
        rows("age", {"mean": 43.6}, strata={"sex": "Male"}),
    )
    out = suppress(result, 5)
    female = [r.estimate_value for r in out if r.strata_level == "Female"]
    assert female == [SUPPRESSED] * 5
    assert [r.estimate_value for r in out if r.strata_level != "Female"] == [40, 44.2, 37, 43.6]


def test_group_count_variable_matches_case_and_underscores():
    result = build(rows("Number_Records", {"count": 2}), rows("age", {"mean": 50.0}))
    assert values(suppress(result, 5)) == [SUPPRESSED, SUPPRESSED]


def test_other_groups_and_results_are_untouched():
    settings = {1: {"result_type": "a"}, 2: {"result_type": "b"}}
    result = build(rows("number subjects", {"count": 2}), rows("number subjects", {"count": 2}, result_id=2),
                   result_rows(cdm_name="other_cdm", group={"cohort_name": "ldn_users"},
                               variable_name="number subjects", estimates={"count": 50}), settings=settings)
    out = suppress(result, 5)
    assert [r.estimate_value for r in out] == [SUPPRESSED, 50, SUPPRESSED]


@pytest.mark.parametrize("name", ["count", "outcome_count", "count_of_individuals", "n", "n_events",
                                  "number_events", "num_persons", "exposed_n", "number"])
def test_count_like_names_are_counts(name):
    assert is_count(name, "integer") and is_count(name, "numeric")
    result = build(rows("exposure", {name: 2, "mean_days": 30.0}))
    assert values(suppress(result, 5)) == [SUPPRESSED, SUPPRESSED]


@pytest.mark.parametrize("name, estimate_type", [("mean", "numeric"), ("min", "integer"), ("median", "integer"),
                                                 ("count", "percentage"), ("count", "character"),
                                                 ("person_years", "numeric"), ("density", "numeric")])
def test_other_estimates_are_not_counts(name, estimate_type):
    assert not is_count(name, estimate_type)


def test_small_non_count_values_are_kept():
    result = build(rows("age", {"min": 2, "mean": 3.5, "percentage": 1.0}))
    assert values(suppress(result, 5)) == [2, 3.5, 1.0]


def test_missing_and_nan_counts_are_left_alone():
    result = build(rows("x", {"count": None}, estimate_types={"count": "integer"}),
                   rows("y", {"count": float("nan")}))
    out = suppress(result, 5)
    assert out.rows[0].estimate_value is None
    assert out.rows[1].estimate_value != out.rows[1].estimate_value


def test_result_ids_that_differ_only_by_threshold_are_merged():
    a = build(rows("number subjects", {"count": 40})).suppress(5)
    b = build(rows("age", {"mean": 44.0}))
    from offlabel.results import bind

    bound = bind(a, b)
    assert bound.result_ids == (1, 2)
    merged = suppress(bound, 5)
    assert merged.result_ids == (1,) and len(merged) == 2


@pytest.mark.parametrize("bad", [-1, 2.5, "5", True, None])
def test_min_cell_count_must_be_a_whole_number(bad, characteristics):
    with pytest.raises(ResultError, match="min_cell_count must be a whole number"):
        suppress(characteristics, bad)
