"""The study file: strict models, every problem at once with its YAML path, lossless YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from offlabel.errors import SpecError
from offlabel.spec import Study, load_study, parse_study, study_to_yaml
from offlabel.spec.docs import reference

GOOD = """
spec_version: 1
name: ldn_test
concept_sets:
  naltrexone:
    - {vocabulary: ATC, code: N07BB04}
  ms:
    - {vocabulary: ICD10, code: G35}
    - {concept_id: 374919, include_descendants: true}
analyses:
  - type: cdm_snapshot
  - type: code_use
    concept_sets: [naltrexone, ms]
    start_date: 2009-01-01
"""


def test_valid_study_parses_into_frozen_models():
    study = parse_study(GOOD)
    assert study.min_cell_count == 5
    assert study.concept_sets["ms"][1].include_descendants is True
    assert study.analyses[1].concept_sets == ["naltrexone", "ms"]
    with pytest.raises(Exception):
        study.name = "other"


def test_yaml_round_trip_is_lossless_and_hash_is_stable():
    study = parse_study(GOOD)
    again = parse_study(study_to_yaml(study))
    assert again == study
    assert again.spec_hash == study.spec_hash
    assert parse_study(GOOD.replace("2009-01-01", "2010-01-01")).spec_hash != study.spec_hash


def test_every_problem_is_reported_at_once_with_its_path():
    bad = """
spec_version: 1
name: x
min_cell_count: -5
concept_sets:
  a: [{vocabulary: ATC}]
analyses:
  - type: cdm_snapshot
  - type: code_use
    concept_sets: [a, nope]
    by_year: maybe
    colour: blue
  - type: code_use
    start_date: 2012-01-01
    end_date: 2011-01-01
  - type: washout
"""
    with pytest.raises(SpecError) as info:
        parse_study(bad)
    problems = info.value.problems
    assert "min_cell_count: must be >= 1, got -5" in problems
    assert "concept_sets.a[0]: give either vocabulary and code, or concept_id (exactly one of them)" in problems
    assert any(p.startswith("analyses[1].by_year:") for p in problems)
    assert "analyses[1].colour: unknown field (remove it, or check its spelling)" in problems
    assert any(p.startswith("analyses[1].concept_sets[1]: no concept set named 'nope'") for p in problems)
    assert any(p.startswith("analyses[2]: start_date 2012-01-01 is after end_date") for p in problems)
    assert any(p.startswith("analyses[2].id: 'code_use' is already used") for p in problems)
    assert any(p.startswith("analyses[3]: unknown analysis type 'washout'") for p in problems)
    assert len(problems) == 8


@pytest.mark.parametrize("text, words", [
    ("name: [unclosed", "not valid YAML at line 1"),
    ("- just\n- a list", "must be a YAML mapping"),
    ("spec_version: 1\nname: x\nanalyses: []", "analyses: must have at least 1 item"),
    ("spec_version: 1\nanalyses: [{type: cdm_snapshot}]", "name: is required"),
])
def test_malformed_files(text, words):
    with pytest.raises(SpecError, match=words):
        parse_study(text)


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        load_study(tmp_path / "nope.yaml")


def test_reference_page_is_current():
    page = Path(__file__).resolve().parents[1] / "docs" / "study-file.md"
    assert page.read_text() == reference(), "docs/study-file.md is stale: run `make docs`"
    for field in Study.model_fields:
        assert f"`{field}`" in page.read_text()


def test_cohorts_are_checked_against_the_concept_sets():
    text = GOOD + """
cohorts:
  ldn_users:
    entry: {concept_set: naltrexone, date_range: {start: 2013-01-01, end: 2013-12-31}}
    prior_observation_days: 730
    inclusion:
      - name: MS drugs in 2009-2010
        any_of:
          - {concept_set: ms_drugs, min_count: 2, calendar_window: {start: 2009-01-01, end: 2010-12-31}}
          - {concept_set: ms, min_count: 1, window: {start: -3650, end: -1}, colour: red}
"""
    with pytest.raises(SpecError) as info:
        parse_study(text)
    problems = info.value.problems
    assert any(p.startswith("cohorts.ldn_users: uses concept set 'ms_drugs'") for p in problems)
    assert any(p.startswith("cohorts.ldn_users.inclusion[0].any_of[1].colour: unknown field") for p in problems), problems
    assert len(problems) == 2, problems


def test_analyses_name_existing_concept_sets_and_cohorts():
    text = GOOD + """  - type: incidence
    drug: ldn
    population: ms_patients
"""
    with pytest.raises(SpecError) as info:
        parse_study(text)
    assert info.value.problems == [
        "analyses[2].drug: no concept set named 'ldn' (defined: ms, naltrexone)",
        "analyses[2].population: no cohort named 'ms_patients' (defined: none)",
    ]
