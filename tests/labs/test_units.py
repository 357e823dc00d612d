"""Unit conversion of lab values (src/offlabel/data/lab_units.csv, offlabel.analyses.labs.units)."""

from __future__ import annotations

import pandas as pd
import pytest

from offlabel.analyses.labs.units import MISSING, analytes, conversion_factor, conversion_path, conversions
from offlabel.analyses.labs.values import choose_unit, harmonise


@pytest.mark.parametrize("source, target, analyte, factor", [
    ("U/L", "U/L", None, 1.0),
    ("[U]/L", "U/L", None, 1.0),                 # a spelling of the same unit
    ("ukat/L", "U/L", None, 60.0),               # 1 ukat = 60 umol/min
    ("U/L", "ukat/L", None, 1 / 60),
    ("g/dL", "g/L", None, 10.0),
    ("g/L", "g/dL", None, 0.1),
    ("10*3/uL", "10*9/L", None, 1.0),
    ("/uL", "10*9/L", None, 1e-3),                # 250,000 /uL = 250 x 10^9/L
    ("mg/dL", "umol/L", "creatinine", 88.4),
    ("umol/L", "mg/dL", "creatinine", 1 / 88.4),
    ("mg/dL", "umol/L", "bilirubin", 17.1),
    ("mg/L", "umol/L", "creatinine", 8.84),       # two steps: mg/L -> mg/dL -> umol/L
    ("mmol/L", "umol/L", "creatinine", 1000.0),
    ("g/dL", "mmol/L", "haemoglobin", 0.6206),
    ("[IU]/L", "U/L", "alt", 1.0),
])
def test_valid_conversions(source, target, analyte, factor):
    assert conversion_factor(source, target, analyte) == pytest.approx(factor, rel=1e-12)


@pytest.mark.parametrize("source, target, analyte", [
    ("mg/dL", "umol/L", None),          # needs the molar mass: never without an analyte
    ("mg/dL", "umol/L", "alt"),
    ("[IU]/L", "U/L", None),            # an international unit is an enzyme unit only for enzymes
    ("[IU]/L", "U/L", "creatinine"),
    ("%", "umol/L", "creatinine"),
    ("U/L", "10*9/L", None),
    ("concept 777", "U/L", "alt"),
])
def test_invalid_conversions_are_refused(source, target, analyte):
    assert conversion_factor(source, target, analyte) is None


def test_molar_factors_follow_from_the_molar_masses():
    # mg/dL -> umol/L = 10 dL/L x 1000 umol/mmol / M (g/mol); Young 1987 rounds to 3 digits
    assert conversion_factor("mg/dL", "umol/L", "creatinine") == pytest.approx(1e4 / 113.12, rel=1e-3)
    assert conversion_factor("mg/dL", "umol/L", "bilirubin") == pytest.approx(1e4 / 584.66, rel=1e-3)
    assert conversion_factor("g/dL", "mmol/L", "haemoglobin") == pytest.approx(1e4 / 16114.0, rel=1e-3)


def test_every_conversion_has_a_source_and_a_positive_factor():
    for c in conversions():
        assert c.source and c.factor > 0, c
    assert analytes() == ["alt", "ast", "bilirubin", "creatinine", "haemoglobin"]
    assert conversion_path("mg/L", "umol/L", "creatinine") == ["mg/L", "mg/dL", "umol/L"]


def test_harmonise_converts_values_and_ranges_and_counts_units():
    records = pd.DataFrame({"cohort": ["a"] * 5, "value": [1.0, 90.0, 2.0, 3.0, 4.0],
                            "unit_concept_id": [8840, 8749, 8554, 0, None],
                            "range_low": [0.5, 45.0, None, None, None], "range_high": [1.1, 90.0, None, None, None]})
    codes = {8840: "mg/dL", 8749: "umol/L", 8554: "%"}
    out, counts = harmonise(records, "umol/L", "creatinine", codes)
    assert out["value"].tolist() == [88.4, 90.0]
    assert out["range_high"].tolist() == pytest.approx([1.1 * 88.4, 90.0])
    assert [(c.unit, c.records, c.factor) for c in counts] == \
        [("%", 1, None), ("mg/dL", 1, 88.4), (MISSING, 2, None), ("umol/L", 1, 1.0)]
    assert choose_unit(records, codes) == "%"  # one record each: ties go to the first code in sort order
