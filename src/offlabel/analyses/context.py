"""What every analysis receives: the CDM, the study and its resolved concept sets."""

from __future__ import annotations

from dataclasses import dataclass, field

import offlabel
from offlabel.cdm import Cdm
from offlabel.cdm.vocabulary import ResolvedConceptSet
from offlabel.spec import Study


@dataclass
class StudyContext:
    cdm: Cdm
    study: Study
    concept_sets: dict[str, ResolvedConceptSet]
    warnings: list[str] = field(default_factory=list)
    _cohorts: dict = field(default_factory=dict, repr=False)

    def cohort(self, name: str):
        """The study's cohort `name`, built (or reused from an earlier run) once per run."""
        if name not in self._cohorts:
            from offlabel.cohorts import build_cohort

            ids = list(self.study.cohorts).index(name) + 1
            self._cohorts[name] = build_cohort(self.cdm, self.study.cohorts[name], self.concept_sets,
                                               cohort_definition_id=ids)
        return self._cohorts[name]

    def warn(self, message: str) -> None:
        """Note something the user should know; shown during the run and kept in the manifest."""
        if message not in self.warnings:
            self.warnings.append(message)

    def settings(self, analysis, result_type: str, **extra) -> dict:
        """The settings row of an analysis's result, as omopgenerics expects it."""
        return {
            "result_type": result_type,
            "package_name": "offlabel",
            "package_version": offlabel.__version__,
            "analysis_id": analysis.analysis_id,
            "study": self.study.name,
            **extra,
        }
