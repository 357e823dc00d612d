"""Concept sets: codes or concept ids → standard concept ids, resolved in the database.

A concept set item names a code in a vocabulary (ATC N07BB04, ICD10 G35, SNOMED 24700007,
RxNorm, LOINC) or a concept id. Resolution follows the OMOP conventions that ATLAS uses:
a standard concept stands for itself; a non-standard source code follows "Maps to" to
standard concepts; a classification concept (ATC) stands for its standard descendants;
`include_descendants` adds descendants through concept_ancestor; `exclude` items are
resolved the same way and removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from offlabel.errors import VocabularyError
from offlabel.spec.concept_sets import ConceptSetItem

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
    starts = _starting_concepts(cdm, concept, name, items)  # item index -> [(id, standard_concept)]
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
            warnings.append(f"concept set '{name}': {item.label} maps to no standard concept; it adds nothing.")
        per_item.append(standard)

    included = set().union(*[s for s, i in zip(per_item, items) if not i.exclude]) if items else set()
    excluded = set().union(*[s for s, i in zip(per_item, items) if i.exclude]) if items else set()
    ids = tuple(sorted(included - excluded))
    if not ids:
        warnings.append(f"concept set '{name}' resolves to no standard concept.")
    return ResolvedConceptSet(
        name=name, concept_ids=ids, warnings=warnings,
        items=[(("exclude " if i.exclude else "") + i.label, len(s)) for i, s in zip(items, per_item)],
    )


def _starting_concepts(cdm, concept, name, items) -> dict[int, list[tuple[int, str | None]]]:
    """Look up every item's concept row, in one query for codes and one for ids."""
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
        raise VocabularyError(
            f"Concept set '{name}' names codes that the CDM's vocabulary does not have: "
            f"{', '.join(problems)}. Check the spelling and the vocabulary name, or load a "
            "vocabulary (from ATHENA) that contains them.")
    return out


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

