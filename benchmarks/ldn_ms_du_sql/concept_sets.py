"""The 29 concept sets of studies/ldn_ms.yaml, resolved by hand in SQL into the temp table
concept_sets(codelist VARCHAR, concept_id BIGINT).

Reproduces offlabel.cdm.vocabulary.resolve_concept_sets (the OMOP/ATLAS conventions):
- an item's code is looked up in CONCEPT under its vocabulary (ICD10 means ICD10, else ICD10CM);
- a standard concept ('S') stands for itself, a classification ('C', e.g. ATC) for its standard
  descendants in CONCEPT_ANCESTOR, any other (a source code such as ICD10 G35) follows 'Maps to' to
  standard concepts;
- include_descendants adds the standard descendants of the item's standard concepts;
- a strength filter ({max: 5, unit: mg}) keeps the drug products whose every DRUG_STRENGTH row for
  the item's ingredient(s) is a mass (mcg/mg/g) within the bounds (amount_value, else numerator per
  one unit of the denominator), with a relative slack of 1e-9;
- exclude items are resolved the same way and removed from the set.
The study items are read from the YAML (the `concept_sets:` block) and passed to DuckDB as a table.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

STUDY = Path(__file__).resolve().parents[2] / "studies" / "ldn_ms.yaml"

# The vocabulary names users write -> OMOP vocabulary_id values, tried in order (as offlabel does).
VOCABULARIES = {"ATC": ["ATC"], "ICD10": ["ICD10", "ICD10CM"], "SNOMED": ["SNOMED"], "LOINC": ["LOINC"],
                "RXNORM": ["RxNorm", "RxNorm Extension"]}
TO_MG = {"mg": 1.0, "mcg": 0.001, "g": 1000.0}

# Each item's starting concepts: its code in the first vocabulary (of its aliases) that has it.
STARTS = """
CREATE OR REPLACE TEMP TABLE cs_starts AS
SELECT i.codelist, i.item, c.concept_id, c.standard_concept
FROM cs_items i
JOIN cs_vocabularies v ON v.vocabulary = i.vocabulary
JOIN cdm.concept c ON c.vocabulary_id = v.vocabulary_id AND c.concept_code = i.code
QUALIFY v.priority = min(v.priority) OVER (PARTITION BY i.codelist, i.item)
"""

# Each item's standard concepts: itself, 'Maps to', and descendants (of a classification always, of
# the item's standard concepts with include_descendants).
ITEM_CONCEPTS = """
CREATE OR REPLACE TEMP TABLE cs_item_concepts AS
WITH standard AS (
    SELECT codelist, item, concept_id FROM cs_starts WHERE standard_concept = 'S'
    UNION
    SELECT s.codelist, s.item, c.concept_id
    FROM cs_starts s
    JOIN cdm.concept_relationship r ON r.concept_id_1 = s.concept_id AND r.relationship_id = 'Maps to'
                                   AND r.invalid_reason IS NULL
    JOIN cdm.concept c ON c.concept_id = r.concept_id_2 AND c.standard_concept = 'S'
    WHERE s.standard_concept IS DISTINCT FROM 'S' AND s.standard_concept IS DISTINCT FROM 'C'
),
roots AS (
    SELECT codelist, item, concept_id FROM cs_starts WHERE standard_concept = 'C'
    UNION
    SELECT s.codelist, s.item, s.concept_id
    FROM standard s JOIN cs_items i USING (codelist, item)
    WHERE i.include_descendants
)
SELECT codelist, item, concept_id FROM standard
UNION
SELECT r.codelist, r.item, c.concept_id
FROM roots r
JOIN cdm.concept_ancestor a ON a.ancestor_concept_id = r.concept_id
JOIN cdm.concept c ON c.concept_id = a.descendant_concept_id AND c.standard_concept = 'S'
"""

# Items with a strength filter keep only the products whose every DRUG_STRENGTH row (for the
# item's ingredients, when it has any) is a mass within the bounds.
STRENGTH = """
CREATE OR REPLACE TEMP TABLE cs_kept AS
WITH ingredients AS (
    SELECT ic.codelist, ic.item, ic.concept_id
    FROM cs_item_concepts ic JOIN cdm.concept c USING (concept_id)
    WHERE c.concept_class_id = 'Ingredient'
),
rows AS (
    SELECT ic.codelist, ic.item, ic.concept_id, i.min_mg, i.max_mg,
           CASE WHEN ds.amount_value IS NOT NULL
                THEN ds.amount_value * CASE ds.amount_unit_concept_id WHEN 8576 THEN 1.0 WHEN 9655 THEN 0.001
                                                                      WHEN 8504 THEN 1000.0 END
                ELSE ds.numerator_value * CASE ds.numerator_unit_concept_id WHEN 8576 THEN 1.0
                                              WHEN 9655 THEN 0.001 WHEN 8504 THEN 1000.0 END
                     / CASE WHEN ds.denominator_value > 0 THEN ds.denominator_value ELSE 1.0 END
           END AS mg
    FROM cs_item_concepts ic
    JOIN cs_items i USING (codelist, item)
    JOIN cdm.drug_strength ds ON ds.drug_concept_id = ic.concept_id AND ds.invalid_reason IS NULL
    WHERE i.has_strength
      AND (NOT EXISTS (SELECT 1 FROM ingredients g WHERE g.codelist = ic.codelist AND g.item = ic.item)
           OR ds.ingredient_concept_id IN (SELECT g.concept_id FROM ingredients g
                                           WHERE g.codelist = ic.codelist AND g.item = ic.item))
)
SELECT codelist, item, concept_id
FROM rows
GROUP BY ALL
HAVING bool_and(mg IS NOT NULL AND (min_mg IS NULL OR mg >= min_mg * (1 - 1e-9))
                               AND (max_mg IS NULL OR mg <= max_mg * (1 + 1e-9)))
"""

# The set: the included items' concepts minus the excluded items' concepts.
CONCEPT_SETS = """
CREATE OR REPLACE TEMP TABLE concept_sets AS
WITH per_item AS (
    SELECT ic.codelist, ic.item, ic.concept_id
    FROM cs_item_concepts ic JOIN cs_items i USING (codelist, item) WHERE NOT i.has_strength
    UNION ALL
    SELECT codelist, item, concept_id FROM cs_kept
)
SELECT DISTINCT p.codelist::VARCHAR AS codelist, p.concept_id::BIGINT AS concept_id
FROM per_item p JOIN cs_items i USING (codelist, item)
WHERE NOT i.exclude
  AND NOT EXISTS (SELECT 1 FROM per_item x JOIN cs_items xi USING (codelist, item)
                  WHERE xi.exclude AND x.codelist = p.codelist AND x.concept_id = p.concept_id)
ORDER BY 1, 2
"""


def study_items(path: Path = STUDY) -> pd.DataFrame:
    """One row per item of the study's concept sets."""
    with open(path) as f:
        sets = yaml.safe_load(f)["concept_sets"]
    rows = []
    for codelist, items in sets.items():
        for n, it in enumerate(items, start=1):
            s = it.get("strength") or {}
            f = TO_MG[s.get("unit", "mg")]
            rows.append({
                "codelist": codelist, "item": n, "vocabulary": it["vocabulary"].upper(),
                "code": str(it["code"]).strip(), "include_descendants": bool(it.get("include_descendants", False)),
                "exclude": bool(it.get("exclude", False)), "has_strength": bool(s),
                "min_mg": None if s.get("min") is None else float(s["min"]) * f,
                "max_mg": None if s.get("max") is None else float(s["max"]) * f,
            })
    return pd.DataFrame(rows).astype({"min_mg": "float64", "max_mg": "float64"})


def run(con) -> dict[str, pd.DataFrame]:
    items = study_items()  # noqa: F841 (read by DuckDB)
    vocabularies = pd.DataFrame(  # noqa: F841
        [(k, v, p) for k, vs in VOCABULARIES.items() for p, v in enumerate(vs)],
        columns=["vocabulary", "vocabulary_id", "priority"])
    con.execute("CREATE OR REPLACE TEMP TABLE cs_items AS SELECT * FROM items")
    con.execute("CREATE OR REPLACE TEMP TABLE cs_vocabularies AS SELECT * FROM vocabularies")
    for sql in (STARTS, ITEM_CONCEPTS, STRENGTH, CONCEPT_SETS):
        con.execute(sql)
    missing = con.execute("SELECT codelist, item FROM cs_items ANTI JOIN cs_starts USING (codelist, item)").fetchall()
    if missing:
        raise ValueError(f"codes not in the vocabulary: {missing}")
    return {"concept_sets": con.execute("SELECT * FROM concept_sets").df(), "cdm": cdm_path(con)}


def cdm_path(con) -> pd.DataFrame:
    """The attached CDM's file, so that check() can resolve offlabel's sets on the same CDM."""
    return con.execute("SELECT path FROM duckdb_databases() WHERE database_name = 'cdm'").df()


def check(out, results) -> list[str]:
    """Every set equal to offlabel's resolution (results.csv does not report the sets themselves)."""
    import offlabel
    from offlabel.cdm.vocabulary import resolve_concept_sets
    from offlabel.spec import load_study

    with offlabel.connect(out["cdm"].path.iloc[0]) as cdm:
        theirs = {n: set(cs.concept_ids) for n, cs in resolve_concept_sets(cdm, load_study(STUDY).concept_sets).items()}
    mine = {n: set(g.concept_id.astype(int)) for n, g in out["concept_sets"].groupby("codelist")}
    problems = []
    for name in sorted(set(theirs) | set(mine)):
        a, b = mine.get(name, set()), theirs.get(name, set())
        if a != b:
            problems.append(f"{name}: {len(a)} concepts vs offlabel's {len(b)}; only mine {sorted(a - b)[:5]}, "
                            f"only offlabel's {sorted(b - a)[:5]}")
    if len(theirs) != 29:
        problems.append(f"offlabel resolves {len(theirs)} sets, expected 29")
    return problems
