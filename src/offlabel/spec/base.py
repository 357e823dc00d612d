"""The base of every study-file model: frozen, strict about unknown fields, documented."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SpecModel(BaseModel):
    """A part of a study file. Unknown fields are errors; parsed specs never change."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)
