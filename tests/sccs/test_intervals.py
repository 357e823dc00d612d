"""The SCCS interval construction against a plain day-by-day implementation of the same rules.

The brute force walks every day of every case with Python dates (birthdays with `datetime`,
months with `date.month`), assigns each day its window by the documented rules (an exposure's
windows end the day before the next exposure starts; the first window in the list wins),
and sums days and events per covariate pattern. The vectorised `split_intervals` must give the
same pieces.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
import pytest

from offlabel.stats.sccs_intervals import (AgeGroups, CaseSeries, Season, Window, anniversary, split_intervals,
                                           study_population)

EPOCH = dt.date(1970, 1, 1)
WINDOWS = [Window("day 0", 0, 0), Window("days 1-30", 1, 30), Window("days 31-90", 31, 90),
           Window("end to end+20", 1, 20, "end", "end"), Window("pre-exposure", -30, -1)]


def to_date(day: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(day))


def age_at(birth: dt.date, on: dt.date) -> int:
    years = on.year - birth.year
    try:
        this_year = birth.replace(year=on.year)
    except ValueError:  # 29 February in a common year: the birthday is 1 March
        this_year = dt.date(on.year, 3, 1)
    return years - (on < this_year)


def random_series(rng, n=60) -> CaseSeries:
    start = rng.integers(10_000, 11_000, n)
    end = start + rng.integers(50, 1500, n)
    birth = start - rng.integers(20 * 365, 60 * 365, n)
    birth[:3] = [to_day(dt.date(1972, 2, 29)), to_day(dt.date(1980, 2, 29)), to_day(dt.date(1975, 12, 31))]
    ev_case, ev_day, ex_case, ex_start, ex_end = [], [], [], [], []
    for c in range(n):
        for d in sorted(set(rng.integers(start[c], end[c] + 1, rng.integers(1, 6)).tolist())):
            ev_case.append(c)
            ev_day.append(d)
        s = int(start[c]) - 200
        for _ in range(rng.integers(0, 4)):
            s = s + int(rng.integers(5, 400))
            length = int(rng.integers(1, 120))
            ex_case.append(c)
            ex_start.append(s)
            ex_end.append(s + length - 1)
            s = s + length
    return CaseSeries(start, end, birth, ev_case, ev_day, ex_case, ex_start, ex_end)


def to_day(d: dt.date) -> int:
    return (d - EPOCH).days


def brute_force(s: CaseSeries, windows, first_only, cuts, by_month):
    eras = defaultdict(list)
    for c, a, b in zip(s.exposure_case, s.exposure_start, s.exposure_end):
        eras[int(c)].append((int(a), int(b)))
    events = defaultdict(int)
    for c, d in zip(s.event_case, s.event_day):
        events[(int(c), int(d))] += 1
    out = defaultdict(lambda: [0, 0])
    for c in range(s.n_cases):
        mine = eras[c][:1] if first_only else eras[c]
        spans = []  # (label, lo, hi)
        for i, (a, b) in enumerate(mine):
            nxt = mine[i + 1][0] if i + 1 < len(mine) else 10 ** 9
            for k, w in enumerate(windows):
                lo = (b if w.start_anchor == "end" else a) + w.start
                hi = min((b if w.end_anchor == "end" else a) + w.end, nxt - 1)
                spans.append((k, lo, hi))
        birth = to_date(s.birth[c])
        for d in range(int(s.start[c]), int(s.end[c]) + 1):
            labels = [k for k, lo, hi in spans if lo <= d <= hi]
            label = min(labels) if labels else -1
            age = age_at(birth, to_date(d))
            group = sum(age >= a for a in cuts)
            month = to_date(d).month if by_month else 0
            cell = out[(c, label, group, month)]
            cell[0] += 1
            cell[1] += events.get((c, d), 0)
    # informative cases only: more than one pattern, and exposed (or any, with age/season terms)
    patterns, exposed = defaultdict(int), defaultdict(bool)
    for (c, label, _, _) in out:
        patterns[c] += 1
        exposed[c] |= label >= 0
    time_terms = bool(cuts) or by_month
    kept = {k: tuple(v) for k, v in out.items() if patterns[k[0]] > 1 and (exposed[k[0]] or time_terms)}
    # an age group or month without events has its time left out
    for position in (2, 3):
        events_at = defaultdict(int)
        for k, (_, n_events) in kept.items():
            events_at[k[position]] += n_events
        if (position == 2 and cuts) or (position == 3 and by_month):
            kept = {k: v for k, v in kept.items() if events_at[k[position]] > 0}
    return kept


def as_patterns(table, cuts, by_month, age_reference=None):
    """{(case, window, age group, month): (days, events)} from an IntervalTable's design (the
    reference age group is the first without a column, unless given)."""
    names = table.names
    labels = ["<%d" % cuts[0]] + [f"{a}-{b - 1}" for a, b in zip(cuts, cuts[1:])] + [f"{cuts[-1]}+"] if cuts else []
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    out = {}
    for i in range(len(table.case)):
        row = dict(zip(names, table.X[i]))
        group = 0
        if cuts:
            on = [g for g, lab in enumerate(labels) if row.get(f"age {lab}") == 1]
            absent = [g for g, lab in enumerate(labels) if f"age {lab}" not in names]
            group = on[0] if on else (absent[0] if age_reference is None else age_reference)
        month = 0
        if by_month:
            on = [m + 1 for m, lab in enumerate(months) if row.get(f"season {lab}") == 1]
            absent = [m + 1 for m, lab in enumerate(months) if f"season {lab}" not in names]
            month = on[0] if on else absent[0]
        key = (int(table.case[i]), int(table.window[i]), group, month)
        assert key not in out, f"pattern {key} appears twice: pieces not merged"
        out[key] = (int(table.length[i]), int(table.events[i]))
    return out


@pytest.mark.parametrize("windows", [WINDOWS, WINDOWS[1:]], ids=["with day 0", "no day 0"])
@pytest.mark.parametrize("first_only", [False, True])
@pytest.mark.parametrize("cuts,by_month", [((), False), ((30, 45, 60), False), ((40,), True)])
def test_split_matches_day_by_day(first_only, cuts, by_month, windows):
    rng = np.random.default_rng(11 + len(cuts) + first_only)
    s = random_series(rng)
    table = split_intervals(s, windows, first_exposure_only=first_only,
                            age=AgeGroups(cuts) if cuts else None, season=Season("month") if by_month else None)
    expected = brute_force(s, windows, first_only, cuts, by_month)
    got = as_patterns(table, cuts, by_month)
    assert got == expected
    # the design's window columns are the one-hot labels
    for k, name in enumerate(table.windows):
        assert np.array_equal(table.X[:, table.names.index(name)], (table.window == k).astype(float))


def test_window_summary_adds_up():
    s = random_series(np.random.default_rng(3))
    table = split_intervals(s, WINDOWS)
    summary = table.window_summary()
    assert [r["window"] for r in summary] == [w.name for w in WINDOWS] + ["reference"]
    assert sum(r["events"] for r in summary) == table.events.sum()
    assert sum(r["person_days"] for r in summary) == table.length.sum()


def test_anniversary_matches_calendar():
    births = [dt.date(1972, 2, 29), dt.date(1980, 1, 31), dt.date(1999, 12, 31), dt.date(1950, 6, 15)]
    for b in births:
        for years in (1, 18, 30, 61):
            day = int(anniversary(np.array([to_day(b)]), years)[0])
            assert age_at(b, to_date(day)) == years and age_at(b, to_date(day - 1)) == years - 1


def test_study_population_restrictions():
    # one case observed 2000-01-01..2010-12-31, born 1970-07-01, events in 2000, 2003 and 2009
    start, end, birth = to_day(dt.date(2000, 1, 1)), to_day(dt.date(2010, 12, 31)), to_day(dt.date(1970, 7, 1))
    events = [to_day(dt.date(2000, 3, 1)), to_day(dt.date(2003, 5, 5)), to_day(dt.date(2009, 9, 9))]
    s = CaseSeries([start], [end], [birth], [0, 0, 0], events, [], [], [])
    p = study_population(s, washout_days=180)
    assert p.start[0] == start + 180 and p.event_day.tolist() == events[1:]
    p = study_population(s, min_age_years=35, max_age_years=39)  # 35th birthday 2005-07-01 .. day before the 40th
    assert p.start[0] == to_day(dt.date(2005, 7, 1)) and p.end[0] == to_day(dt.date(2010, 6, 30))
    assert p.event_day.tolist() == events[2:]
    assert study_population(s, min_age_years=35, max_age_years=38).n_cases == 0  # no event 2005-07..2009-06
    p = study_population(s, study_start=to_day(dt.date(2003, 1, 1)), study_end=to_day(dt.date(2009, 12, 31)))
    assert p.event_day.tolist() == events[1:] and p.end[0] == to_day(dt.date(2009, 12, 31))
    # first outcome only: the first-ever event is in the washout, so the case is not incident
    assert study_population(s, washout_days=180, first_outcome_only=True).n_cases == 0
    p = study_population(s, first_outcome_only=True)
    assert p.event_day.tolist() == events[:1]
    # an earlier event outside observation (first_event_day) also makes it prevalent
    assert study_population(s, first_outcome_only=True, first_event_day=np.array([start - 400])).n_cases == 0


def test_unexposed_cases_enter_only_for_time_terms():
    rng = np.random.default_rng(5)
    s = random_series(rng)
    exposed = set(split_intervals(s, WINDOWS).case.tolist())
    with_age = split_intervals(s, WINDOWS, age=AgeGroups((40,)))
    assert exposed <= set(with_age.case.tolist())
    sample = np.zeros(s.n_cases, bool)
    sample[::2] = True
    sampled = set(split_intervals(s, WINDOWS, age=AgeGroups((40,)), unexposed=sample).case.tolist())
    assert exposed <= sampled and all(c in exposed or sample[c] for c in sampled)


def test_end_of_observation_probe_marks_the_last_days():
    s = random_series(np.random.default_rng(8))
    table = split_intervals(s, WINDOWS, probe_days=30)
    probe = table.X[:, table.names.index("end of observation")] == 1
    days = np.bincount(table.case[probe], weights=table.length[probe], minlength=s.n_cases)
    cases = np.unique(table.case)
    assert np.all(days[cases] == np.minimum(30, s.end[cases] - s.start[cases] + 1))


def test_an_age_group_without_events_is_left_out():
    rng = np.random.default_rng(4)
    s = random_series(rng)
    age = (s.event_day - s.birth[s.event_case]) / 365.25
    keep = age >= 40
    s = CaseSeries(s.start, s.end, s.birth, s.event_case[keep], s.event_day[keep], s.exposure_case,
                   s.exposure_start, s.exposure_end)
    table = split_intervals(s, WINDOWS, age=AgeGroups((30, 40)))
    assert "age <30: no events, its time is left out" in table.notes
    assert "age 30-39: no events, its time is left out" in table.notes
    assert table.names[-1:] == ["age 40+"] or "age 40+" not in table.names
    assert got_equals_brute_force(s, table, (30, 40))


def got_equals_brute_force(s, table, cuts):
    return as_patterns(table, cuts, False, age_reference=2) == brute_force(s, WINDOWS, False, cuts, False)
