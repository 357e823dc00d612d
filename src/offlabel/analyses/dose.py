"""The dose distribution of a drug's exposures: daily dose in mg and in WHO DDDs.

As DrugUtilisation's `summariseDoseCoverage()` (result_type "summarise_dose_coverage", group
ingredient_name, variables daily_dose and daily_dose_ddd), but on the exposures of a study concept
set (e.g. low-dose naltrexone only, where `offlabel.drug_utilisation.summarise_dose_coverage`
takes every product of the ingredient), and with strata by product (strata "product": its concept
name, i.e. its strength), so that the report can draw one box per strength. Daily dose from
`add_daily_dose` / `add_ddd` in the database; only the frequency table (product, unit, dose, DDD,
count) leaves it, and the summaries come from it exactly (`offlabel.stats.describe`).
Estimates: count (exposures), count_missing, percentage_missing, mean, sd, q05, q25, median, q75,
q95. A row whose count is below min_cell_count is suppressed whole at export.
"""

from __future__ import annotations

from offlabel.analyses.before_after import ingredient_atc_codes
from offlabel.cdm.vocabulary import concept_names
from offlabel.drug_utilisation.dose import add_daily_dose, add_ddd
from offlabel.errors import EmptyCohortError
from offlabel.results import SummarisedResult, result_rows
from offlabel.stats.describe import describe_frequencies

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
_SUMMARY = ("mean", "sd", "q05", "q25", "median", "q75", "q95")


def run(context, settings) -> SummarisedResult:
    cdm = context.cdm
    ids = list(context.concept_sets[settings.drug].concept_ids)
    if not ids:
        raise EmptyCohortError(f"dose analysis {settings.analysis_id!r}: concept set '{settings.drug}' has no concepts.")
    rows = []
    ingredients = ingredient_atc_codes(context, settings.analysis_id, {settings.drug: ids})[settings.drug]
    names = concept_names(cdm, list(ingredients) + ids)
    for ingredient, atc in sorted(ingredients.items()):
        frequencies = _frequencies(context, settings, ids, ingredient, atc)
        rows += _rows(cdm.name, names.get(ingredient, str(ingredient)), frequencies, names, atc is not None)
    if not rows:
        where = f" in cohort '{settings.cohort}'" if settings.cohort else ""
        raise EmptyCohortError(f"dose analysis {settings.analysis_id!r}: there is no exposure of '{settings.drug}'"
                               f"{where} whose product has a DRUG_STRENGTH row, so no daily dose can be described. "
                               "Check the concept set and the cohort.")
    extra = {"drug": settings.drug, "cohort": settings.cohort or "NA",
             "atc_codes": ", ".join(sorted({a for a in ingredients.values() if a})) or "NA"}
    return SummarisedResult.from_rows(rows, settings={1: context.settings(settings, "summarise_dose_coverage", **extra)})


def _frequencies(context, settings, ids, ingredient: int, atc: str | None) -> list[dict]:
    cdm = context.cdm
    ds = cdm.table("drug_strength")
    # the set's products with this ingredient: a short list (two semi joins in a row break on PostgreSQL)
    products = ds.filter(ds.ingredient_concept_id == ingredient, ds.drug_concept_id.isin(ids))
    products = sorted({int(r["d"]) for r in products.select(d=products.drug_concept_id).to_pyarrow().to_pylist()})
    de = cdm.table("drug_exposure")
    # Only the columns the daily dose needs: every later step carries them along, and the time Ibis
    # takes to compile the query grows with them (drug_exposure has 23).
    keep = [c for c in ("person_id", "drug_concept_id", "drug_exposure_start_date", "drug_exposure_end_date",
                        "quantity", "days_supply") if c in de.columns]
    de = de.filter(de.drug_concept_id.isin(products)).select(*keep)
    if settings.cohort is not None:
        c = context.cohort(settings.cohort).table
        c = c.select(_sid=c.subject_id.cast("int64"), _cs=c.cohort_start_date.cast("date"),
                     _ce=c.cohort_end_date.cast("date"))
        start = de.drug_exposure_start_date.cast("date")
        de = de.semi_join(c, (de.person_id.cast("int64") == c._sid) & (start >= c._cs) & (start <= c._ce))
    x = add_daily_dose(cdm, de, ingredient)
    columns = {"drug": x.drug_concept_id.cast("int64"), "unit": x.unit.fill_null("missing"), "daily_dose": x.daily_dose}
    if atc is not None:
        x = add_ddd(cdm, x, atc)
        columns = {"drug": x.drug_concept_id.cast("int64"), "unit": x.unit.fill_null("missing"),
                   "daily_dose": x.daily_dose, "daily_dose_ddd": x.daily_dose_ddd}
    x = x.select(**columns)
    keys = list(x.columns)
    freq = x.group_by(keys).aggregate(n=x.count()).order_by(keys)
    return freq.to_pyarrow().to_pylist()


def _rows(cdm_name: str, ingredient_name: str, frequencies: list[dict], names: dict, with_ddd: bool) -> list:
    rows = []
    variables = ["daily_dose"] + (["daily_dose_ddd"] if with_ddd else [])
    stratifications = [("overall", lambda r: None), ("unit", lambda r: r["unit"]),
                       ("product", lambda r: names.get(r["drug"], str(r["drug"])))]
    for strata_name, key in stratifications:
        for v in variables:
            buckets: dict = {}
            for r in frequencies:
                buckets.setdefault(key(r), []).append(r)
            for level in sorted(buckets, key=str):
                found = buckets[level]
                missing = sum(r["n"] for r in found if r[v] is None)
                present = [r for r in found if r[v] is not None]
                # one value may sit under several keys (several products): merge before describing
                merged: dict[float, int] = {}
                for r in present:
                    merged[r[v]] = merged.get(r[v], 0) + r["n"]
                summary = describe_frequencies(list(merged), list(merged.values()), quantiles=QUANTILES)
                n = summary["count"] + missing
                estimates = {"count": n, "count_missing": missing,
                             "percentage_missing": 100.0 * missing / n if n else None}
                estimates.update({k: summary[k] for k in _SUMMARY})
                rows += result_rows(cdm_name=cdm_name, group={"ingredient_name": ingredient_name},
                                    strata={} if strata_name == "overall" else {strata_name: level},
                                    variable_name=v, estimates=estimates,
                                    estimate_types={k: "numeric" for k in _SUMMARY} | {"percentage_missing": "percentage"})
    return rows
