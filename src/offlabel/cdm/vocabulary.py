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
from functools import cached_property

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
    """Resolve every concept set; unknown codes of all sets are reported in one error. The vocabulary
    is read a fixed number of times for all the sets together (`_Lookup`), not once per set."""
    lookup = _Lookup(cdm, [it for items in concept_sets.values() for it in items])
    unknown: list[str] = []
    resolved = {}
    for name, items in concept_sets.items():
        try:
            resolved[name] = resolve_concept_set(cdm, name, items, lookup=lookup)
        except VocabularyError as e:
            unknown.append(str(e))
    if unknown:
        raise VocabularyError("\n".join(unknown))
    return resolved


def resolve_concept_set(cdm, name: str, items: list[ConceptSetItem], *, lookup: _Lookup | None = None
                        ) -> ResolvedConceptSet:
    lookup = lookup or _Lookup(cdm, items)
    starts, problems = lookup.starting_concepts(items)  # item index -> [(id, standard_concept)]
    warnings: list[str] = []
    if not lookup.has_ancestor and any(i.include_descendants for i in items):
        warnings.append(f"concept set '{name}': the CDM's CONCEPT_ANCESTOR table is empty, so descendants "
                        "could not be added; only the named concepts are used.")

    per_item: list[set[int]] = []
    for idx, item in enumerate(items):
        standard, to_expand = _split(starts[idx], lookup)
        if lookup.has_ancestor and (item.include_descendants or to_expand):
            roots = standard | set(to_expand) if item.include_descendants else set(to_expand)
            standard |= lookup.descendants(roots)
        if not standard:
            if starts[idx]:
                warnings.append(f"concept set '{name}': {item.label} maps to no standard concept; it adds nothing.")
        elif item.strength is not None:
            standard, found_warnings, found_problems = _within_strength(cdm, name, item, standard, lookup)
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


def _split(starts: list[tuple[int, str | None]], lookup: _Lookup) -> tuple[set[int], list[int]]:
    """(the standard concepts an item's starting concepts stand for, the classification concepts among
    them): a standard concept for itself, a source code for what it 'Maps to'."""
    standard: set[int] = set()
    to_expand: list[int] = []
    for cid, std in starts:
        if std == "S":
            standard.add(cid)
        elif std == "C":
            to_expand.append(cid)  # a classification (ATC) stands for its standard descendants
        else:
            standard |= lookup.maps_to([cid])
    return standard, to_expand


class _Lookup:
    """The vocabulary rows that resolving `items` needs, read in four queries whatever their number:
    the concepts of their codes and of their ids, 'Maps to' of the source concepts among them, and the
    standard descendants of every concept an item expands (a classification, or an item with
    include_descendants). What strength lines need is read when first asked, once."""

    def __init__(self, cdm, items: list[ConceptSetItem]):
        self._cdm, self._products, self._records = cdm, {}, {}
        self.has_ancestor = cdm.has_table("concept_ancestor") and _nonempty(cdm.table("concept_ancestor"))
        self._code_rows, self._id_rows = _concept_rows(cdm, items)
        starts, _ = self.starting_concepts(items)
        sources = sorted({c for found in starts.values() for c, std in found if std not in ("S", "C")})
        self._maps = _maps_to(cdm, sources)
        roots: set[int] = set()
        for idx, item in enumerate(items):
            standard, to_expand = _split(starts[idx], self)
            roots |= set(to_expand) | (standard if item.include_descendants else set())
        self._descendants = _descendants(cdm, sorted(roots)) if self.has_ancestor else {}

    def starting_concepts(self, items) -> tuple[dict[int, list[tuple[int, str | None]]], list[str]]:
        """Every item's concept rows [(concept_id, standard_concept)] by item index, and the problems."""
        out: dict[int, list[tuple[int, str | None]]] = {i: [] for i in range(len(items))}
        problems = []
        for i, it in enumerate(items):
            if it.code is not None:
                code = str(it.code).strip()
                for v in VOCABULARY_ALIASES.get(it.vocabulary.upper(), (it.vocabulary,)):
                    hits = self._code_rows.get((v, code))  # the first vocabulary of the alias list that knows it
                    if hits:
                        out[i] = hits
                        break
                else:
                    problems.append(f"{it.vocabulary} code {code}")
            elif it.concept_id in self._id_rows:
                out[i] = [(it.concept_id, self._id_rows[it.concept_id])]
            else:
                problems.append(f"concept id {it.concept_id}")
        if problems:
            problems = [(f"it names codes that the CDM's vocabulary does not have: {', '.join(problems)}. Check the "
                         "spelling and the vocabulary name, or load a vocabulary (from ATHENA) that contains them")]
        return out, problems

    def maps_to(self, concept_ids) -> set[int]:
        return set().union(*[self._maps.get(c, set()) for c in concept_ids])

    # Asked once per run, not once per strength line: the low- and high-dose lines of one drug name
    # the same products.

    @cached_property
    def has_strength(self) -> bool:
        return self._cdm.has_table("drug_strength") and _nonempty(self._cdm.table("drug_strength"))

    def product_rows(self, ids: set[int]) -> list[dict]:
        key = frozenset(ids)
        if key not in self._products:
            concept = self._cdm.table("concept")
            self._products[key] = (
                concept.filter(concept.concept_id.isin(sorted(ids)))
                .select(cid=concept.concept_id.cast("int64"), cname=concept.concept_name, domain=concept.domain_id,
                        cls=concept.concept_class_id).to_pyarrow().to_pylist())
        return self._products[key]

    def records_per_drug(self, concept_ids: list[int]) -> dict[int, int]:
        key = tuple(concept_ids)
        if key not in self._records:
            self._records[key] = _records_per_drug(self._cdm, concept_ids)
        return self._records[key]

    def descendants(self, concept_ids) -> set[int]:
        return set().union(*[self._descendants.get(c, set()) for c in concept_ids])


def _concept_rows(cdm, items) -> tuple[dict[tuple[str, str], list[tuple[int, str | None]]], dict[int, str | None]]:
    """The CONCEPT rows the items name: {(vocabulary_id, code): [(concept_id, standard_concept)]} and
    {concept_id: standard_concept}, in one query for codes and one for ids."""
    concept = cdm.table("concept")
    by_code: dict[tuple[str, str], list[tuple[int, str | None]]] = {}
    codes = sorted({str(it.code).strip() for it in items if it.code is not None})
    if codes:
        vocabs = sorted({v for it in items if it.code is not None
                         for v in VOCABULARY_ALIASES.get(it.vocabulary.upper(), (it.vocabulary,))})
        rows = (concept.filter(concept.concept_code.isin(codes), concept.vocabulary_id.isin(vocabs))
                .select("concept_id", "concept_code", "vocabulary_id", "standard_concept")
                .order_by("concept_id").to_pyarrow().to_pylist())
        for r in rows:
            by_code.setdefault((r["vocabulary_id"], r["concept_code"]), []).append(
                (r["concept_id"], r["standard_concept"]))
    by_id: dict[int, str | None] = {}
    ids = sorted({it.concept_id for it in items if it.code is None})
    if ids:
        rows = (concept.filter(concept.concept_id.isin(ids))
                .select("concept_id", "standard_concept").to_pyarrow().to_pylist())
        by_id = {r["concept_id"]: r["standard_concept"] for r in rows}
    return by_code, by_id


def _within_strength(cdm, name: str, item: ConceptSetItem, ids: set[int], lookup: _Lookup
                     ) -> tuple[set[int], list[str], list[str]]:
    """(the products of `ids` whose strength lies within item.strength, warnings, problems).

    Strength in mg, computed in the database from DRUG_STRENGTH: amount_value for fixed-amount
    products, else numerator_value per one unit of the denominator (numerator / denominator_value
    when quantified). A product is kept when every DRUG_STRENGTH row of it for the line's
    ingredient(s) is a mass within the bounds."""
    what = item.label
    if not lookup.has_strength:
        return set(), [], [(f"{what} filters on strength, but the CDM's DRUG_STRENGTH table is missing or empty: "
                            "load DRUG_STRENGTH with the vocabulary (from ATHENA), or remove the strength filter")]
    rows = lookup.product_rows(ids)
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
    records = lookup.records_per_drug(without + not_mass)
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


def _maps_to(cdm, concept_ids: list[int]) -> dict[int, set[int]]:
    """{source concept: the standard concepts it 'Maps to'}."""
    if not concept_ids or not cdm.has_table("concept_relationship"):
        return {}
    rel = cdm.table("concept_relationship")
    concept = cdm.table("concept")
    q = (rel.filter(rel.concept_id_1.isin(concept_ids), rel.relationship_id == "Maps to",
                    rel.invalid_reason.isnull())
         .join(concept, rel.concept_id_2 == concept.concept_id)
         .filter(concept.standard_concept == "S")
         .select(source=rel.concept_id_1, target=concept.concept_id).distinct())
    return _pairs(q, "source", "target")


def _descendants(cdm, concept_ids: list[int]) -> dict[int, set[int]]:
    """{concept: its standard descendants (itself too, if standard, as CONCEPT_ANCESTOR has it)}."""
    if not concept_ids:
        return {}
    ca = cdm.table("concept_ancestor")
    concept = cdm.table("concept")
    q = (ca.filter(ca.ancestor_concept_id.isin(concept_ids))
         .join(concept, ca.descendant_concept_id == concept.concept_id)
         .filter(concept.standard_concept == "S")
         .select(ancestor=ca.ancestor_concept_id, descendant=concept.concept_id).distinct())
    return _pairs(q, "ancestor", "descendant")


def _pairs(q, key: str, value: str) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    t = q.to_pyarrow()
    for k, v in zip(t.column(key).to_pylist(), t.column(value).to_pylist()):
        out.setdefault(int(k), set()).add(int(v))
    return out


def _nonempty(table) -> bool:
    return table.limit(1).count().to_pyarrow().as_py() > 0


def concept_names(cdm, concept_ids) -> dict[int, str]:
    concept = cdm.table("concept")
    rows = (concept.filter(concept.concept_id.isin(list(concept_ids)))
            .select("concept_id", "concept_name").to_pyarrow().to_pylist())
    return {r["concept_id"]: r["concept_name"] for r in rows}

