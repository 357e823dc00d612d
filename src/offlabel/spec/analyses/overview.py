"""Settings of the analyses that describe the CDM and the study's codes and cohorts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from offlabel.spec.analyses.base import (
    AnalysisBase,
    CohortName,
    ConceptSetName,
    StudyPeriod,
)


class CdmSnapshotSettings(AnalysisBase):
    """What the CDM holds: persons, observation time, date range, vocabulary version
    (as CDMConnector's `snapshot()`)."""

    type: Literal["cdm_snapshot"]


class CodeUseSettings(StudyPeriod):
    """How often each concept set's concepts are recorded: records and persons per concept,
    overall and by calendar year (as CodelistGenerator's `summariseCodeUse()`)."""

    type: Literal["code_use"]
    concept_sets: list[ConceptSetName] = Field(default_factory=list)
    """Names of the study's concept sets to count (default: all of them)."""
    by_year: bool = True
    """Also count by calendar year of the record's start date."""
    by_concept: bool = True
    """Also count each standard concept of the set, not only the set as a whole."""


class CohortAttritionSettings(AnalysisBase):
    """Who entered each cohort and who left at each step, with the reason (as CohortCharacteristics'
    `summariseCohortAttrition()`)."""

    type: Literal["cohort_attrition"]
    cohorts: list[CohortName] = Field(default_factory=list)
    """Names of the study's cohorts (default: all of them)."""
