"""Eras (gaps and islands) against hand-computed eras and DrugUtilisation's own algorithm."""

from __future__ import annotations

import datetime as dt
import random

from offlabel.cohorts import collapse, drug_eras
from tests.cohorts.helpers import rows, write_intervals

# (person, start, end) records and the eras they make with gap_days = 5, computed by hand.
RECORDS = [
    (1, "2020-01-01", "2020-01-10"), (1, "2020-01-05", "2020-01-08"),  # nested: merges
    (1, "2020-01-15", "2020-01-20"),  # starts 5 days after the era's end (Jan 10): merges
    (1, "2020-01-26", "2020-01-30"),  # 6 days after Jan 20: a new era
    (2, "2020-03-01", "2020-03-01"), (2, "2020-03-06", "2020-03-06"),  # zero-length, 5 apart: merge
    (2, "2020-03-12", "2020-03-12"),  # 6 days after Mar 6: new era
    (3, "2020-04-01", None),  # missing end counts as the start date
    (3, "2020-04-03", "2020-04-02"),  # ends before it starts: dropped
    (3, "2020-04-06", "2020-04-10"),  # 5 days after Apr 1: merges
    (5, "2020-06-01", "2020-06-30"), (5, "2020-06-02", "2020-06-03"),  # the era's end is the running
    (5, "2020-06-20", "2020-06-21"), (5, "2020-07-05", "2020-07-05"),  # maximum, not the previous end
]
ERAS_GAP_5 = [
    (1, "2020-01-01", "2020-01-20", 3), (1, "2020-01-26", "2020-01-30", 1),
    (2, "2020-03-01", "2020-03-06", 2), (2, "2020-03-12", "2020-03-12", 1),
    (3, "2020-04-01", "2020-04-10", 2),
    (5, "2020-06-01", "2020-07-05", 4),
]
COLUMNS = ("subject_id", "cohort_start_date", "cohort_end_date", "n_records")


def test_eras_match_hand_computed_fixture(backend_cdm):
    table = write_intervals(backend_cdm, "test_era_records", RECORDS)
    assert rows(collapse(table, gap_days=5), COLUMNS) == ERAS_GAP_5


def test_gap_zero_merges_touching_records_only(backend_cdm):
    table = write_intervals(backend_cdm, "test_era_touching", [
        (4, "2020-05-01", "2020-05-05"), (4, "2020-05-05", "2020-05-07"),  # same day: merges
        (4, "2020-05-08", "2020-05-09"),  # next day: a 1-day gap > 0, new era
    ])
    assert rows(collapse(table, gap_days=0), COLUMNS) == [
        (4, "2020-05-01", "2020-05-07", 2), (4, "2020-05-08", "2020-05-09", 1)]
    # gap exactly 1 merges, as DrugUtilisation's gapEra = 1 does.
    assert rows(collapse(table, gap_days=1), COLUMNS) == [(4, "2020-05-01", "2020-05-09", 3)]


def drug_utilisation_erafy(records, gap):
    """DrugUtilisation's `erafy` in plain Python: start events (-1) and end + gap events (+1),
    sorted by (date, id); an era opens when the running sum goes 0 → -1 and closes at 0; the
    era's end is the closing date minus the gap."""
    out = []
    by_person: dict[int, list] = {}
    for p, s, e in records:
        by_person.setdefault(p, []).append((s, e))
    for p, intervals in sorted(by_person.items()):
        events = [(s, -1) for s, _ in intervals] + [(e + dt.timedelta(days=gap), 1) for _, e in intervals]
        running, era_start = 0, None
        for date, kind in sorted(events):
            running += kind
            if running == -1 and kind == -1 and era_start is None:
                era_start = date
            if running == 0:
                out.append((p, str(era_start), str(date - dt.timedelta(days=gap))))
                era_start = None
    return sorted(out)


def test_eras_agree_with_drug_utilisation_algorithm_on_random_records(backend_cdm):
    rng = random.Random(7)
    base = dt.date(2015, 1, 1)
    records = []
    for person in range(1, 31):
        for _ in range(rng.randint(1, 12)):
            start = base + dt.timedelta(days=rng.randint(0, 400))
            records.append((person, start, start + dt.timedelta(days=rng.choice([0, 0, 1, 7, 14, 30, 90]))))
    table = write_intervals(backend_cdm, "test_era_random", [(p, str(s), str(e)) for p, s, e in records])
    for gap in (0, 1, 7, 30):
        ours = rows(collapse(table, gap_days=gap))
        assert ours == drug_utilisation_erafy(records, gap), f"gap_days={gap}"


def test_drug_eras_of_eunomia_diclofenac(backend_cdm):
    de = backend_cdm.table("drug_exposure")
    pulled = de.filter(de.drug_concept_id == 1124300).select(
        "person_id", "drug_exposure_start_date", "drug_exposure_end_date").to_pyarrow().to_pylist()
    records = [(r["person_id"], r["drug_exposure_start_date"], r["drug_exposure_end_date"]) for r in pulled]
    eras = drug_eras(backend_cdm, [1124300], gap_days=30)
    assert rows(eras, ("person_id", "era_start_date", "era_end_date")) == drug_utilisation_erafy(records, 30)
