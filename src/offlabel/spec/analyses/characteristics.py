"""Settings of Table 1: who the persons of a cohort are at index, by stratum, with standardised
mean differences between strata (as CohortCharacteristics' `summariseCharacteristics()`)."""

from __future__ import annotations

from itertools import pairwise
from typing import Literal

from pydantic import Field, model_validator

from offlabel.spec.analyses.base import AnalysisBase, CohortName, ConceptSetName
from offlabel.spec.base import SpecModel
from offlabel.spec.cohorts import RelativeWindow

DEFAULT_AGE_GROUPS = [(0, 17), (18, 39), (40, 49), (50, 59), (60, 69), (70, None)]


class Covariates(SpecModel):
    """Concept sets flagged in a window around index: the number and percentage of persons with at
    least one record (of any domain the set's concepts live in) in the window, within the observation
    period that holds the index date. E.g. each drug group in the year before index:
    `{concept_sets: [opioids, antidepressants], window: {start: -365, end: -1}}`; any time before:
    `window: {end: -1}`."""

    concept_sets: list[ConceptSetName] = Field(min_length=1)
    """The concept sets flagged, one row each."""
    window: RelativeWindow = Field(default_factory=lambda: RelativeWindow(start=-365, end=-1))
    """Days relative to index, both ends included (default [-365, -1], the year before index)."""
    name: str | None = None
    """Heading of these rows in Table 1 (default: 'Concept sets, days <start> to <end>')."""

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        lo = "-inf" if self.window.start is None else self.window.start
        hi = "+inf" if self.window.end is None else self.window.end
        return f"Concept sets, days {lo} to {hi}"


class TableOne(SpecModel):
    """What Table 1 shows: number of persons; age at index in years (mean, sd, median, IQR) and age
    groups; sex; prior observation in days (index date minus the start of the observation period that
    holds it); calendar year of index; and the covariates. Between strata: standardised mean differences
    (SMD) of each row against the reference stratum (Austin 2009; `offlabel.stats.balance`)."""

    age_groups: list[tuple[int, int | None]] = Field(default_factory=lambda: list(DEFAULT_AGE_GROUPS))
    """Age groups in whole years at index, as [min, max] (max null: no upper limit)."""
    covariates: list[Covariates] = Field(default_factory=list)
    """Concept sets flagged in windows around index (see Covariates)."""

    @model_validator(mode="after")
    def _age_groups_valid(self):
        problems = []
        for i, (lo, hi) in enumerate(self.age_groups):
            if lo < 0 or (hi is not None and hi < lo):
                problems.append(f"age_groups[{i}] = [{lo}, {hi}] is not a range of ages (0 <= min <= max)")
        bounds = sorted((lo, float("inf") if hi is None else hi) for lo, hi in self.age_groups)
        for (lo1, hi1), (lo2, _) in pairwise(bounds):
            if lo2 <= hi1:
                problems.append(f"age groups overlap: {lo1}-{hi1} and {lo2}-")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class CharacteristicsSettings(AnalysisBase, TableOne):
    """Table 1 of a cohort (each person at their first entry), overall and, with `strata`, by sex,
    age group or calendar year of index, with SMDs of every row against the reference stratum. (The
    before_after analysis shows Table 1 of its persons by collection stratum itself: its
    `characteristics` setting.) Secondary suppression: a percentage, mean or SMD computed from a
    count below the study's min_cell_count is suppressed with it; in a categorical row (sex, age
    group, year) with a suppressed level, the smallest other levels are suppressed too until the
    total cannot reveal it, and a row whose levels hold one person each is left out."""

    type: Literal["characteristics"]
    cohort: CohortName
    """The study cohort described; the index date is each person's first cohort_start_date."""
    strata: Literal["sex", "age_group", "index_year"] | None = None
    """Also describe each stratum of this variable, and compare each with the reference stratum."""
    reference_stratum: str | None = None
    """The stratum the others are compared with, e.g. 'Female' or '2013' (default: the first:
    Female, the youngest age group, the earliest year)."""
