"""Concept sets as a study file writes them: codes or concept ids, with descendants and exclusions."""

from __future__ import annotations

from pydantic import Field, model_validator

from offlabel.spec.base import SpecModel


class ConceptSetItem(SpecModel):
    """One line of a concept set: `{vocabulary: ATC, code: N07BB04}` or `{concept_id: 1714319}`."""

    vocabulary: str | None = Field(None, examples=["ATC", "ICD10", "SNOMED", "RxNorm", "LOINC"])
    """Vocabulary of `code`, as OMOP names it (ATC, ICD10, ICD10CM, ICD9CM, ICPC2, SNOMED, RxNorm, LOINC)."""
    code: str | None = None
    """The code in that vocabulary, e.g. N07BB04 (ATC) or G35 (ICD-10). Source codes follow "Maps to"."""
    concept_id: int | None = None
    """An OMOP concept id, instead of vocabulary and code."""
    include_descendants: bool = False
    """Add every standard descendant (concept_ancestor), as ATLAS's "Descendants" box. ATC classes always
    stand for their standard descendants, since drug records never carry the class itself."""
    exclude: bool = False
    """Remove what this line resolves to from the set, as ATLAS's "Exclude" box."""

    @model_validator(mode="after")
    def _one_way_of_naming(self):
        if (self.code is None) == (self.concept_id is None):
            raise ValueError("give either vocabulary and code, or concept_id (exactly one of them)")
        if self.code is not None and not self.vocabulary:
            raise ValueError(f"code {self.code!r} needs its vocabulary (ATC, ICD10, SNOMED, RxNorm, LOINC, ...)")
        return self

    @property
    def label(self) -> str:
        return f"{self.vocabulary} {self.code}" if self.code is not None else f"concept {self.concept_id}"
