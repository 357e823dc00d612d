"""A tiny hand-made CDM v5.4 for the safety designs; every expected number in the tests is worked
out by hand from the rows below (2020 is a leap year).

Drug 1001 (tolerability): five new users, index 2020-01-01, observed 2019-01-01 to 2021-12-31
unless said otherwise, gap 30 days:
  1: 01-01..01-30, 02-10..03-10 (stop_reason "nausea"), 06-01..06-30      era to 03-10: day 69, restart +83
  2: 01-01..03-30 (stop_reason "" = none); observation ends 2020-03-30    censored at day 89
  3: four 90-day supplies to 12-31 ("lack of efficacy"), plus 11-01..12-31 ("adverse event"): day 365
  4: 01-01..01-30 (no reason)                                             day 29
  5: 2020-01-01..2020-12-31, 2021-01-05..2021-12-31: one era to the end  censored at day 730

Drug 1002 (adverse events): persons 11 and 12, index 2020-01-01.
  11: observed 2019-01-01..2020-12-31; 1002 on 01-01..03-30 and 06-01..06-30;
      outcome A (condition 2001): 2019-06-01, 2020-01-01, 2020-01-15 (twice), 04-15, 06-15, 09-01;
      outcome B (observation 2002): 2020-02-01
  12: observed 2020-01-01..2020-05-31; 1002 on 01-01..01-30;
      outcome A: 2020-01-10, 03-01; outcome B: 2020-06-15 (after observation)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from offlabel.synth.writer import DuckDBWriter, to_arrow

D = dt.date.fromisoformat
TOLERABILITY_DRUG, AE_DRUG, OUTCOME_A, OUTCOME_B = 1001, 1002, 2001, 2002

OBSERVATION = {1: ("2019-01-01", "2021-12-31"), 2: ("2019-01-01", "2020-03-30"), 3: ("2019-01-01", "2021-12-31"),
               4: ("2019-01-01", "2021-12-31"), 5: ("2019-01-01", "2021-12-31"),
               11: ("2019-01-01", "2020-12-31"), 12: ("2020-01-01", "2020-05-31")}
# person, drug, start, end, stop_reason
EXPOSURES = [
    (1, 1001, "2020-01-01", "2020-01-30", None), (1, 1001, "2020-02-10", "2020-03-10", "nausea"),
    (1, 1001, "2020-06-01", "2020-06-30", None),
    (2, 1001, "2020-01-01", "2020-03-30", ""),
    (3, 1001, "2020-01-01", "2020-03-30", None), (3, 1001, "2020-04-01", "2020-06-29", None),
    (3, 1001, "2020-07-01", "2020-09-28", None), (3, 1001, "2020-10-01", "2020-12-31", "lack of efficacy"),
    (3, 1001, "2020-11-01", "2020-12-31", "adverse event"),
    (4, 1001, "2020-01-01", "2020-01-30", None),
    (5, 1001, "2020-01-01", "2020-12-31", None), (5, 1001, "2021-01-05", "2021-12-31", None),
    (11, 1002, "2020-01-01", "2020-03-30", None), (11, 1002, "2020-06-01", "2020-06-30", None),
    (12, 1002, "2020-01-01", "2020-01-30", None),
]
CONDITIONS = [(11, d) for d in ("2019-06-01", "2020-01-01", "2020-01-15", "2020-01-15", "2020-04-15", "2020-06-15",
                                "2020-09-01")] + [(12, "2020-01-10"), (12, "2020-03-01")]
OBSERVATIONS = [(11, "2020-02-01"), (12, "2020-06-15")]
CONCEPTS = [(1001, "drug one", "Drug", "RxNorm"), (1002, "drug two", "Drug", "RxNorm"),
            (2001, "outcome A", "Condition", "SNOMED"), (2002, "outcome B", "Observation", "SNOMED")]


def build(path: Path) -> Path:
    w = DuckDBWriter(path)
    persons = sorted(OBSERVATION)
    w.write("person", to_arrow("person", dict(person_id=persons, gender_concept_id=[8532] * len(persons),
                                              year_of_birth=[1970] * len(persons), race_concept_id=[0] * len(persons),
                                              ethnicity_concept_id=[0] * len(persons))))
    w.write("observation_period", to_arrow("observation_period", dict(
        observation_period_id=persons, person_id=persons,
        observation_period_start_date=[D(OBSERVATION[p][0]) for p in persons],
        observation_period_end_date=[D(OBSERVATION[p][1]) for p in persons], period_type_concept_id=[32880] * len(persons))))
    w.write("drug_exposure", to_arrow("drug_exposure", dict(
        drug_exposure_id=list(range(1, len(EXPOSURES) + 1)), person_id=[e[0] for e in EXPOSURES],
        drug_concept_id=[e[1] for e in EXPOSURES], drug_exposure_start_date=[D(e[2]) for e in EXPOSURES],
        drug_exposure_end_date=[D(e[3]) for e in EXPOSURES], drug_type_concept_id=[32869] * len(EXPOSURES),
        stop_reason=pa.array([e[4] for e in EXPOSURES], pa.string()))))
    w.write("condition_occurrence", to_arrow("condition_occurrence", dict(
        condition_occurrence_id=list(range(1, len(CONDITIONS) + 1)), person_id=[c[0] for c in CONDITIONS],
        condition_concept_id=[OUTCOME_A] * len(CONDITIONS), condition_start_date=[D(c[1]) for c in CONDITIONS],
        condition_type_concept_id=[32817] * len(CONDITIONS))))
    w.write("observation", to_arrow("observation", dict(
        observation_id=[1, 2], person_id=[o[0] for o in OBSERVATIONS], observation_concept_id=[OUTCOME_B] * 2,
        observation_date=[D(o[1]) for o in OBSERVATIONS], observation_type_concept_id=[32817] * 2)))
    w.write("concept", to_arrow("concept", dict(
        concept_id=[c[0] for c in CONCEPTS], concept_name=[c[1] for c in CONCEPTS], domain_id=[c[2] for c in CONCEPTS],
        vocabulary_id=[c[3] for c in CONCEPTS], concept_class_id=["Clinical Drug", "Clinical Drug", "Clinical Finding",
                                                                   "Clinical Finding"],
        standard_concept=["S"] * 4, concept_code=[str(c[0]) for c in CONCEPTS],
        valid_start_date=[D("1970-01-01")] * 4, valid_end_date=[D("2099-12-31")] * 4)))
    w.write("concept_ancestor", to_arrow("concept_ancestor", dict(
        ancestor_concept_id=[c[0] for c in CONCEPTS], descendant_concept_id=[c[0] for c in CONCEPTS],
        min_levels_of_separation=[0] * 4, max_levels_of_separation=[0] * 4)))
    w.write("cdm_source", to_arrow("cdm_source", dict(
        cdm_source_name=["tiny safety"], cdm_source_abbreviation=["tiny"], cdm_holder=["offlabel tests"],
        source_release_date=[D("2024-01-01")], cdm_release_date=[D("2024-01-01")], cdm_version=["v5.4"],
        cdm_version_concept_id=[756265], vocabulary_version=["tiny"])))
    w.close()
    return path


STUDY = """
spec_version: 1
name: tiny_safety
min_cell_count: {min_cell_count}
concept_sets:
  drug_one: [{{concept_id: 1001}}]
  drug_two: [{{concept_id: 1002}}]
  outcome_a: [{{concept_id: 2001}}]
  outcome_b: [{{concept_id: 2002}}]
cohorts:
  new_users_one:
    entry: {{concept_set: drug_one, events: first_ever}}
  new_users_two:
    entry: {{concept_set: drug_two, events: first_ever}}
analyses:
{analyses}
"""


def study_text(analyses: str, min_cell_count: int = 1) -> str:
    return STUDY.format(min_cell_count=min_cell_count, analyses=analyses)
