"""Settings of the drug utilisation analyses (as DARWIN EU's DrugUtilisation and IncidencePrevalence)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from offlabel.spec.analyses.base import CohortName, ConceptSetName, StudyPeriod


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
