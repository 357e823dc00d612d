"""WHO Defined Daily Doses shipped with offlabel (src/offlabel/data/who_ddd.csv).

`who_ddd()` gives the table; `ddd_mg(atc_code, route)` one DDD in milligrams (or in
million units for interferon beta-1b). Codes that moved in an ATC revision keep their
old code as a "former" row with the same DDD, so either code finds it.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

from offlabel.errors import SpecError

__all__ = ["who_ddd", "ddd_mg", "ddd_for_ingredient", "UNIT_TO_MG"]

#: Factor from a DDD unit to milligrams; units that are not masses stay as they are (MU).
UNIT_TO_MG = {"g": 1000.0, "mg": 1.0, "mcg": 0.001}


@lru_cache(maxsize=1)
def _table() -> pd.DataFrame:
    path = resources.files("offlabel") / "data" / "who_ddd.csv"
    with path.open("r", encoding="utf-8") as f:
        table = pd.read_csv(f, dtype={"atc_code": str, "ingredient": str, "unit": str, "route": str,
                                      "code_status": str, "current_atc_code": str, "source": str,
                                      "year": "int64"})
    return table


def who_ddd() -> pd.DataFrame:
    """The WHO DDD table: atc_code, ingredient, ddd, unit, route, code_status, current_atc_code, source, year."""
    return _table().copy()


def _rows(column: str, value: str, route: str | None) -> pd.DataFrame:
    table = _table()
    rows = table[table[column].str.lower() == value.strip().lower()]
    if rows.empty:
        known = ", ".join(sorted(table[column].unique()))
        raise SpecError(f"No WHO DDD is shipped for {column.replace('_', ' ')} {value!r}. Known: {known}. "
                        "Add a row with its source to src/offlabel/data/who_ddd.csv, or leave out DDDs.")
    if route is not None:
        routed = rows[rows.route == route.upper()]
        if routed.empty:
            raise SpecError(f"{value!r} has a WHO DDD only for route(s) {sorted(rows.route.unique())}, "
                            f"not {route!r} (O oral, P parenteral).")
        rows = routed
    return rows


def ddd_mg(atc_code: str, route: str | None = None) -> tuple[float, str]:
    """(DDD, unit) of an ATC code, in mg when the DDD is a mass (else in its own unit, e.g. MU).

    route: "O" or "P"; needed only where the code has DDDs for several routes
    (methylprednisolone).
    """
    rows = _rows("atc_code", atc_code, route)
    if len(rows) > 1:
        raise SpecError(f"ATC {atc_code} has DDDs for several routes {sorted(rows.route)}: give route='O' or 'P'.")
    row = rows.iloc[0]
    factor = UNIT_TO_MG.get(row.unit)
    return (float(row.ddd) * factor, "mg") if factor else (float(row.ddd), str(row.unit))


def ddd_for_ingredient(ingredient: str) -> dict[str, tuple[float, str]]:
    """{route: (DDD, unit)} of an ingredient by name (e.g. "naltrexone"), mass DDDs in mg."""
    rows = _rows("ingredient", ingredient, None)
    return {route: ddd_mg(group.atc_code.iloc[0], route) for route, group in rows.groupby("route")}
