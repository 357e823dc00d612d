"""Incidence and prevalence against a day-by-day count in plain Python, on random small worlds.

The verbs count with interval arithmetic in the database; the reference below walks every
person's every day. They must agree exactly for months and years, with and without
repeated events, for finite and infinite washouts.
"""

import datetime as dt
import uuid

import duckdb
import numpy as np
import pandas as pd
import pytest

import offlabel
from offlabel.drug_utilisation import summarise_incidence, summarise_prevalence

START, END = dt.date(2020, 1, 1), dt.date(2021, 12, 31)


def _world(seed, n=25):
    rng = np.random.default_rng(seed)
    obs, use = [], []
    base = dt.date(2019, 6, 1)
    for p in range(1, n + 1):
        day = int(rng.integers(0, 300))
        for _ in range(int(rng.integers(1, 3))):  # one or two observation periods
            length = int(rng.integers(30, 500))
            obs.append((p, base + dt.timedelta(day), base + dt.timedelta(day + length)))
            day += length + int(rng.integers(1, 120))
        for _ in range(int(rng.integers(0, 6))):
            s = int(rng.integers(0, 950))
            use.append((p, base + dt.timedelta(s), base + dt.timedelta(s + int(rng.integers(0, 60)))))
    return obs, use


def _cdm(tmp_path, obs):
    path = tmp_path / f"w{uuid.uuid4().hex[:6]}.duckdb"
    con = duckdb.connect(str(path))
    con.register("o", pd.DataFrame(obs, columns=["person_id", "s", "e"]))
    con.execute("CREATE TABLE person AS SELECT DISTINCT CAST(person_id AS BIGINT) AS person_id FROM o")
    con.execute("CREATE TABLE observation_period AS SELECT CAST(person_id AS BIGINT) AS person_id, "
                "CAST(s AS DATE) AS observation_period_start_date, CAST(e AS DATE) AS observation_period_end_date "
                "FROM o")
    con.close()
    return offlabel.connect(path, scratch=tmp_path / f"s{uuid.uuid4().hex[:6]}.duckdb")


def _periods(interval):
    out, d = [], START
    while d <= END:
        nxt = (dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1) if interval == "months"
               else dt.date(d.year + 1, 1, 1))
        out.append((d, nxt - dt.timedelta(1)))
        d = nxt
    return out


def _days(s, e):
    return {s + dt.timedelta(i) for i in range((e - s).days + 1)}


def _reference_incidence(obs, use, washout, repeated, interval):
    persons = sorted({o[0] for o in obs})
    at_risk, events = {}, {}
    for p in persons:
        den = set().union(*[_days(s, e) for q, s, e in obs if q == p]) & _days(START, END)
        spans = sorted((s, e) for q, s, e in use if q == p)
        episodes = []
        for s, e in spans:
            if episodes and (washout is None or (s - episodes[-1][1]).days - 1 <= washout):
                episodes[-1][1] = max(episodes[-1][1], e)
            else:
                episodes.append([s, e])
        blocked = set()
        for s, e in episodes:
            last = END if washout is None else e + dt.timedelta(washout)
            blocked |= _days(s + dt.timedelta(1), max(last, s)) if last > s else set()
        risk = den - blocked
        ev = sorted(s for s, _ in episodes if s in risk)
        if not repeated and ev:
            risk = {d for d in risk if d <= ev[0]}
            ev = ev[:1]
        at_risk[p], events[p] = risk, ev
    rows = {}
    for ps, pe in _periods(interval):
        days = [sum(1 for d in at_risk[p] if ps <= d <= pe) for p in persons]
        rows[ps.isoformat()] = (sum(1 for x in days if x), sum(days),
                                sum(1 for p in persons for d in events[p] if ps <= d <= pe))
    return rows


def _reference_prevalence(obs, use, interval, point):
    persons = sorted({o[0] for o in obs})
    rows = {}
    for ps, pe in _periods(interval):
        window = {ps} if point else _days(ps, pe)
        den = cases = 0
        for p in persons:
            observed = set().union(*[_days(s, e) for q, s, e in obs if q == p]) & window
            using = set().union(set(), *[_days(s, e) for q, s, e in use if q == p]) & observed
            den += bool(observed)
            cases += bool(using)
        rows[ps.isoformat()] = (den, cases)
    return rows


def _tidy(result, prefix, names, interval):
    t = result.tidy()
    t = t[t.analysis_interval == interval]
    out = {}
    for start, rows in t.groupby(f"{prefix}_start_date"):
        merged = {}
        for _, r in rows.iterrows():
            merged.update({k: r[k] for k in names if r[k] is not None and r[k] == r[k]})
        out[start] = tuple(int(merged[k]) for k in names)
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_incidence_matches_day_by_day_count(tmp_path, seed):
    obs, use = _world(seed)
    with _cdm(tmp_path, obs) as cdm:
        outcome = cdm.con.create_table("u", pd.DataFrame(use, columns=["subject_id", "cohort_start_date",
                                                                       "cohort_end_date"]), temp=True)
        for washout, repeated in [(30, False), (30, True), (None, False), (0, True)]:
            result = summarise_incidence(cdm, outcome, interval=["months", "years"], washout_days=washout,
                                         repeated_events=repeated, start_date=START, end_date=END)
            for interval in ("months", "years"):
                got = _tidy(result, "incidence", ["denominator_count", "person_days", "outcome_count"], interval)
                want = _reference_incidence(obs, use, washout, repeated, interval)
                assert got == want, (washout, repeated, interval)


@pytest.mark.parametrize("seed", [4])
def test_prevalence_matches_day_by_day_count(tmp_path, seed):
    obs, use = _world(seed)
    with _cdm(tmp_path, obs) as cdm:
        outcome = cdm.con.create_table("u", pd.DataFrame(use, columns=["subject_id", "cohort_start_date",
                                                                       "cohort_end_date"]), temp=True)
        for point in (False, True):
            result = summarise_prevalence(cdm, outcome, interval=["months", "years"],
                                          type="point" if point else "period", start_date=START, end_date=END)
            for interval in ("months", "years"):
                got = _tidy(result, "prevalence", ["denominator_count", "outcome_count"], interval)
                assert got == _reference_prevalence(obs, use, interval, point), (point, interval)
