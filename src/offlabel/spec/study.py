"""The study file: what to run, on which concept sets, with which privacy threshold."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import Field

from offlabel.spec.analyses import AnalysisSettings
from offlabel.spec.base import SpecModel
from offlabel.spec.cohorts import CohortDefinition
from offlabel.spec.concept_sets import ConceptSetItem

SPEC_VERSION = 1


class Study(SpecModel):
    """A study: concept sets and the analyses to run on them."""

    spec_version: Literal[1]
    """Version of the study-file format. This offlabel reads version 1."""
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$")
    """A short identifier, e.g. ldn_ms. Used in file names and results."""
    title: str | None = None
    """The question in words, shown at the top of the report."""
    description: str | None = None
    """Background, design and data notes for the report."""
    min_cell_count: int = Field(5, ge=1)
    """Counts below this (and what could reveal them) are suppressed in every export."""
    seed: int = Field(2013, ge=0)
    """Seed of every random step, so a run can be repeated exactly."""
    concept_sets: dict[str, list[ConceptSetItem]] = Field(default_factory=dict)
    """Named concept sets: lists of codes or concept ids (see ConceptSetItem)."""
    cohorts: dict[str, CohortDefinition] = Field(default_factory=dict)
    """Named cohorts: entry events, inclusion rules and exit (see Cohort definition)."""
    analyses: list[AnalysisSettings] = Field(min_length=1)
    """The analyses to run, in order. Each has a `type` (see the analysis sections)."""

    def to_json_dict(self) -> dict:
        return self.model_dump(mode="json", exclude_none=True)

    @property
    def spec_hash(self) -> str:
        """sha256 of the canonical JSON form: the same spec always hashes the same."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()
