"""BeforeAfterSettings: defaults, validation, YAML round trip, and the study file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from offlabel.spec.analyses import AnalysisSettings, BeforeAfterSettings

ADAPTER = TypeAdapter(AnalysisSettings)
MINIMAL = {"type": "before_after", "cohort": "ldn_ms_2013", "study_drug": "naltrexone", "drug_groups": ["opioids"]}


def test_defaults_follow_raknes():
    s = ADAPTER.validate_python(MINIMAL)
    assert isinstance(s, BeforeAfterSettings)
    assert (s.lookback_days, s.followup_days) == (730, 730)
    assert s.strata == [(1, 1), (2, 3), (4, None)]
    assert s.reference_stratum == 0 and s.change_threshold_percent == 10.0
    assert s.analysis_id == "before_after"


def test_yaml_round_trip_is_lossless():
    s = ADAPTER.validate_python({**MINIMAL, "strata": [[1, 1], [2, None]], "lookback_days": 365})
    again = ADAPTER.validate_python(yaml.safe_load(yaml.safe_dump(s.model_dump(mode="json"))))
    assert again == s


@pytest.mark.parametrize("bad, words", [
    ({"strata": [[1, 2], [2, None]]}, "overlap"),
    ({"strata": [[3, 1], [4, None]]}, "not a range"),
    ({"strata": [[1, None]]}, "at least two"),
    ({"reference_stratum": 3}, "reference_stratum"),
    ({"drug_groups": []}, "drug_groups"),
    ({"lookback_days": 0}, "lookback_days"),
])
def test_invalid_settings_are_explained(bad, words):
    with pytest.raises(ValidationError, match=words):
        ADAPTER.validate_python({**MINIMAL, **bad})


def test_flagship_study_runs_a_before_after_analysis():
    from offlabel.spec import load_study

    study = load_study(Path(__file__).resolve().parents[2] / "studies" / "ldn_ms.yaml")
    found = [a for a in study.analyses if a.type == "before_after"]
    assert found and found[0].cohort in study.cohorts
    assert {found[0].study_drug, *found[0].drug_groups} <= set(study.concept_sets)
