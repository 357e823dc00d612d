"""truth.json: the planted effects (from the config) and what the simulation realised."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from offlabel.synth.config import WorldConfig
from offlabel.synth.drugs import load_products
from offlabel.synth.events import condition_rows
from offlabel.synth.ldn import LDN_PRODUCTS
from offlabel.synth.vocabulary import build_vocabulary, read_data

TRUTH_VERSION = 1


def truth_path(out: Path) -> Path:
    """Where truth.json goes: inside a Parquet folder, or next to a .duckdb file."""
    out = Path(out)
    return out.parent / "truth.json" if out.suffix.lower() in (".duckdb", ".db", ".ddb") else out / "truth.json"


def _nest(flat: Counter) -> dict:
    out: dict = {}
    for key in sorted(flat):
        parts = key.split(".")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = flat[key]
    return out


def concept_sets() -> dict:
    """Concept ids an analysis of this world needs (all also findable by code in the vocabulary)."""
    v = build_vocabulary()
    products = load_products()
    groups: dict[str, dict] = {}
    for i, r in enumerate(read_data("drugs.csv")):
        g = groups.setdefault(r["group"], {"products": [], "ingredients": [], "atc": []})
        g["products"].append(v.product[r["key"]])
        ing = v.ingredient[r["ingredient"]]
        if ing not in g["ingredients"]:
            g["ingredients"].append(ing)
        for a in {products.atc_old[i], products.atc_new[i]}:
            if a not in g["atc"]:
                g["atc"].append(a)
    conds = {r["key"]: {"concept_id": v.condition[r["key"]], "kind": r["kind"], "snomed": r["snomed_code"],
                        "icd10": r["icd10_code"] or None} for r in condition_rows()}
    return {"drug_groups": groups, "ldn_products": [v.product[k] for k in LDN_PRODUCTS],
            "naltrexone_ingredient": v.ingredient["naltrexone"], "conditions": conds,
            "negative_controls": [v.condition[r["key"]] for r in condition_rows() if r["kind"] == "nc"],
            "labs": dict(v.lab)}


def build_truth(persons: int, seed: int, cfg: WorldConfig, realised: Counter) -> dict:
    e = cfg.effects
    planted = {
        "dispensing": {
            "description": "Rate ratio of dispensings (and so of dispensed DDD) of each drug group in the "
                           f"{e.dispensing_window_days} days from the first LDN collection, by planned collection "
                           "stratum; groups not listed: 1.0. Applies to MS and non-MS starters.",
            "window_days": e.dispensing_window_days,
            "rate_ratio": {s: {g: e.dispensing.get(s, {}).get(g, 1.0) for g in cfg.drug_groups} for s in ("1", "2-3", "4+")},
        },
        "relapse_hazard_ratio": {"value": e.relapse_hr, "exposure": "first LDN collection to last collection + days_supply - 1"},
        "alt_ratio": {"value": e.alt_ratio, "exposure": "same LDN exposure era"},
        "adverse_events": {k: {"irr": w.irr, "window_days": [w.window_start, w.window_end],
                               "anchor": "first LDN collection (day 0)"} for k, w in e.adverse_events.items()},
        "positive_controls": {pc.outcome: {"hazard_ratio": pc.hazard_ratio, "exposure": "LDN exposure era",
                                           "method": "extra events at (HR - 1) x the person's baseline rate (MethodEvaluation)"}
                              for pc in e.positive_controls},
        "negative_controls": {"hazard_ratio": 1.0, "outcomes": [r["key"] for r in condition_rows() if r["kind"] == "nc"]},
        "confounding": {
            "ldn_start_log_hr_per_severity_point": cfg.ldn.severity_log_hr,
            "ldn_start_log_hr_per_log_relapse_frailty": cfg.ldn.relapse_frailty_log_hr,
            "ldn_start_log_hr_per_sd_pain": cfg.ldn.pain_log_hr,
            "note": "sicker and more pain-prone persons start LDN more often and also use more symptomatic drugs, "
                    "relapse more and have more recorded conditions: naive comparisons are biased.",
        },
        "secular_trends_log_per_year": {g: d.trend_per_year for g, d in cfg.drug_groups.items()},
    }
    return {"truth_version": TRUTH_VERSION, "persons": persons, "seed": seed, "planted": planted,
            "realised": _nest(realised), "concepts": concept_sets(), "config": cfg.model_dump(mode="json")}


def write_truth(truth: dict, out: Path) -> Path:
    path = truth_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(truth, indent=2, sort_keys=False, default=str) + "\n")
    return path
