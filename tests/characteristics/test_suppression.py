"""Secondary suppression of Table 1: what a hidden count would let a reader work out is hidden too."""

from __future__ import annotations

from offlabel.analyses.characteristics import _rows
from offlabel.results import SUPPRESSED
from offlabel.spec.analyses import TableOne

TABLE_ONE = TableOne.model_validate({"age_groups": [[0, 49], [50, None]],
                                     "covariates": [{"concept_sets": ["opioids", "hypnotics"]}]})
LABEL = "Concept sets, days -365 to -1"


def _demo(stratum, rows):
    """rows: (age, sex, n) -> demographics frequency rows (year 2013)."""
    return [{"stratum": stratum, "age": a, "age_group": "0 to 49" if a <= 49 else "50 or older", "sex": s,
             "year": 2013, "n": n} for a, s, n in rows]


TABLES = {
    # reference "1": 20 persons, 3 of them men; "4+": 30 persons; "2-3": 3 persons
    "demographics": _demo("1", [(40, "Female", 10), (60, "Female", 7), (45, "Male", 3)])
    + _demo("4+", [(40, "Female", 12), (60, "Female", 8), (45, "Male", 6), (70, "Male", 4)])
    + _demo("2-3", [(40, "Female", 3)]),
    "prior": [{"stratum": s, "prior_observation": 800, "n": n} for s, n in (("1", 20), ("4+", 30), ("2-3", 3))],
    "covariates": {("1", "0:opioids"): 10, ("4+", "0:opioids"): 2},
}


def _table(min_cell_count=5):
    rows = _rows("cdm", "c", "collection_stratum", ["1", "2-3", "4+"], "1", TABLES, TABLE_ONE, min_cell_count)
    return {(r.strata_level, r.variable_name, r.variable_level, r.estimate_name): r.estimate_value for r in rows}


def test_small_level_of_a_categorical_row_hides_one_more_level():
    t = _table()
    assert t[("1", "Sex", "Male", "count")] is SUPPRESSED
    assert t[("1", "Sex", "Female", "count")] is SUPPRESSED  # 20 - 17 = 3 would reveal it
    assert t[("1", "Sex", "Female", "percentage")] is SUPPRESSED
    assert t[("4+", "Sex", "Male", "count")] == 10 and t[("4+", "Sex", "Female", "count")] == 20


def test_smd_is_hidden_when_either_stratum_hides_the_row():
    t = _table()
    assert t[("4+", "Sex", "Male", "smd")] is SUPPRESSED  # the reference's count is hidden
    assert t[("4+", LABEL, "opioids", "count")] is SUPPRESSED  # 2 persons
    assert t[("4+", LABEL, "opioids", "smd")] is SUPPRESSED
    assert t[("4+", LABEL, "hypnotics", "smd")] == 0.0  # 0 and 0: shown
    assert isinstance(t[("4+", "Age", None, "smd")], float)
    assert ("1", "Age", None, "smd") not in t  # the reference stratum has no SMD


def test_a_small_stratum_hides_everything_of_it():
    t = _table()
    small = {k: v for k, v in t.items() if k[0] == "2-3"}
    assert small and all(v is SUPPRESSED for v in small.values())


def test_nothing_hidden_below_the_threshold():
    t = _table(min_cell_count=1)
    assert t[("1", "Sex", "Male", "count")] == 3
    assert t[("4+", LABEL, "opioids", "smd")] < 0
    assert t[("2-3", "Age", None, "mean")] == 40.0


def test_small_levels_that_add_up_below_the_threshold_hide_another():
    """Years 2011 and 2012 have one person each: hidden alone, 32 - 30 = 2 would show that both
    are 1, so 2013 is hidden too (`complementary_cells`)."""
    demographics = [{"stratum": "1", "age": 40, "age_group": "0 to 49", "sex": "Female", "year": y, "n": n}
                    for y, n in ((2011, 1), (2012, 1), (2013, 30))]
    tables = {"demographics": demographics, "prior": [{"stratum": "1", "prior_observation": 800, "n": 32}],
              "covariates": {}}
    rows = _rows("cdm", "c", "overall", ["1"], None, tables, TABLE_ONE, 5)
    t = {(r.variable_name, r.variable_level, r.estimate_name): r.estimate_value for r in rows}
    assert all(t[("Year of index", y, "count")] is SUPPRESSED for y in ("2011", "2012", "2013"))
    assert t[("Number subjects", None, "count")] == 32 and t[("Sex", "Female", "count")] == 32


def test_a_row_of_ones_is_left_out():
    """Five persons with five different index years: hiding the years cannot protect them (five
    levels, five persons: one each), so the stratum's "Year of index" rows are left out; the
    other rows stay."""
    demographics = [{"stratum": "1", "age": 40, "age_group": "0 to 49", "sex": "Female", "year": y, "n": 1}
                    for y in range(2010, 2015)]
    tables = {"demographics": demographics, "prior": [{"stratum": "1", "prior_observation": 800, "n": 5}],
              "covariates": {}}
    rows = _rows("cdm", "c", "overall", ["1"], None, tables, TABLE_ONE, 5)
    t = {(r.variable_name, r.variable_level, r.estimate_name): r.estimate_value for r in rows}
    assert not [k for k in t if k[0] == "Year of index"]
    assert t[("Number subjects", None, "count")] == 5 and t[("Sex", "Female", "count")] == 5
    rows = _rows("cdm", "c", "overall", ["1"], None, tables, TABLE_ONE, 1)  # nothing small: all shown
    assert len([r for r in rows if r.variable_name == "Year of index" and r.estimate_name == "count"]) == 5
