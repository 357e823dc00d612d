"""Settings of the analyses a study can run: one model per design, told apart by `type`.

A new design adds its settings model here (or in a module of its own imported here) and
to `AnalysisSettings`; `offlabel.analyses.REGISTRY` maps the same `type` to its verb.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from offlabel.spec.base import SpecModel


class _Analysis(SpecModel):
    id: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]*$")
    """A short name for this analysis in results and the report (default: its type). Must be unique."""

    @property
    def analysis_id(self) -> str:
        return self.id or self.type  # type: ignore[attr-defined]


class CdmSnapshotSettings(_Analysis):
    """What the CDM holds: persons, observation time, date range, vocabulary version
    (as CDMConnector's `snapshot()`)."""

    type: Literal["cdm_snapshot"]


class CodeUseSettings(_Analysis):
    """How often each concept set's concepts are recorded: records and persons per concept,
    overall and by calendar year (as CodelistGenerator's `summariseCodeUse()`)."""

    type: Literal["code_use"]
    concept_sets: list[str] = Field(default_factory=list)
    """Names of the study's concept sets to count (default: all of them)."""
    by_year: bool = True
    """Also count by calendar year of the record's start date."""
    by_concept: bool = True
    """Also count each standard concept of the set, not only the set as a whole."""
    start_date: dt.date | None = None
    """Count only records starting on or after this date."""
    end_date: dt.date | None = None
    """Count only records starting on or before this date."""

    @model_validator(mode="after")
    def _dates_in_order(self):
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError(f"start_date {self.start_date} is after end_date {self.end_date}")
        return self


class CohortAttritionSettings(_Analysis):
    """Who entered each cohort and who left at each step, with the reason (as CohortCharacteristics'
    `summariseCohortAttrition()`)."""

    type: Literal["cohort_attrition"]
    cohorts: list[str] = Field(default_factory=list)
    """Names of the study's cohorts (default: all of them)."""


AnalysisSettings = Annotated[
    Union[CdmSnapshotSettings, CodeUseSettings, CohortAttritionSettings],
    Field(discriminator="type"),
]
