"""The study file: pydantic models (versioned, frozen) and the YAML reader."""

from offlabel.spec.concept_sets import ConceptSetItem
from offlabel.spec.load import load_study, parse_study, study_to_yaml
from offlabel.spec.study import SPEC_VERSION, Study

__all__ = ["ConceptSetItem", "SPEC_VERSION", "Study", "load_study", "parse_study", "study_to_yaml"]
