"""What every analysis's settings share, and the markers for names of concept sets and cohorts.

A field typed `ConceptSetName` or `CohortName` (alone, in a list, or optional) names a study concept
set or cohort; `offlabel.spec.load` checks every such name against the study with every other
problem, so a new design only has to use the types.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, get_args, get_origin

from pydantic import BaseModel, Field, model_validator

from offlabel.spec.base import SpecModel


class _Reference:
    """Marks a string field as the name of something the study defines."""

    def __init__(self, kind: str, tag: str):
        self.kind, self.tag = kind, tag

    def __repr__(self) -> str:
        return self.tag


ConceptSetName = Annotated[str, _Reference("concept set", "ConceptSetName")]
"""The name of one of the study's concept sets."""
CohortName = Annotated[str, _Reference("cohort", "CohortName")]
"""The name of one of the study's cohorts."""


def references(model: type[BaseModel], _seen: frozenset = frozenset()) -> dict[str, str | type[BaseModel]]:
    """{field: "concept set" | "cohort" | nested settings model} for the fields of `model` that name
    study concept sets or cohorts, or hold models that do."""
    out: dict[str, str | type[BaseModel]] = {}
    seen = _seen | {model}
    for name, field in model.model_fields.items():
        kind = _kind(field.metadata) or _in_annotation(field.annotation, seen)
        if kind is not None:
            out[name] = kind
    return out


def _kind(metadata) -> str | None:
    return next((m.kind for m in metadata if isinstance(m, _Reference)), None)


def _in_annotation(annotation, seen: frozenset):
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation if annotation not in seen and references(annotation, seen) else None
    if get_origin(annotation) is Annotated:
        base, *metadata = get_args(annotation)
        return _kind(metadata) or _in_annotation(base, seen)
    for arg in get_args(annotation):
        found = _in_annotation(arg, seen)
        if found is not None:
            return found
    return None


class AnalysisBase(SpecModel):
    id: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]*$")
    """A short name for this analysis in results and the report (default: its type). Must be unique."""

    @property
    def analysis_id(self) -> str:
        return self.id or self.type  # type: ignore[attr-defined]


class StudyPeriod(AnalysisBase):
    """An analysis limited to a calendar period (start_date to end_date, both included)."""

    start_date: dt.date | None = None
    """First day counted (default: no limit)."""
    end_date: dt.date | None = None
    """Last day counted (default: no limit)."""

    @model_validator(mode="after")
    def _dates_in_order(self):
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError(f"start_date {self.start_date} is after end_date {self.end_date}")
        return self
