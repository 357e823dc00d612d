"""The lab safety chart review section: per lab a table by interval for both cohorts and a
trajectory plot (median with IQR by interval), then the units and reference ranges used."""

from __future__ import annotations

from collections import defaultdict

from offlabel.report import figures
from offlabel.report.sections import findings
from offlabel.report.sections.base import Section
from offlabel.results import SummarisedResult
from offlabel.results.estimate_values import SUPPRESSED

SEPARATOR = " &&& "


def _lab_safety(part: SummarisedResult, fmt) -> dict:
    values: dict[tuple, dict] = defaultdict(dict)
    labs, cohorts, intervals = [], [], []
    for r in part.rows:
        cohort, lab = r.group_level.split(SEPARATOR)
        values[(cohort, lab, r.strata_level, r.variable_name, r.variable_level)][r.estimate_name] = r.estimate_value
        labs += [lab] if lab not in labs else []
        cohorts += [cohort] if cohort not in cohorts else []
        if r.strata_level != "overall" and r.strata_level not in intervals:
            intervals.append(r.strata_level)
    settings = part.settings_for(part.result_ids[0]) if part.result_ids else {}
    units = dict(u.split(": ", 1) for u in settings.get("units", "").split("; ") if ": " in u)

    def get(cohort, lab, interval, variable, level, estimate):
        return values.get((cohort, lab, interval, variable, level), {}).get(estimate)

    def with_ci(est, lo, hi):
        if est is None or est is SUPPRESSED:
            return fmt(est)
        return f"{fmt(est)} ({fmt(lo)} to {fmt(hi)})"

    def share(cohort, lab, interval, variable, level):
        v = values.get((cohort, lab, interval, variable, level), {})
        if not v:
            return ""
        if v.get("count") is SUPPRESSED:
            return fmt(SUPPRESSED)
        if v.get("percentage") is None:
            return fmt(None)
        return f"{fmt(v.get('percentage'))}% ({fmt(v.get('count'))})"

    tables, figs = [], []
    for lab in labs:
        unit = units.get(lab, "")
        limits = [key[3:] for key in values if key[1] == lab and key[3] in ("above limit", "below limit")]
        limits = list(dict.fromkeys(limits))
        header, groups = ["interval"], [("", 1)]
        for c in cohorts:  # one group of columns per cohort, side by side
            columns = ["persons", "median (IQR)", "mean change (95% CI)", "ratio to baseline (95% CI)"]
            columns += [f"{'>' if v == 'above limit' else '<'} {level}" for v, level in limits]
            header += columns
            groups.append((c, len(columns)))
        rows = []
        for interval in intervals:
            row = [interval]
            for c in cohorts:
                median = get(c, lab, interval, "value", unit, "median")
                iqr = (get(c, lab, interval, "value", unit, "q25"), get(c, lab, interval, "value", unit, "q75"))
                row.append(fmt(get(c, lab, interval, "number subjects", None, "count")))
                row.append(fmt(median) if median is None or median is SUPPRESSED
                           else f"{fmt(median)} ({fmt(iqr[0])}-{fmt(iqr[1])})")
                row.append("" if interval == "baseline" else with_ci(
                    *(get(c, lab, interval, "change from baseline", unit, k)
                      for k in ("mean", "mean_95CI_lower", "mean_95CI_upper"))))
                row.append("" if interval == "baseline" else with_ci(
                    *(get(c, lab, interval, "ratio to baseline", None, k)
                      for k in ("ratio", "ratio_95CI_lower", "ratio_95CI_upper"))))
                row += [share(c, lab, interval, v, level) for v, level in limits]
            rows.append(row)
        tables.append({"caption": f"{lab} ({unit}): persons with a value in each interval, their median (IQR), the "
                                  "mean change and the ratio of geometric means from baseline in persons with both "
                                  "values (95% CI, paired), and persons with any value beyond a limit (% of persons "
                                  "with a value that had the limit)", "header": header, "header_groups": groups,
                       "rows": rows})

        def number(v):
            return v if isinstance(v, float | int) and v is not SUPPRESSED else None
        series = {c: [tuple(number(get(c, lab, i, "value", unit, k)) for k in ("median", "q25", "q75"))
                      for i in intervals] for c in cohorts}
        figs.append({"caption": f"{lab}: median and interquartile range by interval, in {unit} (gaps: suppressed "
                                "or no values)", "svg": figures.trajectory(series, intervals, unit, f"{lab} ({unit})")})
    tables.append(_units_table(values, labs, cohorts, units, fmt))
    return {"tables": tables, "figures": figs, "findings": _findings(values, labs, cohorts, intervals, fmt)}


def _findings(values, labs, cohorts, intervals, fmt) -> list[str]:
    """The ratio to baseline in the first on-treatment interval (first cohort), and the highest share of
    persons beyond a multiple of the ULN in any interval (each cohort)."""
    on_treatment = [i for i in intervals if i != "baseline"]
    if not cohorts or not on_treatment:
        return []
    first, study = on_treatment[0], cohorts[0]

    def get(c, lab, i, variable, level, estimate):
        return values.get((c, lab, i, variable, level), {}).get(estimate)
    items = []
    for lab in labs:
        est, lo, hi = (get(study, lab, first, "ratio to baseline", None, k)
                       for k in ("ratio", "ratio_95CI_lower", "ratio_95CI_upper"))
        if all(findings.known(v) for v in (est, lo, hi)):
            # three decimals: a ratio whose CI excludes 1 must not read "1.00 to 1.02"
            items.append((lab, findings.verdict(lo, hi, 1.0), findings.with_ci(est, lo, hi, "{:.3f}".format)))
    out = []
    if items:
        out.append(f"Lab chart review ({study}), ratio of geometric means to baseline at {first}. "
                   + findings.grouped(items, "Clearly higher", "Clearly lower", "No clear change (CI includes 1)"))
    limits = sorted({(k[1], k[4]) for k in values if k[3] == "above limit" and "x ULN" in str(k[4])})
    beyond = []
    for lab, level in limits:
        shares = []
        for c in cohorts:
            cells = [values.get((c, lab, i, "above limit", level), {}) for i in on_treatment]
            known = [(v["percentage"], i) for v, i in zip(cells, on_treatment, strict=True)
                     if findings.known(v.get("percentage")) and findings.known(v.get("count"))]
            if known:
                top, where = max(known, key=lambda x: x[0])  # the first interval wins a tie
                shares.append(f"{c} {top:.1f}%" + (f" ({where})" if top > 0 else ""))
        if shares:
            beyond.append(f"{lab} > {level}: " + ", ".join(shares))
    if beyond:
        out.append("Persons beyond a multiple of the upper limit of normal, the highest share of those with a value "
                   "in an on-treatment interval (suppressed intervals not counted): " + "; ".join(beyond) + ".")
    return out


def _units_table(values, labs, cohorts, units, fmt) -> dict:
    rows = []
    for lab in labs:
        for c in cohorts:
            found = sorted(k[4] for k in values if k[:4] == (c, lab, "overall", "records by unit"))
            for unit in found:
                rows.append([lab, c, unit, fmt(values[(c, lab, "overall", "records by unit", unit)].get("count")),
                             fmt(values.get((c, lab, "overall", "unit conversion", unit), {}).get("conversion")),
                             units.get(lab, "")])
            sources = [f"{level}: {fmt(v.get('count'))}" for (cc, ll, i, var, level), v in values.items()
                       if (cc, ll, i, var) == (c, lab, "overall", "records by reference range source")
                       and v.get("count") != 0]
            if sources:
                rows.append([lab, c, "reference limits", "", "; ".join(sources), ""])
    return {"caption": "Units found, how their values were used, and where the reference limits came from",
            "header": ["lab", "cohort", "unit", "records", "conversion", "unit of the results"], "rows": rows}


SECTIONS = {"summarise_lab_safety": Section("Lab safety chart review", _lab_safety)}
