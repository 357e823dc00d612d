"""Records of a concept set, from whichever event tables its concepts' domains live in."""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import ibis
import pyarrow as pa
import ibis.expr.types as ir

from offlabel.cdm.domains import EVENT_TABLES
from offlabel.errors import CdmError


# Domains looked up per CDM reference: a build asks for the same concept sets several times.
_DOMAINS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def concept_domains(cdm, concept_ids) -> list[str]:
    """The domains (Drug, Condition, ...) of the concepts, as the CONCEPT table says."""
    key = tuple(sorted({int(c) for c in concept_ids}))
    known = _DOMAINS.setdefault(cdm, {})
    if key not in known:
        concept = cdm.table("concept")
        rows = (concept.filter(concept.concept_id.isin(list(key)))
                .select("domain_id").distinct().to_pyarrow().column("domain_id").to_pylist())
        known[key] = sorted({d for d in rows if d in EVENT_TABLES})
    return known[key]


def concept_records(cdm, concept_ids, *, name: str = "") -> ir.Table:
    """Every record of the concepts: person_id, start_date, end_date (a missing end date is kept
    missing; the callers decide). One row per record of the event tables."""
    ids = sorted({int(c) for c in concept_ids})
    if not ids:
        return _empty()
    parts = []
    for domain in concept_domains(cdm, ids):
        spec = EVENT_TABLES[domain]
        if not cdm.has_table(spec.table):
            raise CdmError(f"Concept set '{name}' has {domain} concepts, but the CDM has no "
                           f"{spec.table.upper()} table. Load that table, or remove the {domain} "
                           "concepts from the concept set.")
        t = cdm.table(spec.table)
        t = t.filter(t[spec.concept_id].isin(ids), t[spec.start_date].notnull())
        end = t[spec.end_date].cast("date") if spec.end_date else ibis.null("date")
        parts.append(t.select(person_id=t.person_id.cast("int64"), start_date=t[spec.start_date].cast("date"),
                              end_date=end))
    if not parts:
        return _empty()
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


def tagged_records(cdm, concept_sets: dict[str, Sequence[int]], persons: ir.Table | None = None) -> ir.Table:
    """Every record of several concept sets at once: key (the set's name in `concept_sets`), person_id,
    start_date, end_date. Each event table is read once for all the sets (its records joined to a
    small table of (key, concept)), not once per set; a record of a concept in two sets comes twice.
    `persons` (a table with person_id) keeps only their records, before the join to the sets: a
    cohort's few persons cut a table far more than a list of concepts does."""
    members = [(key, c) for key, ids in concept_sets.items() for c in sorted({int(i) for i in ids})]
    if not members:
        return _empty().mutate(key=ibis.literal("", "string"))
    sets = ibis.memtable({"key": [m[0] for m in members], "_member": [m[1] for m in members]},
                         schema={"key": "string", "_member": "int64"})
    ids = sorted({m[1] for m in members})
    if persons is not None:
        wanted = persons.select(_wp=persons.person_id.cast("int64")).distinct()
    parts = []
    for domain in concept_domains(cdm, ids):
        spec = EVENT_TABLES[domain]
        if not cdm.has_table(spec.table):
            names = ", ".join(sorted(concept_sets))
            raise CdmError(f"The concept sets {names} have {domain} concepts, but the CDM has no "
                           f"{spec.table.upper()} table. Load that table, or remove the {domain} concepts.")
        t = cdm.table(spec.table)
        # No isin(ids) here: the join to `sets` filters, and on DuckDB the IN list on top of it
        # makes the scan slower (0.71 s vs 0.40 s on a 10M-person drug_exposure).
        t = t.filter(t[spec.start_date].notnull())
        end = t[spec.end_date].cast("date") if spec.end_date else ibis.null("date")
        t = t.select(_c=t[spec.concept_id].cast("int64"), person_id=t.person_id.cast("int64"),
                     start_date=t[spec.start_date].cast("date"), end_date=end)
        if persons is not None:
            t = t.semi_join(wanted, t.person_id == wanted._wp)
        j = t.join(sets, t._c == sets._member)
        parts.append(j.select("key", "person_id", "start_date", "end_date"))
    if not parts:
        return _empty().mutate(key=ibis.literal("", "string"))
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


def _empty() -> ir.Table:
    schema = pa.schema([("person_id", pa.int64()), ("start_date", pa.date32()), ("end_date", pa.date32())])
    return ibis.memtable(schema.empty_table())
