"""Persistence (KM), proportion of patients covered and add-on/switch on the tiny CDM, both backends."""

import datetime as dt
import uuid

import pandas as pd
import pytest

from offlabel.drug_utilisation import (
    summarise_add_on_and_switch, summarise_persistence, summarise_proportion_of_patients_covered,
)
from offlabel.errors import SpecError
from tests.drug_utilisation.conftest import EXPOSURES, GABAPENTIN, NALTREXONE, exposure_cohort

NALTREXONE_DRUGS = {2001, 2002, 2003, 2006}


def eras_of(exposures, gap: int) -> pd.DataFrame:
    """Drug eras by hand: a person's exposures closer than gap + 1 days join one era."""
    eras = []
    for person in sorted({e[0] for e in exposures}):
        spans = sorted((e[2], e[3]) for e in exposures if e[0] == person)
        start, end = spans[0]
        for s, e in spans[1:]:
            if (s - end).days - 1 <= gap:
                end = max(end, e)
            else:
                eras.append((person, start, end))
                start, end = s, e
        eras.append((person, start, end))
    return pd.DataFrame(eras, columns=["subject_id", "era_start_date", "era_end_date"])


def upload(cdm, frame: pd.DataFrame):
    return cdm.con.create_table(f"test_{uuid.uuid4().hex[:8]}", frame, temp=True)


def naltrexone_eras(cdm):
    return upload(cdm, eras_of([e for e in EXPOSURES if e[1] in NALTREXONE_DRUGS], gap=30))


def as_cohort(eras):
    return eras.select(subject_id=eras.subject_id, cohort_start_date=eras.era_start_date,
                       cohort_end_date=eras.era_end_date)


def test_persistence_km(tiny_cdm):
    eras = naltrexone_eras(tiny_cdm)
    result = summarise_persistence(tiny_cdm, as_cohort(eras), eras, cohort_name="ldn")
    t = result.filter(result_type="survival_probability").tidy()
    # p2, p5, p6 stop after 29 days, p1 after 59; p3 starts before entering observation (left out)
    assert list(t.time) == ["29", "59"]
    assert list(t.estimate) == [pytest.approx(0.25), 0.0]
    summary = result.filter(result_type="survival_summary").tidy().iloc[0]
    assert (summary.number_records_count, summary.n_events_count, summary.median_survival) == (4, 4, 29.0)
    censored = summarise_persistence(tiny_cdm, as_cohort(eras), eras, follow_up_days=40, times=[0, 29, 40])
    c = censored.filter(result_type="survival_probability").tidy()
    assert list(c.estimate) == [1.0, pytest.approx(0.25), pytest.approx(0.25)]
    ev = censored.filter(result_type="survival_events").tidy()
    assert list(ev.n_censor_count) == [0, 1]  # p1 censored at day 40


def test_proportion_of_patients_covered(tiny_cdm):
    result = summarise_proportion_of_patients_covered(tiny_cdm, exposure_cohort(tiny_cdm, [NALTREXONE]),
                                                      cohort_name="ldn", follow_up_days=60)
    t = result.tidy().set_index("time")
    assert (t.loc["0", "outcome_count"], t.loc["0", "denominator_count"]) == (4, 4)
    assert (t.loc["29", "outcome_count"], t.loc["30", "outcome_count"], t.loc["59", "outcome_count"]) == (4, 1, 1)
    assert (t.loc["60", "outcome_count"], t.loc["60", "denominator_count"]) == (0, 4)
    assert t.loc["30", "ppc"] == 25.0
    assert t.loc["30", "ppc_lower"] == pytest.approx(4.5586, abs=1e-3)  # prop.test(1, 4, correct=FALSE)
    assert len(t) == 61


def test_add_on_and_switch(tiny_cdm):
    eras = naltrexone_eras(tiny_cdm)
    baclofen = upload(tiny_cdm, pd.DataFrame({"subject_id": [6, 5], "cohort_start_date": [dt.date(2021, 6, 15),
                                                                                           dt.date(2021, 1, 1)],
                                              "cohort_end_date": [dt.date(2021, 7, 15), dt.date(2021, 3, 1)]}))
    result = summarise_add_on_and_switch(
        tiny_cdm, as_cohort(eras), {"gabapentin": exposure_cohort(tiny_cdm, [GABAPENTIN]), "baclofen": baclofen},
        cohort_name="ldn", window=(1, 180))
    t = result.tidy()
    change = t[t.variable_name == "treatment change"].set_index("variable_level")["count"].to_dict()
    # p1 starts gabapentin on day 90, after LDN stopped (switch); p6 adds baclofen on day 14 (add-on);
    # p5 was already on baclofen at index (concomitant) and stopped LDN (discontinued); p2 leaves
    # observation before day 180
    assert change == {"add-on": 1, "switch": 1, "continued": 0, "discontinued": 1}
    assert t[t.variable_name == "number subjects"]["count"].item() == 3
    assert t[t.variable_name == "not observed through window"]["count"].item() == 1
    gaba = t[t.variable_name == "gabapentin"].set_index("variable_level")["count"].to_dict()
    assert gaba == {"add-on": 0, "switch": 1}
    assert set(t.window_name) == {"1 to 180"}
    with pytest.raises(SpecError, match="window"):
        summarise_add_on_and_switch(tiny_cdm, as_cohort(eras), {"b": baclofen}, window=(10, 5))


def _rows(cdm, cohort):
    return sorted((r["subject_id"], r["cohort_start_date"], r["cohort_end_date"])
                  for r in cohort.to_pyarrow().to_pylist())


def test_new_users(tiny_cdm):
    from offlabel.drug_utilisation import new_users

    use = exposure_cohort(tiny_cdm, [NALTREXONE])
    D = dt.date
    # 30-day washout, observed for the 30 days before: p1 twice (the June start follows 61 days
    # without use), p2 twice (2021-03-01 is 274 days after the last use, observed since 2020-09-01);
    # p3 started before entering observation; p5 and p6 were observed for the 30 days before
    assert _rows(tiny_cdm, new_users(tiny_cdm, use, washout_days=30)) == [
        (1, D(2020, 2, 1), D(2020, 3, 31)), (1, D(2020, 6, 1), D(2020, 6, 30)),
        (2, D(2020, 5, 1), D(2020, 5, 30)), (2, D(2021, 3, 1), D(2021, 3, 30)),
        (5, D(2021, 1, 10), D(2021, 2, 8)), (6, D(2021, 6, 1), D(2021, 6, 30))]
    # a year's washout: p5 only (observed since 2020-01-01, before 2021-01-10 - 365 days); p2's 2021 use
    # joins its 2020 episode (274 days apart), p1's and p2's 2020 starts and p6's lack a year of observation
    assert _rows(tiny_cdm, new_users(tiny_cdm, use, washout_days=365)) == [(5, D(2021, 1, 10), D(2021, 2, 8))]
    assert _rows(tiny_cdm, new_users(tiny_cdm, use, washout_days=30, first_only=True))[:2] == [
        (1, D(2020, 2, 1), D(2020, 3, 31)), (2, D(2020, 5, 1), D(2020, 5, 30))]
    ever = _rows(tiny_cdm, new_users(tiny_cdm, use, washout_days=None, require_prior_observation=False))
    assert [r[0] for r in ever] == [1, 2, 3, 5, 6]


def test_results_suppress_and_export(tiny_cdm, tmp_path):
    """Every verb's result goes through suppression and the omopgenerics CSV export and back."""
    from offlabel.drug_utilisation import summarise_incidence, summarise_prevalence
    from offlabel.results import bind, export_summarised_result, import_summarised_result

    eras = naltrexone_eras(tiny_cdm)
    use = exposure_cohort(tiny_cdm, [NALTREXONE])
    results = bind(
        summarise_incidence(tiny_cdm, use, interval="years", washout_days=30),
        summarise_prevalence(tiny_cdm, use, interval="years"),
        summarise_persistence(tiny_cdm, as_cohort(eras), eras),
        summarise_proportion_of_patients_covered(tiny_cdm, use, follow_up_days=30),
        summarise_add_on_and_switch(tiny_cdm, as_cohort(eras), {"gabapentin": exposure_cohort(tiny_cdm, [GABAPENTIN])}),
    )
    suppressed = results.suppress(5)
    path = tmp_path / "results.csv"
    export_summarised_result(suppressed, path)
    back = import_summarised_result(path)
    assert len(back) == len(suppressed)
    assert {s for s in back.settings.result_type} >= {"incidence", "prevalence", "survival_probability",
                                                      "summarise_proportion_of_patients_covered",
                                                      "summarise_add_on_and_switch"}
