"""How often each concept set is recorded (as CodelistGenerator's `summariseCodeUse()`).

Counts records and persons per concept set, overall and per standard concept, overall and
by calendar year, over every event table. One aggregate query per grouping, in the database.
"""

from __future__ import annotations

import ibis

from offlabel.cdm.domains import EVENT_TABLES
from offlabel.cdm.vocabulary import concept_names
from offlabel.results import SummarisedResult


def run(context, settings) -> SummarisedResult:
    cdm = context.cdm
    names = settings.concept_sets or list(context.concept_sets)
    rows = []
    for name in names:
        ids = list(context.concept_sets[name].concept_ids)
        records = _records(context, ids, settings)
        labels = concept_names(cdm, ids) if settings.by_concept else {}
        groupings = [([], None)]
        if settings.by_concept:
            groupings.append((["concept_id", "domain_id"], "concept"))
        stratas = [None, "year"] if settings.by_year else [None]
        for keys, _ in groupings:
            for strata in stratas:
                by = keys + ([strata] if strata else [])
                agg = (records.group_by(by) if by else records).aggregate(
                    record_count=records.count(), person_count=records.person_id.nunique())
                for r in sorted(agg.to_pyarrow().to_pylist(), key=lambda r: tuple(str(r[k]) for k in by)):
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


def _records(context, ids: list[int], settings):
    """Every record of the concepts, from every event table: person, concept, domain, year."""
    cdm = context.cdm
    parts = []
    for domain, spec in EVENT_TABLES.items():
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
        parts.append(t.filter(*keep).select(
            person_id=t.person_id.cast("int64"), concept_id=t[spec.concept_id].cast("int64"),
            domain_id=ibis.literal(domain), year=date.year().cast("int64")))
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
