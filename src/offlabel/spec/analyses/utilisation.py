"""Settings of the drug utilisation analyses (as DARWIN EU's DrugUtilisation and IncidencePrevalence)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from offlabel.spec.analyses.base import (
    AnalysisBase,
    CohortName,
    ConceptSetName,
    StudyPeriod,
)


class IncidenceSettings(StudyPeriod):
    """New users of a drug per calendar month and year, per 100,000 person-years with exact
    Poisson CIs (as IncidencePrevalence's `estimateIncidence()`): the calendar trend of use."""

    type: Literal["incidence"]
    drug: ConceptSetName
    """Concept set of the drug whose new use is counted (its drug_exposure records)."""
    population: CohortName | None = None
    """A study cohort whose person-time is the denominator (default: everyone in observation)."""
    intervals: list[Literal["months", "years", "overall"]] = Field(default_factory=lambda: ["months", "years"])
    """Calendar periods to count in."""
    washout_days: int | None = Field(None, ge=0)
    """Days without the drug before a use counts as new; leave out for 'first use ever'."""
    by_sex: bool = False
    """Also count women and men separately."""


class DoseSettings(AnalysisBase):
    """Daily dose of a drug's exposures, in mg (or its ingredient's unit) and in WHO DDDs (as
    DrugUtilisation's `summariseDoseCoverage()`), overall, by unit and by product: the dose
    distribution. Daily dose = quantity x strength / days (DRUG_STRENGTH; days_supply, else the
    exposure's length), per ingredient; DDD = daily dose / the WHO DDD of the ingredient's ATC code."""

    type: Literal["dose"]
    drug: ConceptSetName
    """Concept set whose drug_exposure records are described (e.g. low_dose_naltrexone)."""
    cohort: CohortName | None = None
    """Only exposures of this cohort's persons that start within one of their cohort entries (default: all)."""


class PersistenceSettings(AnalysisBase):
    """Persistence: Kaplan-Meier time from index to discontinuation of the drug (as DrugUtilisation /
    CohortSurvival), with a 95% pointwise CI (Greenwood, log scale). Treatment episodes are drug eras of
    the drug's records (gapEra semantics, `gap_days`); the era holding the index date is followed and
    ends treatment on its last day; persons are censored at the end of observation or of follow-up.
    Secondary suppression: the curve is reported only at grid times where each drop since the last
    reported time comes from at least min_cell_count discontinuations, and events and censorings
    between risk-table times are suppressed together."""

    type: Literal["persistence"]
    cohort: CohortName
    """The index cohort: each person's first cohort_start_date is day 0."""
    drug: ConceptSetName
    """Concept set of the treatment whose eras are followed (e.g. the one the cohort enters on)."""
    gap_days: int = Field(30, ge=0)
    """Persistence gap, days: records at most this many days apart (end to next start) are one era."""
    follow_up_days: int = Field(730, ge=1)
    """Everyone is censored this many days after index."""
    estimate_gap_days: int = Field(7, ge=1)
    """The curve is reported every this many days."""
    risk_table_days: list[int] = Field(default_factory=lambda: [0, 90, 180, 365, 545, 730])
    """Days at which the number still treated and followed (at risk) is reported."""


class PrevalenceSettings(StudyPeriod):
    """Prevalence of use of a drug by calendar month and year (as IncidencePrevalence's
    `estimatePeriodPrevalence()` / `estimatePointPrevalence()`), with exact binomial 95% CIs:
    the share of persons in the population who use it in the period (or on its first day)."""

    type: Literal["prevalence"]
    drug: ConceptSetName
    """Concept set of the drug; a person uses it from an exposure's start to its end."""
    population: CohortName | None = None
    """A study cohort whose members (while in it) are the denominator (default: everyone in observation)."""
    prevalence_type: Literal["period", "point"] = "period"
    """period: use on any day of the period; point: use on its first day."""
    intervals: list[Literal["months", "years", "overall"]] = Field(default_factory=lambda: ["years"])
    """Calendar periods to count in."""
    by_sex: bool = False
    """Also count women and men separately."""


class ProportionCoveredSettings(AnalysisBase):
    """Proportion of patients covered (PPC) by day since index (as DrugUtilisation's
    `summariseProportionOfPatientsCovered()`): of the persons of a cohort still in observation on day d
    after their index date, the percentage in a drug era (with `gap_days`) of the drug on day d, with
    Wilson 95% CIs."""

    type: Literal["proportion_of_patients_covered"]
    cohort: CohortName
    """The index cohort: each person's first cohort_start_date is day 0."""
    drug: ConceptSetName
    """Concept set of the treatment whose eras cover days."""
    gap_days: int = Field(0, ge=0)
    """Days between records bridged into one era (0: covered only while supplied)."""
    follow_up_days: int = Field(730, ge=1)
    """Last day after index that is counted."""


class AddOnSwitchSettings(AnalysisBase):
    """Add-on and switching after index (DrugUtilisation's `summariseTreatment()` ideas): for each
    person of the cohort, whether another treatment starts within `window` days of index while the
    index drug's era still runs (add-on) or after it ended (switch), else whether the index treatment
    continued or was discontinued through the window. Persons not observed through the window are
    counted apart. A single small category among the four would follow by subtraction from the number
    of persons, so then the next smallest is suppressed too."""

    type: Literal["add_on_switch"]
    cohort: CohortName
    """The index cohort: each person's first cohort_start_date is day 0."""
    drug: ConceptSetName
    """Concept set of the index treatment; its era holding the index date (with `gap_days`) is followed."""
    treatments: list[ConceptSetName] = Field(min_length=1)
    """Concept sets of the other treatments looked for (their eras, with `gap_days`)."""
    gap_days: int = Field(30, ge=0)
    """Persistence gap of the eras, days."""
    window: tuple[int, int] = (1, 180)
    """First and last day after index (both included) in which a start counts as a change."""

    @model_validator(mode="after")
    def _window_valid(self):
        if self.window[0] < 0 or self.window[1] < self.window[0]:
            raise ValueError(f"window must be [first, last] days after index with 0 <= first <= last, got {list(self.window)}")
        return self
