"""Settings of the before/after dispensing design (Raknes & Småbrekke 2017)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from offlabel.spec.analyses.base import AnalysisBase, CohortName, ConceptSetName
from offlabel.spec.analyses.characteristics import TableOne


class BeforeAfterSettings(AnalysisBase):
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
    cohort: CohortName
    """Name of the study cohort; its (first) cohort_start_date per person is the index date."""
    study_drug: ConceptSetName
    """Concept set of the study drug (e.g. naltrexone); its dispensings in follow-up, index included,
    are the collections that define the strata."""
    drug_groups: list[ConceptSetName] = Field(min_length=1)
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
    characteristics: TableOne = Field(default_factory=TableOne)
    """Table 1 of the persons analysed, by collection stratum, with standardised mean differences
    against the reference stratum: age, sex, prior observation, year of index, and the covariates
    given here (e.g. each drug group in the year before index)."""

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
