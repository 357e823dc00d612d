"""Settings of the safety designs: tolerability (discontinuation) and adverse-event rates on and off treatment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from offlabel.spec.analyses.base import AnalysisBase, CohortName, ConceptSetName
from offlabel.spec.cohorts import RelativeWindow


class TolerabilitySettings(AnalysisBase):
    """Tolerability of a drug in its new users (as Turel et al. 2015 read it from charts): how many
    discontinue within 3, 6 and 12 months, and why, where the CDM records it.

    The person's first cohort entry is the index date. Treatment episodes are drug eras of `drug`
    (records less than `gap_days` + 1 days apart join, DrugUtilisation's `gapEra`); the era that
    covers the index date is followed. Discontinuation is that era's last day when the person is
    still observed after it; otherwise the person is censored at the end of the observation period
    (which ends at death). Reported: the Kaplan-Meier cumulative discontinuation 1 - S(t) with a
    95% CI (log scale, as R's survfit), the crude share among persons observed at least t days, the
    reasons (drug_exposure.stop_reason of the era's last record), and optionally restarts."""

    type: Literal["tolerability"]
    cohort: CohortName
    """Cohort of new users of the drug; the first cohort_start_date per person is the index date."""
    drug: ConceptSetName
    """Concept set of the drug whose eras are the treatment episodes."""
    gap_days: int = Field(30, ge=0)
    """Persistence gap, days: a record starting at most this many days after the era's end so far
    continues the era (LDN is dispensed as 90-day supplies; the flagship uses 90)."""
    times_days: list[int] = Field(default_factory=lambda: [91, 182, 365], min_length=1)
    """Days from index at which the share discontinued is reported (3, 6 and 12 months)."""
    curve_step_days: int | None = Field(7, ge=1)
    """Spacing, days, of the points of the cumulative discontinuation curve up to the last of
    `times_days` (none: no curve)."""
    restart_window_days: int | None = Field(None, ge=1)
    """If given: of those who discontinued, how many started a new era of the drug within this many
    days after the era's end (others observed that long did not; the rest are censored)."""

    @field_validator("times_days")
    @classmethod
    def _distinct_positive(cls, value: list[int]) -> list[int]:
        if any(t < 1 for t in value):
            raise ValueError(f"times_days must be whole days >= 1, got {value}")
        if len(set(value)) < len(value):
            raise ValueError(f"times_days has repeated days: {value}")
        return sorted(value)


class AdverseEventSettings(AnalysisBase):
    """Adverse events of a drug in its new users: incidence rates per 1,000 person-years on and off
    treatment (and optionally in the year before index), with exact Poisson 95% CIs, and the rate
    ratio on vs off treatment with its exact (conditional binomial) 95% CI and p-value, as R's
    `poisson.test`.

    From the index date (the first cohort_start_date) to the end of follow-up (the end of the
    observation period holding the index date, or `follow_up_days`), a day is on treatment when it
    lies in a drug era of `drug` (gap `gap_days`) or within `grace_days` after one, and off treatment
    otherwise; with a `risk_window`, only on-treatment days inside it count (early effects are
    diluted over long eras) and the other on-treatment days belong to no period. An event is a day
    with a record of the outcome's concept set (any domain; several records on one day count once),
    placed in the period holding its day. Person-time is summed as whole days in the database."""

    type: Literal["adverse_events"]
    cohort: CohortName
    """Cohort of new users of the drug; the first cohort_start_date per person is the index date."""
    drug: ConceptSetName
    """Concept set of the drug whose eras are the time on treatment."""
    outcomes: list[ConceptSetName] = Field(min_length=1)
    """Concept sets of the adverse events, one rate table each (any domain)."""
    gap_days: int = Field(30, ge=0)
    """Persistence gap of the drug eras, days (as in `tolerability`)."""
    grace_days: int = Field(0, ge=0)
    """Days after the end of each era still counted as on treatment (an effect outlasting supply)."""
    risk_window: RelativeWindow | None = None
    """If given, only on-treatment days in this window relative to index count as on treatment, e.g.
    {start: 1, end: 30} for effects early in treatment (day 0 is the index date)."""
    before_days: int | None = Field(None, ge=1)
    """If given, the days [-before_days, -1] before index (within observation) form a third period,
    before treatment, compared with on treatment too."""
    follow_up_days: int | None = Field(None, ge=1)
    """End follow-up this many days after index (days 0 to follow_up_days - 1); default: the end of
    the observation period."""
    events: Literal["all", "first"] = "all"
    """all: every day with the outcome counts; first: only each person's first outcome day from the
    start of the first period, after which the person stops contributing time (persons with the
    outcome in the `washout_days` before that start are left out)."""
    washout_days: int | None = Field(365, ge=0)
    """With events: first, the outcome-free look-back in days before the first period (none: no
    outcome record at any time before it)."""

    @model_validator(mode="after")
    def _consistent(self):
        if self.risk_window is not None and self.risk_window.end is not None and self.risk_window.end < 0:
            raise ValueError(f"risk_window ends before index (end {self.risk_window.end}): on-treatment "
                             "time starts on the index date (day 0)")
        if len(set(self.outcomes)) < len(self.outcomes):
            raise ValueError(f"outcomes has repeated concept sets: {self.outcomes}")
        return self
