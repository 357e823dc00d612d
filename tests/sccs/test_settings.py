"""The sccs settings: defaults, window names, and every inconsistency reported with its path."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from offlabel.spec.analyses.sccs import SccsSettings

BASE = {"type": "sccs", "exposure": "ldn", "outcomes": ["insomnia"], "risk_windows": [{"start": 1, "end": 30}]}


def test_defaults_follow_selfcontrolledcaseseries():
    s = SccsSettings.model_validate(BASE)
    assert s.era_gap_days == 30 and not s.first_exposure_only and not s.first_outcome_only
    assert (s.pre_exposure_window.start, s.pre_exposure_window.end) == (-30, -1)
    assert s.time_covariate_cases == 10_000 and s.end_of_observation_days == 30
    assert s.risk_windows[0].label == "days 1-30"


def test_window_labels():
    s = SccsSettings.model_validate({**BASE, "risk_windows": [
        {"start": 0, "end": 0, "end_anchor": "exposure_end"}, {"start": 1, "end": 30, "name": "first month"}]})
    assert [w.label for w in s.risk_windows] == ["+0 days from exposure start to +0 days from exposure end",
                                                 "first month"]


@pytest.mark.parametrize("change,message", [
    ({"risk_windows": [{"start": 1, "end": 30}, {"start": 20, "end": 60}]}, "overlap"),
    ({"risk_windows": [{"start": 0, "end": 30}], "day_zero_window": True}, "day 0 is in risk window"),
    ({"risk_windows": [{"start": -10, "end": 30}]}, "overlaps the pre-exposure window"),
    ({"risk_windows": [{"start": 30, "end": 1}]}, "is before start"),
    ({"pre_exposure_window": {"start": -30, "end": 0}}, "less than or equal to -1"),
    ({"age": {"groups": [40, 30]}}, "ascending"),
    ({"age": {}}, "either groups"),
    ({"age": {"groups": [30], "spline_knots": 4}}, "either groups"),
    ({"min_age_years": 60, "max_age_years": 50}, "below min_age_years"),
    ({"outcomes": ["insomnia", "insomnia"]}, "listed twice"),
    ({"risk_windows": []}, "at least 1"),
    ({"season": {"by": "week"}}, "month"),
])
def test_problems_are_reported(change, message):
    with pytest.raises(ValidationError, match=message):
        SccsSettings.model_validate({**BASE, **change})
