"""Concept sets: codes or concept ids → standard concept ids, resolved in the database.

A concept set item names a code in a vocabulary (ATC N07BB04, ICD10 G35, SNOMED 24700007,
RxNorm, LOINC) or a concept id. Resolution follows the OMOP conventions that ATLAS uses:
a standard concept stands for itself; a non-standard source code follows "Maps to" to
standard concepts; a classification concept (ATC) stands for its standard descendants;
`include_descendants` adds descendants through concept_ancestor; `exclude` items are
resolved the same way and removed. A `strength` filter then keeps only the drug products whose
strength of the ingredient (DRUG_STRENGTH) lies within its bounds (`offlabel.spec.Strength`):
ATLAS has no such filter (its users tick products by name) and CodelistGenerator subsets only by
dose unit (`subsetOnDoseUnit`), so low-dose naltrexone needs it here. Every unknown code and
every strength filter that cannot work, of every concept set, is reported in one error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis

from offlabel.errors import VocabularyError
from offlabel.spec.concept_sets import ConceptSetItem

#: Mass units of DRUG_STRENGTH (UCUM concepts) and their factor to milligrams.
MASS_UNITS_MG = {8576: 1.0, 9655: 0.001, 8504: 1000.0}  # milligram, microgram, gram
#: Relative slack of strength bounds, so that 4500 mcg meets a bound of 4.5 mg despite float rounding.
_SLACK = 1e-9

# The names users write → OMOP vocabulary_id values tried in order.
VOCABULARY_ALIASES = {
    "ATC": ("ATC",),
    "ICD10": ("ICD10", "ICD10CM"),
    "ICD-10": ("ICD10", "ICD10CM"),
    "ICD10CM": ("ICD10CM",),
    "ICD9": ("ICD9CM",),
    "ICD9CM": ("ICD9CM",),
    "ICPC2": ("ICPC2", "ICPC-2"),
    "SNOMED": ("SNOMED",),
    "RXNORM": ("RxNorm", "RxNorm Extension"),
    "RXNORM EXTENSION": ("RxNorm Extension",),
    "LOINC": ("LOINC",),
    "UCUM": ("UCUM",),
    "NDC": ("NDC",),
    "CVX": ("CVX",),
}


@dataclass
class ResolvedConceptSet:
    name: str
    concept_ids: tuple[int, ...]
    warnings: list[str] = field(default_factory=list)
    # Per item: its label and how many standard concepts it contributed (or removed).
    items: list[tuple[str, int]] = field(default_factory=list)


def resolve_concept_sets(cdm, concept_sets: dict[str, list[ConceptSetItem]]) -> dict[str, ResolvedConceptSet]:
    """Resolve every concept set; unknown codes of all sets are reported in one error."""
    unknown: list[str] = []
    resolved = {}
    for name, items in concept_sets.items():
        try:
            resolved[name] = resolve_concept_set(cdm, name, items)
        except VocabularyError as e:
            unknown.append(str(e))
    if unknown:
        raise VocabularyError("\n".join(unknown))
    return resolved


def resolve_concept_set(cdm, name: str, items: list[ConceptSetItem]) -> ResolvedConceptSet:
    concept = cdm.table("concept")
    starts, problems = _starting_concepts(cdm, concept, items)  # item index -> [(id, standard_concept)]
    has_ancestor = cdm.has_table("concept_ancestor") and _nonempty(cdm.table("concept_ancestor"))
    warnings: list[str] = []
    if not has_ancestor and any(i.include_descendants for i in items):
        warnings.append(f"concept set '{name}': the CDM's CONCEPT_ANCESTOR table is empty, so descendants "
                        "could not be added; only the named concepts are used.")

    per_item: list[set[int]] = []
    for idx, item in enumerate(items):
        standard: set[int] = set()
        to_map: list[int] = []
        to_expand: list[int] = []
        for cid, std in starts[idx]:
            if std == "S":
                standard.add(cid)
            elif std == "C":
                to_expand.append(cid)  # a classification (ATC) stands for its standard descendants
            else:
                to_map.append(cid)
        if to_map:
            standard |= _maps_to(cdm, to_map)
        if has_ancestor and (item.include_descendants or to_expand):
            roots = list(standard | set(to_expand)) if item.include_descendants else to_expand
            standard |= _descendants(cdm, roots)
        if not standard:
            if starts[idx]:
                warnings.append(f"concept set '{name}': {item.label} maps to no standard concept; it adds nothing.")
        elif item.strength is not None:
            standard, found_warnings, found_problems = _within_strength(cdm, name, item, standard)
            warnings += found_warnings
            problems += found_problems
            if not standard and not found_problems:
                warnings.append(f"concept set '{name}': {item.label} keeps no drug product; it adds nothing.")
        per_item.append(standard)

    if problems:
        raise VocabularyError(f"Concept set '{name}': " + "; ".join(problems) + ".")

    included = set().union(*[s for s, i in zip(per_item, items) if not i.exclude]) if items else set()
    excluded = set().union(*[s for s, i in zip(per_item, items) if i.exclude]) if items else set()
    ids = tuple(sorted(included - excluded))
    if not ids:
        warnings.append(f"concept set '{name}' resolves to no standard concept.")
    return ResolvedConceptSet(
        name=name, concept_ids=ids, warnings=warnings,
        items=[(("exclude " if i.exclude else "") + i.label, len(s)) for i, s in zip(items, per_item)],
    )


def _starting_concepts(cdm, concept, items) -> tuple[dict[int, list[tuple[int, str | None]]], list[str]]:
    """Look up every item's concept row, in one query for codes and one for ids; and the problems."""
    out: dict[int, list[tuple[int, str | None]]] = {i: [] for i in range(len(items))}
    problems = []
    by_code = [(i, it) for i, it in enumerate(items) if it.code is not None]
    by_id = [(i, it) for i, it in enumerate(items) if it.code is None]

    if by_code:
        wanted = {}
        for i, it in by_code:
            vocabs = VOCABULARY_ALIASES.get(it.vocabulary.upper(), (it.vocabulary,))
            wanted[i] = (vocabs, str(it.code).strip())
        codes = sorted({c for _, c in wanted.values()})
        vocabs = sorted({v for vs, _ in wanted.values() for v in vs})
        rows = (concept.filter(concept.concept_code.isin(codes), concept.vocabulary_id.isin(vocabs))
                .select("concept_id", "concept_code", "vocabulary_id", "standard_concept")
                .to_pyarrow().to_pylist())
        for i, (vs, code) in wanted.items():
            for v in vs:  # first vocabulary of the alias list that knows the code
                hits = [r for r in rows if r["vocabulary_id"] == v and r["concept_code"] == code]
                if hits:
                    out[i] = [(r["concept_id"], r["standard_concept"]) for r in hits]
                    break
            else:
                problems.append(f"{items[i].vocabulary} code {code}")

    if by_id:
        ids = sorted({it.concept_id for _, it in by_id})
        rows = (concept.filter(concept.concept_id.isin(ids))
                .select("concept_id", "standard_concept").to_pyarrow().to_pylist())
        found = {r["concept_id"]: r["standard_concept"] for r in rows}
        for i, it in by_id:
            if it.concept_id in found:
                out[i] = [(it.concept_id, found[it.concept_id])]
            else:
                problems.append(f"concept id {it.concept_id}")

    if problems:
        problems = [(f"it names codes that the CDM's vocabulary does not have: {', '.join(problems)}. Check the "
                     "spelling and the vocabulary name, or load a vocabulary (from ATHENA) that contains them")]
    return out, problems


def _within_strength(cdm, name: str, item: ConceptSetItem, ids: set[int]) -> tuple[set[int], list[str], list[str]]:
    """(the products of `ids` whose strength lies within item.strength, warnings, problems).

    Strength in mg, computed in the database from DRUG_STRENGTH: amount_value for fixed-amount
    products, else numerator_value per one unit of the denominator (numerator / denominator_value
    when quantified). A product is kept when every DRUG_STRENGTH row of it for the line's
    ingredient(s) is a mass within the bounds."""
    what = item.label
    if not cdm.has_table("drug_strength") or not _nonempty(cdm.table("drug_strength")):
        return set(), [], [(f"{what} filters on strength, but the CDM's DRUG_STRENGTH table is missing or empty: "
                            "load DRUG_STRENGTH with the vocabulary (from ATHENA), or remove the strength filter")]
    concept = cdm.table("concept")
    rows = (concept.filter(concept.concept_id.isin(sorted(ids)))
            .select(cid=concept.concept_id.cast("int64"), cname=concept.concept_name, domain=concept.domain_id,
                    cls=concept.concept_class_id).to_pyarrow().to_pylist())
    info = {r["cid"]: r for r in rows}
    if not any(r["domain"] == "Drug" for r in rows):
        domains = ", ".join(sorted({str(r["domain"]) for r in rows}))
        return set(), [], [(f"{what} filters on strength, which only drug products have, but it resolves to "
                            f"{domains} concepts: remove the strength filter from this line")]
    ingredients = sorted(c for c, r in info.items() if r["cls"] == "Ingredient")
    ds = cdm.table("drug_strength")
    ds = ds.filter(ds.drug_concept_id.isin(sorted(ids)))
    if ingredients:
        ds = ds.filter(ds.ingredient_concept_id.isin(ingredients))
    if "invalid_reason" in ds.columns:
        ds = ds.filter(ds.invalid_reason.isnull())

    def mg(unit):
        return ibis.cases(*[(unit == cid, f) for cid, f in MASS_UNITS_MG.items()], else_=ibis.null("float64"))

    per = ibis.ifelse(ds.denominator_value.notnull() & (ds.denominator_value > 0),
                      ds.denominator_value.cast("float64"), ibis.literal(1.0))
    strength = ibis.ifelse(ds.amount_value.notnull(), ds.amount_value.cast("float64") * mg(ds.amount_unit_concept_id),
                           ds.numerator_value.cast("float64") * mg(ds.numerator_unit_concept_id) / per)
    lo, hi = item.strength.bounds_mg()
    inside = strength.notnull()
    if lo is not None:
        inside = inside & (strength >= lo * (1 - _SLACK))
    if hi is not None:
        inside = inside & (strength <= hi * (1 + _SLACK))
    x = ds.mutate(_drug=ds.drug_concept_id.cast("int64"), _mass=ibis.ifelse(strength.notnull(), 1, 0),
                  _in=ibis.ifelse(inside.fill_null(False), 1, 0))
    per_drug = x.group_by("_drug").aggregate(n=x.count(), n_mass=x._mass.sum(), n_in=x._in.sum())
    per_drug = {r["_drug"]: r for r in per_drug.to_pyarrow().to_pylist()}
    kept = {d for d, r in per_drug.items() if r["n_in"] == r["n"]}
    without = sorted(ids - set(per_drug))
    not_mass = sorted(d for d, r in per_drug.items() if r["n_mass"] < r["n"])
    # Only concepts that drug records use matter: an ingredient concept has no strength of its own,
    # and saying so on every run for a CDM whose records are all products would be noise.
    records = _records_per_drug(cdm, without + not_mass)
    warnings = []
    for found, why in ((without, "without a DRUG_STRENGTH row for the ingredient"),
                       (not_mass, "whose strength is not a mass (units, mL)")):
        found = [c for c in found if records.get(c)]
        if found:
            shown = ", ".join(f"{info.get(c, {}).get('cname', c)} [{info.get(c, {}).get('cls', '?')}]"
                              for c in found[:5])
            more = f" and {len(found) - 5} more" if len(found) > 5 else ""
            warnings.append(f"concept set '{name}': {what} leaves out {sum(records[c] for c in found):,} drug "
                            f"record(s) of {len(found)} concept(s) {why}, since they cannot be placed by strength: "
                            f"{shown}{more}.")
    return kept, warnings, []


def _records_per_drug(cdm, concept_ids: list[int]) -> dict[int, int]:
    """{drug concept id: number of DRUG_EXPOSURE records} for the given concepts that have records."""
    if not concept_ids or not cdm.has_table("drug_exposure"):
        return {}
    de = cdm.table("drug_exposure")
    used = de.filter(de.drug_concept_id.isin(concept_ids))
    counts = used.group_by(_drug=used.drug_concept_id.cast("int64")).aggregate(n=used.count())
    return {r["_drug"]: int(r["n"]) for r in counts.to_pyarrow().to_pylist()}


def _maps_to(cdm, concept_ids: list[int]) -> set[int]:
    if not cdm.has_table("concept_relationship"):
        return set()
    rel = cdm.table("concept_relationship")
    concept = cdm.table("concept")
    q = (rel.filter(rel.concept_id_1.isin(concept_ids), rel.relationship_id == "Maps to",
                    rel.invalid_reason.isnull())
         .join(concept, rel.concept_id_2 == concept.concept_id)
         .filter(concept.standard_concept == "S")
         .select(concept_id=concept.concept_id).distinct())
    return set(q.to_pyarrow().column("concept_id").to_pylist())


def _descendants(cdm, concept_ids: list[int]) -> set[int]:
    if not concept_ids:
        return set()
    ca = cdm.table("concept_ancestor")
    concept = cdm.table("concept")
    q = (ca.filter(ca.ancestor_concept_id.isin(concept_ids))
         .join(concept, ca.descendant_concept_id == concept.concept_id)
         .filter(concept.standard_concept == "S")
         .select(concept_id=concept.concept_id).distinct())
    return set(q.to_pyarrow().column("concept_id").to_pylist())


def _nonempty(table) -> bool:
    return table.limit(1).count().to_pyarrow().as_py() > 0


def concept_names(cdm, concept_ids) -> dict[int, str]:
    concept = cdm.table("concept")
    rows = (concept.filter(concept.concept_id.isin(list(concept_ids)))
            .select("concept_id", "concept_name").to_pyarrow().to_pylist())
    return {r["concept_id"]: r["concept_name"] for r in rows}

