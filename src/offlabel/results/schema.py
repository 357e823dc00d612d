"""The shape of a summarised_result: its 13 columns, its row type, its settings order.

Columns as omopgenerics::resultColumns("summarised_result"); settings order as
omopgenerics createSettings (R/classSummarisedResult.R, omopgenerics >= 1.0).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from offlabel.errors import OfflabelError

RESULT_COLUMNS: tuple[str, ...] = (
    "result_id", "cdm_name", "group_name", "group_level", "strata_name", "strata_level",
    "variable_name", "variable_level", "estimate_name", "estimate_type", "estimate_value",
    "additional_name", "additional_level",
)
COMPULSORY_SETTINGS = ("result_type", "package_name", "package_version")
LEADING_SETTINGS = ("result_type", "package_name", "package_version", "group", "strata", "additional",
                    "min_cell_count")
TEXT_COLUMNS = tuple(c for c in RESULT_COLUMNS if c not in ("result_id", "estimate_value", "variable_level"))
_MAX_LISTED = 20


class ResultError(OfflabelError, ValueError):
    """A summarised_result is malformed. `problems` lists every problem found."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = problems or []
        shown = self.problems[:_MAX_LISTED]
        if shown:
            message += "\n" + "\n".join(f"  - {p}" for p in shown)
            if len(self.problems) > len(shown):
                message += f"\n  - ... and {len(self.problems) - len(shown)} more"
        super().__init__(message)


class ResultRow(NamedTuple):
    """One estimate: a row of the summarised_result table, `estimate_value` typed."""

    result_id: int
    cdm_name: str
    group_name: str
    group_level: str
    strata_name: str
    strata_level: str
    variable_name: str
    variable_level: str | None
    estimate_name: str
    estimate_type: str
    estimate_value: Any
    additional_name: str
    additional_level: str


def settings_columns(all_settings: Iterable[Mapping[str, str]]) -> list[str]:
    """Settings column order of omopgenerics createSettings (without result_id)."""
    present: set[str] = set()
    for s in all_settings:
        present.update(s)
    return [*LEADING_SETTINGS, *sorted(present - set(LEADING_SETTINGS))]
