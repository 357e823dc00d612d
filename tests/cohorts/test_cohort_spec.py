"""The cohort part of a study file: YAML in, validated, every problem named."""

from __future__ import annotations

import pydantic
import pytest
import yaml

from offlabel.spec.cohorts import AnyOf, CohortDefinition, EventCountRule

LDN_MS = """
name: LDN users with MS
entry: {concept_set: naltrexone, events: first, date_range: {start: 2013-01-01, end: 2013-12-31}}
prior_observation_days: 730
post_observation_days: 730
inclusion:
  - name: MS drugs dispensed in 2009-2010
    any_of:
      - {concept_set: ms_drugs, min_count: 2, calendar_window: {start: 2009-01-01, end: 2010-12-31}}
      - {concept_set: ms_only_drugs, min_count: 1, calendar_window: {start: 2009-01-01, end: 2010-12-31}}
exit: {type: end_of_observation}
"""


def test_the_ldn_ms_cohort_reads_and_round_trips():
    definition = CohortDefinition.model_validate(yaml.safe_load(LDN_MS))
    rule = definition.inclusion[0]
    assert isinstance(rule, AnyOf) and all(isinstance(r, EventCountRule) for r in rule.any_of)
    assert definition.concept_set_names() == {"naltrexone", "ms_drugs", "ms_only_drugs"}
    assert definition.censor_at_death and definition.exit.type == "end_of_observation"
    for dumped in (definition.model_dump(mode="json"), definition.model_dump(mode="json", exclude_none=True)):
        assert CohortDefinition.model_validate(yaml.safe_load(yaml.safe_dump(dumped))) == definition
    assert rule.label() == "MS drugs dispensed in 2009-2010"
    assert rule.any_of[0].label() == ">= 2 records of 'ms_drugs' from 2009-01-01 to 2010-12-31"


@pytest.mark.parametrize("fields, problem", [
    ({"entry": {"concept_set": "x", "date_range": {"start": "2014-01-01", "end": "2013-01-01"}}}, "is after end"),
    ({"entry": {"concept_set": "x"}, "inclusion": [{"concept_set": "y", "window": {"start": 5, "end": -5}}]},
     "window start 5 is after window end -5"),
    ({"entry": {"concept_set": "x"}, "inclusion": [{"concept_set": "y", "min_count": 3, "max_count": 1}]},
     "min_count 3 is larger than max_count 1"),
    ({"entry": {"concept_set": "x"}, "inclusion": [{"concept_set": "y", "min_count": 0}]}, "lets everyone through"),
    ({"entry": {"concept_set": "x"}, "exit": {"type": "fixed_days", "days": -1}}, "greater than or equal to 0"),
    ({"entry": {"concept_set": "x"}, "exit": {"type": "drug_eras"}}, "drug_era"),
    ({"entry": {"concept_set": "x"}, "prior_observation": 365}, "prior_observation"),
    ({"entry": {"concept_set": "x"}, "inclusion": [{"any_of": []}]}, "at least 1 item"),
])
def test_invalid_definitions_say_what_is_wrong(fields, problem):
    with pytest.raises(pydantic.ValidationError, match=problem):
        CohortDefinition.model_validate(fields)


def test_a_mistake_in_a_rule_is_one_error():
    with pytest.raises(pydantic.ValidationError) as info:
        CohortDefinition.model_validate({"entry": {"concept_set": "x"}, "inclusion": [
            {"concept_set": "y", "min_count": 3, "max_count": 1}, {"any_of": [{"concept_set": "z", "windw": {}}]}]})
    assert [e["loc"] for e in info.value.errors()] == [
        ("inclusion", 0, "EventCountRule"), ("inclusion", 1, "AnyOf", "any_of", 0, "EventCountRule", "windw")]


def test_every_field_is_documented():
    from offlabel.spec import cohorts

    for model in (cohorts.CohortDefinition, cohorts.CohortEntry, cohorts.EventCountRule, cohorts.AnyOf,
                  cohorts.AllOf, cohorts.DrugEraExit, cohorts.FixedDaysExit, cohorts.EventEndExit,
                  cohorts.RelativeWindow, cohorts.CalendarWindow, cohorts.DateRange):
        for name, field in model.model_fields.items():
            assert name == "type" or field.description, f"{model.__name__}.{name} has no docstring"
