"""The database part of the lab chart review: each cohort person's index and follow-up, and the
measurement records of the study labs in the analysis windows (one pass over MEASUREMENT).

Everything here is an Ibis expression run in the database; what leaves it is one row per person
(index, follow-up length) and one row per measurement record of those persons inside the windows,
both small next to the CDM. Days are whole days since 1970-01-01 (exact on every backend).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from offlabel.drug_utilisation._common import temp_table
from offlabel.drug_utilisation._intervals import epoch, observation_days

FEMALE, MALE = 8532, 8507

PERSON_COLUMNS = ["cohort", "person_id", "sex", "follow_up_days"]
RECORD_COLUMNS = ["cohort", "lab", "person_id", "sex", "rel_day", "value", "unit_concept_id", "range_low", "range_high"]


def cohort_persons(context, cohort_name: str, follow_up: str) -> ir.Table:
    """cohort, person_id, sex, index_day, obs_start, fu_end: one row per person of the cohort.

    Index is the person's first cohort_start_date; obs_start the start of the observation period
    holding it; fu_end the end of that period, or (follow_up "cohort_exit") the first entry's
    cohort_end_date when earlier.
    """
    cdm = context.cdm
    c = context.cohort(cohort_name).table
    c = c.select(person_id=c.subject_id.cast("int64"), _start=epoch(c.cohort_start_date), _end=epoch(c.cohort_end_date))
    first = c.group_by("person_id").aggregate(index_day=c._start.min())
    # Episodes of one person do not overlap, so one episode starts on the first start day.
    first = first.join(c, (first.person_id == c.person_id) & (first.index_day == c._start)).select(
        person_id=first.person_id, index_day=first.index_day, _end=c._end)
    obs = observation_days(cdm)
    j = first.join(obs, (first.person_id == obs.subject_id) & (obs.start <= first.index_day)
                   & (obs.end >= first.index_day))
    fu_end = ibis.least(j.end, j._end) if follow_up == "cohort_exit" else j.end
    person = cdm.table("person")
    person = person.select(_pid=person.person_id.cast("int64"), _g=person.gender_concept_id.cast("int64"))
    j = j.select(person_id=j.person_id, index_day=j.index_day, obs_start=j.start, fu_end=fu_end)
    j = j.left_join(person, j.person_id == person._pid)
    sex = ibis.cases((j._g == FEMALE, "female"), (j._g == MALE, "male"), else_=ibis.null("string"))
    return j.select(cohort=ibis.literal(cohort_name), person_id=j.person_id, sex=sex, index_day=j.index_day,
                    obs_start=j.obs_start, fu_end=j.fu_end)


def extract(context, cohorts: list[str], follow_up: str, lab_concepts: dict[str, list[int]],
            first_day: int, last_day: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(persons, records) of the cohorts, as pandas frames in a fixed order.

    persons: cohort, person_id, sex, follow_up_days (fu_end - index).
    records: cohort, lab, person_id, sex, rel_day (day - index), value (value_as_number, may be
    missing), unit_concept_id, range_low, range_high, for the measurements of each lab's concepts
    with rel_day in [first_day, last_day], inside the observation period holding index and not
    after fu_end. A concept in two labs' concept sets gives a record to each.
    """
    cdm = context.cdm
    parts = [cohort_persons(context, name, follow_up) for name in cohorts]
    persons_expr = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
    with temp_table(cdm, persons_expr) as persons:
        p = persons.select(*PERSON_COLUMNS[:3], follow_up_days=(persons.fu_end - persons.index_day).cast("int64"))
        person_frame = _frame(p, PERSON_COLUMNS, ["cohort", "person_id"])
        pairs = [(lab, int(cid)) for lab, ids in lab_concepts.items() for cid in sorted(set(ids))]
        if not pairs:
            return person_frame, pd.DataFrame(columns=RECORD_COLUMNS)
        labs = ibis.memtable({"lab": [a for a, _ in pairs], "_cid": [b for _, b in pairs]},
                             schema={"lab": "string", "_cid": "int64"})
        m = cdm.table("measurement")
        m = m.filter(m.measurement_concept_id.isin(sorted({b for _, b in pairs})))
        m = m.select(_pid=m.person_id.cast("int64"), _mcid=m.measurement_concept_id.cast("int64"),
                     _day=epoch(m.measurement_date), value=m.value_as_number.cast("float64"),
                     unit_concept_id=m.unit_concept_id.cast("int64"), range_low=m.range_low.cast("float64"),
                     range_high=m.range_high.cast("float64"))
        j = m.join(persons, m._pid == persons.person_id)
        rel = j._day - j.index_day
        j = j.filter((rel >= first_day) & (rel <= last_day) & (j._day >= j.obs_start) & (j._day <= j.fu_end))
        j = j.join(labs, j._mcid == labs._cid)
        records = j.select(cohort=j.cohort, lab=j.lab, person_id=j.person_id, sex=j.sex,
                           rel_day=(j._day - j.index_day).cast("int64"), value=j.value,
                           unit_concept_id=j.unit_concept_id, range_low=j.range_low, range_high=j.range_high)
        record_frame = _frame(records, RECORD_COLUMNS, RECORD_COLUMNS)
    return person_frame, record_frame


def _frame(t: ir.Table, columns: list[str], order: list[str]) -> pd.DataFrame:
    """Pull a (small) table; sorted in Python on all of `order`, so that the row order does not
    depend on the backend."""
    frame = t.select(*columns).to_pyarrow().to_pandas()
    return frame.sort_values(order, kind="stable", na_position="first").reset_index(drop=True)
