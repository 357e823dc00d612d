"""The synthetic world and study of the SCCS planted-truth test and coverage benchmark.

The world plants, after each person's first LDN collection (day 0), IRR 2.0 for insomnia, 1.8 for
nausea and 1.0 for headache and toxic liver disease in days 1-30 (synth EffectsConfig defaults;
synth/events.py acute_records: extra events at (IRR - 1) x the person's own rate). So that a small
world holds enough events in a 30-day window, it raises LDN start rates 300-fold (about 3,800
starters in 30,000 persons) and every acute-condition rate 40-fold (toxic liver disease, the
rarest, from 0.4 to 16 per 1,000 person-years: about 10 events expected in the window). Nothing
else changes: no age, season or calendar effect is planted within persons.

The study is the flagship's SCCS (src/offlabel/studies/ldn_ms.yaml) with the exposure restricted
to the three LDN products (the flagship's naltrexone concept set also holds the 50 mg tablet,
whose first use would move day 0).
"""

from __future__ import annotations

from pathlib import Path

from offlabel.synth.config import WorldConfig

PERSONS = 30_000
OUTCOMES = {"insomnia": "insomnia", "nausea": "nausea", "headache": "headache", "toxic_liver_disease": "liver_injury"}

STUDY = """
spec_version: 1
name: sccs_planted
min_cell_count: 5
seed: 2013
concept_sets:
  ldn: [{concept_id: 2000000203}, {concept_id: 2000000207}, {concept_id: 2000000208}]
  insomnia: [{vocabulary: SNOMED, code: "193462001", include_descendants: true}]
  nausea: [{vocabulary: SNOMED, code: "422587007", include_descendants: true}]
  headache: [{vocabulary: SNOMED, code: "25064002", include_descendants: true}]
  toxic_liver_disease: [{vocabulary: SNOMED, code: "197354009", include_descendants: true}]
analyses:
  - type: sccs
    id: adjusted
    exposure: ldn
    first_exposure_only: true
    outcomes: [insomnia, nausea, headache, toxic_liver_disease]
    risk_windows: [{start: 1, end: 30}, {start: 31, end: 90}]
    pre_exposure_window: {start: -30, end: -1}
    day_zero_window: true
    age: {groups: [30, 40, 50, 60, 70]}
    season: {by: quarter}
    min_age_years: 18
  - type: sccs
    id: unadjusted
    exposure: ldn
    first_exposure_only: true
    outcomes: [insomnia, nausea, headache, toxic_liver_disease]
    risk_windows: [{start: 1, end: 30}, {start: 31, end: 90}]
    min_age_years: 18
"""


def world_config() -> WorldConfig:
    d = WorldConfig().model_dump(mode="json")
    for key in ("other_start_rate_per_month", "pain_start_rate_per_month", "ms_start_rate_per_month"):
        d["ldn"][key] *= 300
    d["conditions"]["rate_multiplier"] = 40.0
    return WorldConfig.model_validate(d)


def write_study(folder: Path) -> Path:
    path = Path(folder) / "sccs_planted.yaml"
    path.write_text(STUDY)
    return path
