"""What the drug utilisation verbs share: the denominator, the study window, temp tables, settings."""

from __future__ import annotations

import math
import uuid
from contextlib import contextmanager

import ibis.expr.types as ir

import offlabel
from offlabel.drug_utilisation._intervals import clip, cohort_days, merge, observation_days, to_day
from offlabel.errors import EmptyCohortError, SpecError

PACKAGE = "offlabel"


def base_settings(result_type: str, **extra) -> dict[str, str]:
    """The settings of a result: result_type, package, then the analysis settings as text."""
    out = {"result_type": result_type, "package_name": PACKAGE, "package_version": offlabel.__version__}
    for key, value in extra.items():
        out[key] = _text(value)
    return out


def _text(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if value is None:
        return "NA"
    if isinstance(value, float) and math.isinf(value):
        return "Inf"
    return str(value)


def washout(days) -> int | None:
    """Washout in days, or None for "ever" (infinite)."""
    if days is None or (isinstance(days, float) and math.isinf(days)):
        return None
    if int(days) != days or days < 0:
        raise SpecError(f"washout_days must be a whole number of days >= 0 or None (ever), got {days!r}")
    return int(days)


def denominator_days(cdm, denominator: ir.Table | None, cohort_id: int | None) -> ir.Table:
    """The time persons may contribute: observation periods, or a population cohort's entries."""
    if denominator is None:
        return observation_days(cdm)
    return cohort_days(denominator, cohort_id, what="denominator cohort")


def study_window(days: ir.Table, start_date, end_date) -> tuple[int, int]:
    """[start, end] in days: as given, else from the earliest and latest denominator day."""
    start = to_day(start_date) if start_date is not None else None
    end = to_day(end_date) if end_date is not None else None
    if start is None or end is None:
        row = days.aggregate(lo=days.start.min(), hi=days.end.max()).to_pyarrow().to_pylist()[0]
        if row["lo"] is None:
            raise EmptyCohortError("The denominator is empty: no observation period or population cohort entry "
                                   "to count time in. Check the CDM's OBSERVATION_PERIOD or the population cohort.")
        start = int(row["lo"]) if start is None else start
        end = int(row["hi"]) if end is None else end
    if start > end:
        raise SpecError(f"start_date ({start_date}) is after end_date ({end_date}).")
    return start, end


def denominator_in_window(cdm, denominator, cohort_id, start_date, end_date) -> tuple[ir.Table, int, int]:
    days = denominator_days(cdm, denominator, cohort_id)
    start, end = study_window(days, start_date, end_date)
    return merge(clip(days, start, end)), start, end


@contextmanager
def temp_table(cdm, expr: ir.Table):
    """Materialise an expression once as a temporary table (it is read several times), then drop it."""
    name = f"offlabel_du_{uuid.uuid4().hex[:12]}"
    table = cdm.write_table(name, expr, temp=True)
    try:
        yield table
    finally:
        try:
            cdm.con.drop_table(name, force=True)
        except Exception:
            pass


def check_arguments(interval, level: float) -> list[str]:
    """The intervals as a list, after checking them and the confidence level (SpecError)."""
    from offlabel.drug_utilisation._periods import INTERVALS

    intervals = [interval] if isinstance(interval, str) else list(interval)
    problems = [f"interval {i!r} is not one of {INTERVALS}" for i in intervals if i not in INTERVALS]
    if not intervals:
        problems.append(f"give at least one interval of {INTERVALS}")
    if not 0 < level < 1:
        problems.append(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    if problems:
        raise SpecError("; ".join(problems) + ".")
    return intervals


SEXES = {8532: "Female", 8507: "Male"}


def with_sex(cdm, t: ir.Table) -> ir.Table:
    """`t` (with subject_id) plus `sex` ("Female", "Male", "None") from person.gender_concept_id."""
    import ibis

    person = cdm.table("person")
    person = person.select(_pid=person.person_id.cast("int64"), _g=person.gender_concept_id.cast("int64"))
    j = t.left_join(person, t.subject_id == person._pid)
    sex = ibis.cases(*[(j._g == k, v) for k, v in SEXES.items()], else_="None")
    return j.mutate(sex=sex).drop("_pid", "_g")


def strata_levels(by_sex: bool) -> list[tuple[dict, object]]:
    """[(strata, filter value)]: overall first, then each sex when asked."""
    out = [({}, None)]
    if by_sex:
        out += [({"sex": s}, s) for s in (*SEXES.values(), "None")]
    return out
