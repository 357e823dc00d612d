"""The same definition gives the same members and attrition on DuckDB and PostgreSQL."""

from __future__ import annotations

import offlabel
from offlabel.cohorts import build_cohort
from offlabel.spec.cohorts import CohortDefinition
from tests.cohorts.helpers import EUNOMIA, rows

# Every kind of step at once: all events in a date range, observation both sides, a relative
# exclusion, an any_of with a calendar window and distinct days, a drug-era exit, merging.
DEFINITION = CohortDefinition.model_validate({
    "entry": {"concept_set": "acetaminophen", "events": "all", "date_range": {"start": "1995-01-01"}},
    "prior_observation_days": 365, "post_observation_days": 30,
    "inclusion": [
        {"concept_set": "gi_bleed", "min_count": 0, "max_count": 0, "window": {"start": -3650, "end": -1}},
        {"any_of": [{"concept_set": "acetaminophen", "min_count": 3, "distinct_days": True,
                     "calendar_window": {"start": "1990-01-01", "end": "2005-12-31"}},
                    {"concept_set": "acetaminophen", "min_count": 2, "window": {"start": -730, "end": 0}}]},
    ],
    "exit": {"type": "drug_era", "gap_days": 30, "offset_days": 7},
    "collapse_days": 7,
})


def test_identical_members_and_attrition_on_both_backends(eunomia_path, eunomia_postgres, tmp_path):
    results = {}
    for backend, address in (("duckdb", eunomia_path), ("postgres", eunomia_postgres)):
        with offlabel.connect(address, scratch=tmp_path / "scratch.duckdb") as cdm:
            cohort = build_cohort(cdm, DEFINITION, EUNOMIA, reuse=False)
            results[backend] = (rows(cohort.table), cohort.attrition.to_dict("records"))
    duck, pg = results["duckdb"], results["postgres"]
    assert len(duck[0]) > 100
    assert duck[0] == pg[0]
    assert duck[1] == pg[1]
