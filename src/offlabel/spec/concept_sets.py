"""Concept sets as a study file writes them: codes or concept ids, with descendants, exclusions and
a strength filter for drug products."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from offlabel.spec.base import SpecModel

#: Mass units a strength bound can be given in, and their factor to milligrams.
STRENGTH_UNITS = {"mg": 1.0, "mcg": 0.001, "g": 1000.0}


class Strength(SpecModel):
    """Bounds (both included) on the strength of the ingredient in a drug product, from DRUG_STRENGTH,
    e.g. `{max: 5, unit: mg}` for low-dose naltrexone (1.5-4.5 mg) without the 50 mg tablets.

    Strength is the mass of the ingredient in one unit of the product: for tablets, capsules and other
    fixed-amount products the amount (amount_value, e.g. 4.5 mg per capsule); for solutions, creams,
    injections and patches the concentration per one unit of the denominator (numerator_value /
    denominator_value, or numerator_value when the denominator is not quantified: 1 mg per mL of an
    oral solution, 0.012 mg per hour of a patch). Masses in mcg, mg or g are compared in mg. Products
    without a DRUG_STRENGTH row for the ingredient, or whose strength is not a mass (international
    units, mL), cannot be placed and are left out with a warning."""

    min: float | None = Field(None, ge=0)
    """Smallest strength kept, in `unit` (none: no lower bound)."""
    max: float | None = Field(None, ge=0)
    """Largest strength kept, in `unit` (none: no upper bound)."""
    unit: Literal["mg", "mcg", "g"] = "mg"
    """Unit of `min` and `max`: mg, mcg or g."""

    @model_validator(mode="after")
    def _bounds(self):
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both (in `unit`, default mg)")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is larger than max {self.max}")
        return self

    def bounds_mg(self) -> tuple[float | None, float | None]:
        f = STRENGTH_UNITS[self.unit]
        return (None if self.min is None else self.min * f, None if self.max is None else self.max * f)

    @property
    def label(self) -> str:
        def g(v):
            return f"{v:g}"
        if self.min is not None and self.max is not None:
            return f"strength {g(self.min)}-{g(self.max)} {self.unit}"
        return f"strength {'>=' if self.min is not None else '<='} {g(self.min if self.min is not None else self.max)} {self.unit}"


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
    strength: Strength | None = None
    """Keep only the drug products whose strength of the ingredient lies within these bounds (see
    Strength), e.g. `{vocabulary: ATC, code: N07BB04, strength: {max: 5, unit: mg}}`. The ingredient is
    the one the line resolves to (an ATC 5th level or an ingredient with descendants); a line that
    resolves to no ingredient concept bounds every ingredient of each product."""

    @model_validator(mode="after")
    def _one_way_of_naming(self):
        if (self.code is None) == (self.concept_id is None):
            raise ValueError("give either vocabulary and code, or concept_id (exactly one of them)")
        if self.code is not None and not self.vocabulary:
            raise ValueError(f"code {self.code!r} needs its vocabulary (ATC, ICD10, SNOMED, RxNorm, LOINC, ...)")
        return self

    @property
    def label(self) -> str:
        name = f"{self.vocabulary} {self.code}" if self.code is not None else f"concept {self.concept_id}"
        return name if self.strength is None else f"{name} ({self.strength.label})"
