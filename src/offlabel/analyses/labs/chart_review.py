"""Long-term lab safety chart review (Ludwig et al. 2016, "10 years of clinical data and lab
reports"; DOMAIN.md §2): labs of new users before and on treatment, side by side with a
comparison cohort.

For each cohort (the study cohort, then the optional comparison cohort), lab and window:

- index = the person's first cohort_start_date (day 0). Windows: the baseline window (default days
  -180 to 0) and the on-treatment intervals (default 0-6, 6-12 months, then yearly to 10 years;
  months [a, b] are days [a' + 1, b'], so the index day belongs to the baseline). Only
  measurements inside the observation period holding index count, and with follow_up:
  cohort_exit only those up to the cohort_end_date (time on treatment for a drug-era exit);
- units: each record's unit is converted to the lab's unit where src/offlabel/data/lab_units.csv
  has a valid conversion (`offlabel.analyses.labs.units`); records in other units or without one
  are left out, counted by unit in the results and named in a warning;
- a person's value: baseline, the one closest to index (chart-review convention; or the mean);
  intervals, the last in the interval (or the first, or the mean). Values of one day are averaged
  first. A single value on each side is the default because a change then compares like with
  like: the mean of several values has a smaller variance and, on the log scale, a larger
  expectation than one value, which would bias a change from a single baseline value;
- reference limits: each record's own range_low / range_high (converted with the record's value)
  when present, else the study file's range for the person's sex; the sources are counted.

Result (result_type "summarise_lab_safety"): group cohort_name &&& lab, strata interval
("baseline", "0-6 months", ...), and variables "persons in follow-up" (persons whose follow-up
reaches the window; count), "number subjects" (persons with a value; count), "number records",
"value" (level: the unit; mean, sd, median, q25, q75 over persons), "change from baseline" (level:
the unit; persons with both values: count, mean, sd, mean_95CI_lower/upper, paired t), "ratio to
baseline" (count, ratio of geometric means and its 95% CI, paired t on the log scale), "above
limit" / "below limit" (levels "ULN", "3 x ULN", "LLN", absolute limits: persons with any value
beyond it: count, denominator_count = persons with a value that had the limit, percentage);
and, with strata "overall", "records by unit" (count, conversion), "records without a value" and
"records by reference range source". Statistics: `offlabel.stats.lab_summary`.

Secondary suppression (done here; export suppresses the same again): a window whose number of
subjects is below min_cell_count loses every estimate; a variable whose count is below it loses
its percentage, mean and CI with it; a count of persons beyond a limit whose complement (persons
judged but not beyond) is below it is suppressed too, and "persons in follow-up" when the persons
without a value are fewer than min_cell_count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from offlabel.analyses.labs.extract import extract
from offlabel.analyses.labs.units import MISSING, unit_codes
from offlabel.analyses.labs.values import add_limits, choose_unit, harmonise, lab_limits, window_values
from offlabel.errors import SpecError
from offlabel.results import SUPPRESSED, SummarisedResult, is_count, result_rows
from offlabel.results.secondary import small
from offlabel.stats.before_after import paired_change
from offlabel.stats.lab_summary import GeometricMeanRatio, summarise_values

LEVEL = 0.95
RESULT_TYPE = "summarise_lab_safety"
BASELINE = "baseline"


@dataclass
class _Variable:
    name: str
    level: str | None
    estimates: dict
    types: dict = field(default_factory=dict)


def run(context, settings) -> SummarisedResult:
    _check_names(context, settings)
    cohorts = [settings.cohort] + ([settings.comparison_cohort] if settings.comparison_cohort else [])
    windows = [(BASELINE, tuple(settings.baseline_window))] + settings.intervals()
    first_day = settings.baseline_window[0]
    last_day = max(b for _, (_, b) in windows)
    lab_ids = {lab.concept_set: list(context.concept_sets[lab.concept_set].concept_ids) for lab in settings.labs}
    for name, ids in lab_ids.items():
        if not ids:
            context.warn(f"lab_safety {settings.analysis_id}: concept set '{name}' has no concepts in this CDM; "
                         "the lab has no records.")
    persons, records = extract(context, cohorts, settings.follow_up, lab_ids, first_day, last_day)
    codes = unit_codes(context.cdm, records["unit_concept_id"].dropna().unique())
    min_cell = context.study.min_cell_count
    rows, units, ranges = [], {}, {}
    for lab in settings.labs:
        lab_records = records[records["lab"] == lab.concept_set]
        unit = lab.unit or choose_unit(lab_records, codes)
        if lab.unit is None:
            found = f"its results are in {unit}, the unit of most records" if unit else \
                "no record has a unit, so it has no results"
            context.warn(f"lab_safety {settings.analysis_id}: lab '{lab.concept_set}' has no unit in the study "
                         f"file; {found}. Give `unit` to choose it.")
        units[lab.concept_set] = unit or MISSING
        ranges[lab.concept_set] = _ranges_text(lab)
        rows += _lab_rows(context, settings, lab, unit, lab_records, persons, codes, cohorts, windows, min_cell)
    extra = {
        "cohort": settings.cohort, "comparison_cohort": settings.comparison_cohort or "none",
        "labs": ", ".join(units), "units": "; ".join(f"{k}: {v}" for k, v in units.items()),
        "reference_ranges": "; ".join(f"{k}: {v}" for k, v in ranges.items()),
        "baseline_window": f"[{settings.baseline_window[0]}, {settings.baseline_window[1]}] days",
        "baseline_value": settings.baseline_value, "interval_value": settings.interval_value,
        "intervals": "; ".join(f"{label} = days {a}-{b}" for label, (a, b) in settings.intervals()),
        "follow_up": settings.follow_up, "confidence_level": str(LEVEL),
    }
    return SummarisedResult.from_rows(rows, settings={1: context.settings(settings, RESULT_TYPE, **extra)})


def _check_names(context, settings) -> None:
    problems = []
    for key in ("cohort", "comparison_cohort"):
        name = getattr(settings, key)
        if name is not None and name not in context.study.cohorts:
            problems.append(f"{key} {name!r} is not a cohort of the study "
                            f"(defined: {', '.join(sorted(context.study.cohorts)) or 'none'})")
    for lab in settings.labs:
        if lab.concept_set not in context.concept_sets:
            problems.append(f"labs: no concept set named {lab.concept_set!r} "
                            f"(defined: {', '.join(sorted(context.concept_sets))})")
    if problems:
        raise SpecError(f"lab_safety analysis {settings.analysis_id!r}: " + "; ".join(problems) + ".")


def _ranges_text(lab) -> str:
    def one(r):
        lo = "" if r.low is None else f"{r.low:g}"
        hi = "" if r.high is None else f"{r.high:g}"
        return f"{r.sex or 'everyone'} {lo}-{hi}"
    study = ", ".join(one(r) for r in lab.reference_ranges) or "none"
    if lab.reference_range_source == "measurement":
        return f"the record's range_low/range_high, else study file ({study})"
    return f"study file ({study})"


def _lab_rows(context, settings, lab, unit, lab_records, persons, codes, cohorts, windows, min_cell) -> list:
    name = lab.concept_set
    no_value = lab_records["value"].isna()
    converted, unit_counts = harmonise(lab_records[~no_value], unit, lab.analyte, codes)
    left_out = [u for u in unit_counts if u.factor is None]
    if left_out:
        detail = ", ".join(f"{u.records} in {u.unit} ({u.cohort})" for u in left_out)
        context.warn(f"lab_safety {settings.analysis_id}: lab '{name}': records that cannot be converted to "
                     f"{unit or 'a unit'} (no valid conversion in lab_units.csv, or no unit) were left out: {detail}.")
    if no_value.any():
        context.warn(f"lab_safety {settings.analysis_id}: lab '{name}': {int(no_value.sum())} record(s) in the "
                     "windows have no value_as_number and were left out.")
    converted = add_limits(converted, lab)
    limits = lab_limits(lab, unit or MISSING)
    rules = [("last" if settings.baseline_value == "closest" else "mean") if label == BASELINE
             else settings.interval_value for label, _ in windows]  # closest: the baseline ends by day 0
    values = window_values(converted, [days for _, days in windows], rules, limits)
    by_window = {key: part for key, part in values.groupby(["cohort", "window"], sort=True)}
    empty = values.iloc[0:0]
    rows = []
    for cohort in cohorts:
        people = persons[persons["cohort"] == cohort]
        group = {"cohort_name": cohort, "lab": name}
        overall = _overview(cohort, unit_counts, unit, lab_records[no_value], converted[converted["cohort"] == cohort])
        rows += _to_rows(context.cdm.name, group, "overall", _suppressed(overall, min_cell))
        baseline = by_window.get((cohort, 0), empty)
        for k, (label, (first, _)) in enumerate(windows):
            part = by_window.get((cohort, k), empty)
            at_risk = len(people) if k == 0 else int((people["follow_up_days"] >= first).sum())
            variables = _window_variables(part, baseline if k > 0 else None, at_risk, unit, limits)
            rows += _to_rows(context.cdm.name, group, label, _suppressed(variables, min_cell))
    return rows


def _overview(cohort, unit_counts, unit, no_value, recs) -> list[_Variable]:
    out = []
    for u in (u for u in unit_counts if u.cohort == cohort):
        if u.factor is None:
            how = "left out: no unit" if u.unit == MISSING else f"left out: no conversion to {unit}"
        else:
            how = "as is" if u.unit == unit else (f"same unit as {unit}" if u.factor == 1 else f"x {u.factor:g} to {unit}")
        out.append(_Variable("records by unit", u.unit, {"count": u.records}))
        out.append(_Variable("unit conversion", u.unit, {"conversion": how}))
    out.append(_Variable("records without a value", None, {"count": int((no_value["cohort"] == cohort).sum())}))
    for limit in ("uln", "lln"):
        counts = recs[f"{limit}_source"].value_counts()
        for source in ("measurement", "study file", "none"):
            out.append(_Variable("records by reference range source", f"{limit.upper()} from {source}"
                                 if source != "none" else f"no {limit.upper()}", {"count": int(counts.get(source, 0))}))
    return out


def _window_variables(values: pd.DataFrame, baseline: pd.DataFrame | None, at_risk: int, unit, limits) -> list:
    unit = unit or MISSING
    n = len(values)
    out = [_Variable("persons in follow-up", None, {"count": at_risk}),
           _Variable("number subjects", None, {"count": n}),
           _Variable("number records", None, {"count": int(values["n_records"].sum()) if n else 0}),
           _Variable("value", unit, summarise_values(values["value"].to_numpy(dtype=float)))]
    if baseline is not None:
        # both frames are sorted by person: the persons with both values, in person order
        _, i_after, i_before = np.intersect1d(values["person_id"].to_numpy(), baseline["person_id"].to_numpy(),
                                              assume_unique=True, return_indices=True)
        before = baseline["value"].to_numpy(dtype=float)[i_before]
        after = values["value"].to_numpy(dtype=float)[i_after]
        change = paired_change(before, after, LEVEL)
        out.append(_Variable("change from baseline", unit, {
            "count": change.n, "mean": change.mean_change, "sd": change.sd_change,
            "mean_95CI_lower": change.lower, "mean_95CI_upper": change.upper}))
        positive = (before > 0) & (after > 0)
        ratio = GeometricMeanRatio(LEVEL).fit(before[positive], after[positive])
        out.append(_Variable("ratio to baseline", None, {
            "count": ratio.n_, "ratio": ratio.ratio_, "ratio_95CI_lower": ratio.lower_,
            "ratio_95CI_upper": ratio.upper_}))
    for i, limit in enumerate(limits):
        judged = int(values[f"judged_{i}"].sum()) if n else 0
        beyond = int(values[f"beyond_{i}"].sum()) if n else 0
        out.append(_Variable(f"{limit.kind} limit", limit.label, {
            "count": beyond, "denominator_count": judged,
            "percentage": 100.0 * beyond / judged if judged else None}))
    return out


def _suppressed(variables: list[_Variable], min_cell: int) -> list[_Variable]:
    """The window's variables with the secondary suppression of the module docstring applied."""
    if min_cell <= 1:
        return variables

    def hide(v: _Variable) -> None:
        v.estimates = dict.fromkeys(v.estimates, SUPPRESSED)

    # Counts that add up to a published total (records by unit add up to the windows' records, the
    # three reference-range sources to all records) are hidden together when one is small.
    families: dict[tuple, list[_Variable]] = {}
    for v in variables:
        if v.name == "records by unit":
            families.setdefault((v.name,), []).append(v)
        elif v.name == "records by reference range source":
            families.setdefault((v.name, "ULN" in (v.level or "")), []).append(v)
    for members in families.values():
        if any(small(v.estimates["count"], min_cell) for v in members):
            for v in members:
                hide(v)
    found = {v.name: v for v in variables}
    subjects = found.get("number subjects")
    if subjects is not None and small(subjects.estimates["count"], min_cell):
        for v in variables:
            hide(v)
        return variables
    for v in variables:
        counts = [x for k, x in v.estimates.items() if is_count(k, "integer")]
        if any(small(x, min_cell) for x in counts):
            hide(v)
        elif v.name in ("above limit", "below limit") and small(v.estimates["denominator_count"] - v.estimates["count"], min_cell):
            hide(v)  # the persons judged but not beyond the limit would be a small count
    follow = found.get("persons in follow-up")
    if follow is not None and subjects is not None and follow.estimates["count"] is not SUPPRESSED \
            and small(follow.estimates["count"] - subjects.estimates["count"], min_cell):
        hide(follow)
    return variables


def _to_rows(cdm_name: str, group: dict, interval: str, variables: list[_Variable]) -> list:
    rows = []
    for v in variables:
        types = {k: _type(k) for k in v.estimates}
        rows += result_rows(cdm_name=cdm_name, group=group, strata={} if interval == "overall" else {"interval": interval},
                            variable_name=v.name, variable_level=v.level, estimates=v.estimates, estimate_types=types)
    return rows


def _type(name: str) -> str:
    if name == "conversion":
        return "character"
    if name == "percentage":
        return "percentage"
    return "integer" if is_count(name, "integer") else "numeric"
