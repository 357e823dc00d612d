"""How often each concept set is recorded (as CodelistGenerator's `summariseCodeUse()`).

Counts records and persons per concept set, overall and per standard concept, overall and
by calendar year, over every event table. In the database, in one pass: each event table is
read once for the concepts of all the sets (tagged with their set), the tagged records are kept
in a temporary table and each grouping is one aggregate query over it. Sets and domains are tagged
by their position in a list, not by name: grouping by a small integer instead of a string makes
the distinct-person counts about 40% faster on DuckDB, and the names are put back in Python.
"""

from __future__ import annotations

import ibis

from offlabel.cdm.domains import EVENT_TABLES
from offlabel.cdm.vocabulary import concept_names
from offlabel.drug_utilisation._common import temp_table
from offlabel.results import SummarisedResult


def run(context, settings) -> SummarisedResult:
    cdm = context.cdm
    names = list(dict.fromkeys(settings.concept_sets or context.concept_sets))  # a set named twice counts once
    members = [(name, int(i)) for name in names for i in context.concept_sets[name].concept_ids]
    labels = concept_names(cdm, sorted({i for _, i in members})) if settings.by_concept else {}
    keys = [[]] + ([["concept_id", "domain_id"]] if settings.by_concept else [])
    stratas = [None, "year"] if settings.by_year else [None]
    domains = list(EVENT_TABLES)
    counts = {}  # (keys, strata) -> {codelist: [aggregate rows sorted by their keys]}
    with temp_table(cdm, _records(context, names, members, settings)) as records:
        for by_keys in keys:
            for strata in stratas:
                by = by_keys + ([strata] if strata else [])
                group = ["_set", *(("_domain" if k == "domain_id" else k) for k in by)]
                agg = records.group_by(group).aggregate(
                    record_count=records.count(), person_count=records.person_id.nunique())
                found = {}
                for r in agg.to_pyarrow().to_pylist():
                    if "_domain" in r:
                        r["domain_id"] = domains[r.pop("_domain")]
                    found.setdefault(names[r.pop("_set")], []).append(r)
                for rs in found.values():
                    rs.sort(key=lambda r: tuple(str(r[k]) for k in by))
                counts[(tuple(by_keys), strata)] = found
    rows = []
    for name in names:
        for by_keys in keys:
            for strata in stratas:
                for r in counts[(tuple(by_keys), strata)].get(name, []):
                    concept = r.get("concept_id")
                    for estimate in ("record_count", "person_count"):
                        rows.append({
                            "result_id": 1, "cdm_name": cdm.name,
                            "group_name": "codelist_name", "group_level": name,
                            "strata_name": "year" if strata else "overall",
                            "strata_level": str(r["year"]) if strata else "overall",
                            "variable_name": labels.get(concept, str(concept)) if concept is not None else "overall",
                            "variable_level": str(concept) if concept is not None else None,
                            "estimate_name": estimate, "estimate_type": "integer",
                            "estimate_value": int(r[estimate]),
                            "additional_name": "domain_id" if concept is not None else "overall",
                            "additional_level": r.get("domain_id") or "overall",
                        })
    return SummarisedResult.from_rows(rows, settings={1: context.settings(settings, "summarise_code_use")})


def _records(context, names: list[str], members: list[tuple[str, int]], settings):
    """Every record of the sets' concepts, from every event table: _set (position in `names`), person,
    concept, _domain (position in EVENT_TABLES), year (a record of a concept in two sets counts in both)."""
    cdm = context.cdm
    position = {name: k for k, name in enumerate(names)}
    sets = ibis.memtable({"_set": [position[m[0]] for m in members], "_member": [m[1] for m in members]},
                         schema={"_set": "int64", "_member": "int64"})
    ids = sorted({i for _, i in members})
    parts = []
    for k, spec in enumerate(EVENT_TABLES.values()):
        if not cdm.has_table(spec.table):
            continue
        t = cdm.table(spec.table)
        if not {spec.concept_id, spec.start_date, "person_id"} <= set(t.columns):
            context.warn(f"code use: the {spec.table.upper()} table lacks its standard columns and was skipped "
                         "(run `offlabel cdm check` to see why).")
            continue
        date = t[spec.start_date]
        keep = [t[spec.concept_id].isin(ids) if ids else ibis.literal(False)]
        if settings.start_date:
            keep.append(date >= ibis.literal(settings.start_date))
        if settings.end_date:
            keep.append(date <= ibis.literal(settings.end_date))
        t = t.filter(*keep).select(
            person_id=t.person_id.cast("int64"), concept_id=t[spec.concept_id].cast("int64"),
            _domain=ibis.literal(k, type="int64"), year=date.year().cast("int64"))
        parts.append(t.join(sets, t.concept_id == sets._member).drop("_member"))
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
