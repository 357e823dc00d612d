"""A report section: its title and the function that turns one analysis's results into tables and figures."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from offlabel.results import SummarisedResult


class Section(NamedTuple):
    title: str
    """The section's heading (the analysis id is added after it)."""
    render: Callable[[SummarisedResult, Callable], dict]
    """(one analysis's rows with its own settings, fmt) -> {"tables": [...], "figures": [...]}, where a table is
    {"caption", "header", "rows"} of text cells (fmt turns values into text; optional "header_groups": [(label,
    span)] above the header) and a figure {"caption", "svg"}; optional "findings": plain sentences for the key
    findings at the top of the report (offlabel.report.sections.findings)."""
