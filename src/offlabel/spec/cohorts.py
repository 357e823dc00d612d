"""Cohorts as a study file writes them: entry events, required observation, inclusion rules, exit.

A cohort is built in this order (see `offlabel.cohorts.build_cohort`):
1. entry events: records of a concept set (first or all, optionally within a date range);
2. the index date must lie in an observation period, with enough observation before/after it;
3. inclusion rules, each a count of records of a concept set in a window (relative to the
   index date, or calendar dates), or an `any_of` / `all_of` group of such rules;
4. exit: end of observation, end of a drug era, a fixed number of days, or the entry record's
   end; never past the end of the observation period, and (by default) not past death.

Example (the Norwegian before/after cohort of DOMAIN.md):

    ldn_users:
      entry: {concept_set: naltrexone, events: first, date_range: {start: 2013-01-01, end: 2013-12-31}}
      prior_observation_days: 730
      post_observation_days: 730
      inclusion:
        - any_of:
            - {concept_set: ms_drugs, min_count: 2,
               calendar_window: {start: 2009-01-01, end: 2010-12-31}}
            - {concept_set: ms_only_drugs, min_count: 1,
               calendar_window: {start: 2009-01-01, end: 2010-12-31}}
          name: MS drugs dispensed in 2009-2010
      exit: {type: end_of_observation}
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Union

from pydantic import Discriminator, Field, Tag, model_validator

from offlabel.spec.base import SpecModel


class DateRange(SpecModel):
    """A span of calendar dates, both ends included; a missing end is open."""

    start: dt.date | None = None
    """First date of the span (included); none: no lower limit."""
    end: dt.date | None = None
    """Last date of the span (included); none: no upper limit."""

    @model_validator(mode="after")
    def _in_order(self):
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self

    def label(self) -> str:
        return f"{self.start or '…'} to {self.end or '…'}"


class CalendarWindow(SpecModel):
    """A calendar window, e.g. 2009-01-01 to 2010-12-31 (both included); one end may be left open."""

    start: dt.date | None = None
    """First date of the window (included); none: no lower limit."""
    end: dt.date | None = None
    """Last date of the window (included); none: no upper limit."""

    @model_validator(mode="after")
    def _in_order(self):
        if self.start is None and self.end is None:
            raise ValueError("give start, end or both")
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class RelativeWindow(SpecModel):
    """Days relative to the index date, both ends included: [-365, -1] is the year before index,
    [0, 0] the index day. A missing end is open (all time before / after)."""

    start: int | None = None
    """First day of the window relative to index (days; negative = before index; none: no limit)."""
    end: int | None = None
    """Last day of the window relative to index (days; none: no limit)."""

    @model_validator(mode="after")
    def _in_order(self):
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"window start {self.start} is after window end {self.end} (days relative to index)")
        return self

    def label(self) -> str:
        if self.start is None and self.end is None:
            return "at any time"
        return f"from day {'-inf' if self.start is None else self.start} to day " \
               f"{'+inf' if self.end is None else self.end} of index"


class CohortEntry(SpecModel):
    """The events that put a person into the cohort; the event's start date is the index date."""

    concept_set: str
    """Name of the study concept set whose records are entry events (any domain: drugs, conditions, ...)."""
    events: Literal["first", "all", "first_ever", "first_observed"] = "first"
    """first: each person's earliest record within `date_range`; all: every record (one entry per
    person and day; overlapping episodes are merged); first_ever: each person's earliest record in
    all their history, kept only if it lies within `date_range` (new users); first_observed: the
    earliest record within `date_range` that meets the observation requirements (ATLAS's
    'earliest event' limit)."""
    date_range: DateRange | None = None
    """Only records starting within this range count as entry events (both dates included)."""


class EventCountRule(SpecModel):
    """A count of records of a concept set in a window: `min_count <= n <= max_count`.
    E.g. at least 2 dispensings of MS drugs in 2009-2010, or no use in the year before index
    (`max_count: 0, window: {start: -365, end: -1}`)."""

    concept_set: str
    """Name of the study concept set whose records are counted."""
    min_count: int = Field(1, ge=0)
    """The fewest records required (0 with `max_count` set to express 'at most')."""
    max_count: int | None = Field(None, ge=0)
    """The most records allowed; 0 makes the rule an exclusion (none may occur)."""
    window: RelativeWindow | None = None
    """Window relative to the index date in days, e.g. {start: -365, end: -1}. With neither window,
    records at any time count; with both, a record must lie in both."""
    calendar_window: CalendarWindow | None = None
    """Window in calendar dates, e.g. {start: 2009-01-01, end: 2010-12-31}."""
    within_observation_period: bool = True
    """Count only records in the observation period that holds the index date (as ATLAS does)."""
    distinct_days: bool = False
    """Count distinct record dates instead of records (several records on one day count once)."""
    name: str | None = None
    """A readable name for the attrition table; default: a description of the rule."""

    @model_validator(mode="after")
    def _consistent(self):
        if self.max_count is not None and self.min_count > self.max_count:
            raise ValueError(f"min_count {self.min_count} is larger than max_count {self.max_count}")
        if self.min_count == 0 and self.max_count is None:
            raise ValueError("min_count 0 without max_count lets everyone through; set max_count or min_count >= 1")
        return self

    def label(self) -> str:
        if self.name:
            return self.name
        what = "records" if not self.distinct_days else "days with records"
        if self.max_count is None:
            count = f">= {self.min_count}"
        elif self.max_count == 0:
            count = "no"
        elif self.min_count == self.max_count:
            count = f"exactly {self.min_count}"
        else:
            count = f"{self.min_count} to {self.max_count}"
        parts = []
        if self.window is not None or self.calendar_window is None:
            parts.append((self.window or RelativeWindow()).label())
        if self.calendar_window is not None:
            parts.append(f"from {self.calendar_window.start or '…'} to {self.calendar_window.end or '…'}")
        when = " and ".join(parts)
        return f"{count} {what} of '{self.concept_set}' {when}"

    def concept_set_names(self) -> set[str]:
        return {self.concept_set}


class AnyOf(SpecModel):
    """A group of rules of which at least one must hold, e.g. >= 2 MS drugs or 1 MS-only drug."""

    any_of: list[InclusionRule] = Field(min_length=1)
    """The alternatives: rules or nested groups."""
    name: str | None = None
    """A readable name for the attrition table; default: the alternatives joined by 'or'."""

    def label(self) -> str:
        return self.name or "(" + " or ".join(r.label() for r in self.any_of) + ")"

    def concept_set_names(self) -> set[str]:
        return set().union(*(r.concept_set_names() for r in self.any_of))


class AllOf(SpecModel):
    """A group of rules that must all hold (useful inside `any_of`)."""

    all_of: list[InclusionRule] = Field(min_length=1)
    """The rules: all must hold."""
    name: str | None = None
    """A readable name for the attrition table; default: the rules joined by 'and'."""

    def label(self) -> str:
        return self.name or "(" + " and ".join(r.label() for r in self.all_of) + ")"

    def concept_set_names(self) -> set[str]:
        return set().union(*(r.concept_set_names() for r in self.all_of))


def _rule_kind(value) -> str:
    """Which kind of rule a YAML mapping is: a group by its key, else a count rule. Choosing by key
    (instead of trying each kind) keeps a mistake to one error message."""
    if isinstance(value, dict):
        return "AnyOf" if "any_of" in value else "AllOf" if "all_of" in value else "EventCountRule"
    return type(value).__name__


# The tags (class names) appear in pydantic's error locations as a discriminator step after the
# list index, like the analysis `type`s: readers of errors skip them.
INCLUSION_RULE_TAGS = ("EventCountRule", "AnyOf", "AllOf")
InclusionRule = Annotated[
    Union[Annotated[EventCountRule, Tag("EventCountRule")], Annotated[AnyOf, Tag("AnyOf")],
          Annotated[AllOf, Tag("AllOf")]],
    Discriminator(_rule_kind),
]
AnyOf.model_rebuild()
AllOf.model_rebuild()


class EndOfObservationExit(SpecModel):
    """Follow each person to the end of the observation period that holds the index date."""

    type: Literal["end_of_observation"]


class DrugEraExit(SpecModel):
    """Leave at the end of the drug era that holds the index date. Records of the concept set are
    joined into eras as DARWIN DrugUtilisation's `gapEra` does: overlapping records merge, and a
    record starting at most `gap_days` after the era's end so far joins it. A missing
    drug_exposure_end_date counts as the start date. If no era holds the index date (the concept
    set differs from the entry's), the person is followed to the end of observation, as ATLAS does."""

    type: Literal["drug_era"]
    concept_set: str | None = None
    """Drug concept set whose records form the eras; default: the entry concept set."""
    gap_days: int = Field(0, ge=0)
    """Persistence gap in days: records at most this many days apart join one era."""
    offset_days: int = Field(0, ge=0)
    """A grace period in days added to the end of every record before eras are formed (as ATLAS's
    custom era 'offset'): records merge when at most gap_days + offset_days apart, and the era
    ends offset_days after its last record ends."""


class FixedDaysExit(SpecModel):
    """Leave a fixed number of days after the index date (day 0 is the index date)."""

    type: Literal["fixed_days"]
    days: int = Field(ge=0)
    """Days of follow-up after the index date: the cohort ends on index + days."""


class EventEndExit(SpecModel):
    """Leave at the end date of the entry record (drug_exposure_end_date, condition_end_date, ...);
    a missing end date counts as the start date."""

    type: Literal["event_end"]
    offset_days: int = Field(0, ge=0)
    """Days added after the entry record's end date."""


CohortExit = Annotated[
    Union[EndOfObservationExit, DrugEraExit, FixedDaysExit, EventEndExit],
    Field(discriminator="type"),
]


class CohortDefinition(SpecModel):
    """A cohort: who enters (entry events), who stays (observation and inclusion rules), and
    until when (exit). Built in the database and materialised once per definition."""

    name: str | None = None
    """A readable name for reports, e.g. 'LDN users with MS'."""
    description: str | None = None
    """What the cohort is meant to capture, for the report."""
    entry: CohortEntry
    """The entry events; their start date is the index date (cohort_start_date)."""
    prior_observation_days: int = Field(0, ge=0)
    """Days of observation required before the index date (in the same observation period)."""
    post_observation_days: int = Field(0, ge=0)
    """Days of observation required after the index date (in the same observation period)."""
    inclusion: list[InclusionRule] = Field(default_factory=list)
    """Inclusion rules, applied in order; each is a step of the attrition table."""
    exit: CohortExit = Field(default_factory=lambda: EndOfObservationExit(type="end_of_observation"))
    """When each person leaves: end_of_observation (default), drug_era, fixed_days or event_end."""
    censor_at_death: bool = True
    """End follow-up on the date of death (from the DEATH table) when it comes first."""
    collapse_days: int = Field(0, ge=0)
    """Episodes of one person (with `events: all`) separated by at most this many days are merged."""

    def concept_set_names(self) -> set[str]:
        """Every concept set the definition refers to (for cross-checking a study's concept_sets)."""
        names = {self.entry.concept_set}
        for rule in self.inclusion:
            names |= rule.concept_set_names()
        if isinstance(self.exit, DrugEraExit) and self.exit.concept_set:
            names.add(self.exit.concept_set)
        return names
