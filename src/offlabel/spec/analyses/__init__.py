"""Settings of the analyses a study can run: one model per design, told apart by `type`.

A new design adds its settings model in a module of this package and to `SETTINGS`;
`offlabel.analyses.REGISTRY` maps the same `type` to its verb. Fields that name study concept
sets or cohorts use the `ConceptSetName` / `CohortName` types, and are checked for it.
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from offlabel.spec.analyses.base import AnalysisBase, CohortName, ConceptSetName, StudyPeriod, references
from offlabel.spec.analyses.before_after import BeforeAfterSettings
from offlabel.spec.analyses.characteristics import CharacteristicsSettings, Covariates, TableOne
from offlabel.spec.analyses.labs import LabSafetySettings
from offlabel.spec.analyses.overview import CdmSnapshotSettings, CodeUseSettings, CohortAttritionSettings
from offlabel.spec.analyses.safety import AdverseEventSettings, TolerabilitySettings
from offlabel.spec.analyses.sccs import SccsSettings
from offlabel.spec.analyses.utilisation import (AddOnSwitchSettings, DoseSettings, IncidenceSettings,
                                                PersistenceSettings, PrevalenceSettings, ProportionCoveredSettings)

SETTINGS = (
    # what the CDM and the study's codes and cohorts hold
    CdmSnapshotSettings, CodeUseSettings, CohortAttritionSettings, CharacteristicsSettings,
    # drug utilisation and the before/after dispensing design
    IncidenceSettings, PrevalenceSettings, DoseSettings, PersistenceSettings, ProportionCoveredSettings,
    AddOnSwitchSettings, BeforeAfterSettings,
    # safety
    LabSafetySettings, TolerabilitySettings, AdverseEventSettings, SccsSettings,
)

AnalysisSettings = Annotated[Union[SETTINGS], Field(discriminator="type")]

__all__ = ["AddOnSwitchSettings", "AdverseEventSettings", "AnalysisBase", "AnalysisSettings", "BeforeAfterSettings",
           "CdmSnapshotSettings", "CharacteristicsSettings", "CodeUseSettings", "CohortAttritionSettings",
           "CohortName", "ConceptSetName", "Covariates", "DoseSettings", "IncidenceSettings", "LabSafetySettings",
           "PersistenceSettings", "PrevalenceSettings", "ProportionCoveredSettings", "SETTINGS", "SccsSettings",
           "StudyPeriod",
           "TableOne", "TolerabilitySettings", "references"]
