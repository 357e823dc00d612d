"""Attrition: how many records and persons each step of a cohort kept, and why the rest left.

The table has omopgenerics' columns (`recordCohortAttrition`): cohort_definition_id, reason_id,
reason, number_records, number_subjects, excluded_records, excluded_subjects. Each step's
excluded counts are the previous step's counts minus its own (0 for the first step).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

COLUMNS = ["cohort_definition_id", "number_records", "number_subjects", "reason_id", "reason",
           "excluded_records", "excluded_subjects"]


def count_stages(stages: list[tuple[str, ir.Table]], *, subject: str = "subject_id") -> list[tuple[int, int]]:
    """(records, subjects) of every stage, in one query."""
    parts = [t.aggregate(stage=ibis.literal(i, "int32"), number_records=t.count().cast("int64"),
                         number_subjects=t[subject].nunique().cast("int64"))
             for i, (_, t) in enumerate(stages)]
    rows = ibis.union(*parts, distinct=False).to_pyarrow().to_pylist() if len(parts) > 1 \
        else parts[0].to_pyarrow().to_pylist()
    by_stage = {r["stage"]: (int(r["number_records"]), int(r["number_subjects"])) for r in rows}
    return [by_stage[i] for i in range(len(stages))]


def attrition_frame(cohort_definition_id: int, reasons: list[str], counts: list[tuple[int, int]]) -> pd.DataFrame:
    rows = []
    previous = None
    for i, (reason, (records, subjects)) in enumerate(zip(reasons, counts), start=1):
        rows.append({
            "cohort_definition_id": cohort_definition_id, "number_records": records, "number_subjects": subjects,
            "reason_id": i, "reason": reason,
            "excluded_records": 0 if previous is None else previous[0] - records,
            "excluded_subjects": 0 if previous is None else previous[1] - subjects,
        })
        previous = (records, subjects)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({c: "int64" for c in COLUMNS if c != "reason"})
