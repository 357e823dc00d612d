"""Drug utilisation sections: new users and prevalence over calendar time, dose, persistence, PPC, add-on/switch."""

from __future__ import annotations

from collections import defaultdict

from offlabel.report import figures
from offlabel.report.sections.base import Section
from offlabel.results import SummarisedResult
from offlabel.results.estimate_values import SUPPRESSED


def _incidence(part: SummarisedResult, fmt) -> dict:
    """The monthly trend as a line (suppressed months are gaps), the yearly numbers as a table."""
    series: dict[str, list] = defaultdict(list)
    yearly = []
    for r in part.rows:
        if r.variable_name != "Outcome" or r.strata_name != "overall":
            continue
        start, _, interval = r.additional_level.split(" &&& ")
        if r.estimate_name == "incidence_100000_pys" and interval == "months":
            value = None if r.estimate_value in (None, SUPPRESSED) else r.estimate_value
            year, month = int(start[:4]), int(start[5:7])
            series[r.group_level.split(" &&& ")[-1]].append((year + (month - 1) / 12, value))
    by_year: dict[str, dict] = defaultdict(dict)
    for r in part.rows:
        start, _, interval = r.additional_level.split(" &&& ")
        if interval == "years" and r.strata_name == "overall":
            by_year[start[:4]][r.estimate_name] = r.estimate_value
    for year, v in sorted(by_year.items()):
        ci = (f"{fmt(v.get('incidence_100000_pys'))} ({fmt(v.get('incidence_100000_pys_95CI_lower'))} to "
              f"{fmt(v.get('incidence_100000_pys_95CI_upper'))})")
        yearly.append([year, fmt(v.get("denominator_count")), fmt(v.get("person_years")),
                       fmt(v.get("outcome_count")), ci])
    figs = []
    if series:
        figs.append({"caption": "New users per 100,000 person-years, by calendar month (suppressed months are gaps)",
                     "svg": figures.calendar_trend({k: sorted(v) for k, v in series.items()},
                                                   "per 100,000 person-years", "New users by month")})
    tables = [{"caption": "New users by calendar year (exact Poisson 95% CI)",
               "header": ["year", "persons", "person-years", "new users", "per 100,000 person-years (95% CI)"],
               "rows": yearly}] if yearly else []
    return {"tables": tables, "figures": figs}


SECTIONS = {"incidence": Section("New users over calendar time", _incidence)}


def _by_key(part: SummarisedResult) -> dict[tuple, dict]:
    values: dict[tuple, dict] = defaultdict(dict)
    for r in part.rows:
        values[(r.group_level, r.strata_name, r.strata_level, r.variable_name, r.variable_level,
                r.additional_level)][r.estimate_name] = r.estimate_value
    return values


def _number(value) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _dose(part: SummarisedResult, fmt) -> dict:
    """The daily dose table (overall, by unit, by product) and a box plot per product and unit."""
    header = ["ingredient", "stratum", "variable", "exposures", "missing", "mean (sd)", "median [IQR]",
              "5th to 95th percentile"]
    rows, boxes, shares = [], defaultdict(list), defaultdict(list)
    values = _by_key(part)
    totals = {(g, var): v.get("count") for (g, sn, _, var, _, _), v in values.items() if sn == "overall"}
    for (g, sn, sl, var, _, _), v in values.items():
        stratum = "overall" if sn == "overall" else f"{sn}: {sl}"
        rows.append([g, stratum, "daily dose (DDD)" if var == "daily_dose_ddd" else "daily dose",
                     fmt(v.get("count")), fmt(v.get("count_missing")), f"{fmt(v.get('mean'))} ({fmt(v.get('sd'))})",
                     f"{fmt(v.get('median'))} [{fmt(v.get('q25'))} to {fmt(v.get('q75'))}]",
                     f"{fmt(v.get('q05'))} to {fmt(v.get('q95'))}"])
        summary = {k: _number(v.get(k)) for k in ("q05", "q25", "median", "q75", "q95", "mean")}
        complete = all(summary[k] is not None for k in ("q05", "q25", "median", "q75", "q95"))
        unit = "WHO DDD" if var == "daily_dose_ddd" else "mg"
        if complete and (sn == "overall" or (sn == "product" and var == "daily_dose")):
            boxes[(g, unit)].append(("all products" if sn == "overall" else str(sl), summary))
        if sn == "product" and var == "daily_dose":
            n, total = _number(v.get("count")), _number(totals.get((g, var)))
            shares[g].append((str(sl), 100.0 * n / total if n is not None and total else None))
    figs = []
    for g, share in shares.items():
        figs.append({"caption": f"{g}: share of exposures by product (strength); suppressed products have no bar",
                     "svg": figures.bars(sorted(share), "% of exposures", f"{g}: exposures by product")})
    for (g, unit), b in boxes.items():
        figs.append({"caption": f"Daily dose of {g} per exposure, in {unit} (box: quartiles; whiskers: 5th and 95th "
                                "percentiles; triangle: mean; suppressed products are left out)",
                     "svg": figures.box_plot(b[:1] + sorted(b[1:]), f"daily dose, {unit}", f"{g}: daily dose")})
    return {"tables": [{"caption": "Daily dose per exposure (quantity x strength / days): in mg (or the unit of the "
                                   "stratum) and in WHO DDDs", "header": header, "rows": rows}], "figures": figs}


def _persistence(part: SummarisedResult, fmt) -> dict:
    """The Kaplan-Meier curve with its CI band and numbers at risk, the risk table and the median."""
    values = _by_key(part)
    figs, tables = [], []
    for cohort in dict.fromkeys(r.group_level for r in part.rows):
        points, risk, summary = [], [], {}
        for (g, _, _, var, _, time), v in values.items():
            if g != cohort:
                continue
            if var == "survival probability" and _number(v.get("estimate")) is not None:
                points.append((int(time), v["estimate"], _number(v.get("estimate_95CI_lower")),
                               _number(v.get("estimate_95CI_upper"))))
            elif var == "number at risk":
                risk.append((int(time), v))
            elif var == "summary":
                summary = v
        points.sort()
        risk.sort(key=lambda x: x[0])
        figs.append({"caption": f"{cohort}: probability of still being treated (Kaplan-Meier, 95% CI band); "
                                "numbers still treated and followed under the axis. Times where fewer than the "
                                "minimum cell count stopped since the last point shown are stepped over.",
                     "svg": figures.survival_curve(points, [(d, fmt(v.get("n_risk_count"))) for d, v in risk],
                                                   "still treated", f"Persistence: {cohort}")})
        rows = [[str(d), fmt(v.get("n_risk_count")), fmt(v.get("n_events_count", "")), fmt(v.get("n_censor_count", ""))]
                for d, v in risk]
        tables.append({"caption": f"{cohort}: persons {fmt(summary.get('number_records_count'))}, stopped "
                                  f"{fmt(summary.get('n_events_count'))}, median time on treatment "
                                  f"{fmt(summary.get('median_survival'))} days",
                       "header": ["day", "at risk", "stopped since the previous day shown",
                                  "censored since the previous day shown"], "rows": rows})
    return {"tables": tables, "figures": figs}


def _coverage(part: SummarisedResult, fmt) -> dict:
    """The PPC curve by day since index, and the values at a few days."""
    values = _by_key(part)
    points = sorted((int(k[5]), _number(v.get("ppc")), _number(v.get("ppc_lower")), _number(v.get("ppc_upper")))
                    for k, v in values.items())
    shown = {int(k[5]): v for k, v in values.items() if int(k[5]) in (0, 30, 90, 180, 365, 545, 730)}
    rows = [[str(d), fmt(v.get("denominator_count")), fmt(v.get("outcome_count")),
             f"{fmt(v.get('ppc'))}% ({fmt(v.get('ppc_lower'))} to {fmt(v.get('ppc_upper'))})"
             if _number(v.get("ppc")) is not None else fmt(v.get("ppc"))]
            for d, v in sorted(shown.items())]
    return {"tables": [{"caption": "Proportion of patients covered (Wilson 95% CI)",
                        "header": ["day", "in observation", "covered", "PPC (95% CI)"], "rows": rows}],
            "figures": [{"caption": "Percentage of persons still observed who are covered by the drug, by day since "
                                    "index (95% CI band; suppressed days are gaps)",
                         "svg": figures.proportion_curve(points, "% covered", "Proportion of patients covered")}]}


def _prevalence(part: SummarisedResult, fmt) -> dict:
    """Prevalence per calendar period: a line per interval and a table."""
    outcome: dict[tuple, dict] = defaultdict(dict)
    for r in part.rows:
        if r.strata_name != "overall":
            continue
        start, _, interval = r.additional_level.split(" &&& ")
        outcome[(interval, start)][r.estimate_name] = r.estimate_value
    rows, series = [], defaultdict(list)
    for (interval, start), v in sorted(outcome.items()):
        p = _number(v.get("prevalence"))
        rows.append([interval, start, fmt(v.get("denominator_count")), fmt(v.get("outcome_count")),
                     "–" if p is None else f"{100 * p:.2f}% ({100 * (v.get('prevalence_95CI_lower') or 0):.2f} to "
                                           f"{100 * (v.get('prevalence_95CI_upper') or 0):.2f})"])
        year, month = int(start[:4]), int(start[5:7])
        series[interval].append((year + (month - 1) / 12, None if p is None else 100 * p))
    return {"tables": [{"caption": "Prevalence of use (exact binomial 95% CI)",
                        "header": ["interval", "period start", "persons", "users", "prevalence (95% CI)"],
                        "rows": rows}],
            "figures": [{"caption": "Prevalence of use, % of persons in the population",
                         "svg": figures.calendar_trend(dict(series), "% using", "Prevalence of use")}] if series else []}


def _add_on_switch(part: SummarisedResult, fmt) -> dict:
    rows = []
    for r in part.rows:
        if r.estimate_name == "count":
            pct = next((x.estimate_value for x in part.rows if x.variable_name == r.variable_name
                        and x.variable_level == r.variable_level and x.estimate_name == "percentage"), None)
            rows.append([r.variable_name, r.variable_level or "", fmt(r.estimate_value),
                         "" if pct is None else f"{fmt(pct)}%" if _number(pct) is not None else fmt(pct)])
    window = part.rows[0].additional_level if part.rows else ""
    return {"tables": [{"caption": f"Treatment changes in days {window} after index (add-on: started while the "
                                   "index treatment ran; switch: started after it ended)",
                        "header": ["", "", "persons", "% of persons observed through the window"], "rows": rows}]}


SECTIONS.update({
    "summarise_dose_coverage": Section("Dose distribution", _dose),
    "summarise_persistence": Section("Persistence (time to discontinuation)", _persistence),
    "summarise_proportion_of_patients_covered": Section("Proportion of patients covered", _coverage),
    "prevalence": Section("Prevalence of use over calendar time", _prevalence),
    "summarise_add_on_and_switch": Section("Add-on and switching", _add_on_switch),
})
