"""Study designs. Each is a verb `run(context, settings) -> SummarisedResult`.

`REGISTRY` maps an analysis `type` of the study file to its verb. The heavy lifting runs in
the database through Ibis; statistics come from `offlabel.stats`.
"""

from __future__ import annotations

from offlabel.analyses import (before_after, cdm_snapshot, characteristics, code_use, cohort_attrition, coverage,
                               dose, incidence, persistence, prevalence, switching)
from offlabel.analyses.labs import chart_review
from offlabel.analyses.safety import adverse_events, tolerability
from offlabel.analyses.sccs import case_series
from offlabel.analyses.context import StudyContext

REGISTRY = {
    "before_after": before_after.run,
    "cdm_snapshot": cdm_snapshot.run,
    "code_use": code_use.run,
    "cohort_attrition": cohort_attrition.run,
    "incidence": incidence.run,
    "characteristics": characteristics.run,
    "dose": dose.run,
    "persistence": persistence.run,
    "prevalence": prevalence.run,
    "proportion_of_patients_covered": coverage.run,
    "add_on_switch": switching.run,
    "lab_safety": chart_review.run,
    "tolerability": tolerability.run,
    "adverse_events": adverse_events.run,
    "sccs": case_series.run,
}

__all__ = ["REGISTRY", "StudyContext"]
