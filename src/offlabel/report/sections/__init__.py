"""Report sections, one module per family of designs; each maps its result_types to a `Section`.

A new design adds a module here with `SECTIONS = {result_type: Section(title, render)}` and lists it
below; a result type without a section is shown as a plain table.
"""

from __future__ import annotations

from offlabel.report.sections import before_after, overview, utilisation
from offlabel.report.sections import characteristics
from offlabel.report.sections import labs
from offlabel.report.sections import safety, sccs
from offlabel.report.sections.base import Section

SECTIONS: dict[str, Section] = {}
for _module in (overview, utilisation, before_after, safety, sccs):
    SECTIONS.update(_module.SECTIONS)
SECTIONS.update(characteristics.SECTIONS)
SECTIONS.update(labs.SECTIONS)

__all__ = ["SECTIONS", "Section"]
