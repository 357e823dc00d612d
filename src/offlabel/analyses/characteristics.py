"""Table 1: who the persons of a cohort are at index, by stratum, with standardised mean differences.

As CohortCharacteristics' `summariseCharacteristics()` (result_type "summarise_characteristics",
group cohort_name, variables "Number subjects", "Age", "Age group", "Sex", "Prior observation",
"Year of index" and one per covariate group), plus the estimate "smd" in each non-reference
stratum: the standardised mean difference of the row against the reference stratum
(`offlabel.stats.balance`; continuous rows from mean and sd, each level of a categorical row and
each covariate as a binary). Unlike CohortCharacteristics the covariate window is part of the
variable name (additional stays "overall"), so that a small stratum's group suppression covers
every row of it.

`summarise_table_one(context, persons, ...)` is the reusable part: `persons` is any table of
person_id, index_date and stratum (the before_after analysis passes its collection strata). In the
database: one row per person with age (whole years at index, from year/month/day of birth, a
missing month or day read as 1, as PatientProfiles), sex, prior observation (days) and year, and
one flag per covariate; only frequency tables of integers leave it, so every backend gives the same
digits (`offlabel.stats.describe`).

Secondary suppression, done here (primary suppression at export hides counts below
min_cell_count): a percentage or an SMD computed from a hidden count is hidden with it; the SMD of a
row is hidden when the row is hidden in either stratum (with the other stratum's numbers it would
reveal the count); a stratum below min_cell_count hides everything of it, SMDs against it included;
and in a categorical row (sex, age group, year) whose levels add up to the number of persons, the
smallest other levels are hidden with a small one until the hidden levels cannot be worked out from
that total (`offlabel.results.secondary.complementary_cells`: at least two, adding up to
min_cell_count or more, not all of them 1). A categorical row of a stratum whose levels are all 1
(five persons in five index years, say) is left out: no hiding among its levels protects them, as
their number is the number of persons (`unprotectable`).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from offlabel.cohorts.events import tagged_records
from offlabel.drug_utilisation._common import SEXES, temp_table
from offlabel.drug_utilisation._intervals import epoch
from offlabel.results import SUPPRESSED, SummarisedResult, result_rows
from offlabel.results.secondary import complementary_cells, small, unprotectable
from offlabel.stats import balance
from offlabel.stats.describe import describe_frequencies

CONTINUOUS = ("Age", "Prior observation")
CATEGORICAL = ("Age group", "Sex", "Year of index")
_SUMMARY = ("mean", "sd", "median", "q25", "q75")


def run(context, settings) -> SummarisedResult:
    """The `characteristics` analysis: Table 1 of a cohort, overall and by one strata variable."""
    cohort = context.cohort(settings.cohort).table
    persons = cohort.group_by(person_id=cohort.subject_id.cast("int64")).aggregate(
        index_date=cohort.cohort_start_date.cast("date").min())
    persons = persons.mutate(stratum=ibis.literal("overall"))
    rows = summarise_table_one(context, persons, settings, cohort_name=settings.cohort, strata_by=settings.strata,
                               reference=settings.reference_stratum)
    extra = {"cohort": settings.cohort, "strata": settings.strata or "overall",
             "age_groups": ", ".join(_age_label(lo, hi) for lo, hi in settings.age_groups)}
    return SummarisedResult.from_rows(rows, settings={1: context.settings(settings, "summarise_characteristics", **extra)})


def summarise_table_one(context, persons: ir.Table, table_one, *, cohort_name: str, strata_name: str | None = None,
                        labels: list[str] | None = None, reference: str | None = None,
                        strata_by: str | None = None) -> list:
    """Table 1 rows of `persons` (person_id, index_date, stratum) with the settings `table_one` (TableOne).

    strata_name and labels: the strata of `persons` (its stratum column) in their order, compared with
    `reference` (default: the first). strata_by ("sex", "age_group", "index_year"): instead, the overall
    rows and the strata of that variable. Without either, overall only.
    """
    cdm = context.cdm
    base = _base(cdm, persons, table_one.age_groups)
    with temp_table(cdm, base) as base:
        if strata_by is not None:
            column = {"sex": "sex", "age_group": "age_group", "index_year": "year_text"}[strata_by]
            parts = [("overall", base.mutate(stratum=ibis.literal("overall"))),
                     (strata_by, base.mutate(stratum=base[column]))]
        else:
            parts = [(strata_name or "overall", base)]
        rows = []
        for name, t in parts:
            tables = _frequencies(context, t, table_one)
            if name == "overall":
                levels = ["overall"]
            elif labels is not None and strata_by is None:
                levels = labels
            else:
                levels = _level_order(strata_by, table_one.age_groups, tables["demographics"])
            ref = None if name == "overall" else (reference if reference in levels else levels[0] if levels else None)
            if name != "overall" and reference is not None and reference not in levels:
                context.warn(f"characteristics of '{cohort_name}': reference stratum {reference!r} is not among "
                             f"{levels}; the first is used.")
            rows += _rows(cdm.name, cohort_name, name, levels, ref, tables, table_one, context.study.min_cell_count)
    return rows


# -- in the database ---------------------------------------------------------------------------


def _base(cdm, persons: ir.Table, age_groups) -> ir.Table:
    """person_id, stratum, index_day, obs_start, obs_end (days), age, age_group, sex, prior_observation, year."""
    person = cdm.table("person")
    cols = person.columns
    p = person.select(_pid=person.person_id.cast("int64"), _g=person.gender_concept_id.cast("int64"),
                      _by=person.year_of_birth.cast("int64"),
                      _bm=(person.month_of_birth.cast("int64") if "month_of_birth" in cols else ibis.null("int64")),
                      _bd=(person.day_of_birth.cast("int64") if "day_of_birth" in cols else ibis.null("int64")))
    x = persons.select(person_id=persons.person_id.cast("int64"), index_date=persons.index_date.cast("date"),
                       stratum=persons.stratum.cast("string"))
    x = x.mutate(index_day=epoch(x.index_date))
    # PERSON and OBSERVATION_PERIOD cut to the cohort's persons before the left joins: a left join
    # keeps the small side whole, so DuckDB would build its hash table on all of the CDM's rows
    # (0.5 s on 10M persons, against 0.05 s).
    ids = x.select(_sid=x.person_id).distinct()
    p = p.semi_join(ids, p._pid == ids._sid)
    j = x.left_join(p, x.person_id == p._pid)
    d = j.index_date
    before_birthday = (d.month().cast("int64") < j._bm.fill_null(1)) | (
        (d.month().cast("int64") == j._bm.fill_null(1)) & (d.day().cast("int64") < j._bd.fill_null(1)))
    age = d.year().cast("int64") - j._by - ibis.ifelse(before_birthday, 1, 0)
    sex = ibis.cases(*[(j._g == k, v) for k, v in SEXES.items()], else_="None")
    j = j.select(person_id=j.person_id, stratum=j.stratum, index_day=j.index_day, age=age, sex=sex,
                 year=d.year().cast("int64"))
    op = cdm.table("observation_period")
    op = op.select(_op=op.person_id.cast("int64"), obs_start=epoch(op.observation_period_start_date),
                   obs_end=epoch(op.observation_period_end_date))
    op = op.semi_join(ids, op._op == ids._sid)
    k = j.left_join(op, [j.person_id == op._op, op.obs_start <= j.index_day, op.obs_end >= j.index_day])
    k = k.select("person_id", "stratum", "index_day", "obs_start", "obs_end", "age", "sex", "year")
    group = ibis.cases(*[((k.age >= lo) & (k.age <= hi) if hi is not None else (k.age >= lo), _age_label(lo, hi))
                         for lo, hi in age_groups], else_="other")
    return k.mutate(age_group=group, year_text=k.year.cast("string"), prior_observation=k.index_day - k.obs_start)


def _frequencies(context, base: ir.Table, table_one) -> dict:
    """Integer frequency tables: demographics (stratum, age, age_group, sex, year), prior observation,
    and persons per covariate."""
    demo = base.group_by(["stratum", "age", "age_group", "sex", "year"]).aggregate(n=base.count())
    prior = base.group_by(["stratum", "prior_observation"]).aggregate(n=base.count())
    out = {"demographics": _pull(demo, ["stratum", "age", "sex", "year"]),
           "prior": _pull(prior, ["stratum", "prior_observation"]), "covariates": {}}
    keys = {f"{g}:{name}": context.concept_sets[name].concept_ids
            for g, cov in enumerate(table_one.covariates) for name in cov.concept_sets}
    windows = {f"{g}:{name}": cov.window for g, cov in enumerate(table_one.covariates) for name in cov.concept_sets}
    if keys:
        # One pass over each event table for every covariate; each covariate's window is a condition
        # on its key (offset from index, inside the observation period of the index).
        rec = tagged_records(context.cdm, keys, persons=base)
        rec = rec.select(key=rec.key, _rp=rec.person_id, _rd=epoch(rec.start_date))
        j = base.join(rec, (base.person_id == rec._rp) & (rec._rd >= base.obs_start) & (rec._rd <= base.obs_end))
        offset = j._rd - j.index_day
        in_window = []
        for key, w in windows.items():
            cond = j.key == key
            if w.start is not None:
                cond &= offset >= w.start
            if w.end is not None:
                cond &= offset <= w.end
            in_window.append(cond)
        j = j.filter(ibis.or_(*in_window))
        flagged = j.select(j.stratum, j.person_id, j.key).distinct()
        counts = flagged.group_by(["stratum", "key"]).aggregate(n=flagged.count())
        out["covariates"] = {(r["stratum"], r["key"]): int(r["n"]) for r in _pull(counts, ["stratum", "key"])}
    return out


def _pull(t: ir.Table, order: list[str]) -> list[dict]:
    return t.order_by(order).to_pyarrow().to_pylist()


# -- rows and suppression ----------------------------------------------------------------------


def _age_label(lo: int, hi: int | None) -> str:
    return f"{lo} or older" if hi is None else f"{lo} to {hi}"


def _level_order(strata_by, age_groups, demographics) -> list[str]:
    if strata_by == "age_group":
        present = {r["age_group"] for r in demographics}
        return [lab for lab in [_age_label(lo, hi) for lo, hi in age_groups] + ["other"] if lab in present]
    if strata_by == "sex":
        present = {r["sex"] for r in demographics}
        return [s for s in (*SEXES.values(), "None") if s in present]
    return sorted({str(r["year"]) for r in demographics})


def _rows(cdm_name, cohort_name, strata_name, levels, reference, tables, table_one, min_cell_count) -> list:
    """The Table 1 rows of one stratification, with secondary suppression and SMDs."""
    group_labels = [_age_label(lo, hi) for lo, hi in table_one.age_groups]
    cells: dict[str, dict] = {}  # stratum -> {(variable, level): estimates}
    for s in levels:
        demo = [r for r in tables["demographics"] if r["stratum"] == s]
        n = sum(r["n"] for r in demo)
        c: dict[tuple, dict] = {("Number subjects", None): {"count": n}}
        for variable, key, values in (("Age", "age", demo),
                                      ("Prior observation", "prior_observation",
                                       [r for r in tables["prior"] if r["stratum"] == s])):
            freq: dict[int, int] = {}
            for r in values:
                if r[key] is not None:
                    freq[r[key]] = freq.get(r[key], 0) + r["n"]
            summary = describe_frequencies(list(freq), list(freq.values()))
            c[(variable, None)] = {k: summary[k] for k in _SUMMARY}
        for variable, key, order in (("Age group", "age_group", group_labels), ("Sex", "sex", list(SEXES.values())),
                                     ("Year of index", "year", [])):
            counts: dict[str, int] = {}
            for r in demo:
                counts[str(r[key])] = counts.get(str(r[key]), 0) + r["n"]
            present = sorted({str(r[key]) for r in tables["demographics"]})  # in any stratum
            for level in order + [lev for lev in present if lev not in order]:
                k = counts.get(level, 0)
                c[(variable, level)] = {"count": k, "percentage": 100.0 * k / n if n else None}
        for g, cov in enumerate(table_one.covariates):
            for name in cov.concept_sets:
                k = tables["covariates"].get((s, f"{g}:{name}"), 0)
                c[(cov.label, name)] = {"count": k, "percentage": 100.0 * k / n if n else None}
        cells[s] = c
    _align_levels(cells)
    hidden, left_out = _hidden(cells, min_cell_count)
    if reference is not None and reference in cells:
        _add_smds(cells, hidden, reference, min_cell_count)
    rows = []
    for s in levels:
        for (variable, level), estimates in cells[s].items():
            if (s, variable) in left_out:
                continue
            shown = dict.fromkeys(estimates, SUPPRESSED) if (s, variable, level) in hidden else estimates
            types = {k: ("integer" if k == "count" else "percentage" if k == "percentage" else "numeric")
                     for k in shown}
            rows += result_rows(cdm_name=cdm_name, group={"cohort_name": cohort_name},
                                strata={} if strata_name == "overall" else {strata_name: s},
                                variable_name=variable, variable_level=level, estimates=shown, estimate_types=types)
    return rows


def _align_levels(cells: dict) -> None:
    """Give every stratum the same rows (a level missing in one stratum has count 0 there)."""
    keys = []
    for c in cells.values():
        keys += [k for k in c if k not in keys]
    for s, c in cells.items():
        n = c[("Number subjects", None)]["count"]
        for k in keys:
            c.setdefault(k, {"count": 0, "percentage": 0.0 if n else None})
        cells[s] = dict(sorted(c.items(), key=lambda kv: keys.index(kv[0])))


def _hidden(cells: dict, min_cell_count: int) -> tuple[set, set]:
    """((stratum, variable, level) whose estimates are suppressed: small counts, small strata, and the
    complementary levels of a categorical row with a small level; (stratum, variable) whose levels
    are left out: one person in each, which the number of levels would give away)."""
    hidden, left_out = set(), set()
    for s, c in cells.items():
        if small(c[("Number subjects", None)]["count"], min_cell_count):
            hidden |= {(s, v, lev) for v, lev in c}
            continue
        for (v, lev), est in c.items():
            if small(est.get("count"), min_cell_count):
                hidden.add((s, v, lev))
        for v in CATEGORICAL:
            levels = {lev: est["count"] for (var, lev), est in c.items() if var == v}
            hidden |= {(s, v, lev) for lev in complementary_cells(levels, min_cell_count)}
            if unprotectable(levels, min_cell_count):
                left_out.add((s, v))
    return hidden, left_out


def _add_smds(cells: dict, hidden: set, reference: str, min_cell_count: int) -> None:
    ref = cells[reference]
    for s, c in cells.items():
        if s == reference:
            continue
        for (v, lev), est in c.items():
            if v == "Number subjects":
                continue
            if (s, v, lev) in hidden or (reference, v, lev) in hidden:
                est["smd"] = SUPPRESSED
                continue
            other = ref[(v, lev)]
            try:
                if v in CONTINUOUS:
                    d = balance.smd_continuous(est["mean"], est["sd"], other["mean"], other["sd"])
                else:
                    d = balance.smd_binary(est["percentage"] / 100, other["percentage"] / 100)
            except (TypeError, ValueError):
                d = None  # a stratum of 0 or 1 person has no proportion or sd
            est["smd"] = d
