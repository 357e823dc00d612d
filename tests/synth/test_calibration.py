"""The world against DOMAIN.md's calibration facts.

Tolerances are 3 standard errors of the estimate (binomial for shares, Poisson for counts and
rates, asymptotic for the median), plus the width of the DOMAIN.md range where the fact is a
range or an approximate ("c.", "about") value; never tuned to the realised numbers.
"""

from __future__ import annotations

import math

from tests.synth.conftest import MULTIPLIER


def _binomial_se(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 1e-9) / max(n, 1))


def test_ms_prevalence_2012_matches_norway_times_the_multiplier(calibration):
    target = 203e-5 * MULTIPLIER  # DOMAIN.md: 203 per 100,000 nationwide (2012)
    n = calibration["population_2012"]
    observed = calibration["ms_prevalent_2012"] / n
    assert abs(observed - target) < 3 * _binomial_se(target, n) + 0.1 * target, (observed, target)


def test_about_68_percent_of_ms_patients_are_women(calibration):
    n = calibration["ms_patients"]
    assert abs(calibration["ms_female_share"] - 0.68) < 3 * _binomial_se(0.68, n), calibration["ms_female_share"]


def test_untreated_relapse_rate_early_in_disease_is_0_5_to_1_per_year(calibration):
    e = calibration["early_relapses"]["untreated"]
    rate, se = e["relapses"] / e["person_years"], math.sqrt(e["relapses"]) / e["person_years"]
    # DOMAIN.md: untreated 0.5-1.0 per year; primary progressive patients (10-20%) relapse rarely
    assert 0.5 * 0.85 - 3 * se < rate < 1.0 + 3 * se, rate


def test_dmt_lowers_the_relapse_rate(calibration):
    e = calibration["early_relapses"]
    treated = e["treated"]["relapses"] / e["treated"]["person_years"]
    untreated = e["untreated"]["relapses"] / e["untreated"]["person_years"]
    assert treated < untreated


def test_dmt_uptake_rises_from_about_28_to_about_64_percent(calibration):
    share, n = calibration["dmt_treated_share_by_year"], calibration["dmt_patients_by_year"]
    # DOMAIN.md: 28% treated c. 2005; 62-66% in 2021-22 (2020 is the world's last year)
    assert abs(share[2005] - 0.28) < 3 * _binomial_se(0.28, n[2005]) + 0.05, share[2005]
    assert abs(share[2020] - 0.64) < 3 * _binomial_se(0.64, n[2020]) + 0.05, share[2020]
    assert share[2020] > share[2010] > share[2005]


def test_ldn_surge_in_february_2013_is_visible_in_monthly_new_ms_users(calibration):
    monthly = calibration["ldn_new_ms_users_by_month"]
    before = sum(v for m, v in monthly.items() if "2010-01" <= m <= "2012-12")  # 36 months
    after = sum(v for m, v in monthly.items() if "2013-02" <= m <= "2013-07")    # 6 months
    # a ~100-fold jump decaying over months: the 6 months after carry far more than 10x the pre-event monthly rate
    expected_if_10x = 10 * (before + 1) * 6 / 36
    assert after > expected_if_10x + 3 * math.sqrt(expected_if_10x), (before, after)
    assert max(monthly, key=monthly.get) in ("2013-02", "2013-03", "2013-04")


def test_median_age_of_ms_ldn_starters_is_about_50(calibration):
    n = sum(calibration["ldn_new_ms_users_by_month"].values())
    se = 1.253 * 11 / math.sqrt(n)  # SD of age at start ~11 years
    assert abs(calibration["ldn_ms_starters_median_age"] - 50) < 3 * se + 2, calibration["ldn_ms_starters_median_age"]


def test_three_collection_strata_present_in_plausible_proportions(calibration, world):
    strata = calibration["ldn_2013_collection_strata"]
    n = world[1]["realised"]["ldn"]["starters"]
    assert set(strata) == {"1", "2-3", "4+"}
    planned = world[1]["config"]["ldn"]["collection_strata"]
    for s, share in strata.items():
        # collections after 2020 are cut by the end of observation: allow the 4+ share to shrink a little
        assert abs(share - planned[s]) < 3 * _binomial_se(planned[s], n) + 0.05, (s, share)
        assert 0.15 < share < 0.6


def test_ldn_users_2013_14_look_norwegian(calibration):
    # DOMAIN.md: 15,297 users in 2013-14, median age 52, 74% female
    assert abs(calibration["ldn_2013_14_starters_median_age"] - 52) < 5
    assert abs(calibration["ldn_2013_14_starters_female_share"] - 0.74) < 0.08


def test_ms_is_a_minority_and_the_population_turns_over(calibration, world):
    assert calibration["ms_patients"] / calibration["persons"] < 0.05
    n = calibration["population_2012"]
    # Norway 2019: 40.7k deaths / 5.33 M residents = 0.76%; the raised MS prevalence (SMR 2.5) adds a little
    assert abs(calibration["death_rate_2019"] - 0.0076) < 3 * _binomial_se(0.0076, n) + 0.002, calibration["death_rate_2019"]
