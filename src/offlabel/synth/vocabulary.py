"""The world's vocabulary subset, built from the code lists in `data/`.

Real codes everywhere (SNOMED, ICD-10, ATC, RxNorm, LOINC, UCUM). Concept ids are real OMOP
ids where they are known with confidence (the data files' `concept_id` column, and the
infrastructure concepts in `_FIXED`); every other concept gets an id in OMOP's local range
(>= 2,000,000,000), allocated in file order so ids never change between builds.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

LOCAL_ID_START = 2_000_000_001

# Real OMOP concepts of the infrastructure: (id, name, domain, vocabulary, class, code).
_FIXED = [
    (8507, "MALE", "Gender", "Gender", "Gender", "M"),
    (8532, "FEMALE", "Gender", "Gender", "Gender", "F"),
    (9201, "Inpatient Visit", "Visit", "Visit", "Visit", "IP"),
    (9202, "Outpatient Visit", "Visit", "Visit", "Visit", "OP"),
    (9203, "Emergency Room Visit", "Visit", "Visit", "Visit", "ER"),
    (32817, "EHR", "Type Concept", "Type Concept", "Type Concept", "OMOP4976890"),
    (32869, "Pharmacy claim", "Type Concept", "Type Concept", "Type Concept", "OMOP4976942"),
    (32879, "Registry", "Type Concept", "Type Concept", "Type Concept", "OMOP4976952"),
    (8576, "milligram", "Unit", "UCUM", "Unit", "mg"),
    (8718, "international unit", "Unit", "UCUM", "Unit", "[iU]"),
    (8645, "unit per liter", "Unit", "UCUM", "Unit", "[U]/L"),
    (8749, "micromole per liter", "Unit", "UCUM", "Unit", "umol/L"),
    (8713, "gram per deciliter", "Unit", "UCUM", "Unit", "g/dL"),
    (9444, "billion per liter", "Unit", "UCUM", "Unit", "10*9/L"),
    (4132161, "Oral", "Route", "SNOMED", "Qualifier Value", "26643006"),
    (4142048, "Subcutaneous", "Route", "SNOMED", "Qualifier Value", "34206005"),
    (4171047, "Intravenous", "Route", "SNOMED", "Qualifier Value", "47625008"),
]
GENDER = {"M": 8507, "F": 8532}
VISIT = {"inpatient": 9201, "outpatient": 9202, "emergency": 9203}
TYPE_EHR, TYPE_PHARMACY_CLAIM, TYPE_REGISTRY = 32817, 32869, 32879
ROUTE = {"oral": 4132161, "subcutaneous": 4142048, "intravenous": 4171047}
UNIT = {code: cid for cid, _, dom, _, _, code in _FIXED if dom == "Unit"}

_VOCABULARIES = {
    "None": "OMOP Standardized Vocabularies", "Domain": "OMOP Domain", "Vocabulary": "OMOP Vocabulary",
    "Concept Class": "OMOP Concept Class", "Relationship": "OMOP Relationship", "CDM": "OMOP Common DataModel",
    "Gender": "OMOP Gender", "Visit": "OMOP Visit", "Type Concept": "OMOP Type Concept",
    "UCUM": "Unified Code for Units of Measure", "SNOMED": "Systematized Nomenclature of Medicine, Clinical Terms",
    "ICD10": "International Classification of Diseases, Tenth Revision (WHO)",
    "RxNorm": "RxNorm (NLM)", "RxNorm Extension": "OMOP RxNorm Extension",
    "ATC": "WHO Anatomic Therapeutic Chemical Classification", "LOINC": "Logical Observation Identifiers Names and Codes",
}
_RELATIONSHIPS = [  # id, name, hierarchical, defines ancestry, reverse
    ("Maps to", "Non-standard to Standard map (OMOP)", "0", "0", "Mapped from"),
    ("Mapped from", "Standard to Non-standard map (OMOP)", "0", "0", "Maps to"),
    ("Is a", "Is a", "1", "1", "Subsumes"),
    ("Subsumes", "Subsumes", "1", "1", "Is a"),
    ("RxNorm has ing", "Has ingredient (RxNorm)", "0", "1", "RxNorm ing of"),
    ("RxNorm ing of", "Ingredient of (RxNorm)", "0", "1", "RxNorm has ing"),
    ("ATC - RxNorm", "ATC to RxNorm", "1", "1", "RxNorm - ATC"),
    ("RxNorm - ATC", "RxNorm to ATC", "1", "1", "ATC - RxNorm"),
]
_ATC_NAMES = {
    "N": "NERVOUS SYSTEM", "N02": "ANALGESICS", "N02A": "OPIOIDS", "N02B": "OTHER ANALGESICS AND ANTIPYRETICS",
    "N02BF": "GABAPENTINOIDS", "N03": "ANTIEPILEPTICS", "N03A": "ANTIEPILEPTICS", "N03AX": "Other antiepileptics",
    "N05": "PSYCHOLEPTICS", "N05C": "HYPNOTICS AND SEDATIVES", "N05CF": "Benzodiazepine related drugs",
    "N06": "PSYCHOANALEPTICS", "N06A": "ANTIDEPRESSANTS", "N06B": "PSYCHOSTIMULANTS, AGENTS USED FOR ADHD AND NOOTROPICS",
    "N07": "OTHER NERVOUS SYSTEM DRUGS", "N07B": "DRUGS USED IN ADDICTIVE DISORDERS", "N07BB": "Drugs used in alcohol dependence",
    "N07X": "OTHER NERVOUS SYSTEM DRUGS", "N07XX": "Other nervous system drugs",
    "M": "MUSCULO-SKELETAL SYSTEM", "M03": "MUSCLE RELAXANTS", "M03B": "MUSCLE RELAXANTS, CENTRALLY ACTING",
    "L": "ANTINEOPLASTIC AND IMMUNOMODULATING AGENTS", "L01": "ANTINEOPLASTIC AGENTS", "L03": "IMMUNOSTIMULANTS",
    "L03A": "IMMUNOSTIMULANTS", "L03AB": "Interferons", "L04": "IMMUNOSUPPRESSANTS", "L04A": "IMMUNOSUPPRESSANTS",
    "H": "SYSTEMIC HORMONAL PREPARATIONS, EXCL. SEX HORMONES AND INSULINS", "H02": "CORTICOSTEROIDS FOR SYSTEMIC USE",
    "C": "CARDIOVASCULAR SYSTEM", "C08": "CALCIUM CHANNEL BLOCKERS", "C10": "LIPID MODIFYING AGENTS",
    "A": "ALIMENTARY TRACT AND METABOLISM", "A10": "DRUGS USED IN DIABETES",
}
_ATC_CLASS = {1: "ATC 1st", 3: "ATC 2nd", 4: "ATC 3rd", 5: "ATC 4th", 7: "ATC 5th"}


def read_data(name: str) -> list[dict[str, str]]:
    with (resources.files("offlabel.synth") / "data" / name).open(newline="") as f:
        return list(csv.DictReader(f))


@dataclass
class Vocabulary:
    """Concept rows and lookups: condition, drug product, ATC and lab concept ids by key."""

    concepts: list[dict] = field(default_factory=list)
    relationships: list[tuple[int, int, str]] = field(default_factory=list)
    edges: list[tuple[int, int]] = field(default_factory=list)  # parent -> child (ancestry)
    condition: dict[str, int] = field(default_factory=dict)
    condition_source: dict[str, tuple[int, str]] = field(default_factory=dict)  # key -> (ICD-10 concept, code)
    ingredient: dict[str, int] = field(default_factory=dict)
    product: dict[str, int] = field(default_factory=dict)
    atc: dict[str, int] = field(default_factory=dict)
    lab: dict[str, int] = field(default_factory=dict)
    meta: dict[str, int] = field(default_factory=dict)
    drug_strength: list[dict] = field(default_factory=list)
    _next: int = LOCAL_ID_START
    _by_key: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, name, domain, vocabulary, concept_class, code, standard="S", concept_id=None) -> int:
        key = (vocabulary, code)
        if key in self._by_key:
            return self._by_key[key]
        if concept_id is None:
            concept_id, self._next = self._next, self._next + 1
        self._by_key[key] = concept_id
        self.concepts.append(dict(concept_id=concept_id, concept_name=name[:255], domain_id=domain,
                                  vocabulary_id=vocabulary, concept_class_id=concept_class,
                                  standard_concept=standard, concept_code=code))
        return concept_id

    def relate(self, a: int, b: int, rel: str, reverse: str) -> None:
        self.relationships += [(a, b, rel), (b, a, reverse)]


@cache
def build_vocabulary() -> Vocabulary:
    v = Vocabulary()
    v.add("No matching concept", "Metadata", "None", "Undefined", "No matching concept", None, 0)
    for cid, name, dom, vocab, cls, code in _FIXED:
        v.add(name, dom, vocab, cls, code, "S", cid)
    for vid, name in _VOCABULARIES.items():
        v.meta[f"vocabulary:{vid}"] = v.add(name, "Metadata", "Vocabulary", "Vocabulary", f"OMOP generated {vid}", None)
    v.meta["cdm_v5.4"] = v.add("OMOP CDM Version 5.4.0", "Metadata", "CDM", "CDM", "CDM v5.4.0", "S")
    for rid, name, *_ in _RELATIONSHIPS:
        v.meta[f"relationship:{rid}"] = v.add(name, "Metadata", "Relationship", "Relationship", rid, None)
    _conditions(v)
    _drugs(v)
    for r in read_data("labs.csv"):
        v.lab[r["key"]] = v.add(r["name"], "Measurement", "LOINC", "Lab Test", r["loinc"], "S", _int(r["concept_id"]))
    for domain in sorted({c["domain_id"] for c in v.concepts}):
        v.meta[f"domain:{domain}"] = v.add(domain, "Metadata", "Domain", "Domain", f"OMOP generated domain {domain}", None)
    for cls in sorted({c["concept_class_id"] for c in v.concepts}):
        v.meta[f"class:{cls}"] = v.add(cls, "Metadata", "Concept Class", "Concept Class", f"OMOP generated class {cls}", None)
    return v


def _int(text: str) -> int | None:
    return int(text) if text.strip() else None


def _conditions(v: Vocabulary) -> None:
    rows = read_data("conditions.csv")
    for r in rows:
        cls = "Clinical Finding" if r["kind"] in ("ae",) and r["key"] != "liver_injury" else "Disorder"
        cid = v.add(r["name"], "Condition", "SNOMED", cls, r["snomed_code"], "S", _int(r["concept_id"]))
        v.condition[r["key"]] = cid
        v.relate(cid, cid, "Maps to", "Mapped from")
        if r["icd10_code"]:
            cls10 = "ICD10 code" if "." in r["icd10_code"] else "ICD10 Hierarchy"
            sid = v.add(r["icd10_name"], "Condition", "ICD10", cls10, r["icd10_code"], None)
            v.condition_source[r["key"]] = (sid, r["icd10_code"])
            if r["kind"] != "relapse":  # G35 maps to multiple sclerosis, not to its exacerbation
                v.relate(sid, cid, "Maps to", "Mapped from")
    for r in rows:
        if r["parent"]:
            parent, child = v.condition[r["parent"]], v.condition[r["key"]]
            v.relate(child, parent, "Is a", "Subsumes")
            v.edges.append((parent, child))


def _drugs(v: Vocabulary) -> None:
    for r in read_data("drugs.csv"):
        ing_code = r["ingredient_code"] or f"OMOP{r['ingredient'].replace(' ', '_')}"
        ing = v.add(r["ingredient"], "Drug", r["ingredient_vocab"], "Ingredient", ing_code, "S", _int(r["ingredient_concept_id"]))
        v.ingredient[r["ingredient"]] = ing
        code = r["product_code"] or f"OL{r['key']}"
        prod = v.add(r["product_name"], "Drug", r["product_vocab"], "Clinical Drug", code, "S", _int(r["product_concept_id"]))
        v.product[r["key"]] = prod
        v.relate(prod, ing, "RxNorm has ing", "RxNorm ing of")
        v.relate(prod, prod, "Maps to", "Mapped from")
        v.edges.append((ing, prod))
        unit = UNIT[r["strength_unit"]]
        v.drug_strength.append(dict(drug_concept_id=prod, ingredient_concept_id=ing, amount_value=float(r["strength"]),
                                    amount_unit_concept_id=unit))
        for atc in (r["atc_old"], r["atc_new"]):
            if not atc:
                continue
            parent = None
            for n in (1, 3, 4, 5, 7):
                level = atc[:n]
                name = r["ingredient"] if n == 7 else _ATC_NAMES.get(level, level)
                cid = v.add(name, "Drug", "ATC", _ATC_CLASS[n], level, "C")
                v.atc[level] = cid
                if parent is not None and (parent, cid) not in v.edges:
                    v.edges.append((parent, cid))
                parent = cid
            if (parent, ing) not in v.edges:
                v.edges.append((parent, ing))
                v.relate(parent, ing, "Maps to", "Mapped from")
                v.relate(parent, ing, "ATC - RxNorm", "RxNorm - ATC")


def ancestor_rows(v: Vocabulary) -> list[tuple[int, int, int, int]]:
    """concept_ancestor: the transitive closure of the ancestry edges, with self rows for standard and
    classification concepts (min and max levels of separation as OMOP defines them)."""
    children: dict[int, list[int]] = {}
    for p, c in v.edges:
        children.setdefault(p, []).append(c)
    rows = []
    for c in v.concepts:
        if c["standard_concept"] in ("S", "C") and c["domain_id"] in ("Condition", "Drug", "Measurement"):
            start = c["concept_id"]
            levels: dict[int, list[int]] = {start: [0, 0]}
            frontier = [(start, 0)]
            while frontier:
                node, depth = frontier.pop()
                for ch in children.get(node, ()):
                    lo_hi = levels.setdefault(ch, [depth + 1, depth + 1])
                    lo_hi[0], lo_hi[1] = min(lo_hi[0], depth + 1), max(lo_hi[1], depth + 1)
                    frontier.append((ch, depth + 1))
            rows += [(start, d, lo, hi) for d, (lo, hi) in sorted(levels.items())]
    return rows


def vocabulary_tables(v: Vocabulary) -> dict[str, list[dict]]:
    """The vocabulary tables as lists of rows (columns not named are NULL)."""
    import datetime as dt
    start, end = dt.date(1970, 1, 1), dt.date(2099, 12, 31)
    concept = [dict(c, valid_start_date=start, valid_end_date=end) for c in sorted(v.concepts, key=lambda c: c["concept_id"])]
    rels = sorted(set(v.relationships))
    concept_relationship = [dict(concept_id_1=a, concept_id_2=b, relationship_id=r, valid_start_date=start,
                                 valid_end_date=end) for a, b, r in rels]
    concept_ancestor = [dict(ancestor_concept_id=a, descendant_concept_id=d, min_levels_of_separation=lo,
                             max_levels_of_separation=hi) for a, d, lo, hi in sorted(ancestor_rows(v))]
    vocabulary = [dict(vocabulary_id=k, vocabulary_name=n, vocabulary_reference="offlabel synthetic world subset",
                       vocabulary_version="offlabel-synth 1", vocabulary_concept_id=v.meta[f"vocabulary:{k}"])
                  for k, n in _VOCABULARIES.items()]
    domain = [dict(domain_id=k.split(":", 1)[1], domain_name=k.split(":", 1)[1], domain_concept_id=cid)
              for k, cid in v.meta.items() if k.startswith("domain:")]
    concept_class = [dict(concept_class_id=k.split(":", 1)[1], concept_class_name=k.split(":", 1)[1],
                          concept_class_concept_id=cid) for k, cid in v.meta.items() if k.startswith("class:")]
    relationship = [dict(relationship_id=rid, relationship_name=name, is_hierarchical=h, defines_ancestry=d,
                         reverse_relationship_id=rev, relationship_concept_id=v.meta[f"relationship:{rid}"])
                    for rid, name, h, d, rev in _RELATIONSHIPS]
    drug_strength = [dict(s, valid_start_date=start, valid_end_date=end) for s in v.drug_strength]
    return dict(concept=concept, concept_relationship=concept_relationship, concept_ancestor=concept_ancestor,
                vocabulary=vocabulary, domain=domain, concept_class=concept_class, relationship=relationship,
                drug_strength=drug_strength)
