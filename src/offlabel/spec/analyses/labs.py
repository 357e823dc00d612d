"""Settings of the long-term lab safety chart review (Ludwig et al. 2016; DOMAIN.md §2)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator, model_validator

from offlabel.spec.analyses.base import AnalysisBase, CohortName, ConceptSetName
from offlabel.spec.base import SpecModel

DAYS_PER_MONTH = 365.25 / 12
DEFAULT_MONTHS = [(0, 6), (6, 12)] + [(12 * y, 12 * (y + 1)) for y in range(1, 10)]


def month_day(months: float) -> int:
    """Whole days from index to the end of `months` months (365.25 / 12 days a month, halves up)."""
    return math.floor(months * DAYS_PER_MONTH + 0.5)


def interval_label(start_month: float, end_month: float) -> str:
    """"0-6 months", "6-12 months", "1-2 years" ...: how an interval in months is named in results."""
    def num(x: float) -> str:
        return f"{x:g}"
    if start_month % 12 == 0 and end_month % 12 == 0 and end_month - start_month >= 12:
        return f"{num(start_month / 12)}-{num(end_month / 12)} years"
    return f"{num(start_month)}-{num(end_month)} months"


class ReferenceRange(SpecModel):
    """A reference range in the lab's unit, for one sex or for everyone, e.g. {sex: female, low: 10, high: 45}."""

    sex: Literal["female", "male"] | None = None
    """The sex it applies to (person.gender_concept_id 8532 / 8507); none: everyone (a range for the
    person's sex wins over one without sex)."""
    low: float | None = None
    """Lower limit of normal (LLN), in the lab's `unit`; none: no lower limit."""
    high: float | None = None
    """Upper limit of normal (ULN), in the lab's `unit`; none: no upper limit."""

    @model_validator(mode="after")
    def _in_order(self):
        if self.low is None and self.high is None:
            raise ValueError("give low, high or both")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self


class LabSettings(SpecModel):
    """One lab of the chart review: its concept set (LOINC codes), the unit results are reported in,
    and the limits whose exceedance is counted."""

    concept_set: ConceptSetName
    """Concept set of the lab's measurement concepts (e.g. LOINC 1742-6 for ALT); names the lab in results."""
    unit: str | None = None
    """UCUM code of the unit the results are in (e.g. U/L, umol/L, g/dL, 10*9/L). Records in other units
    are converted where src/offlabel/data/lab_units.csv has a valid conversion, else left out and
    reported. Default: the unit with the most records of this lab among the cohorts' persons."""
    analyte: str | None = None
    """The analyte, for conversions that need its molar mass or that hold for it only (creatinine,
    bilirubin, haemoglobin; alt, ast: IU/L = U/L for enzyme activities). Default: only conversions
    valid for every analyte (prefixes, 10*9/L = 10*3/uL, ...)."""
    reference_ranges: list[ReferenceRange] = Field(default_factory=list)
    """Reference ranges in `unit`, used for records without range_low / range_high (or for all
    records with reference_range_source: study)."""
    reference_range_source: Literal["measurement", "study"] = "measurement"
    """measurement: each limit from the record's range_low / range_high when present, else from
    reference_ranges; study: always from reference_ranges."""
    uln_multiples: list[float] = Field(default_factory=list)
    """Multiples k of the upper limit of normal whose exceedance (strictly above) is counted as '> k x ULN' besides
    '> ULN' itself, e.g. [3] for ALT > 3 x ULN (the hepatotoxicity signal)."""
    above: list[float] = Field(default_factory=list)
    """Absolute limits in `unit` whose exceedance is counted (values strictly above)."""
    below: list[float] = Field(default_factory=list)
    """Absolute limits in `unit` under which values are counted (values strictly below)."""

    @field_validator("uln_multiples")
    @classmethod
    def _positive_multiples(cls, v):
        if any(k <= 0 for k in v):
            raise ValueError("multiples of the ULN must be > 0")
        return v

    @field_validator("analyte")
    @classmethod
    def _known_analyte(cls, v):
        if v is None:
            return v
        from offlabel.analyses.labs.units import analytes

        known = analytes()
        if v not in known:
            raise ValueError(f"analyte {v!r} has no conversions in lab_units.csv (known: {', '.join(known)}); "
                             "leave it out to use the conversions valid for every analyte")
        return v

    @model_validator(mode="after")
    def _one_range_per_sex(self):
        sexes = [r.sex for r in self.reference_ranges]
        if len(sexes) != len(set(sexes)):
            raise ValueError("give at most one reference range per sex (and one without sex)")
        return self


class LabSafetySettings(AnalysisBase):
    """Lab chart review of new users (Ludwig et al. 2016, "10 years of clinical data and lab
    reports"): for each lab, the persons of a cohort with a value in a baseline window before index
    and in on-treatment intervals after it, their distribution (mean, SD, median, IQR in the lab's
    unit), the change from baseline within person (paired), and the share above and below the
    reference range or other limits; an optional comparison cohort side by side.

    Days are relative to index (day 0, the person's first cohort_start_date). Baseline: the value
    in `baseline_window` closest to index (`baseline_value`). Intervals: default 0-6 and 6-12
    months, then yearly to 10 years; a month is 365.25 / 12 days, and months [a, b] are days
    [a' + 1, b'] (a', b' the months in whole days), so the index day belongs to the baseline and
    no day to two intervals. Each person's value in an interval: `interval_value`; the share above
    a limit counts persons with any value above it in the interval. Only measurements in the
    observation period holding index count, and with follow_up: cohort_exit only those up to the
    cohort's end date."""

    type: Literal["lab_safety"]
    cohort: CohortName
    """The study cohort (e.g. new users of LDN with MS); each person's first cohort_start_date is the index."""
    comparison_cohort: CohortName | None = None
    """A cohort summarised the same way, side by side (e.g. glatiramer users without LDN)."""
    labs: list[LabSettings] = Field(min_length=1)
    """The labs, each analysed separately."""
    baseline_window: tuple[int, int] = (-180, 0)
    """[first, last] day of the baseline window relative to index, days; must end on or before day 0."""
    baseline_value: Literal["closest", "mean"] = "closest"
    """closest: the value closest to index (the chart-review convention: the last before treatment);
    mean: the mean of all values in the window. Values on one day are averaged."""
    intervals_months: list[tuple[float, float]] | None = None
    """On-treatment intervals as [start, end] months after index (default [0, 6], [6, 12], [12, 24] ...
    [108, 120]); give this or intervals_days."""
    intervals_days: list[tuple[int, int]] | None = None
    """On-treatment intervals as [first, last] days after index (both included), instead of months."""
    interval_value: Literal["last", "first", "mean"] = "last"
    """Each person's value in an interval: the last (default), the first, or the mean of the values
    in it. Values on one day are averaged."""
    follow_up: Literal["observation", "cohort_exit"] = "observation"
    """observation: measurements to the end of the observation period; cohort_exit: only up to each
    person's cohort_end_date (with a cohort whose exit is a drug_era, time on treatment)."""

    @model_validator(mode="after")
    def _windows_valid(self):
        problems = []
        lo, hi = self.baseline_window
        if lo > hi:
            problems.append(f"baseline_window [{lo}, {hi}] starts after it ends")
        if hi > 0:
            problems.append(f"baseline_window [{lo}, {hi}] must end on or before the index day (0)")
        if self.intervals_months is not None and self.intervals_days is not None:
            problems.append("give intervals_months or intervals_days, not both")
        for i, (a, b) in enumerate(self.intervals_months or []):
            if a < 0 or b <= a:
                problems.append(f"intervals_months[{i}] = [{a}, {b}] is not a range of months after index (0 <= start < end)")
        for i, (a, b) in enumerate(self.intervals_days or []):
            if a <= hi or b < a:
                problems.append(f"intervals_days[{i}] = [{a}, {b}] must start after the baseline window "
                                f"(day {hi}) and end on or after its start")
        if not problems:
            days = [d for _, d in self.intervals()]
            for (a1, b1), (a2, _) in zip(sorted(days), sorted(days)[1:]):
                if a2 <= b1:
                    problems.append(f"intervals overlap: days {a1}-{b1} and {a2}-")
            if not days:
                problems.append("give at least one interval")
        if len({lab.concept_set for lab in self.labs}) < len(self.labs):
            problems.append("each lab's concept_set may appear once in labs")
        if self.comparison_cohort is not None and self.comparison_cohort == self.cohort:
            problems.append("comparison_cohort is the study cohort itself")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def intervals(self) -> list[tuple[str, tuple[int, int]]]:
        """[(label, (first day, last day))] of the on-treatment intervals, in order."""
        if self.intervals_days is not None:
            return [(f"days {a}-{b}", (a, b)) for a, b in self.intervals_days]
        months = self.intervals_months if self.intervals_months is not None else DEFAULT_MONTHS
        return [(interval_label(a, b), (month_day(a) + 1, month_day(b))) for a, b in months]
