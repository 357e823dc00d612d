"""Settings of the analyses a study can run: one model per design, told apart by `type`.

A new design adds its settings model in a module of this package and to `SETTINGS`;
`offlabel.analyses.REGISTRY` maps the same `type` to its verb. Fields that name study concept
sets or cohorts use the `ConceptSetName` / `CohortName` types, and are checked for it.
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from offlabel.spec.analyses.base import (
    AnalysisBase,
    CohortName,
    ConceptSetName,
    StudyPeriod,
    references,
)
from offlabel.spec.analyses.before_after import BeforeAfterSettings
from offlabel.spec.analyses.overview import (
    CdmSnapshotSettings,
    CodeUseSettings,
    CohortAttritionSettings,
)
from offlabel.spec.analyses.utilisation import IncidenceSettings
from offlabel.spec.analyses.sccs import SccsSettings

SETTINGS = (
    CdmSnapshotSettings, CodeUseSettings, CohortAttritionSettings, IncidenceSettings, BeforeAfterSettings,
    SccsSettings,
)

AnalysisSettings = Annotated[Union[SETTINGS], Field(discriminator="type")]

__all__ = ["AnalysisBase", "AnalysisSettings", "BeforeAfterSettings", "CdmSnapshotSettings", "CodeUseSettings",
           "CohortAttritionSettings", "CohortName", "ConceptSetName", "IncidenceSettings", "SETTINGS", "SccsSettings",
           "StudyPeriod", "references"]
