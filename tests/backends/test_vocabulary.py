"""Concept sets resolve to the same standard concepts on every backend (Eunomia's vocabulary)."""

from __future__ import annotations

import pytest

from offlabel.cdm.vocabulary import resolve_concept_set, resolve_concept_sets
from offlabel.errors import VocabularyError
from offlabel.spec import ConceptSetItem as Item


def test_source_code_follows_maps_to(backend_cdm):
    # ICD10CM K92.2 "Gastrointestinal hemorrhage, unspecified" maps to SNOMED 74474003 (192671).
    gi_bleed = resolve_concept_set(backend_cdm, "gi_bleed", [Item(vocabulary="ICD10CM", code="K92.2")])
    assert gi_bleed.concept_ids == (192671,)
    assert gi_bleed.warnings == []


def test_standard_code_with_descendants(backend_cdm):
    # In Eunomia, acetaminophen (1125315) has 7 standard concepts below it, itself included
    # (counted with plain SQL on concept_ancestor ⋈ concept).
    alone = resolve_concept_set(backend_cdm, "paracetamol", [Item(concept_id=1125315)])
    family = resolve_concept_set(backend_cdm, "paracetamol", [Item(concept_id=1125315, include_descendants=True)])
    assert alone.concept_ids == (1125315,)
    assert len(family.concept_ids) == 7 and 1125315 in family.concept_ids


def test_exclude_removes_what_it_resolves_to(backend_cdm):
    nsaids = resolve_concept_set(backend_cdm, "nsaids", [
        Item(vocabulary="RxNorm", code="140587"),  # celecoxib
        Item(concept_id=1124300),  # diclofenac
        Item(vocabulary="NDC", code="00781178901", exclude=True),  # maps to diclofenac 75 MG tablet
        Item(concept_id=1124300, exclude=True),
    ])
    assert nsaids.concept_ids == (1118084,)
    assert [n for _, n in nsaids.items] == [1, 1, 1, 1]


def test_unknown_codes_are_named_all_at_once(backend_cdm):
    with pytest.raises(VocabularyError) as info:
        resolve_concept_sets(backend_cdm, {
            "a": [Item(vocabulary="ATC", code="N07BB04")],
            "b": [Item(concept_id=999999999), Item(vocabulary="SNOMED", code="74474003")],
        })
    text = str(info.value)
    assert "ATC code N07BB04" in text and "concept id 999999999" in text and "74474003" not in text


def test_code_mapping_to_nothing_standard_is_a_warning(backend_cdm):
    # concept 0 "No matching concept" is not standard and maps to nothing.
    result = resolve_concept_set(backend_cdm, "nothing", [Item(concept_id=0)])
    assert result.concept_ids == ()
    assert any("maps to no standard concept" in w for w in result.warnings)
