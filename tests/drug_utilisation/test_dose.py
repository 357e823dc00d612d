"""Daily dose from drug_strength (DrugUtilisation's patterns) and in WHO DDDs, on both backends."""

import pytest

from offlabel.drug_utilisation import add_daily_dose, add_ddd, summarise_dose_coverage, who_ddd, ddd_mg
from offlabel.drug_utilisation.dose import ingredient_exposures
from offlabel.errors import SpecError
from tests.drug_utilisation.conftest import FENTANYL, METHYLPRED, NALTREXONE


def _doses(cdm, ingredient, atc=None):
    x = add_daily_dose(cdm, ingredient_exposures(cdm, ingredient), ingredient)
    if atc:
        x = add_ddd(cdm, x, atc)
    cols = ["person_id", "drug_concept_id", "days", "formula_name", "unit", "daily_dose"] + (
        ["route", "daily_dose_ddd"] if atc else [])
    return sorted(tuple(d[c] for c in cols) for d in x.select(*cols).to_pyarrow().to_pylist())


def test_daily_dose_patterns(tiny_cdm):
    rows = _doses(tiny_cdm, NALTREXONE, "N07BB04")
    by = {(r[0], r[1], r[2]): r for r in rows}
    # capsule 4.5 mg x 30 / 30 days
    assert by[1, 2001, 30][3:] == ("fixed amount formulation", "milligram", 4.5, "O", pytest.approx(0.09))
    # tablet 50 mg x 15 / 30 days
    assert by[2, 2002, 30][5] == 25.0
    # solution 1 mg/mL x 90 mL over 20 days (no days_supply: end - start + 1)
    assert by[3, 2003, 20][3:6] == ("concentration formulation", "milligram", 4.5)
    # 4500 micrograms -> 4.5 mg
    assert by[5, 2006, 30][4:6] == ("milligram", 4.5)
    # no quantity: no dose
    assert by[6, 2001, 30][5] is None


def test_injection_and_patch(tiny_cdm):
    (inj,) = _doses(tiny_cdm, METHYLPRED, "H02AB04")
    assert inj[3:] == ("concentration formulation", "milligram", 40.0, "P", 2.0)  # 40 mg / DDD 20 mg P
    (patch,) = _doses(tiny_cdm, FENTANYL)
    assert patch[3] == "time based no denominator" and patch[5] == pytest.approx(0.288)


def test_dose_coverage_summary(tiny_cdm):
    result = summarise_dose_coverage(tiny_cdm, NALTREXONE, atc_code="N07BB04")
    t = result.tidy()
    overall = t[(t.variable_name == "daily_dose") & (t.unit == "overall")].iloc[0]
    assert (overall["count"], overall["count_missing"]) == (8, 1)
    assert overall["percentage_missing"] == 12.5
    assert overall["median"] == 4.5 and overall["q75"] == 14.75  # 4.5 x5, 25 x2
    assert overall["mean"] == pytest.approx(72.5 / 7)
    ddd = t[(t.variable_name == "daily_dose_ddd") & (t.unit == "overall")].iloc[0]
    assert ddd["median"] == pytest.approx(0.09)
    strata = set(zip(t.unit, t.formula_name))
    assert ("milligram", "concentration formulation") in strata
    assert result.settings_for(1)["result_type"] == "summarise_dose_coverage"


def test_who_ddd_table_covers_domain_list():
    table = who_ddd()
    for code in ["N07BB04", "N03AX12", "N02BF01", "N03AX16", "N02BF02", "L04AA27", "L04AE01", "N07XX09",
                 "L04AX07", "L04AA31", "L04AK02", "L04AA23", "L04AG03", "L04AA36", "L04AG08", "L04AA40",
                 "L03AB07", "L03AB08", "L03AX13", "N07XX07", "N06BA07", "M03BX01", "M03BX02", "N05CF01"]:
        assert code in set(table.atc_code), code
    assert set(table.route) == {"O", "P"} and table.year.notna().all() and (table.source != "").all()
    assert ddd_mg("N07BB04") == (50.0, "mg")
    assert ddd_mg("H02AB04", "P") == (20.0, "mg")
    assert ddd_mg("L03AB07") == pytest.approx((0.0043, "mg"))
    with pytest.raises(SpecError, match="several routes"):
        ddd_mg("H02AB04")
    with pytest.raises(SpecError, match="No WHO DDD"):
        ddd_mg("L01FA01")
