"""The name-level pairs of a summarised_result: group, strata and additional.

Several names share one column joined by " &&& ", and their levels likewise:
`strata_name = "sex &&& age_group"`, `strata_level = "Female &&& <40"`. No stratification is
written `"overall"` / `"overall"` (omopgenerics uniteGroup/splitGroup, R/split.R and
validateNameLevel in R/classSummarisedResult.R).
"""

from __future__ import annotations

from collections.abc import Mapping

SEPARATOR = " &&& "
OVERALL = "overall"
PAIRS = ("group", "strata", "additional")


def unite(pairs: Mapping[str, object] | None) -> tuple[str, str]:
    """(name, level) of {name: level}; empty or None gives ("overall", "overall")."""
    if not pairs:
        return OVERALL, OVERALL
    names, levels = [], []
    for name, level in pairs.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"a group/strata/additional name must be a non-empty str, not {name!r}")
        names.append(name)
        levels.append(level if isinstance(level, str) else str(level))
    return SEPARATOR.join(names), SEPARATOR.join(levels)


def split(name: str, level: str) -> dict[str, str]:
    """{name: level} of a pair; "overall" gives {}. Raises ValueError if the counts differ."""
    names = name.split(SEPARATOR)
    levels = level.split(SEPARATOR)
    if len(names) != len(levels):
        raise ValueError(f"name {name!r} has {len(names)} part(s) but level {level!r} has {len(levels)}")
    return {n: lv for n, lv in zip(names, levels) if n != OVERALL}


def labels(names) -> str:
    """The settings label of a pair (omopgenerics addLabels): its names, minus "overall"."""
    seen: dict[str, None] = {}
    for name in dict.fromkeys(names):
        for part in name.split(SEPARATOR):
            if part != OVERALL:
                seen.setdefault(part)
    return SEPARATOR.join(seen)
