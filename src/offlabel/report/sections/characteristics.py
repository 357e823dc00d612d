"""Table 1: one column per stratum, then the standardised mean difference of each stratum against
the reference; a dot plot of the SMDs (|SMD| < 0.1 is the usual mark of balance)."""

from __future__ import annotations

from collections import defaultdict

from offlabel.report import figures
from offlabel.report.sections.base import Section
from offlabel.results import SummarisedResult
from offlabel.results.estimate_values import SUPPRESSED

_UNITS = {"Age": "years", "Prior observation": "days"}


def _table_one(part: SummarisedResult, fmt) -> dict:
    values: dict[tuple, dict] = defaultdict(dict)
    strata, variables = [], []
    for r in part.rows:
        values[(r.group_level, r.strata_level, r.variable_name, r.variable_level)][r.estimate_name] = r.estimate_value
        strata += [r.strata_level] if r.strata_level not in strata else []
        key = (r.variable_name, r.variable_level)
        variables += [key] if key not in variables else []
    settings = part.settings_for(part.result_ids[0]) if part.result_ids else {}
    reference = settings.get("reference_stratum")
    tables, figs = [], []
    for cohort in dict.fromkeys(r.group_level for r in part.rows):
        compared = [s for s in strata if any(
            "smd" in values.get((cohort, s, v, lev), {}) for v, lev in variables)]
        reference = reference or next((s for s in strata if s not in compared and s != "overall"), None)
        header = [""] + [f"{s} (n = {fmt(values.get((cohort, s, 'Number subjects', None), {}).get('count'))})"
                         for s in strata] + [f"SMD {s} vs {reference}" for s in compared]
        rows, dots = [], []
        for variable, level in variables:
            if variable == "Number subjects":
                continue
            cell = [values.get((cohort, s, variable, level), {}) for s in strata]
            smd = [values.get((cohort, s, variable, level), {}).get("smd") for s in compared]
            if variable in _UNITS:
                label = f"{variable} ({_UNITS[variable]})"
                rows.append([f"{label}, mean (sd)"] + [f"{fmt(c.get('mean'))} ({fmt(c.get('sd'))})" for c in cell]
                            + [_smd(d, fmt) for d in smd])
                rows.append([f"{label}, median [IQR]"] +
                            [f"{fmt(c.get('median'))} [{fmt(c.get('q25'))} to {fmt(c.get('q75'))}]" for c in cell]
                            + [""] * len(compared))
            else:
                label = f"{variable}: {level}"
                rows.append([label] + [_count(c, fmt) for c in cell] + [_smd(d, fmt) for d in smd])
            for s, d in zip(compared, smd):
                dots.append((label, s, d if isinstance(d, float) else None))
        by = next((r.strata_name for r in part.rows if r.strata_name != "overall"), None)
        caption = f"Table 1 of {cohort}: persons at index" + (f", by {by.replace('_', ' ')}" if by else "")
        if compared:
            caption += f"; standardised mean differences (SMD) against the '{reference}' stratum"
        tables.append({"caption": caption, "header": header, "rows": rows})
        if dots:
            figs.append({"caption": f"Standardised mean differences against the '{reference}' stratum; dashed: "
                                    "|SMD| = 0.1 (suppressed or undefined SMDs are not shown)",
                         "svg": figures.smd_plot(dots, "standardised mean difference", f"Balance of {cohort}")})
    return {"tables": tables, "figures": figs}


def _count(c: dict, fmt) -> str:
    count, pct = c.get("count"), c.get("percentage")
    if count is SUPPRESSED or pct is SUPPRESSED:
        return fmt(SUPPRESSED)
    return f"{fmt(count)} ({fmt(pct)}%)" if isinstance(pct, float) else fmt(count)


def _smd(value, fmt) -> str:
    return f"{value:.3f}" if isinstance(value, float) else fmt(value)


SECTIONS = {"summarise_characteristics": Section("Table 1: characteristics at index", _table_one)}
