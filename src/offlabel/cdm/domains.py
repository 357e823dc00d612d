"""The CDM's event tables: where each domain's records live, their concept and date columns."""

from __future__ import annotations

from typing import NamedTuple


class EventTable(NamedTuple):
    table: str
    concept_id: str
    source_concept_id: str
    start_date: str
    end_date: str | None


EVENT_TABLES = {
    "Condition": EventTable("condition_occurrence", "condition_concept_id", "condition_source_concept_id",
                            "condition_start_date", "condition_end_date"),
    "Drug": EventTable("drug_exposure", "drug_concept_id", "drug_source_concept_id",
                       "drug_exposure_start_date", "drug_exposure_end_date"),
    "Procedure": EventTable("procedure_occurrence", "procedure_concept_id", "procedure_source_concept_id",
                            "procedure_date", None),
    "Measurement": EventTable("measurement", "measurement_concept_id", "measurement_source_concept_id",
                              "measurement_date", None),
    "Observation": EventTable("observation", "observation_concept_id", "observation_source_concept_id",
                              "observation_date", None),
    "Device": EventTable("device_exposure", "device_concept_id", "device_source_concept_id",
                         "device_exposure_start_date", "device_exposure_end_date"),
    "Visit": EventTable("visit_occurrence", "visit_concept_id", "visit_source_concept_id",
                        "visit_start_date", "visit_end_date"),
}
