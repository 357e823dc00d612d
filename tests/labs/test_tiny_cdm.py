"""The lab chart review on the tiny hand-made CDM (tests/labs/conftest.py), checked exactly against
answers worked out by hand from its records, on DuckDB and PostgreSQL.

Day 0 is 2020-06-01 for everyone. Baseline: days -180 to 0, the value closest to index; 0-6
months: days 1-183, the last value (one day's values averaged); 6-12 months: days 184-365.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from offlabel.run import run_study

STUDY = Path(__file__).with_name("tiny_study.yaml")
T2 = stats.t.ppf(0.975, 2)
T1 = stats.t.ppf(0.975, 1)


def _run(address: str, out: Path, min_cell_count: int = 1) -> pd.DataFrame:
    study = out.parent / f"study_{min_cell_count}.yaml"
    study.write_text(STUDY.read_text().replace("min_cell_count: 1", f"min_cell_count: {min_cell_count}"))
    assert run_study(str(study), address, out) == 0
    return pd.read_csv(out / "results.csv", dtype=str, keep_default_na=False)


def _values(d: pd.DataFrame, analysis: str) -> dict:
    d = d[(d.variable_name != "settings")]
    out = {}
    for r in d.itertuples():
        if r.result_id != {"labs_observation": "1", "labs_on_drug": "2"}[analysis]:
            continue
        level = None if r.variable_level in ("", "NA") else r.variable_level
        out[(r.group_level, r.strata_level, r.variable_name, level, r.estimate_name)] = r.estimate_value
    return out


@pytest.fixture(scope="module")
def results(tiny_labs_path, tmp_path_factory) -> pd.DataFrame:
    return _run(str(tiny_labs_path), tmp_path_factory.mktemp("labs_tiny") / "out")


@pytest.fixture(scope="module")
def v(results) -> dict:
    return _values(results, "labs_observation")


def num(v: dict, *key) -> float:
    return float(v[key])


def test_units_are_converted_or_reported(v):
    g = "study &&& alt"
    # ALT records of persons 1-5 inside days -180..3653 and their observation, with a value: 11 in
    # U/L, one each in [IU]/L (= U/L for an enzyme), ukat/L (x 60), an unknown unit concept and none.
    assert {u: v[(g, "overall", "records by unit", u, "count")] for u in
            ("U/L", "[IU]/L", "ukat/L", "concept 777", "missing")} == \
        {"U/L": "11", "[IU]/L": "1", "ukat/L": "1", "concept 777": "1", "missing": "1"}
    assert v[(g, "overall", "unit conversion", "ukat/L", "conversion")] == "x 60 to U/L"
    assert v[(g, "overall", "unit conversion", "[IU]/L", "conversion")] == "same unit as U/L"
    assert v[(g, "overall", "unit conversion", "concept 777", "conversion")] == "left out: no conversion to U/L"
    assert v[(g, "overall", "unit conversion", "missing", "conversion")] == "left out: no unit"
    assert v[(g, "overall", "records without a value", None, "count")] == "1"
    # 13 converted records: 10 carry range_high; persons 1 (day 30), 3 (day 60) and 5 (day 20) use the study file's.
    assert [v[(g, "overall", "records by reference range source", s, "count")] for s in
            ("ULN from measurement", "ULN from study file", "no ULN")] == ["10", "3", "0"]
    c = "study &&& creatinine"
    assert v[(c, "overall", "unit conversion", "mg/dL", "conversion")] == "x 88.4 to umol/L"
    assert v[(c, "overall", "unit conversion", "%", "conversion")] == "left out: no conversion to umol/L"
    assert [v[(c, "overall", "records by reference range source", s, "count")] for s in
            ("ULN from measurement", "ULN from study file", "no ULN")] == ["3", "0", "1"]


def test_baseline_is_the_value_closest_to_index(v):
    g, w = "study &&& alt", "baseline"
    # person 1: 30 (day -10, not 20 on day -100); 2: 0.5 ukat/L = 30 U/L on day 0 (not 20 on day -5);
    # 3: only day -200, outside; 4: 50; 5: 8.
    values = [30, 30, 50, 8]
    assert v[(g, w, "persons in follow-up", None, "count")] == "5"
    assert v[(g, w, "number subjects", None, "count")] == "4"
    assert v[(g, w, "number records", None, "count")] == "6"
    assert num(v, g, w, "value", "U/L", "mean") == pytest.approx(sum(values) / 4, rel=1e-15)
    assert num(v, g, w, "value", "U/L", "sd") == pytest.approx(math.sqrt(883 / 3), rel=1e-14)
    # R: quantile(c(8, 30, 30, 50), c(.25, .5, .75)) = 24.5, 30, 35
    assert [num(v, g, w, "value", "U/L", k) for k in ("q25", "median", "q75")] == [24.5, 30, 35]
    # 50 is at person 4's ULN (50), not above it; person 5's 8 is below the record's LLN 10.
    assert [v[(g, w, "above limit", "ULN", k)] for k in ("count", "denominator_count")] == ["0", "4"]
    assert [v[(g, w, "below limit", "LLN", k)] for k in ("count", "denominator_count", "percentage")] == \
        ["1", "4", "25"]


def test_on_treatment_interval_value_change_and_limits(v):
    g, w = "study &&& alt", "0-6 months"
    # last value: person 1 40 (day 90; 150 on day 30), 2: (35 + 45) / 2 = 40 on day 100, 3: 60 (its
    # unknown-unit and unitless records left out), 5: 12 (day 10 has no value); person 4 none.
    assert v[(g, w, "number subjects", None, "count")] == "4"
    assert v[(g, w, "number records", None, "count")] == "6"
    assert num(v, g, w, "value", "U/L", "mean") == (40 + 40 + 60 + 12) / 4
    assert num(v, g, w, "value", "U/L", "sd") == pytest.approx(math.sqrt(1168 / 3), rel=1e-14)
    assert [num(v, g, w, "value", "U/L", k) for k in ("q25", "median", "q75")] == [33, 40, 45]
    # change in persons with both: 1 (30 -> 40), 2 (30 -> 40), 5 (8 -> 12): +10, +10, +4
    assert v[(g, w, "change from baseline", "U/L", "count")] == "3"
    assert num(v, g, w, "change from baseline", "U/L", "mean") == 8
    sd = math.sqrt(12)  # deviations 2, 2, -4
    assert num(v, g, w, "change from baseline", "U/L", "sd") == pytest.approx(sd, rel=1e-14)
    half = T2 * sd / math.sqrt(3)
    assert num(v, g, w, "change from baseline", "U/L", "mean_95CI_lower") == pytest.approx(8 - half, rel=1e-12)
    assert num(v, g, w, "change from baseline", "U/L", "mean_95CI_upper") == pytest.approx(8 + half, rel=1e-12)
    logs = [math.log(40 / 30), math.log(40 / 30), math.log(12 / 8)]
    m = sum(logs) / 3
    s = math.sqrt(sum((x - m) ** 2 for x in logs) / 2)
    assert num(v, g, w, "ratio to baseline", None, "ratio") == pytest.approx(math.exp(m), rel=1e-12)
    assert num(v, g, w, "ratio to baseline", None, "ratio_95CI_lower") == pytest.approx(
        math.exp(m - T2 * s / math.sqrt(3)), rel=1e-12)
    # any value above: person 1's 150 on day 30 (no range on the record: the study file's female ULN 45,
    # and 150 > 3 x 45 = 135, and > 100 U/L), person 3's 60 (female ULN 45); person 2's 45 <= 70.
    assert [v[(g, w, "above limit", "ULN", k)] for k in ("count", "denominator_count", "percentage")] == \
        ["2", "4", "50"]
    assert [v[(g, w, "above limit", "3 x ULN", k)] for k in ("count", "percentage")] == ["1", "25"]
    assert [v[(g, w, "above limit", "100 U/L", k)] for k in ("count", "percentage")] == ["1", "25"]
    assert v[(g, w, "below limit", "LLN", "count")] == "0"


def test_later_intervals_and_follow_up(v):
    g = "study &&& alt"
    # 6-12 months: person 4's 55 (day 200) above its ULN 50; its day-400 value is after its
    # observation ended (day 300), so 1-2 years is empty and person 4 is no longer followed.
    assert v[(g, "6-12 months", "number subjects", None, "count")] == "1"
    assert num(v, g, "6-12 months", "change from baseline", "U/L", "mean") == 5
    assert v[(g, "6-12 months", "change from baseline", "U/L", "mean_95CI_lower")] == "NA"
    assert v[(g, "6-12 months", "above limit", "ULN", "count")] == "1"
    assert v[(g, "1-2 years", "number subjects", None, "count")] == "0"
    assert v[(g, "1-2 years", "persons in follow-up", None, "count")] == "4"
    # follow-up to 2022-12-31 is 943 days: 2-3 years (from day 732) still has 4, 3-4 years (1097) none
    assert v[(g, "2-3 years", "persons in follow-up", None, "count")] == "4"
    assert v[(g, "3-4 years", "persons in follow-up", None, "count")] == "0"


def test_comparison_cohort_side_by_side(v):
    g = "comparison &&& alt"
    assert v[(g, "baseline", "number subjects", None, "count")] == "2"        # persons 6 (22), 7 (30)
    assert num(v, g, "baseline", "value", "U/L", "mean") == 26
    assert num(v, g, "0-6 months", "value", "U/L", "mean") == 30             # 24, and 36 (last of 33, 36)
    assert num(v, g, "0-6 months", "change from baseline", "U/L", "mean") == 4   # +2, +6
    assert num(v, g, "0-6 months", "change from baseline", "U/L", "mean_95CI_upper") == pytest.approx(
        4 + T1 * math.sqrt(8) / math.sqrt(2), rel=1e-12)
    assert v[(g, "6-12 months", "number subjects", None, "count")] == "1"     # person 8, no baseline
    assert v[(g, "6-12 months", "change from baseline", "U/L", "count")] == "0"
    assert v[("comparison &&& creatinine", "baseline", "number subjects", None, "count")] == "0"


def test_creatinine_in_umol_per_litre(v):
    g = "study &&& creatinine"
    # baseline: person 1 1.0 mg/dL = 88.4 umol/L, person 2 80; 0-6 months: 90 and 1.2 mg/dL = 106.08
    assert num(v, g, "baseline", "value", "umol/L", "mean") == pytest.approx((88.4 + 80) / 2, rel=1e-15)
    assert num(v, g, "0-6 months", "change from baseline", "umol/L", "mean") == pytest.approx(
        ((90 - 88.4) + (1.2 * 88.4 - 80)) / 2, rel=1e-14)
    # person 2's baseline has no limits (no range, none in the study file): judged on person 1 only
    assert v[(g, "baseline", "above limit", "ULN", "denominator_count")] == "1"
    # 90 is at person 1's ULN 90; 106.08 is below person 2's converted ULN 1.3 x 88.4 = 114.92
    assert [v[(g, "0-6 months", "above limit", "ULN", k)] for k in ("count", "denominator_count")] == ["0", "2"]


def test_follow_up_to_cohort_exit_and_default_unit(results):
    v = _values(results, "labs_on_drug")
    g, w = "study_on_drug &&& alt_no_unit", "0-6 months"
    # drug eras end on days 59 (person 1), 365 (2), 89 (3), 29 (4, 5): person 1's day-90 value and
    # person 4's day-200 value are off treatment. Last values: 150 (person 1, day 30), 40, 60, 12.
    assert v[(g, w, "number subjects", None, "count")] == "4"
    assert num(v, g, w, "value", "U/L", "mean") == (150 + 40 + 60 + 12) / 4
    assert v[(g, "6-12 months", "number subjects", None, "count")] == "0"
    assert v[(g, "6-12 months", "persons in follow-up", None, "count")] == "1"     # person 2 (to day 365)
    assert v[(g, "1-2 years", "persons in follow-up", None, "count")] == "0"
    settings = results[(results.result_id == "2") & (results.variable_name == "settings")]
    assert dict(zip(settings.estimate_name, settings.estimate_value))["units"] == "alt_no_unit: U/L"


def test_secondary_suppression(tiny_labs_path, tmp_path):
    d = _run(str(tiny_labs_path), tmp_path / "out", min_cell_count=3)
    v = _values(d, "labs_observation")
    g, w = "study &&& alt", "0-6 months"
    assert v[(g, w, "number subjects", None, "count")] == "4"
    # 2 and 1 persons above the limits: their counts, denominators and percentages go together
    for level in ("ULN", "3 x ULN", "100 U/L"):
        assert {v[(g, w, "above limit", level, k)] for k in ("count", "denominator_count", "percentage")} == {"-"}
    # 0 below the LLN is shown: its complement (4 not below) is not small
    assert v[(g, w, "below limit", "LLN", "percentage")] == "0"
    # 5 followed, 4 with a value: the 1 without would be recoverable
    assert v[(g, w, "persons in follow-up", None, "count")] == "-"
    assert v[(g, w, "change from baseline", "U/L", "mean")] == "8"
    # a window of 1 person loses everything; so does the comparison's baseline of 2
    assert {val for k, val in v.items() if k[:2] == (g, "6-12 months")} == {"-"}
    assert {val for k, val in v.items() if k[:2] == ("comparison &&& alt", "baseline")} == {"-"}
    # records by unit: one small count hides all of them (they add up to the windows' records)
    assert {v[(g, "overall", "records by unit", u, "count")] for u in ("U/L", "ukat/L", "[IU]/L")} == {"-"}
    assert v[(g, "overall", "unit conversion", "ukat/L", "conversion")] == "x 60 to U/L"


@pytest.mark.postgres
def test_identical_on_postgres(request, results, tmp_path):
    address = request.getfixturevalue("tiny_labs_postgres")
    produced = _run(address, tmp_path / "out")
    assert produced.to_csv(index=False) == results.to_csv(index=False)


def test_report_section(tiny_labs_path, tmp_path):
    from offlabel.report.render import render_report
    from offlabel.results import import_summarised_result
    from offlabel.spec import load_study

    _run(str(tiny_labs_path), tmp_path / "out", min_cell_count=3)
    html = (tmp_path / "out" / "report.html").read_text()
    section = html[html.index("Lab safety chart review (labs_observation)"):]
    assert "alt (U/L): persons with a value in each interval" in section
    # one group of columns per cohort, side by side
    assert '<th colspan="8" class="group">study</th><th colspan="8" class="group">comparison</th>' in section
    assert "<th>mean change (95% CI)</th>" in section and "<th>&gt; 3 x ULN</th>" in section
    assert section.count("<svg") >= 3  # a trajectory per lab of each analysis
    assert "8.00 (-0.61 to 16.61)" in section  # the ALT change at 0-6 months (8, paired t CI)
    # the report is a function of the results alone: rendering them again gives the same page
    result = import_summarised_result(tmp_path / "out" / "results.csv")
    assert render_report(result, load_study(tmp_path / "study_3.yaml")) == html
