"""Report sections, one module per family of designs; each maps its result_types to a `Section`.

A new design adds a module here with `SECTIONS = {result_type: Section(title, render)}` and lists it
below; a result type without a section is shown as a plain table.
"""

from __future__ import annotations

from offlabel.report.sections import (before_after, characteristics, labs, overview, safety, sccs,
                                      utilisation)
from offlabel.report.sections.base import Section

# In the order of a study: what the data hold, drug utilisation, before/after, safety.
SECTIONS: dict[str, Section] = {}
for _module in (overview, characteristics, utilisation, before_after, labs, safety, sccs):
    SECTIONS.update(_module.SECTIONS)

__all__ = ["SECTIONS", "Section"]
