"""Settings of the self-controlled case series (SCCS)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from offlabel.spec.analyses.base import ConceptSetName, StudyPeriod
from offlabel.spec.base import SpecModel

Anchor = Literal["exposure_start", "exposure_end"]


class RiskWindow(SpecModel):
    """A risk window: days [start, end] counted from the exposure's first day (day 0) or its last day."""

    start: int
    """First day of the window, days from `start_anchor` (0 = the anchor day itself)."""
    end: int
    """Last day of the window (included), days from `end_anchor`."""
    start_anchor: Anchor = "exposure_start"
    """What `start` counts from: the exposure's first day or its last day."""
    end_anchor: Anchor = "exposure_start"
    """What `end` counts from (e.g. start 0 from exposure_start, end 0 from exposure_end: the whole exposure)."""
    name: str | None = Field(None, min_length=1)
    """Its name in results (default: "days 1-30", or with the anchors spelt out)."""

    @model_validator(mode="after")
    def _ordered(self):
        if self.start_anchor == self.end_anchor and self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start}) of the risk window")
        return self

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.start_anchor == self.end_anchor == "exposure_start":
            return f"days {self.start}-{self.end}" if self.start >= 0 else f"days {self.start} to {self.end}"
        words = {"exposure_start": "exposure start", "exposure_end": "exposure end"}
        return f"{self.start:+d} days from {words[self.start_anchor]} to {self.end:+d} days from {words[self.end_anchor]}"


class PreExposureWindow(SpecModel):
    """The days just before each exposure starts, e.g. [-30, -1]: a rise in events here means the
    outcome (or what precedes it) changes the chance of exposure, which the SCCS assumes it does not."""

    start: int = Field(-30, le=-1)
    """First day, days before the exposure's first day (negative)."""
    end: int = Field(-1, le=-1)
    """Last day (included), days before the exposure's first day (negative)."""

    @model_validator(mode="after")
    def _ordered(self):
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start}) of the pre-exposure window")
        return self


class AgeAdjustment(SpecModel):
    """Age adjustment: give `groups` (cut points in years) or `spline_knots`, not both."""

    groups: list[int] | None = Field(None, min_length=1)
    """Age groups cut at these ages in whole years, ascending: [30, 50] gives <30, 30-49 and 50+ (time is
    split at the birthdays)."""
    spline_knots: int | None = Field(None, ge=3, le=20)
    """A quadratic B-spline of age with this many knots at quantiles of the age at event, its value taken
    at the start of each calendar month (SelfControlledCaseSeries's age spline)."""

    @model_validator(mode="after")
    def _one(self):
        if (self.groups is None) == (self.spline_knots is None):
            raise ValueError("give either groups (cut points in years) or spline_knots")
        if self.groups is not None and (any(b <= a for a, b in zip(self.groups, self.groups[1:]))
                                        or self.groups[0] < 1):
            raise ValueError(f"age groups must be ascending ages >= 1 year, got {self.groups}")
        return self


class SeasonAdjustment(SpecModel):
    """Season adjustment: by calendar `month` or `quarter`, or a cyclic spline over months."""

    by: Literal["month", "quarter", "spline"] = "month"
    """month: 11 terms against January; quarter: 3 terms against January-March; spline: a cyclic cubic
    spline over the months of the year with `spline_knots` - 1 terms."""
    spline_knots: int = Field(5, ge=3, le=12)
    """Knots of the cyclic spline (only with by: spline)."""


class SccsSettings(StudyPeriod):
    """Self-controlled case series (Farrington 1995; Whitaker et al. 2006; as OHDSI's
    SelfControlledCaseSeries): for each outcome, the persons with it in observation (cases) compare
    its rate in risk windows around exposure with their own rate at other times, by conditional
    Poisson regression, adjusted for age and season if asked. Reports the incidence rate ratio (IRR)
    of each window with its 95% CI, and checks the SCCS assumptions: a pre-exposure window (events
    should not change the chance of exposure), a probe at the end of observation (events should
    not end observation) and the stability of the outcome rate over calendar time.

    Days are whole days, windows include both ends, day 0 is the exposure's first day and belongs
    to a window only if its range includes 0 (SelfControlledCaseSeries's convention) or with
    `day_zero_window`. An exposure's windows end the day before the next exposure starts; a day in
    two windows goes to day 0, then the risk windows in their order, then the pre-exposure window.
    The rest of each case's analysed time is the reference."""

    type: Literal["sccs"]
    exposure: ConceptSetName
    """Concept set of the drug (its drug_exposure records; the records' start and end dates)."""
    era_gap_days: int | None = Field(30, ge=0)
    """Records that overlap or lie at most this many days apart form one exposure era (30: as the CDM's
    DRUG_ERA); null: each record is an exposure of its own."""
    first_exposure_only: bool = False
    """Only each person's first exposure era (ever) has windows; later ones count as reference time."""
    outcomes: list[ConceptSetName] = Field(min_length=1)
    """Concept sets of the outcomes (any domain), each analysed on its own."""
    risk_windows: list[RiskWindow] = Field(min_length=1)
    """Risk windows, e.g. [{start: 1, end: 30}, {start: 31, end: 90}]. Each has start and end (days, both
    included), start_anchor and end_anchor (exposure_start, the default, or exposure_end: what the days count
    from) and an optional name; windows with the same anchors must not overlap."""
    pre_exposure_window: PreExposureWindow | None = PreExposureWindow()
    """The window before exposure, {start: -30, end: -1} (days before the exposure's first day), whose IRR
    checks for event-dependent exposure (null: none)."""
    day_zero_window: bool = False
    """Give the exposure's first day a window of its own (events recorded at the prescribing visit then
    neither raise the first risk window nor count as reference)."""
    age: AgeAdjustment | None = None
    """Adjust for age: {groups: [30, 40, 50, 60]} (cut points in years; time is split at the birthdays) or
    {spline_knots: 5} (a quadratic B-spline, knots at quantiles of the age at event, valued per calendar
    month) (null: no age term)."""
    season: SeasonAdjustment | None = None
    """Adjust for season: {by: month} (11 terms against January), {by: quarter} (3 terms) or {by: spline,
    spline_knots: 5} (a cyclic cubic spline over the months, knots - 1 terms) (null: none)."""
    min_age_years: int | None = Field(None, ge=0)
    """Time before this age (in completed years) is not analysed."""
    max_age_years: int | None = Field(None, ge=0)
    """Time after this age (in completed years) is not analysed."""
    first_outcome_only: bool = False
    """Count only each person's first-ever event (for outcomes that do not recur); a case whose first event
    falls before the analysed time is left out. False: every event (recurrent outcomes)."""
    washout_days: int = Field(0, ge=0)
    """Days at the start of each observation period that are not analysed (naive period); with
    first_outcome_only an event in them marks the case as prevalent."""
    time_covariate_cases: int = Field(10_000, ge=1)
    """With age or season terms, unexposed cases (no window time) also enter to inform them, but only those
    among a random sample (study seed) of this many cases (SelfControlledCaseSeries's
    minCasesForTimeCovariates). Exposed cases always enter."""
    end_of_observation_days: int = Field(30, ge=0)
    """Length of the probe at the end of observation whose IRR checks that events do not end observation
    (0: no check)."""

    @model_validator(mode="after")
    def _consistent(self):
        problems = []
        labels = [w.label for w in self.risk_windows]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            problems.append(f"risk windows share the name(s) {dupes}: give each its own name")
        same = [w for w in self.risk_windows if w.start_anchor == w.end_anchor]
        for i, a in enumerate(same):
            for b in same[i + 1:]:
                if a.start_anchor == b.start_anchor and a.start <= b.end and b.start <= a.end:
                    problems.append(f"risk windows '{a.label}' and '{b.label}' overlap")
        for w in same:
            if w.start_anchor != "exposure_start":
                continue
            if self.day_zero_window and w.start <= 0 <= w.end:
                problems.append(f"day 0 is in risk window '{w.label}' and day_zero_window is on: start the "
                                "window at day 1, or turn day_zero_window off")
            pre = self.pre_exposure_window
            if pre is not None and w.start <= pre.end and pre.start <= w.end:
                problems.append(f"risk window '{w.label}' overlaps the pre-exposure window [{pre.start}, {pre.end}]")
        if (self.min_age_years is not None and self.max_age_years is not None
                and self.max_age_years < self.min_age_years):
            problems.append(f"max_age_years ({self.max_age_years}) is below min_age_years ({self.min_age_years})")
        if len(set(self.outcomes)) < len(self.outcomes):
            problems.append("an outcome is listed twice")
        if problems:
            raise ValueError("; ".join(problems))
        return self
