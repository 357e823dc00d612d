"""Tolerability on the tiny hand-made CDM (tests/safety/tiny.py): every number worked out by hand.

Times to discontinuation (days from index 2020-01-01, gap 30): person 4 at 29, 1 at 69, 2 censored
at 89 (observation ends on its era's last day), 3 at 365, 5 censored at 730. Kaplan-Meier: S = 4/5
after day 29, x 3/4 after day 69 = 0.6, x 1/2 at day 365 (persons 3 and 5 at risk) = 0.3.
"""

from __future__ import annotations

import numpy as np
import pytest

from offlabel.analyses.safety.tolerability import _rows
from offlabel.results import SUPPRESSED
from offlabel.spec.analyses import TolerabilitySettings
from offlabel.stats.survival import KaplanMeier
from tests.safety.conftest import run_tiny

ANALYSIS = "  - {type: tolerability, cohort: new_users_one, drug: drug_one, restart_window_days: 180}\n"
G = "new_users_one"


@pytest.fixture(scope="module")
def result(tiny_safety_path, tmp_path_factory):
    return run_tiny(str(tiny_safety_path), ANALYSIS, tmp_path_factory.mktemp("tol"))


def _v(est, variable, level, name):
    return est[(G, "overall", variable, level, name)]


def test_discontinuation_by_3_6_12_months(result):
    _, est = result
    assert _v(est, "number subjects", "NA", "count") == "5"
    assert (_v(est, "discontinued", "NA", "count"), _v(est, "discontinued", "NA", "censored_count")) == ("3", "2")
    assert float(_v(est, "time on treatment (days)", "NA", "median")) == 365
    km = KaplanMeier().fit([29, 69, 89, 365, 730], [1, 1, 0, 1, 0])
    for t, cumulative, at_risk, events in ((91, 0.4, 2, 2), (182, 0.4, 2, 2), (365, 0.7, 2, 3)):
        level = f"{t} days"
        assert float(_v(est, "cumulative discontinuation", level, "cumulative_incidence")) == pytest.approx(cumulative)
        s = km.survival_at([t]).iloc[0]
        assert float(_v(est, "cumulative discontinuation", level, "cumulative_incidence_95CI_upper")) == \
            pytest.approx(1 - s.lower)
        assert int(_v(est, "cumulative discontinuation", level, "n_risk_count")) == at_risk
        assert int(_v(est, "cumulative discontinuation", level, "n_events_count")) == events
    # crude: persons observed >= t days after index are 1, 3, 4, 5 (person 2 only 89 days)
    for t, stopped in ((91, 2), (182, 2), (365, 3)):
        level = f"{t} days"
        assert _v(est, "observed at least", level, "count") == "4"
        assert int(_v(est, "discontinued by", level, "count")) == stopped
        assert int(_v(est, "discontinued by", level, "continuing_count")) == 4 - stopped
        assert float(_v(est, "discontinued by", level, "percentage")) == pytest.approx(100 * stopped / 4)


def test_curve_is_the_kaplan_meier_step_function(result):
    _, est = result
    curve = {int(k[3].split()[0]): float(v) for k, v in est.items()
             if k[2] == "cumulative discontinuation curve" and k[4] == "cumulative_incidence"}
    assert sorted(curve) == list(range(0, 365, 7))
    assert curve[28] == 0 and curve[35] == pytest.approx(0.2) and curve[70] == pytest.approx(0.4)
    assert curve[364] == pytest.approx(0.4)


def test_reasons_are_the_stop_reason_of_the_eras_last_record(result):
    """Person 1's era ends with the 'nausea' record (its later era is a restart); person 3's two last
    records end on the same day: the later started one's reason; person 4 has none, and person 2's
    empty text is no reason but 2 is censored."""
    _, est = result
    reasons = {k[3]: int(v) for k, v in est.items() if k[2] == "reason for discontinuation" and k[4] == "count"}
    assert reasons == {"adverse event": 1, "nausea": 1, "none recorded": 1}


def test_restart_within_window(result):
    _, est = result
    got = {k[3]: int(v) for k, v in est.items() if k[2] == "restart within 180 days" and k[4] == "count"}
    assert got == {"restarted": 1, "not restarted": 2, "censored": 0}  # person 1 restarts 83 days after


def test_results_identical_on_every_backend(backend, tiny_safety_address, result, tmp_path):
    produced, _ = run_tiny(tiny_safety_address, ANALYSIS, tmp_path)
    assert produced == result[0]


def test_small_counts_hide_proportions_and_categories():
    """Reasons: 'b' (3) is small, so 'a' (the next smallest) goes too; curve points with fewer than 5
    persons at risk or events so far are hidden."""
    n = 40
    time = np.r_[np.arange(1, 34) * 10, np.full(7, 800)]
    event = np.r_[np.ones(33, bool), np.zeros(7, bool)]
    reason = ["a"] * 10 + ["b"] * 3 + [None] * 20 + [None] * 7
    per = {"time": time, "event": event, "follow_up": np.full(n, 900), "reason": reason,
           "restart_days": np.full(n, np.nan), "has_stop_reason": True}
    settings = TolerabilitySettings(type="tolerability", cohort="c", drug="d", times_days=[91, 365])
    rows = _rows("x", settings, per, 5)
    got = {(r.variable_name, r.variable_level, r.estimate_name): r.estimate_value for r in rows}
    assert got[("reason for discontinuation", "b", "count")] is SUPPRESSED
    assert got[("reason for discontinuation", "a", "percentage")] is SUPPRESSED
    assert got[("reason for discontinuation", "none recorded", "count")] == 20
    assert got[("cumulative discontinuation curve", "28 days", "cumulative_incidence")] is SUPPRESSED  # 2 events
    assert got[("cumulative discontinuation curve", "63 days", "cumulative_incidence")] == pytest.approx(6 / 40)


def test_reasons_of_one_person_each_are_left_out():
    """Six stops with six different reasons: one person per reason, which their number would give
    away whatever is hidden, so no reason rows are published; the stop counts stay."""
    n = 40
    time = np.r_[np.arange(1, 7) * 30, np.full(34, 800)]
    event = np.r_[np.ones(6, bool), np.zeros(34, bool)]
    reason = ["a", "b", "c", "d", "e", "f"] + [None] * 34
    per = {"time": time, "event": event, "follow_up": np.full(n, 900), "reason": reason,
           "restart_days": np.full(n, np.nan), "has_stop_reason": True}
    settings = TolerabilitySettings(type="tolerability", cohort="c", drug="d", times_days=[91, 365])
    rows = _rows("x", settings, per, 5)
    assert not [r for r in rows if r.variable_name == "reason for discontinuation"]
    rows = _rows("x", settings, per, 1)
    assert len([r for r in rows if r.variable_name == "reason for discontinuation"
                and r.estimate_name == "count"]) == 6


def test_a_drug_without_concepts_is_a_spec_error(tiny_safety_path, tmp_path):
    from offlabel.errors import SpecError
    from offlabel.run import run_study
    from tests.safety import tiny

    study = tmp_path / "study.yaml"
    text = tiny.study_text("  - {type: tolerability, cohort: new_users_one, drug: nothing}\n")
    study.write_text(text.replace("concept_sets:\n", "concept_sets:\n  nothing: [{concept_id: 1001}, "
                                  "{concept_id: 1001, exclude: true}]\n"))
    with pytest.raises(SpecError, match="'nothing' resolves to no concept"):
        run_study(study, str(tiny_safety_path), tmp_path / "out")
