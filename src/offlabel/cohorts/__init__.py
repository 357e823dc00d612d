"""Cohorts in the database: entry events, observation, inclusion rules, exit, eras, attrition.

`build_cohort(cdm, definition, concept_sets)` turns a `CohortDefinition` (offlabel.spec.cohorts)
into a materialised OMOP cohort table with its attrition; `definition_from_circe` imports ATLAS
cohort JSON and `build_circe_cohort` runs Circe's own SQL (needs the `duckcdm` package).
"""

from offlabel.cohorts.build import Cohort, build_cohort, cohort_hash, cohort_stages
from offlabel.cohorts.circe import build_circe_cohort, definition_from_circe
from offlabel.cohorts.eras import collapse, drug_eras, drug_eras_of_sets

__all__ = ["Cohort", "build_cohort", "build_circe_cohort", "cohort_hash", "cohort_stages", "collapse",
           "definition_from_circe", "drug_eras", "drug_eras_of_sets"]
