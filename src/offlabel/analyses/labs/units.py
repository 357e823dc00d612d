"""Unit harmonisation of lab values: UCUM codes, and the conversions offlabel knows to be valid.

A measurement's unit is its unit_concept_id's concept_code (UCUM codes in the OMOP vocabulary,
e.g. 8749 = umol/L). Conversions come from src/offlabel/data/lab_units.csv, one row per
conversion with its source: those without an analyte hold for every analyte (UCUM prefixes,
10*9/L = 10*3/uL, ukat/L = 60 U/L); those with one need its molar mass or hold for it alone
(creatinine mg/dL -> umol/L x 88.4). A value converts from one unit to another along the
shortest chain of rows (each usable both ways, the inverse dividing), e.g. mg/L -> mg/dL ->
umol/L for creatinine. Anything without a chain is not converted: the analysis reports it and
leaves it out, so units are never mixed silently (OHDSI DataQualityDashboard flags such records
as implausible units; DARWIN's MeasurementDiagnostics summarises values per unit).
"""

from __future__ import annotations

import csv
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

MISSING = "missing"
"""The unit name of records without a unit (unit_concept_id null or 0)."""


@dataclass(frozen=True)
class Conversion:
    from_unit: str
    to_unit: str
    factor: float
    analyte: str | None
    source: str


@lru_cache(maxsize=1)
def conversions() -> tuple[Conversion, ...]:
    """The rows of lab_units.csv."""
    path = resources.files("offlabel") / "data" / "lab_units.csv"
    with path.open(newline="", encoding="utf-8") as f:
        return tuple(Conversion(r["from_unit"], r["to_unit"], float(r["factor"]), r["analyte"] or None, r["source"])
                     for r in csv.DictReader(f))


def analytes() -> list[str]:
    """The analytes with conversions of their own."""
    return sorted({c.analyte for c in conversions() if c.analyte})


def conversion_factor(source: str, target: str, analyte: str | None = None) -> float | None:
    """The factor that turns a value in `source` into one in `target` (UCUM codes), or None when
    lab_units.csv has no chain of conversions between them (valid for `analyte`)."""
    found = _chain(source, target, analyte)
    return None if found is None else found[0]


def conversion_path(source: str, target: str, analyte: str | None = None) -> list[str] | None:
    """The units the conversion passes through, source first (None if there is none)."""
    found = _chain(source, target, analyte)
    return None if found is None else found[1]


@lru_cache(maxsize=256)
def _chain(source: str, target: str, analyte: str | None):
    if source == target:
        return 1.0, [source]
    edges: dict[str, list[tuple[str, float, bool]]] = {}
    for c in conversions():
        if c.analyte is None or c.analyte == analyte:
            edges.setdefault(c.from_unit, []).append((c.to_unit, c.factor, False))
            edges.setdefault(c.to_unit, []).append((c.from_unit, c.factor, True))
    # Breadth-first: the shortest chain; neighbours in sorted order so the chain (and the rounding
    # of its product) is the same on every run.
    previous: dict[str, tuple[str, float, bool] | None] = {source: None}
    queue = deque([source])
    while queue:
        unit = queue.popleft()
        for nxt, factor, inverse in sorted(edges.get(unit, [])):
            if nxt not in previous:
                previous[nxt] = (unit, factor, inverse)
                queue.append(nxt)
    if target not in previous:
        return None
    steps, unit = [], target
    while previous[unit] is not None:
        steps.append(previous[unit])
        unit = previous[unit][0]
    total = 1.0
    for _, factor, inverse in reversed(steps):  # source to target
        total = total / factor if inverse else total * factor
    return total, [source] + [u for u, _, _ in reversed(steps)][1:] + [target]


def unit_codes(cdm, unit_concept_ids) -> dict[int, str]:
    """{unit_concept_id: UCUM code} from the CDM's concept table; ids it lacks map to "concept <id>"."""
    ids = sorted({int(i) for i in unit_concept_ids if i is not None and int(i) != 0})
    if not ids:
        return {}
    concept = cdm.table("concept")
    found = concept.filter(concept.concept_id.isin(ids)).select(
        concept_id=concept.concept_id.cast("int64"), code=concept.concept_code.cast("string"))
    codes = {int(r["concept_id"]): str(r["code"]) for r in found.to_pyarrow().to_pylist()}
    return {i: codes.get(i, f"concept {i}") for i in ids}


__all__ = ["MISSING", "Conversion", "analytes", "conversion_factor", "conversion_path", "conversions", "unit_codes"]
