"""The OMOP CDM: connecting, its specification as data, data-quality checks, vocabulary."""

from offlabel.cdm.cdm import Cdm
from offlabel.cdm.connect import connect

__all__ = ["Cdm", "connect"]
