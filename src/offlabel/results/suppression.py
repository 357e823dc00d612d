"""Minimum cell count suppression of a SummarisedResult.

Follows omopgenerics `suppress.summarised_result` (R/methodSuppress.R: suppressCounts,
suppressGroup, suppressVariable, suppressLinkage, suppressColumn) and its vignette
"suppression" (omopgenerics >= 1.0):

1. A record is suppressed when it is a count (below), its estimate_type is integer or
   numeric, and 0 < value < min_cell_count. Zero is not suppressed.
2. Group level: when a suppressed count has variable_name "number subjects" or "number
   records" (case-insensitive, "_" read as " "), every estimate of its group is
   suppressed; a group is the rows sharing result_id, cdm_name, group_name/level,
   strata_name/level and additional_name/level.
3. Variable level: estimates sharing group and variable_name/variable_level with a
   suppressed count are suppressed (this covers omopgenerics' linked "percentage").
4. Suppressed values become SUPPRESSED (text "-", as omopgenerics >= 1.0 writes them);
   `min_cell_count` is recorded in settings ("0" for 0 or 1, as omopgenerics).
5. Idempotent: suppressed values are no longer numbers, so a second pass finds nothing
   new. A result already suppressed at a higher threshold keeps that threshold (with a
   warning, as omopgenerics).

Where offlabel goes further than omopgenerics, to close holes in it:
- What is a count. omopgenerics counts only names containing "count" (`grepl("count",
  estimate_name)`), so a count named "n" or "number_events" escapes. In offlabel an
  estimate is a count if its name contains "count" (count, outcome_count,
  count_of_individuals, ...), or is "n" or "number", or starts with "n_", "number_" or
  "num_", or ends with "_n" (n_events, number_subjects, exposed_n). See `is_count`.
- Every suppressed count, whatever its name, suppresses its variable (omopgenerics does
  so only for count, denominator_count, outcome_count, record_count and subject_count).
- A suppressed group or variable loses all its estimates, counts included. omopgenerics'
  suppressColumn keeps counts that are themselves >= min_cell_count (e.g. a record count
  of 12 in a group of 3 subjects), which still describe the few people of that group.
Not done here, as in omopgenerics: secondary suppression of complements (a total minus
the unsuppressed counts can reveal a suppressed one); the analyses that publish both do it
before export, with `offlabel.results.secondary`.
"""

from __future__ import annotations

import math
import numbers
import re
import warnings

from offlabel.results.estimate_values import SUPPRESSED
from offlabel.results.schema import ResultError
from offlabel.results.summarised_result import SummarisedResult

#: variable_name values whose suppressed count hides the whole group (omopgenerics groupCount).
GROUP_COUNT_VARIABLES = frozenset({"number subjects", "number records"})
_COUNT_NAME = re.compile(r"count|^(n|number)$|^(n|number|num)_|_n$")


def is_count(estimate_name: str, estimate_type: str) -> bool:
    """Whether an estimate is a count of people or records, which suppression protects."""
    return estimate_type in ("integer", "numeric") and _COUNT_NAME.search(estimate_name) is not None


def suppress(result: SummarisedResult, min_cell_count: int = 5) -> SummarisedResult:
    """`result` with every count 0 < n < min_cell_count, and what derives from it, suppressed.

    Returns a new SummarisedResult whose settings record `min_cell_count`; see the module
    docstring for the rules. `min_cell_count` is a whole number of people or records >= 0.
    """
    if isinstance(min_cell_count, bool) or not isinstance(min_cell_count, numbers.Integral) or min_cell_count < 0:
        raise ResultError(f"min_cell_count must be a whole number >= 0, not {min_cell_count!r}")
    threshold = int(min_cell_count)
    groups, variables = set(), set()
    for row in result.rows:
        if _is_small_count(row, threshold):
            variables.add(_variable(row))
            if row.variable_name.replace("_", " ").lower() in GROUP_COUNT_VARIABLES:
                groups.add(_group(row))
    rows = tuple(row._replace(estimate_value=SUPPRESSED) if _group(row) in groups or _variable(row) in variables
                 else row for row in result.rows)
    settings = _record_threshold(result, threshold)
    if len({tuple(s.items()) for s in settings.values()}) < len(settings):
        # result_ids that differed only by min_cell_count now share their settings: merge
        # them as omopgenerics bind() would.
        return _merge_identical_settings(rows, settings)
    return SummarisedResult._trusted(rows, settings)


def _merge_identical_settings(rows, settings) -> SummarisedResult:
    first: dict[tuple, int] = {}
    renumber = {rid: first.setdefault(tuple(s.items()), rid) for rid, s in settings.items()}
    merged = {rid: s for rid, s in settings.items() if renumber[rid] == rid}
    unique_rows = dict.fromkeys(row._replace(result_id=renumber[row.result_id]) for row in rows)
    return SummarisedResult(unique_rows, merged)


def _group(row) -> tuple:
    """The group of a row: omopgenerics' result_id, cdm_name and the three name-level pairs."""
    return (row.result_id, row.cdm_name, row.group_name, row.group_level, row.strata_name, row.strata_level,
            row.additional_name, row.additional_level)


def _variable(row) -> tuple:
    return _group(row) + (row.variable_name, row.variable_level)


def _is_small_count(row, threshold: int) -> bool:
    value = row.estimate_value
    if not is_count(row.estimate_name, row.estimate_type):
        return False
    if value is None or value is SUPPRESSED or isinstance(value, bool):
        return False
    return not math.isnan(value) and 0 < value < threshold


def _record_threshold(result: SummarisedResult, threshold: int) -> dict[int, dict[str, str]]:
    recorded = "0" if threshold <= 1 else str(threshold)
    settings, higher = {}, []
    for rid in result.result_ids:
        s = result.settings_for(rid)
        previous = int(s["min_cell_count"])
        if previous > threshold:
            higher.append(f"result_id {rid}: {previous}")
        else:
            s["min_cell_count"] = recorded
        settings[rid] = s
    if higher:
        warnings.warn(f"results already suppressed for counts below a higher min_cell_count ({', '.join(higher)}); "
                      f"that threshold is kept rather than {threshold}", UserWarning, stacklevel=3)
    return settings
