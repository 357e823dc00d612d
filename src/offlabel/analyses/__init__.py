"""Study designs. Each is a verb `run(context, settings) -> SummarisedResult`.

`REGISTRY` maps an analysis `type` of the study file to its verb. The heavy lifting runs in
the database through Ibis; statistics come from `offlabel.stats`.
"""

from __future__ import annotations

from offlabel.analyses import before_after, cdm_snapshot, code_use, cohort_attrition, incidence
from offlabel.analyses import characteristics, coverage, dose, persistence, prevalence, switching
from offlabel.analyses import lab_safety
from offlabel.analyses import adverse_events, sccs, tolerability
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
    "lab_safety": lab_safety.run,
    "tolerability": tolerability.run,
    "adverse_events": adverse_events.run,
    "sccs": sccs.run,
}

__all__ = ["REGISTRY", "StudyContext"]
