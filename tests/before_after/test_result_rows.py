"""The result rows of one drug group: what is published, and the secondary suppression."""

from __future__ import annotations

from offlabel.analyses.before_after import _group_rows, stratum_label
from offlabel.results import SUPPRESSED, SummarisedResult, suppress


def _rows(data, min_cell_count=5):
    return _group_rows("test", "opioids", data, "1", 10.0, min_cell_count)


def _value(rows, stratum, variable, level=None, estimate="count"):
    found = [r.estimate_value for r in rows if r.strata_level == stratum and r.variable_name == variable
             and r.variable_level == level and r.estimate_name == estimate]
    assert len(found) == 1, (stratum, variable, level, estimate)
    return found[0]


def test_stratum_labels():
    assert [stratum_label(*s) for s in [(1, 1), (2, 3), (4, None)]] == ["1", "2-3", "4+"]


def test_rows_of_a_group():
    ref = ([10.0] * 8 + [0.0] * 4, [10.0] * 8 + [0.0] * 4)           # no change
    persistent = ([10.0] * 8 + [0.0] * 4, [5.0] * 8 + [0.0] * 4)     # halved
    rows = _rows({"1": ref, "4+": persistent}, min_cell_count=1)
    assert _value(rows, "4+", "number subjects") == 12
    assert _value(rows, "4+", "users", "before") == 8
    assert _value(rows, "4+", "change in DDD per person", estimate="mean") == -40 / 12
    assert _value(rows, "4+", "relative difference in differences", estimate="ratio") == 0.5
    assert _value(rows, "4+", "users by change", "reduced") == 8
    # the reference stratum has no DiD of its own
    assert not [r for r in rows if r.strata_level == "1" and "difference in differences" in r.variable_name]


def test_change_categories_are_suppressed_together():
    ref = ([10.0] * 20, [10.0] * 20)
    # 2 stopped (small), 18 kept: users before 20 - 18 kept would reveal the 2 stopped
    stratum = ([10.0] * 20, [0.0] * 2 + [10.0] * 18)
    rows = _rows({"1": ref, "4+": stratum})
    assert {_value(rows, "4+", "users by change", c) for c in
            ("stopped", "reduced", "kept", "increased", "started")} == {SUPPRESSED}
    assert _value(rows, "4+", "users", "before") == 20
    assert _value(rows, "1", "users by change", "kept") == 20
    result = SummarisedResult.from_rows(rows, settings={1: {"result_type": "summarise_before_after"}})
    assert suppress(result, 5).filter(result_id=1).rows  # a pre-suppressed result passes the export step
