"""The strength filter of a concept set line: low-dose naltrexone without the 50 mg tablets.

On the tiny hand-made CDM (tests/drug_utilisation/conftest.py) naltrexone comes as a 4.5 mg
capsule (2001), a 50 mg tablet (2002), a 1 mg/mL oral solution (2003) and a 4500 mcg capsule
(2006, the same strength in another unit); its ingredient concept (1714319) has no
DRUG_STRENGTH row. On the synthetic world ATC N07BB04 holds the compounded 1.5 / 3 / 4.5 mg
capsules and the 50 mg tablet.
"""

from __future__ import annotations

import pytest

from offlabel.cdm.vocabulary import resolve_concept_set, resolve_concept_sets
from offlabel.errors import VocabularyError
from offlabel.spec import ConceptSetItem as Item
from offlabel.spec.load import parse_study
from tests.drug_utilisation.conftest import NALTREXONE


def _naltrexone(**strength):
    return Item(concept_id=NALTREXONE, include_descendants=True, strength=strength)


def test_low_dose_keeps_capsules_and_solution_in_any_mass_unit(tiny_cdm):
    found = resolve_concept_set(tiny_cdm, "ldn", [_naltrexone(max=5)])
    # 4.5 mg, 1 mg per mL, and 4500 mcg = 4.5 mg; not 50 mg, not the ingredient (no strength). No drug
    # record uses the ingredient concept itself, so leaving it out needs no warning.
    assert found.concept_ids == (2001, 2003, 2006)
    assert not any("without a DRUG_STRENGTH row" in w for w in found.warnings)


def test_records_that_cannot_be_placed_by_strength_are_counted_in_a_warning(tiny_path, tmp_path):
    """Two dispensings recorded at the ingredient level (a registry without product codes) have no
    strength: they are left out, and the warning says how many records that is."""
    import shutil

    import duckdb

    import offlabel

    path = tmp_path / "with_ingredient_records.duckdb"
    shutil.copy(tiny_path, path)
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO drug_exposure (drug_exposure_id, person_id, drug_concept_id, drug_exposure_start_date, "
                f"drug_exposure_end_date) VALUES (100, 1, {NALTREXONE}, DATE '2020-07-01', DATE '2020-07-30'), "
                f"(101, 5, {NALTREXONE}, DATE '2021-03-01', DATE '2021-03-30')")
    con.close()
    with offlabel.connect(str(path), scratch=tmp_path / "scratch.duckdb") as cdm:
        found = resolve_concept_set(cdm, "ldn", [_naltrexone(max=5)])
    assert found.concept_ids == (2001, 2003, 2006)
    assert any("leaves out 2 drug record(s) of 1 concept(s) without a DRUG_STRENGTH row" in w
               and "naltrexone [Ingredient]" in w for w in found.warnings), found.warnings


def test_bounds_are_inclusive_and_in_the_unit_given(tiny_cdm):
    assert resolve_concept_set(tiny_cdm, "x", [_naltrexone(min=4.5, max=4.5)]).concept_ids == (2001, 2006)
    assert resolve_concept_set(tiny_cdm, "x", [_naltrexone(max=4500, unit="mcg")]).concept_ids == (2001, 2003, 2006)
    assert resolve_concept_set(tiny_cdm, "x", [_naltrexone(min=0.01, unit="g")]).concept_ids == (2002,)
    assert resolve_concept_set(tiny_cdm, "x", [_naltrexone(min=1, max=1)]).concept_ids == (2003,)


def test_exclude_line_with_strength_removes_the_high_dose(tiny_cdm):
    found = resolve_concept_set(tiny_cdm, "x", [Item(concept_id=NALTREXONE, include_descendants=True),
                                                 Item(concept_id=NALTREXONE, include_descendants=True, exclude=True,
                                                      strength={"min": 10})])
    assert found.concept_ids == (2001, 2003, 2006, NALTREXONE)


def test_patch_strength_is_per_hour(tiny_cdm):
    # fentanyl 0.012 MG/HR: 0.012 mg per hour, i.e. 12 mcg
    fentanyl = Item(concept_id=1154029, include_descendants=True, strength={"min": 12, "max": 12, "unit": "mcg"})
    assert resolve_concept_set(tiny_cdm, "f", [fentanyl]).concept_ids == (2005,)


def test_synthetic_world_low_dose_naltrexone(world_cdm):
    from offlabel.synth.vocabulary import build_vocabulary

    v = build_vocabulary()
    low = resolve_concept_set(world_cdm, "ldn", [Item(vocabulary="ATC", code="N07BB04", strength={"max": 5})])
    everything = resolve_concept_set(world_cdm, "nal", [Item(vocabulary="ATC", code="N07BB04")])
    assert set(low.concept_ids) == {v.product["ldn_1_5"], v.product["ldn_3"], v.product["ldn_4_5"]}
    assert set(everything.concept_ids) == set(low.concept_ids) | {v.product["naltrexone_50"], v.ingredient["naltrexone"]}


def test_every_problem_of_every_set_at_once(backend_cdm):
    # Eunomia: a condition cannot have a strength; an unknown code in another set is named too.
    with pytest.raises(VocabularyError) as info:
        resolve_concept_sets(backend_cdm, {
            "bleed": [Item(vocabulary="ICD10CM", code="K92.2", strength={"max": 5})],
            "nal": [Item(vocabulary="ATC", code="N07BB04")],
        })
    text = str(info.value)
    assert "Concept set 'bleed'" in text and "only drug products have" in text and "Condition" in text
    assert "ATC code N07BB04" in text


def test_strength_needs_a_bound_and_ordered_bounds():
    text = """
spec_version: 1
name: t
concept_sets:
  a: [{vocabulary: ATC, code: N07BB04, strength: {unit: mg}}]
  b: [{vocabulary: ATC, code: N07BB04, strength: {min: 5, max: 1}}]
  c: [{vocabulary: ATC, code: N07BB04, strength: {max: 5, unit: kg}}]
analyses: [{type: cdm_snapshot}]
"""
    with pytest.raises(Exception) as info:
        parse_study(text)
    problems = "\n".join(info.value.problems)
    assert "concept_sets.a[0].strength" in problems and "give min, max or both" in problems
    assert "min 5.0 is larger than max 1.0" in problems
    assert "concept_sets.c[0].strength.unit" in problems


def test_strength_in_units_is_not_a_mass(world_cdm):
    # interferon beta-1b 8,000,000 IU: its strength cannot be compared with a bound in mg
    found = resolve_concept_set(world_cdm, "ifn", [Item(vocabulary="ATC", code="L03AB08", strength={"max": 5})])
    assert found.concept_ids == ()
    assert any("not a mass" in w and "interferon beta-1b 8000000 UNT Injection" in w for w in found.warnings)
