"""Cohorts built on Eunomia: entry, observation, inclusion rules, exits, attrition, reuse.

Expected members come from plain Python over the few records pulled for the purpose, never from
the engine under test.
"""

from __future__ import annotations

import datetime as dt

import pytest

from offlabel.cohorts import build_cohort
from offlabel.errors import EmptyCohortError, SpecError
from offlabel.spec.cohorts import CohortDefinition
from tests.cohorts.helpers import EUNOMIA, add_death_table, rows
from tests.cohorts.test_cohort_eras import drug_utilisation_erafy


def define(**fields) -> CohortDefinition:
    return CohortDefinition.model_validate(fields)


def pull(cdm, table, concept_column, ids, start, end=None):
    t = cdm.table(table)
    cols = ["person_id", start] + ([end] if end else [])
    return [tuple(r[c] for c in cols)
            for r in t.filter(t[concept_column].isin(ids)).select(*cols).to_pyarrow().to_pylist()]


def observation(cdm):
    op = cdm.table("observation_period").to_pyarrow().to_pylist()
    return {r["person_id"]: (r["observation_period_start_date"], r["observation_period_end_date"]) for r in op}


def nsaid_days(cdm):
    out: dict[int, set] = {}
    for p, s in pull(cdm, "drug_exposure", "drug_concept_id", EUNOMIA["nsaids"], "drug_exposure_start_date"):
        out.setdefault(p, set()).add(s)
    return out


def acetaminophen(cdm):
    out: dict[int, list] = {}
    for p, s, e in pull(cdm, "drug_exposure", "drug_concept_id", EUNOMIA["acetaminophen"],
                        "drug_exposure_start_date", "drug_exposure_end_date"):
        out.setdefault(p, []).append((s, e))
    return out


def test_first_and_all_entry_events(backend_cdm):
    records, op = acetaminophen(backend_cdm), observation(backend_cdm)
    first = build_cohort(backend_cdm, define(entry={"concept_set": "acetaminophen", "events": "first"}), EUNOMIA)
    starts = {p: min(s for s, _ in v) for p, v in records.items()}
    assert rows(first.table) == sorted((p, str(s), str(op[p][1])) for p, s in starts.items()
                                       if op[p][0] <= s <= op[p][1])

    # All records: each ends at its own end date (capped at the end of observation), and
    # overlapping episodes merge as eras with gap 0 do.
    every = build_cohort(backend_cdm, define(entry={"concept_set": "acetaminophen", "events": "all"},
                                             exit={"type": "event_end"}), EUNOMIA)
    in_op = [(p, s, min(e, op[p][1])) for p, v in records.items() for s, e in v if op[p][0] <= s <= op[p][1]]
    assert rows(every.table) == drug_utilisation_erafy(in_op, 0)
    assert len(rows(every.table)) > len(starts)  # several episodes per person
    assert every.attrition["number_records"].iloc[0] == len({(p, s) for p, v in records.items() for s, _ in v})
    assert every.attrition["reason"].iloc[-1].startswith("Overlapping episodes merged")


def test_date_range_and_first_ever(backend_cdm):
    records, op = acetaminophen(backend_cdm), observation(backend_cdm)
    days = {p: {s for s, _ in v} for p, v in records.items()}
    lo, hi = dt.date(2000, 1, 1), dt.date(2004, 12, 31)
    first_in_range = build_cohort(backend_cdm, define(entry={
        "concept_set": "acetaminophen", "events": "first", "date_range": {"start": lo, "end": hi}}), EUNOMIA)
    expected = {}
    for p, v in days.items():
        inside = [s for s in v if lo <= s <= hi]
        if inside and op[p][0] <= min(inside) <= op[p][1]:
            expected[p] = min(inside)
    assert {s for s, _, _ in rows(first_in_range.table)} == set(expected)
    assert all(r[1] == str(expected[r[0]]) for r in rows(first_in_range.table))

    new_users = build_cohort(backend_cdm, define(entry={
        "concept_set": "acetaminophen", "events": "first_ever", "date_range": {"start": lo, "end": hi}}), EUNOMIA)
    expected_new = {p for p, v in days.items() if lo <= min(v) <= hi and op[p][0] <= min(v) <= op[p][1]}
    assert {r[0] for r in rows(new_users.table)} == expected_new
    assert expected_new < set(expected)  # some users in range had used acetaminophen before 2000


def test_prior_and_post_observation(backend_cdm):
    days, op = nsaid_days(backend_cdm), observation(backend_cdm)
    cohort = build_cohort(backend_cdm, define(entry={"concept_set": "nsaids"}, prior_observation_days=3650,
                                              post_observation_days=365), EUNOMIA)
    expected = {p for p, v in days.items() if op[p][0] <= min(v) <= op[p][1]
                and (min(v) - op[p][0]).days >= 3650 and (op[p][1] - min(v)).days >= 365}
    assert {r[0] for r in rows(cohort.table)} == expected
    reasons = list(cohort.attrition["reason"])
    assert "At least 3650 days of observation before index" in reasons
    assert "At least 365 days of observation after index" in reasons

    # first_observed: the earliest record that has the required observation (ATLAS's limit).
    records = acetaminophen(backend_cdm)
    observed = build_cohort(backend_cdm, define(entry={"concept_set": "acetaminophen", "events": "first_observed"},
                                                prior_observation_days=3650), EUNOMIA)
    expected = {}
    for p, v in records.items():
        ok = [s for s, _ in v if op[p][0] <= s <= op[p][1] and (s - op[p][0]).days >= 3650]
        if ok:
            expected[p] = str(min(ok))
    assert {r[0]: r[1] for r in rows(observed.table)} == expected
    # events: first would require the observation of the first record, and lose people.
    first_then_require = {p for p, v in records.items() if (min(s for s, _ in v) - op[p][0]).days >= 3650}
    assert first_then_require < set(expected)


def test_inclusion_windows_relative_calendar_and_any_of(backend_cdm):
    days, op = nsaid_days(backend_cdm), observation(backend_cdm)
    bleeds: dict[int, list] = {}
    for p, s in pull(backend_cdm, "condition_occurrence", "condition_concept_id", [192671], "condition_start_date"):
        bleeds.setdefault(p, []).append(s)
    index = {p: min(v) for p, v in days.items() if op[p][0] <= min(v) <= op[p][1]}

    def n_bleeds(p, test):
        return sum(1 for s in bleeds.get(p, []) if op[p][0] <= s <= op[p][1] and test(s))

    after = {"concept_set": "gi_bleed", "min_count": 1, "window": {"start": 0, "end": 3650}}
    calendar = {"concept_set": "gi_bleed", "min_count": 1,
                "calendar_window": {"start": "1990-01-01", "end": "1999-12-31"}}
    got_after = {r[0] for r in rows(build_cohort(
        backend_cdm, define(entry={"concept_set": "nsaids"}, inclusion=[after]), EUNOMIA).table)}
    exp_after = {p for p, i in index.items() if n_bleeds(p, lambda s: 0 <= (s - i).days <= 3650) >= 1}
    assert got_after == exp_after and exp_after

    got_cal = {r[0] for r in rows(build_cohort(
        backend_cdm, define(entry={"concept_set": "nsaids"}, inclusion=[calendar]), EUNOMIA).table)}
    exp_cal = {p for p in index if n_bleeds(p, lambda s: dt.date(1990, 1, 1) <= s <= dt.date(1999, 12, 31)) >= 1}
    assert got_cal == exp_cal and exp_cal

    either = build_cohort(backend_cdm, define(entry={"concept_set": "nsaids"},
                                              inclusion=[{"any_of": [after, calendar], "name": "bleed"}]), EUNOMIA)
    assert {r[0] for r in rows(either.table)} == exp_after | exp_cal
    assert either.attrition["reason"].iloc[-1] == "Inclusion rule 1: bleed"

    # An exclusion (max_count 0) keeps exactly the complement within the entries.
    none_before = build_cohort(backend_cdm, define(entry={"concept_set": "nsaids"}, inclusion=[
        {"concept_set": "gi_bleed", "min_count": 0, "max_count": 0, "window": {"end": -1}}]), EUNOMIA)
    exp_none = {p for p, i in index.items() if n_bleeds(p, lambda s: s < i) == 0}
    assert {r[0] for r in rows(none_before.table)} == exp_none


def test_exits_and_death_censoring(backend_cdm):
    op = observation(backend_cdm)
    base = {"entry": {"concept_set": "celecoxib"}}
    eoo = rows(build_cohort(backend_cdm, define(**base), EUNOMIA).table)
    assert all(end == str(op[p][1]) for p, _, end in eoo)

    fixed = rows(build_cohort(backend_cdm, define(**base, exit={"type": "fixed_days", "days": 30}), EUNOMIA).table)
    assert [(p, s) for p, s, _ in fixed] == [(p, s) for p, s, _ in eoo]
    for p, s, end in fixed:  # index + 30 days, never past the end of observation
        assert end == str(min(dt.date.fromisoformat(s) + dt.timedelta(days=30), op[p][1]))

    event_end = rows(build_cohort(backend_cdm, define(**base, exit={"type": "event_end", "offset_days": 2}),
                                  EUNOMIA).table)
    for p, s, end in event_end:  # Eunomia's celecoxib records last one day
        assert end == str(min(dt.date.fromisoformat(s) + dt.timedelta(days=2), op[p][1]))

    era = rows(build_cohort(backend_cdm, define(**base, exit={"type": "drug_era", "gap_days": 30}), EUNOMIA).table)
    assert all(s == end for _, s, end in era)  # one one-day record per person: the era is that day
    records = acetaminophen(backend_cdm)
    para = rows(build_cohort(backend_cdm, define(entry={"concept_set": "acetaminophen"},
                                                 exit={"type": "drug_era", "gap_days": 30, "offset_days": 3}),
                             EUNOMIA).table)
    # The 3-day grace period extends every record before eras of gap 30 are formed.
    eras = drug_utilisation_erafy([(p, s, e + dt.timedelta(days=3)) for p, v in records.items() for s, e in v], 30)
    eras_of: dict[int, list] = {}
    for q, a, e in eras:
        eras_of.setdefault(q, []).append((a, e))
    for p, s, end in para:
        era_end = next(e for a, e in eras_of[p] if a <= s <= e)
        assert end == str(min(dt.date.fromisoformat(era_end), op[p][1]))
    assert any(s != end for _, s, end in para)
    other = rows(build_cohort(backend_cdm, define(**base, exit={"type": "drug_era", "concept_set": "diclofenac"}),
                              EUNOMIA).table)
    assert other == eoo  # no diclofenac era holds a celecoxib index: follow to end of observation

    p0, s0, _ = eoo[0]
    p1, s1, e1 = eoo[1]
    add_death_table(backend_cdm, {p0: s0, p1: str(dt.date.fromisoformat(e1) + dt.timedelta(days=10))})
    # The DEATH table changed under the same CDM fingerprint: build afresh instead of reusing.
    censored = dict((p, (s, e)) for p, s, e in rows(build_cohort(backend_cdm, define(**base), EUNOMIA,
                                                                 reuse=False).table))
    assert censored[p0] == (s0, s0)  # died on the index date
    assert censored[p1] == (s1, e1)  # died after the end of observation: unchanged
    assert dict((p, (s, e)) for p, s, e in eoo)[p0] == (s0, str(op[p0][1]))  # before deaths were known


def test_attrition_is_consistent(backend_cdm):
    cohort = build_cohort(backend_cdm, define(
        entry={"concept_set": "nsaids", "events": "all", "date_range": {"start": "1990-01-01"}},
        prior_observation_days=365,
        inclusion=[{"concept_set": "gi_bleed", "min_count": 0, "max_count": 0, "window": {"end": -1}},
                   {"any_of": [{"concept_set": "celecoxib"}, {"concept_set": "diclofenac", "min_count": 2}]}]),
        EUNOMIA)
    a = cohort.attrition
    assert list(a.columns) == ["cohort_definition_id", "number_records", "number_subjects", "reason_id", "reason",
                               "excluded_records", "excluded_subjects"]
    assert list(a["reason_id"]) == list(range(1, len(a) + 1))
    assert a["excluded_records"].iloc[0] == 0 and a["excluded_subjects"].iloc[0] == 0
    for prev, cur in zip(a.itertuples(), list(a.itertuples())[1:]):
        assert cur.excluded_records == prev.number_records - cur.number_records
        assert cur.excluded_subjects == prev.number_subjects - cur.number_subjects
        assert cur.excluded_records >= 0 and cur.excluded_subjects >= 0
    final = cohort.table
    assert a["number_records"].iloc[-1] == final.count().to_pyarrow().as_py()
    assert a["number_subjects"].iloc[-1] == final.subject_id.nunique().to_pyarrow().as_py()


def test_materialised_once_and_reused(backend_cdm, monkeypatch):
    definition = define(entry={"concept_set": "celecoxib"}, prior_observation_days=180, name="reuse")
    first = build_cohort(backend_cdm, definition, EUNOMIA, cohort_definition_id=7)
    assert backend_cdm.has_written(first.table_name) and backend_cdm.has_written(first.table_name + "_attrition")
    assert not [n for n in backend_cdm.con.list_tables(database=backend_cdm.write_database) if "_work" in n]

    import offlabel.cohorts.build as build_module

    def no_recompute(*args, **kwargs):
        raise AssertionError("the cohort was computed again")

    monkeypatch.setattr(build_module, "cohort_stages", no_recompute)
    again = build_cohort(backend_cdm, definition, EUNOMIA, cohort_definition_id=7)
    assert again.reused and again.definition_hash == first.definition_hash
    assert rows(again.table) == rows(first.table)
    assert again.attrition.equals(first.attrition)
    assert set(again.table.cohort_definition_id.to_pyarrow().to_pylist()) == {7}
    # A different concept set is a different cohort.
    other = dict(EUNOMIA, celecoxib=[1124300])
    with pytest.raises(AssertionError, match="computed again"):
        build_cohort(backend_cdm, definition, other, cohort_definition_id=7)


def test_empty_cohort_names_the_step(backend_cdm):
    with pytest.raises(EmptyCohortError, match="At least 36500 days of observation before index"):
        build_cohort(backend_cdm, define(entry={"concept_set": "celecoxib"}, prior_observation_days=36500), EUNOMIA)
    with pytest.raises(EmptyCohortError, match="no person has a record of the entry concept set 'nothing'"):
        build_cohort(backend_cdm, define(entry={"concept_set": "nothing"}), {"nothing": []})
    empty = build_cohort(backend_cdm, define(entry={"concept_set": "nothing"}), {"nothing": []}, allow_empty=True)
    assert empty.number_subjects == 0 and rows(empty.table) == []
    with pytest.raises(SpecError, match="unknown concept set 'gi'"):
        build_cohort(backend_cdm, define(entry={"concept_set": "gi"}), EUNOMIA)
