"""Adverse-event periods, person-days and events on the tiny hand-made CDM (tests/safety/tiny.py).

Person 11 (index 2020-01-01, observed 2019-01-01..2020-12-31): on treatment 01-01..03-30 (90 days)
and 06-01..06-30 (30), off 03-31..05-31 (62) and 07-01..12-31 (184), before index 2019 (365 days).
Person 12 (observed 2020-01-01..05-31): on 01-01..01-30 (30), off 01-31..05-31 (122), no time before.
Outcome A on 11: 2019-06-01 (before), 01-01 and 01-15 (twice: one day) and 06-15 (on), 04-15 and
09-01 (off); on 12: 01-10 (on), 03-01 (off). Outcome B (observation table): 11 on 02-01 (on); 12 on
06-15, after follow-up.
"""

from __future__ import annotations

import pytest

from offlabel.analyses.safety.adverse_events import BEFORE, OFF, ON, period_counts
from tests.safety.conftest import run_tiny

BASE = "{type: adverse_events, cohort: new_users_two, drug: drug_two, outcomes: [outcome_a, outcome_b]"


def counts(make, extra: str = "") -> dict:
    context = make(f"  - {BASE}{', ' + extra if extra else ''}}}\n")
    return period_counts(context, context.study.analyses[0])


def test_all_events_on_off_and_before(tiny_safety_context):
    got = counts(tiny_safety_context, "before_days: 365")
    # (persons, person-days, events, persons with an event)
    assert got["outcome_a"] == {BEFORE: (1, 365, 1, 1), ON: (2, 150, 4, 2), OFF: (2, 368, 3, 2)}
    assert got["outcome_b"] == {BEFORE: (1, 365, 0, 0), ON: (2, 150, 1, 1), OFF: (2, 368, 0, 0)}


def test_risk_window_keeps_only_early_treatment_days(tiny_safety_context):
    """[1, 30]: 11 on 01-02..01-31 (30 days), 12 on 01-02..01-30 (its era ends: 29); day 0 and June drop out."""
    got = counts(tiny_safety_context, "risk_window: {start: 1, end: 30}")
    assert got["outcome_a"] == {ON: (2, 59, 2, 2), OFF: (2, 368, 3, 2)}


def test_grace_days_extend_treatment(tiny_safety_context):
    """30 grace days: 11 on 01-01..04-29 (120) and 06-01..07-30 (60); 12 on 01-01..02-29 (60)."""
    got = counts(tiny_safety_context, "grace_days: 30")
    assert got["outcome_a"][ON] == (2, 240, 5, 2)  # 04-15 is now on treatment
    assert got["outcome_a"][OFF] == (2, 278, 2, 2)


def test_follow_up_days_end_follow_up(tiny_safety_context):
    """100 days: follow-up ends 2020-04-09; 11 off 03-31..04-09 (10), 12 off 01-31..04-09 (70)."""
    got = counts(tiny_safety_context, "follow_up_days: 100")
    assert got["outcome_a"] == {ON: (2, 120, 3, 2), OFF: (2, 80, 1, 1)}


def test_first_events_stop_time_at_risk(tiny_safety_context):
    """First event from the start of the first period (2019-01-01 for 11, index for 12, who has no
    time before): A: 11's first is 2019-06-01, so 11 contributes 2019-01-01..06-01 (152 days) only;
    12 stops at 01-10. B: 11 stops at 02-01 (32 days on); 12 has no B in follow-up."""
    got = counts(tiny_safety_context, "before_days: 365, events: first")
    assert got["outcome_a"] == {BEFORE: (1, 152, 1, 1), ON: (1, 10, 1, 1)}
    assert got["outcome_b"] == {BEFORE: (1, 365, 0, 0), ON: (2, 62, 1, 1), OFF: (1, 122, 0, 0)}


@pytest.mark.parametrize("washout, expected", [
    ("365", {ON: (1, 10, 1, 1)}),       # 11's A on 2019-06-01 lies in the year before index: 11 is left out
    ("null", {ON: (1, 10, 1, 1)}),      # any earlier record leaves a person out
    ("100", {ON: (2, 11, 2, 2)}),       # 2019-06-01 is 214 days before: 11's first is day 0 (1 day at risk)
])
def test_washout_leaves_out_persons_with_a_recent_outcome(tiny_safety_context, washout, expected):
    got = counts(tiny_safety_context, f"events: first, washout_days: {washout}")
    assert got["outcome_a"] == expected


def test_rates_and_rate_ratio_rows(tiny_safety_path, tmp_path):
    _, est = run_tiny(str(tiny_safety_path), f"  - {BASE}, before_days: 365}}\n", tmp_path)
    g = "new_users_two &&& outcome_a"
    rate = float(est[(g, ON, "Outcome", "NA", "incidence_1000_pys")])
    assert rate == pytest.approx(4 / (150 / 365.25) * 1000)
    assert est[(g, ON, "Denominator", "NA", "person_days")] == "150"
    from offlabel.stats.rates import rate_ratio

    rr = rate_ratio(4, 150, 3, 368)
    assert float(est[(g, "on vs off treatment", "rate ratio", "NA", "rate_ratio")]) == pytest.approx(rr.estimate)
    assert float(est[(g, "on vs off treatment", "rate ratio", "NA", "rate_ratio_95CI_lower")]) == pytest.approx(rr.lower)
    assert float(est[(g, "on vs off treatment", "rate ratio", "NA", "p_value")]) == pytest.approx(rr.p_value)
    assert (g, "on treatment vs before index", "rate ratio", "NA", "rate_ratio") in est


def test_small_counts_hide_rates_and_rate_ratios(tiny_safety_path, tmp_path):
    """min_cell_count 5: two persons per period, so every rate and ratio is hidden with its counts."""
    _, est = run_tiny(str(tiny_safety_path), f"  - {BASE}}}\n", tmp_path, min_cell_count=5)
    g = "new_users_two &&& outcome_a"
    assert est[(g, ON, "Outcome", "NA", "incidence_1000_pys")] == "-"
    assert est[(g, ON, "Denominator", "NA", "denominator_count")] == "-"
    assert est[(g, "on vs off treatment", "rate ratio", "NA", "rate_ratio")] == "-"
    assert est[(g, ON, "Denominator", "NA", "person_days")] == "-"  # with its suppressed denominator


def test_results_identical_on_every_backend(backend, tiny_safety_path, tiny_safety_address, tmp_path):
    analyses = (f"  - {BASE}, before_days: 365, grace_days: 10, risk_window: {{start: 0, end: 60}}}}\n"
                f"  - {BASE}, id: first_events, before_days: 365, events: first}}\n")
    reference, _ = run_tiny(str(tiny_safety_path), analyses, tmp_path / "duckdb")
    produced, _ = run_tiny(tiny_safety_address, analyses, tmp_path / backend)
    assert produced == reference


def test_a_small_difference_between_periods_hides_the_smaller_number_of_persons():
    from offlabel.analyses.safety.adverse_events import _complements

    counts = {ON: (100, 9000, 10, 8), OFF: (97, 20000, 30, 20)}  # 3 persons never off treatment
    assert _complements(counts, [ON, OFF], 5) == {OFF}
    assert _complements({ON: (100, 1, 1, 1), OFF: (90, 1, 1, 1)}, [ON, OFF], 5) == set()


def test_report_shows_the_tolerability_and_adverse_event_tables(tiny_safety_path, tmp_path):
    from tests.safety.test_tolerability import ANALYSIS

    run_tiny(str(tiny_safety_path), ANALYSIS + f"  - {BASE}, before_days: 365}}\n", tmp_path)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Tolerability: discontinuation and its reasons" in html and "Cumulative discontinuation" in html
    assert "3 months (91 days)" in html and "40.0% (0.0% to 70.7%)" in html  # Kaplan-Meier, by hand: 1 - 0.6
    assert "reasons for discontinuation" in html and "lack of efficacy" not in html
    assert "Adverse events on and off treatment" in html and "rate ratio on vs off treatment (95% CI)" in html
    assert "9,740.00" in html  # outcome A on treatment: 4 events in 150 days per 1,000 person-years
    assert html.count("<svg") == 1
