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


class _StudyPeriod(_Analysis):
    """An analysis limited to a calendar period (start_date to end_date, both included)."""

    start_date: dt.date | None = None
    """First day counted (default: no limit)."""
    end_date: dt.date | None = None
    """Last day counted (default: no limit)."""

    @model_validator(mode="after")
    def _dates_in_order(self):
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError(f"start_date {self.start_date} is after end_date {self.end_date}")
        return self


class CdmSnapshotSettings(_Analysis):
    """What the CDM holds: persons, observation time, date range, vocabulary version
    (as CDMConnector's `snapshot()`)."""

    type: Literal["cdm_snapshot"]


class CodeUseSettings(_StudyPeriod):
    """How often each concept set's concepts are recorded: records and persons per concept,
    overall and by calendar year (as CodelistGenerator's `summariseCodeUse()`)."""

    type: Literal["code_use"]
    concept_sets: list[str] = Field(default_factory=list)
    """Names of the study's concept sets to count (default: all of them)."""
    by_year: bool = True
    """Also count by calendar year of the record's start date."""
    by_concept: bool = True
    """Also count each standard concept of the set, not only the set as a whole."""


class CohortAttritionSettings(_Analysis):
    """Who entered each cohort and who left at each step, with the reason (as CohortCharacteristics'
    `summariseCohortAttrition()`)."""

    type: Literal["cohort_attrition"]
    cohorts: list[str] = Field(default_factory=list)
    """Names of the study's cohorts (default: all of them)."""


class BeforeAfterSettings(_Analysis):
    """Before/after dispensing study (Raknes & Småbrekke 2017): for the persons of a cohort whose
    index is the first dispensing of a study drug, the cumulative DDD of each drug group in the
    `lookback_days` before and the `followup_days` from index, by stratum of study-drug collections
    in follow-up; the within-stratum change (paired) and its difference from the reference stratum
    (difference in differences), with 95% confidence intervals.

    Windows, in days relative to index (day 0, the first study-drug dispensing): before is
    [-lookback_days, -1]; after is [0, followup_days - 1], so the index day counts as after
    (the two windows tile time with no gap and have the same length; a drug dispensed on the
    day LDN is started belongs to the regimen chosen with it). A dispensing is placed by its
    start date; its DDD is quantity x strength / WHO DDD of its ingredient (drug_strength), so
    supply running past a window edge is not split. Persons without observation over both
    windows are left out (with a warning)."""

    type: Literal["before_after"]
    cohort: str
    """Name of the study cohort; its (first) cohort_start_date per person is the index date."""
    study_drug: str
    """Concept set of the study drug (e.g. naltrexone); its dispensings in follow-up, index included,
    are the collections that define the strata."""
    drug_groups: list[str] = Field(min_length=1)
    """Concept sets whose dispensed DDD are compared before and after index, one table each."""
    lookback_days: int = Field(730, ge=1)
    """Length of the window before index, days (index day excluded)."""
    followup_days: int = Field(730, ge=1)
    """Length of the window from index, days (index day included)."""
    strata: list[tuple[int, int | None]] = Field(default_factory=lambda: [(1, 1), (2, 3), (4, None)])
    """Strata of study-drug collections in follow-up, as [min, max] (max null: no upper limit)."""
    reference_stratum: int = Field(0, ge=0)
    """Position (from 0) in `strata` of the reference stratum of the difference in differences
    (default: the first, persons who collected once)."""
    change_threshold_percent: float = Field(10.0, gt=0, lt=100)
    """Users with DDD before and after are "kept" when the change is within +-this percent,
    else "reduced" or "increased"; "stopped" (before > 0, after 0) and "started" (0, then > 0)."""

    @model_validator(mode="after")
    def _strata_valid(self):
        problems = []
        for i, (lo, hi) in enumerate(self.strata):
            if lo < 0 or (hi is not None and hi < lo):
                problems.append(f"strata[{i}] = [{lo}, {hi}] is not a range of collection counts (0 <= min <= max)")
        bounds = sorted((lo, float("inf") if hi is None else hi) for lo, hi in self.strata)
        for (lo1, hi1), (lo2, _) in zip(bounds, bounds[1:]):
            if lo2 <= hi1:
                problems.append(f"strata overlap: {lo1}-{hi1} and {lo2}-")
        if len(self.strata) < 2:
            problems.append("give at least two strata (one is the reference)")
        if self.reference_stratum >= len(self.strata):
            problems.append(f"reference_stratum {self.reference_stratum} is not a position in strata (0-{len(self.strata) - 1})")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class IncidenceSettings(_StudyPeriod):
    """New users of a drug per calendar month and year, per 100,000 person-years with exact
    Poisson CIs (as IncidencePrevalence's `estimateIncidence()`): the calendar trend of use."""

    type: Literal["incidence"]
    drug: str
    """Concept set of the drug whose new use is counted (its drug_exposure records)."""
    population: str | None = None
    """A study cohort whose person-time is the denominator (default: everyone in observation)."""
    intervals: list[Literal["months", "years", "overall"]] = Field(default_factory=lambda: ["months", "years"])
    """Calendar periods to count in."""
    washout_days: int | None = Field(None, ge=0)
    """Days without the drug before a use counts as new; leave out for 'first use ever'."""
    by_sex: bool = False
    """Also count women and men separately."""


AnalysisSettings = Annotated[
    Union[CdmSnapshotSettings, CodeUseSettings, CohortAttritionSettings, BeforeAfterSettings, IncidenceSettings],
    Field(discriminator="type"),
]
