"""Inclusion rules: counts of a concept set's records in a window around each entry.

Each rule becomes a boolean column on the entries table (one row per person and index date),
computed by a join and an aggregate in the database; `any_of` / `all_of` groups combine their
members' columns with or / and. Entries with no record in the window count 0 (never null).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from offlabel.cohorts.dates import days_between
from offlabel.cohorts.events import concept_records
from offlabel.spec.cohorts import AnyOf, EventCountRule

_KEYS = ("subject_id", "cohort_start_date")


def add_rule_flag(cdm, entries: ir.Table, rule, concept_ids: dict[str, tuple[int, ...]], column: str) -> ir.Table:
    """`entries` with a boolean column `column`: does the rule hold for the entry?"""
    if isinstance(rule, EventCountRule):
        return _add_count_flag(cdm, entries, rule, concept_ids[rule.concept_set], column)
    members = rule.any_of if isinstance(rule, AnyOf) else rule.all_of
    names = [f"{column}_{i}" for i in range(len(members))]
    for member, name in zip(members, names):
        entries = add_rule_flag(cdm, entries, member, concept_ids, name)
    combine = ibis.or_ if isinstance(rule, AnyOf) else ibis.and_
    return entries.mutate(**{column: combine(*(entries[n] for n in names))}).drop(*names)


def _add_count_flag(cdm, entries: ir.Table, rule: EventCountRule, ids, column: str) -> ir.Table:
    records = concept_records(cdm, ids, name=rule.concept_set)
    records = records.select(rec_person=records.person_id, rec_date=records.start_date)
    keys = entries.select(*_KEYS, *_observation_columns(entries, rule)).distinct()
    conditions = [keys.subject_id == records.rec_person]
    if rule.calendar_window is not None:
        if rule.calendar_window.start is not None:
            conditions.append(records.rec_date >= ibis.literal(rule.calendar_window.start, "date"))
        if rule.calendar_window.end is not None:
            conditions.append(records.rec_date <= ibis.literal(rule.calendar_window.end, "date"))
    if rule.window is not None:
        offset = days_between(records.rec_date, keys.cohort_start_date)
        if rule.window.start is not None:
            conditions.append(offset >= rule.window.start)
        if rule.window.end is not None:
            conditions.append(offset <= rule.window.end)
    if rule.within_observation_period:
        conditions += [records.rec_date >= keys.observation_period_start_date,
                       records.rec_date <= keys.observation_period_end_date]
    matched = keys.join(records, conditions)
    counted = matched.rec_date.nunique() if rule.distinct_days else matched.count()
    counts = (matched.group_by(k_subject=matched.subject_id, k_start=matched.cohort_start_date)
              .aggregate(rec_n=counted))
    joined = entries.left_join(counts, [entries.subject_id == counts.k_subject,
                                        entries.cohort_start_date == counts.k_start])
    n = ibis.coalesce(joined.rec_n, 0)
    ok = n >= rule.min_count
    if rule.max_count is not None:
        ok = ok & (n <= rule.max_count)
    return joined.mutate(**{column: ok}).drop("k_subject", "k_start", "rec_n")


def _observation_columns(entries: ir.Table, rule: EventCountRule) -> list[str]:
    if not rule.within_observation_period:
        return []
    return ["observation_period_start_date", "observation_period_end_date"]


def inclusion_stage(cdm, entries: ir.Table, rule, number: int, concept_ids) -> tuple[str, ir.Table]:
    """(reason, the entries that satisfy the rule) for the `number`-th inclusion rule."""
    flagged = add_rule_flag(cdm, entries, rule, concept_ids, "_ok")
    return f"Inclusion rule {number}: {rule.label()}", flagged.filter(flagged["_ok"]).drop("_ok")
