"""Incidence and prevalence of use on the tiny CDM: numbers worked out by hand, both backends."""

import pytest

from offlabel.drug_utilisation import summarise_incidence, summarise_prevalence
from tests.drug_utilisation.conftest import NALTREXONE, exposure_cohort

STUDY = dict(start_date="2020-01-01", end_date="2021-12-31")


def _by_period(result, prefix):
    t = result.tidy()
    out = {}
    for (start, interval), rows in t.groupby([f"{prefix}_start_date", "analysis_interval"]):
        merged = {}
        for _, r in rows.iterrows():
            merged.update({k: v for k, v in r.items() if v is not None and v == v})
        out[(interval, start)] = merged
    return out


def test_incidence_new_users_with_washout(tiny_cdm):
    outcome = exposure_cohort(tiny_cdm, [NALTREXONE])
    result = summarise_incidence(tiny_cdm, outcome, outcome_name="naltrexone", interval=["years", "months"],
                                 washout_days=30, **STUDY)
    p = _by_period(result, "incidence")
    # 2020: p1 01-01..02-01 (event), p2 01-01..05-01 (event), p3 04-20..12-31, p4 all year, p5 all year
    assert (p["years", "2020-01-01"]["denominator_count"], p["years", "2020-01-01"]["person_days"],
            p["years", "2020-01-01"]["outcome_count"]) == (5, 32 + 122 + 256 + 366 + 366, 2)
    # 2021: p3 all year, p5 01-01..01-10 (event), p6 01-01..06-01 (event)
    assert (p["years", "2021-01-01"]["denominator_count"], p["years", "2021-01-01"]["person_days"],
            p["years", "2021-01-01"]["outcome_count"]) == (3, 365 + 10 + 152, 2)
    feb = p["months", "2020-02-01"]
    assert (feb["denominator_count"], feb["person_days"], feb["outcome_count"]) == (4, 1 + 29 + 29 + 29, 1)
    y = p["years", "2021-01-01"]
    assert y["incidence_100000_pys"] == pytest.approx(2 / (527 / 365.25) * 100_000)
    assert y["incidence_100000_pys_95CI_lower"] == pytest.approx(0.2422093 / (527 / 365.25) * 100_000, rel=1e-6)
    assert y["incidence_100000_pys_95CI_upper"] == pytest.approx(7.2246877 / (527 / 365.25) * 100_000, rel=1e-6)
    assert len([k for k in p if k[0] == "months"]) == 24
    assert result.settings_for(1)["result_type"] == "incidence"
    assert result.settings_for(1)["analysis_outcome_washout"] == "30"


def test_incidence_repeated_events_counts_each_person_once_per_period(tiny_cdm):
    outcome = exposure_cohort(tiny_cdm, [NALTREXONE])
    result = summarise_incidence(tiny_cdm, outcome, interval="years", washout_days=30, repeated_events=True,
                                 **STUDY)
    p = _by_period(result, "incidence")
    # p1 has three at-risk spells in 2020 and p2 two: still five persons
    assert p["years", "2020-01-01"]["denominator_count"] == 5
    assert p["years", "2020-01-01"]["outcome_count"] == 3  # p1 02-01 and 06-01, p2 05-01
    assert p["years", "2021-01-01"]["outcome_count"] == 3  # p2 03-01, p5 01-10, p6 06-01
    # p1: 32 + (05-01..06-01) 32 + (07-31..12-31) 154; p2: 122 + 06-30 (washout over, last observed
    # day) 1 + (09-01..12-31) 122; p3 256; p4 366; p5 366
    assert p["years", "2020-01-01"]["person_days"] == 32 + 32 + 154 + 122 + 1 + 122 + 256 + 366 + 366


def test_incidence_first_use_ever(tiny_cdm):
    outcome = exposure_cohort(tiny_cdm, [NALTREXONE])
    p = _by_period(summarise_incidence(tiny_cdm, outcome, interval="overall", washout_days=None, **STUDY),
                   "incidence")
    overall = p["overall", "2020-01-01"]
    # p3 used before entering observation: never at risk; p4 never uses: at risk all of 2020
    assert overall["outcome_count"] == 4
    assert overall["denominator_count"] == 5
    assert overall["person_days"] == 32 + 122 + 366 + 376 + 152


def test_period_and_point_prevalence(tiny_cdm):
    outcome = exposure_cohort(tiny_cdm, [NALTREXONE])
    p = _by_period(summarise_prevalence(tiny_cdm, outcome, interval=["years", "months"], **STUDY), "prevalence")
    assert (p["years", "2020-01-01"]["denominator_count"], p["years", "2020-01-01"]["outcome_count"]) == (5, 3)
    assert (p["years", "2021-01-01"]["denominator_count"], p["years", "2021-01-01"]["outcome_count"]) == (5, 3)
    assert (p["months", "2020-07-01"]["denominator_count"], p["months", "2020-07-01"]["outcome_count"]) == (4, 0)
    assert p["years", "2020-01-01"]["prevalence"] == pytest.approx(0.6)
    assert p["years", "2020-01-01"]["prevalence_95CI_lower"] == pytest.approx(0.1466328, abs=1e-6)  # binom.test(3, 5)
    point = _by_period(summarise_prevalence(tiny_cdm, outcome, type="point", interval="months", **STUDY),
                       "prevalence")
    jan = point["months", "2020-01-01"]
    assert (jan["denominator_count"], jan["outcome_count"]) == (4, 0)
    # on 2020-03-01 p3 uses but is not yet observed
    march = point["months", "2020-03-01"]
    assert (march["denominator_count"], march["outcome_count"]) == (4, 1)


def test_population_cohort_as_denominator(tiny_cdm):
    outcome = exposure_cohort(tiny_cdm, [NALTREXONE])
    op = tiny_cdm.table("observation_period")
    women = op.filter(op.person_id.isin([2, 4, 6]))
    population = women.select(subject_id=women.person_id, cohort_start_date=women.observation_period_start_date,
                              cohort_end_date=women.observation_period_end_date)
    p = _by_period(summarise_prevalence(tiny_cdm, outcome, denominator=population, denominator_name="women",
                                        interval="years", **STUDY), "prevalence")
    assert (p["years", "2021-01-01"]["denominator_count"], p["years", "2021-01-01"]["outcome_count"]) == (2, 2)


def test_strata_by_sex(tiny_cdm):
    # persons 1, 3, 5 are men (8507), 2, 4, 6 women (8532)
    outcome = exposure_cohort(tiny_cdm, [NALTREXONE])
    inc = summarise_incidence(tiny_cdm, outcome, interval="years", washout_days=30, by_sex=True, **STUDY).tidy()
    y2020 = inc[(inc.incidence_start_date == "2020-01-01") & (inc.variable_name == "Denominator")]
    by_sex = dict(zip(y2020.sex, y2020.denominator_count))
    assert by_sex == {"overall": 5, "Male": 3, "Female": 2, "None": 0}
    days = dict(zip(y2020.sex, y2020.person_days))
    assert days["Male"] + days["Female"] == days["overall"]
    prev = summarise_prevalence(tiny_cdm, outcome, interval="years", by_sex=True, **STUDY).tidy()
    out2021 = prev[(prev.prevalence_start_date == "2021-01-01") & (prev.variable_name == "Outcome")]
    assert dict(zip(out2021.sex, out2021.outcome_count)) == {"overall": 3, "Male": 1, "Female": 2, "None": 0}


def test_bad_arguments_are_reported_together(tiny_cdm):
    from offlabel.errors import SpecError

    outcome = exposure_cohort(tiny_cdm, [NALTREXONE])
    with pytest.raises(SpecError, match="interval 'weeks'.*level"):
        summarise_incidence(tiny_cdm, outcome, interval="weeks", level=95)
    with pytest.raises(SpecError, match="washout_days"):
        summarise_incidence(tiny_cdm, outcome, washout_days=-1)
    with pytest.raises(SpecError, match="'period' or 'point'"):
        summarise_prevalence(tiny_cdm, outcome, type="cumulative")
