"""Drug utilisation verbs: cohorts (Ibis tables) and a Cdm in, a SummarisedResult out.

- `new_users` (new_users.py): new-use episodes after a washout, as a cohort (cohort → cohort)
- `summarise_incidence` (incidence.py): new users per calendar month/year, exact Poisson CIs
- `summarise_prevalence` (prevalence.py): period / point prevalence of use
- `add_daily_dose`, `add_ddd`, `summarise_dose_coverage` (dose.py): daily dose from drug_strength, in DDD
- `who_ddd`, `ddd_mg` (ddd.py): the shipped WHO DDDs
- `summarise_persistence` (persistence.py): Kaplan-Meier time to discontinuation from eras
- `summarise_proportion_of_patients_covered` (coverage.py): PPC by day since first use
- `summarise_add_on_and_switch` (switching.py): add-on vs switch after index, in a window
"""

from offlabel.drug_utilisation.ddd import ddd_for_ingredient, ddd_mg, who_ddd
from offlabel.drug_utilisation.dose import add_daily_dose, add_ddd, summarise_dose_coverage
from offlabel.drug_utilisation.coverage import summarise_proportion_of_patients_covered
from offlabel.drug_utilisation.incidence import summarise_incidence
from offlabel.drug_utilisation.new_users import new_users
from offlabel.drug_utilisation.persistence import persistence_times, summarise_persistence
from offlabel.drug_utilisation.prevalence import summarise_prevalence
from offlabel.drug_utilisation.switching import summarise_add_on_and_switch

__all__ = [
    "add_daily_dose", "add_ddd", "ddd_for_ingredient", "ddd_mg", "new_users", "persistence_times",
    "summarise_add_on_and_switch", "summarise_dose_coverage", "summarise_incidence", "summarise_persistence",
    "summarise_prevalence", "summarise_proportion_of_patients_covered", "who_ddd",
]
