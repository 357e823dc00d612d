"""Before/after dispensing study (Raknes & Småbrekke, PLoS One 2017; DOMAIN.md §1).

For each person of a cohort whose index is the first dispensing of a study drug:

- index day 0 = the person's first cohort_start_date;
- before window: days [-lookback_days, -1]; after window: days [0, followup_days - 1]. The index
  day counts as after: the windows then tile time without a gap and have equal length when
  lookback_days == followup_days, and a drug dispensed on the day the study drug is started
  belongs to the regimen chosen with it (the synthetic world's effect window starts on day 0
  too). A dispensing is placed by its start date;
- collections = dispensings of the study drug in the after window (the index one included),
  which set the person's stratum (default 1, 2-3, 4+);
- for each drug group: the cumulative DDD dispensed in each window. The DDD of a dispensing is
  daily dose x days (`offlabel.drug_utilisation.add_daily_dose`, `add_ddd`) = quantity x
  strength / WHO DDD of its ingredient; a product with several ingredients counts the DDD of
  each. Dispensings without a computable DDD count 0 and are reported in a warning.

Persons without observation over both windows, or whose collections fall in no stratum, are left
out (warning). All of this runs in the database; only the per-person table (person, stratum,
group, ddd_before, ddd_after) leaves it. Statistics: `offlabel.stats.before_after`.

Results: result_id 1 is Table 1 of the persons analysed by collection stratum, with standardised
mean differences against the reference stratum (result_type "summarise_characteristics", from
`offlabel.analyses.characteristics.summarise_table_one` with the `characteristics` settings: the
strata are computed here once, so Table 1 describes exactly the persons of the tables below).
result_id 2 (result_type "summarise_before_after"): group drug_group, strata collection_stratum, and
variables "number subjects" (count), "users" (before / after: count), "cumulative DDD per person"
(before / after: mean, sd), "change in DDD per person" (mean, mean_95CI_lower/upper), "relative
change" (ratio and its CI), "difference in differences" and "relative difference in differences"
(against the reference stratum; not in the reference stratum's rows), "users by change"
(stopped / reduced / kept / increased / started: count). Counts are suppressed at export like
every count; because users before and after are sums of the categories, the five categories of
a stratum are suppressed together when any of them, or the users before or after, is below the
study's min_cell_count (secondary suppression, done here).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from offlabel.analyses.characteristics import summarise_table_one
from offlabel.drug_utilisation._common import temp_table
from offlabel.drug_utilisation._intervals import epoch, observation_days
from offlabel.drug_utilisation.ddd import who_ddd
from offlabel.drug_utilisation.dose import add_daily_dose, add_ddd_by_ingredient
from offlabel.errors import SpecError
from offlabel.results import SUPPRESSED, SummarisedResult, result_rows
from offlabel.results.secondary import small
from offlabel.stats import before_after as ba

LEVEL = 0.95

MICRO = 1_000_000  # DDD are summed in the database as whole millionths of a DDD


def stratum_label(lo: int, hi: int | None) -> str:
    """"1", "2-3", "4+": how a [min, max] stratum of collection counts is named in results."""
    if hi is None:
        return f"{lo}+"
    return str(lo) if lo == hi else f"{lo}-{hi}"


def run(context, settings) -> SummarisedResult:
    _check_names(context, settings)
    labels = [stratum_label(lo, hi) for lo, hi in settings.strata]
    reference = labels[settings.reference_stratum]
    table, table_one = person_table(context, settings, labels, reference)
    rows = []
    for group in settings.drug_groups:
        data = {s: ([], []) for s in labels}
        for r in table:
            if r["drug_group"] == group:
                data[r["stratum"]][0].append(r["ddd_before"])
                data[r["stratum"]][1].append(r["ddd_after"])
        rows += _group_rows(context.cdm.name, group, data, reference, settings.change_threshold_percent,
                            context.study.min_cell_count)
    extra = {"cohort": settings.cohort, "study_drug": settings.study_drug,
             "lookback_days": str(settings.lookback_days), "followup_days": str(settings.followup_days),
             "strata": ", ".join(labels), "reference_stratum": reference,
             "change_threshold_percent": str(settings.change_threshold_percent),
             "confidence_level": str(LEVEL), "window_before": f"[-{settings.lookback_days}, -1] days",
             "window_after": f"[0, {settings.followup_days - 1}] days"}
    # Table 1 of the same persons by the same strata (result_id 1), then the before/after tables.
    one = {"cohort": settings.cohort, "strata": "collection_stratum", "reference_stratum": reference,
           "age_groups": ", ".join(f"{lo} to {hi}" if hi is not None else f"{lo} or older"
                                   for lo, hi in settings.characteristics.age_groups)}
    return SummarisedResult.from_rows(
        [r._replace(result_id=1) for r in table_one] + [r._replace(result_id=2) for r in rows],
        settings={1: context.settings(settings, "summarise_characteristics", **one),
                  2: context.settings(settings, "summarise_before_after", **extra)})


def _check_names(context, settings) -> None:
    problems = []
    if settings.cohort not in context.study.cohorts:
        problems.append(f"cohort {settings.cohort!r} is not a cohort of the study "
                        f"(defined: {', '.join(sorted(context.study.cohorts)) or 'none'})")
    for key, names in (("study_drug", [settings.study_drug]), ("drug_groups", settings.drug_groups)):
        for name in names:
            if name not in context.concept_sets:
                problems.append(f"{key}: no concept set named {name!r} (defined: {', '.join(sorted(context.concept_sets))})")
    if problems:
        raise SpecError(f"before_after analysis {settings.analysis_id!r}: " + "; ".join(problems) + ".")


def _group_rows(cdm_name: str, group: str, data: dict, reference: str, threshold: float,
                min_cell_count: int) -> list:
    rows = []
    ref_before, ref_after = data[reference]
    ref_change = [a - b for b, a in zip(ref_before, ref_after)]

    def add(stratum, variable, estimates, level=None):
        rows.extend(result_rows(cdm_name=cdm_name, group={"drug_group": group},
                                strata={"collection_stratum": stratum}, variable_name=variable,
                                variable_level=level, estimates=estimates,
                                estimate_types={k: "numeric" for k, v in estimates.items() if k != "count"}
                                | ({"count": "integer"} if "count" in estimates else {})))

    for stratum, (before, after) in data.items():
        change = ba.paired_change(before, after, LEVEL)
        add(stratum, "number subjects", {"count": change.n})
        add(stratum, "users", {"count": sum(1 for v in before if v > 0)}, "before")
        add(stratum, "users", {"count": sum(1 for v in after if v > 0)}, "after")
        add(stratum, "cumulative DDD per person", {"mean": change.mean_before, "sd": change.sd_before}, "before")
        add(stratum, "cumulative DDD per person", {"mean": change.mean_after, "sd": change.sd_after}, "after")
        add(stratum, "change in DDD per person", {"mean": change.mean_change, "mean_95CI_lower": change.lower,
                                                  "mean_95CI_upper": change.upper})
        ratio = ba.relative_change(before, after, LEVEL)
        add(stratum, "relative change", dict(zip(("ratio", "ratio_95CI_lower", "ratio_95CI_upper"), ratio)))
        if stratum != reference:
            did = ba.difference_in_differences([a - b for b, a in zip(before, after)], ref_change, LEVEL)
            add(stratum, "difference in differences",
                dict(zip(("mean", "mean_95CI_lower", "mean_95CI_upper"), did)))
            rel = ba.relative_difference_in_differences(before, after, ref_before, ref_after, LEVEL)
            add(stratum, "relative difference in differences",
                dict(zip(("ratio", "ratio_95CI_lower", "ratio_95CI_upper"), rel)))
        categories = ba.change_categories(before, after, threshold)
        users = [sum(1 for v in before if v > 0), sum(1 for v in after if v > 0)]
        if any(small(c, min_cell_count) for c in [*categories.values(), *users]):
            # users before = stopped + reduced + kept + increased and users after = reduced + kept +
            # increased + started: one small count among them could be recovered by subtraction
            # once suppressed, so all five categories go together.
            categories = dict.fromkeys(categories, SUPPRESSED)
        for category, count in categories.items():
            add(stratum, "users by change", {"count": count}, category)
    return rows


# -- in the database ---------------------------------------------------------------------------


def person_table(context, settings, labels: list[str], reference: str) -> tuple[list[dict], list]:
    """([{person_id, stratum, drug_group, ddd_before, ddd_after}]: one row per person and drug group,
    Table 1 rows of the same persons by stratum)."""
    cdm = context.cdm
    cohort = context.cohort(settings.cohort).table
    index = cohort.group_by(person_id=cohort.subject_id.cast("int64")).aggregate(
        index_day=epoch(cohort.cohort_start_date).min(), index_date=cohort.cohort_start_date.cast("date").min())
    lo_day = index.index_day - settings.lookback_days
    hi_day = index.index_day + settings.followup_days - 1
    obs = observation_days(cdm, index.person_id)
    covered = index.semi_join(obs, (index.person_id == obs.subject_id) & (obs.start <= lo_day) & (obs.end >= hi_day))
    with temp_table(cdm, covered) as persons:
        n_index = int(index.count().to_pyarrow().as_py())
        n_covered = int(persons.count().to_pyarrow().as_py())
        if n_covered < n_index:
            context.warn(f"before/after {settings.analysis_id}: {n_index - n_covered} of {n_index} persons of cohort "
                         f"'{settings.cohort}' lack observation over the {settings.lookback_days} days before and "
                         f"{settings.followup_days} days from index, and were left out.")
        stratified = _strata(context, settings, persons)
        with temp_table(cdm, stratified) as stratified:
            n_stratified = int(stratified.count().to_pyarrow().as_py())
            if n_stratified < n_covered:
                context.warn(f"before/after {settings.analysis_id}: {n_covered - n_stratified} persons had a number "
                             "of study-drug collections in follow-up outside every stratum and were left out.")
            table_one = summarise_table_one(context, stratified, settings.characteristics, cohort_name=settings.cohort,
                                            strata_name="collection_stratum", labels=labels, reference=reference)
            with temp_table(cdm, _dispensings(context, settings, _windowed(context, settings, stratified))) \
                    as dispensings:
                ddd = _window_sums(context, settings, dispensings)
                groups = ibis.memtable({"drug_group": list(settings.drug_groups)})
                grid = stratified.cross_join(groups)
                j = grid.left_join(ddd, (grid.person_id == ddd._pid) & (grid.drug_group == ddd._group))
                out = j.select(person_id=j.person_id, stratum=j.stratum, drug_group=j.drug_group,
                               ddd_before=j.ddd_before.fill_null(0), ddd_after=j.ddd_after.fill_null(0))
                out = out.order_by(["drug_group", "person_id"])
                rows = out.to_pyarrow().to_pylist()
                for r in rows:  # micro-DDD (exact integers) back to DDD
                    r["ddd_before"], r["ddd_after"] = r["ddd_before"] / MICRO, r["ddd_after"] / MICRO
                return rows, table_one


def _strata(context, settings, persons: ir.Table) -> ir.Table:
    """persons with n_collections (study drug in the after window) and stratum label."""
    ids = list(context.concept_sets[settings.study_drug].concept_ids)
    de = context.cdm.table("drug_exposure")
    de = de.filter(de.drug_concept_id.isin(ids) if ids else ibis.literal(False)).select(
        _pid=de.person_id.cast("int64"), _day=epoch(de.drug_exposure_start_date))
    j = persons.join(de, (persons.person_id == de._pid) & (de._day >= persons.index_day)
                     & (de._day <= persons.index_day + settings.followup_days - 1))
    counts = j.group_by("person_id").aggregate(n_collections=j.count())
    p = persons.left_join(counts, persons.person_id == counts.person_id)
    n = p.n_collections.fill_null(0)
    cases = [((n >= lo) & (n <= hi) if hi is not None else (n >= lo), stratum_label(lo, hi))
             for lo, hi in settings.strata]
    p = p.select(person_id=p.person_id, index_day=p.index_day, index_date=p.index_date, n_collections=n,
                 stratum=ibis.cases(*cases, else_=ibis.null("string")))
    return p.filter(p.stratum.notnull())


def _windowed(context, settings, persons: ir.Table) -> ir.Table:
    """The drug_exposure rows of any drug group dispensed to the persons in their windows, with _pid,
    _index and _start (epoch days): one scan of drug_exposure that every ingredient below reads from."""
    ids = sorted({i for g in settings.drug_groups for i in context.concept_sets[g].concept_ids})
    de = context.cdm.table("drug_exposure")
    # No isin(ids) when there are drugs: _dispensings joins the rows to the groups' drugs, and on
    # DuckDB an IN list of many drugs over all of drug_exposure costs more than the whole join.
    de = de if ids else de.filter(ibis.literal(False))
    # Only the columns the daily dose needs: every later step carries them along.
    keep = [c for c in ("drug_concept_id", "drug_exposure_start_date", "drug_exposure_end_date", "quantity",
                        "days_supply") if c in de.columns]
    de = de.select(*keep, _start=epoch(de.drug_exposure_start_date), _p=de.person_id.cast("int64"))
    p = persons.select(_pid=persons.person_id, _index=persons.index_day)
    j = de.join(p, de._p == p._pid)
    return j.filter((j._start >= j._index - settings.lookback_days)
                    & (j._start <= j._index + settings.followup_days - 1)).drop("_p")


def _dispensings(context, settings, windowed: ir.Table) -> ir.Table:
    """_pid, _group, rel_day, ddd: every dispensing (per ingredient) of each drug group in the windows,
    in one query: the groups' drugs as a small (group, drug) table, the daily dose of every ingredient
    (`add_daily_dose` with several ingredients) and its WHO DDD (`add_ddd_by_ingredient`)."""
    cdm = context.cdm
    members, drug_sets = [], {}
    for group in settings.drug_groups:
        ids = list(context.concept_sets[group].concept_ids)
        if not ids:
            context.warn(f"before/after {settings.analysis_id}: concept set '{group}' has no concepts; its DDD are 0.")
            continue
        members += [(group, int(i)) for i in ids]
        drug_sets[group] = ids
    atc_codes = {}
    for codes in ingredient_atc_codes(context, settings.analysis_id, drug_sets).values():
        atc_codes |= codes
    if not atc_codes:  # no drug of any group has a drug_strength row
        return ibis.memtable({"_pid": [0], "_group": [""], "rel_day": [0], "ddd": [0.0]}).limit(0)
    groups = ibis.memtable({"_group": [m[0] for m in members], "_member": [m[1] for m in members]},
                           schema={"_group": "string", "_member": "int64"})
    j = windowed.join(groups, windowed.drug_concept_id.cast("int64") == groups._member)
    x = add_ddd_by_ingredient(cdm, add_daily_dose(cdm, j, sorted(atc_codes)), atc_codes)
    return x.select(_pid=x._pid, _group=x._group, rel_day=(x._start - x._index).cast("int64"),
                    ddd=(x.daily_dose_ddd * x.days).cast("float64"))


def _window_sums(context, settings, u: ir.Table) -> ir.Table:
    """_pid, _group, ddd_before, ddd_after: summed DDD of each drug group in each window."""
    missing = u.filter(u.ddd.isnull()).group_by("_group").aggregate(n=lambda t: t.count())
    for r in missing.to_pyarrow().to_pylist():
        context.warn(f"before/after {settings.analysis_id}: {r['n']} dispensing(s) of '{r['_group']}' in the windows "
                     "have no DDD (no drug_strength, quantity, days or WHO DDD) and count as 0 DDD.")
    rel = u.rel_day
    before = (rel >= -settings.lookback_days) & (rel <= -1)
    after = (rel >= 0) & (rel <= settings.followup_days - 1)
    # Sum whole micro-DDDs: an integer sum is exact in any order, so DuckDB and PostgreSQL agree
    # to the last digit (a float sum depends on the order the database adds in).
    ddd = (u.ddd.fill_null(0.0) * MICRO).round().cast("int64")
    zero = ibis.literal(0, "int64")
    return u.group_by(["_pid", "_group"]).aggregate(
        ddd_before=ibis.ifelse(before, ddd, zero).sum(), ddd_after=ibis.ifelse(after, ddd, zero).sum())


def ingredient_atc_codes(context, analysis_id: str, groups: dict[str, list[int]]) -> dict[str, dict[int, str | None]]:
    """{group: {ingredient concept id: ATC code with a shipped WHO DDD (or None)}} of the drugs of each
    concept set in `groups` ({name: drug concept ids}; their DRUG_STRENGTH ingredients), in three
    queries for all the groups; what is missing is reported with context.warn."""
    cdm = context.cdm
    every = sorted({int(i) for ids in groups.values() for i in ids})
    ds = cdm.table("drug_strength")
    pairs = ds.filter(ds.drug_concept_id.isin(every) if every else ibis.literal(False)).select(
        drug=ds.drug_concept_id.cast("int64"), ing=ds.ingredient_concept_id.cast("int64")).distinct()
    of_drug: dict[int, set[int]] = {}
    for r in pairs.to_pyarrow().to_pylist():
        if r["ing"] is not None:
            of_drug.setdefault(r["drug"], set()).add(r["ing"])
    ingredients = sorted(set().union(*of_drug.values())) if of_drug else []
    table = who_ddd()
    shipped = {c.upper() for c in table.atc_code}
    by_name = {str(n).lower(): str(c) for n, c in zip(table.ingredient, table.atc_code)}
    found: dict[int, list[str]] = {}
    names: dict[int, str] = {}
    if ingredients:
        concept, ca = cdm.table("concept"), cdm.table("concept_ancestor")
        atc = concept.filter(concept.vocabulary_id == "ATC").select(_a=concept.concept_id.cast("int64"),
                                                                    code=concept.concept_code)
        links = ca.filter(ca.descendant_concept_id.isin(ingredients)).select(
            ing=ca.descendant_concept_id.cast("int64"), _a=ca.ancestor_concept_id.cast("int64"))
        for r in links.join(atc, "_a").select("ing", "code").to_pyarrow().to_pylist():
            found.setdefault(r["ing"], []).append(str(r["code"]).upper())
        rows = concept.filter(concept.concept_id.isin(ingredients)).select(
            ing=concept.concept_id.cast("int64"), name=concept.concept_name).to_pyarrow().to_pylist()
        names = {r["ing"]: str(r["name"]).lower() for r in rows}
    out: dict[str, dict[int, str | None]] = {}
    for group, ids in groups.items():
        mine = sorted(set().union(*[of_drug.get(int(i), set()) for i in ids]))
        if not mine:
            context.warn(f"{analysis_id}: no drug of '{group}' has a drug_strength row; its DDD are 0.")
        out[group] = {}
        for ing in mine:
            codes = sorted(c for c in found.get(ing, []) if c in shipped)
            code = codes[0] if codes else by_name.get(names.get(ing, ""))
            if code is None:
                context.warn(f"{analysis_id}: no WHO DDD is shipped for ingredient "
                             f"{names.get(ing, ing)} ({ing}) of '{group}'; its dispensings count 0 DDD.")
            out[group][ing] = code
    return out
