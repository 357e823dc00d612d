"""The lab_safety settings: defaults, intervals and the mistakes they catch."""

from __future__ import annotations

import itertools

import pytest
from pydantic import ValidationError

from offlabel.spec.analyses.labs import LabSafetySettings, month_day


def settings(**kw):
    return LabSafetySettings.model_validate({"type": "lab_safety", "cohort": "c", "labs": [{"concept_set": "alt"}], **kw})


def test_default_intervals():
    s = settings()
    intervals = s.intervals()
    assert [label for label, _ in intervals] == ["0-6 months", "6-12 months"] + [f"{y}-{y + 1} years" for y in range(1, 10)]
    assert [days for _, days in intervals][:3] == [(1, 183), (184, 365), (366, 731)]
    assert intervals[-1] == ("9-10 years", (3288, 3653))
    # intervals tile days 1 .. 3653 without gaps
    days = [d for _, d in intervals]
    assert all(b + 1 == a for (_, b), (a, _) in itertools.pairwise(days))
    assert month_day(6) == 183 and month_day(12) == 365 and month_day(120) == 3653
    assert s.baseline_window == (-180, 0) and s.baseline_value == "closest" and s.interval_value == "last"


def test_custom_intervals():
    assert settings(intervals_days=[[1, 90], [91, 365]]).intervals() == [("days 1-90", (1, 90)),
                                                                         ("days 91-365", (91, 365))]
    assert settings(intervals_months=[[0, 3], [3, 24]]).intervals()[1] == ("3-24 months", (92, 731))


@pytest.mark.parametrize("kw, message", [
    ({"baseline_window": [-180, 7]}, "must end on or before the index day"),
    ({"baseline_window": [0, -10]}, "starts after it ends"),
    ({"intervals_days": [[0, 90]]}, "must start after the baseline window"),
    ({"intervals_days": [[1, 90], [60, 120]]}, "intervals overlap"),
    ({"intervals_days": [[1, 9]], "intervals_months": [[0, 6]]}, "not both"),
    ({"intervals_months": [[6, 6]]}, "not a range of months"),
    ({"comparison_cohort": "c"}, "comparison_cohort is the study cohort"),
    ({"labs": [{"concept_set": "alt"}, {"concept_set": "alt"}]}, "may appear once"),
    ({"labs": [{"concept_set": "alt", "analyte": "glucose"}]}, "has no conversions"),
    ({"labs": [{"concept_set": "alt", "uln_multiples": [0]}]}, "must be > 0"),
    ({"labs": [{"concept_set": "alt", "reference_ranges": [{"low": 5, "high": 1}]}]}, "is above high"),
    ({"labs": [{"concept_set": "alt", "reference_ranges": [{"high": 1}, {"high": 2}]}]}, "one reference range per sex"),
    ({"labs": [{"concept_set": "alt", "units": "U/L"}]}, "Extra inputs"),
])
def test_mistakes(kw, message):
    with pytest.raises(ValidationError, match=message):
        settings(**kw)


def test_the_study_file_cross_checks_names(tmp_path):
    from offlabel.errors import SpecError
    from offlabel.spec import load_study

    study = tmp_path / "s.yaml"
    study.write_text("spec_version: 1\nname: s\nconcept_sets:\n  d: [{concept_id: 1}]\ncohorts:\n"
                     "  c: {entry: {concept_set: d}}\nanalyses:\n  - type: lab_safety\n    cohort: c\n"
                     "    comparison_cohort: nope\n    labs: [{concept_set: alt}]\n")
    with pytest.raises(SpecError) as e:
        load_study(study)
    text = str(e.value)
    assert "analyses[0].comparison_cohort: no cohort named 'nope'" in text
    assert "analyses[0].labs[0].concept_set: no concept set named 'alt'" in text
