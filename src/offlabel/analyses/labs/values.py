"""The per-person part of the lab chart review, on the records pulled from the database (pandas).

1. `harmonise`: each record's unit (UCUM code of its unit_concept_id) is converted to the lab's
   unit where lab_units.csv allows; the record's range_low / range_high, in the record's unit,
   are converted with it. Records in a unit without a conversion, or without a unit, are left out
   and counted by unit.
2. `add_limits`: each record's lower and upper limit of normal (LLN, ULN): the record's own range
   (reference_range_source "measurement") when present, else the study file's range for the
   person's sex, else none; with the source of each.
3. `window_values`: each person's value in a window (values on one day averaged first, a repeated
   test on one day being one occasion), chosen by the rule (closest to index, first, last, mean),
   and whether any record in the window lies beyond each limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from offlabel.analyses.labs.units import MISSING, conversion_factor


@dataclass(frozen=True)
class UnitCount:
    cohort: str
    unit: str
    records: int
    factor: float | None
    """None: left out (no conversion or no unit)."""


@dataclass(frozen=True)
class Limit:
    """A limit whose exceedance is counted: `kind` "above" / "below"; `multiple` of the ULN / LLN,
    or an absolute `value` in the lab's unit."""

    kind: str
    label: str
    multiple: float | None = None
    value: float | None = None


def choose_unit(records: pd.DataFrame, codes: dict[int, str]) -> str | None:
    """The unit with most records (ties: the first code in sort order), missing units aside."""
    units = unit_names(records, codes)
    counts = units[units != MISSING].value_counts()
    if counts.empty:
        return None
    top = counts[counts == counts.max()]
    return min(top.index)


def unit_names(records: pd.DataFrame, codes: dict[int, str]) -> pd.Series:
    ids = records["unit_concept_id"]
    return pd.Series([MISSING if pd.isna(i) or int(i) == 0 else codes.get(int(i), f"concept {int(i)}") for i in ids],
                     index=records.index, dtype=object)


def harmonise(records: pd.DataFrame, target: str | None, analyte: str | None,
              codes: dict[int, str]) -> tuple[pd.DataFrame, list[UnitCount]]:
    """Records with value, range_low and range_high in `target`, and the records by cohort and unit."""
    units = unit_names(records, codes)
    factors = {u: (None if u == MISSING or target is None else conversion_factor(u, target, analyte))
               for u in sorted(set(units))}
    counts = [UnitCount(c, u, int(n), factors[u])
              for (c, u), n in records.groupby([records["cohort"], units]).size().sort_index().items()]
    factor = units.map(factors)
    keep = factor.notna().to_numpy()
    out = records.loc[keep].copy()
    f = factor[keep].astype(float)
    for column in ("value", "range_low", "range_high"):
        out[column] = out[column] * f
    return out.reset_index(drop=True), counts


def study_range(lab, sex) -> tuple[float | None, float | None]:
    """(low, high) of the lab's study-file reference range for a person's sex ("female"/"male"/None)."""
    by_sex = {r.sex: r for r in lab.reference_ranges}
    r = by_sex.get(sex) if sex is not None and sex in by_sex else by_sex.get(None)
    return (None, None) if r is None else (r.low, r.high)


def add_limits(records: pd.DataFrame, lab) -> pd.DataFrame:
    """records with lln, uln and their sources ("measurement", "study file", "none")."""
    out = records.copy()
    ranges = {sex: study_range(lab, sex) for sex in ("female", "male", None)}
    sex = out["sex"].where(out["sex"].notna(), None)
    study_low = sex.map(lambda s: ranges[s if s in ranges else None][0]).astype(float)
    study_high = sex.map(lambda s: ranges[s if s in ranges else None][1]).astype(float)
    use_row = lab.reference_range_source == "measurement"
    for limit, row, study in (("lln", out["range_low"], study_low), ("uln", out["range_high"], study_high)):
        from_row = row.notna() & use_row
        out[limit] = np.where(from_row, row, study)
        out[f"{limit}_source"] = np.where(from_row, "measurement", np.where(study.notna(), "study file", "none"))
    return out


def lab_limits(lab, unit: str) -> list[Limit]:
    """The limits counted for a lab: > ULN, > k x ULN, < LLN, then the absolute ones."""
    def num(x):
        return f"{x:g}"
    out = [Limit("above", "ULN", multiple=1.0)]
    out += [Limit("above", f"{num(k)} x ULN", multiple=k) for k in lab.uln_multiples if k != 1]
    out += [Limit("below", "LLN", multiple=1.0)]
    out += [Limit("above", f"{num(v)} {unit}", value=v) for v in lab.above]
    out += [Limit("below", f"{num(v)} {unit}", value=v) for v in lab.below]
    return out


def window_values(records: pd.DataFrame, windows: list[tuple[int, int]], rules: list[str],
                  limits: list[Limit]) -> pd.DataFrame:
    """One row per (cohort, window, person_id) with a value in the window (window: the position in
    `windows`, which must not overlap): value (by the window's rule, "first", "last" or "mean"),
    n_records, and for each limit i the columns judged_i (a record had the limit) and beyond_i (a
    record was beyond it). Sorted by cohort, window and person. One pass for all windows."""
    keys = ["cohort", "window", "person_id"]
    flag_columns = [f"{p}_{i}" for i in range(len(limits)) for p in ("judged", "beyond")]
    order = sorted(range(len(windows)), key=lambda k: windows[k][0])
    starts = np.array([windows[k][0] for k in order], dtype=np.int64)
    ends = np.array([windows[k][1] for k in order], dtype=np.int64)
    day = records["rel_day"].to_numpy(dtype=np.int64)
    pos = np.searchsorted(starts, day, side="right") - 1
    inside = (pos >= 0) & (day <= ends[np.maximum(pos, 0)]) & records["value"].notna().to_numpy()
    w = records.loc[inside].copy()
    w["window"] = np.array(order, dtype=np.int64)[pos[inside]]
    if w.empty:
        return pd.DataFrame(columns=keys + ["value", "n_records"] + flag_columns)
    daily = w.groupby(keys + ["rel_day"], sort=True)["value"].mean().reset_index()
    g = daily.groupby(keys, sort=True)["value"]
    out = pd.DataFrame({"first": g.first(), "last": g.last(), "mean": g.mean()})
    rule = np.asarray(rules, dtype=object)[out.index.get_level_values("window").to_numpy()]
    out["value"] = np.select([rule == "first", rule == "last"], [out["first"], out["last"]], out["mean"])
    out = out.drop(columns=["first", "last", "mean"])
    out["n_records"] = w.groupby(keys, sort=True).size()
    flags = {}
    for i, limit in enumerate(limits):
        if limit.value is not None:
            bound = pd.Series(limit.value, index=w.index, dtype=float)
        else:
            bound = (w["uln"] if limit.kind == "above" else w["lln"]) * limit.multiple
        beyond = (w["value"] > bound) if limit.kind == "above" else (w["value"] < bound)
        flags[f"judged_{i}"] = bound.notna()
        flags[f"beyond_{i}"] = beyond & bound.notna()
    if flags:
        agg = pd.DataFrame(flags).groupby([w[k] for k in keys], sort=True).any()
        out = out.join(agg)
    return out.reset_index()
