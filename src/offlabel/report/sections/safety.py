"""Safety sections: the tolerability table (discontinuation, its reasons, restarts) with the cumulative
discontinuation curve, and the adverse-event incidence table on and off treatment."""

from __future__ import annotations

import math
from collections import defaultdict

from offlabel.report import figures
from offlabel.report.sections import findings
from offlabel.report.sections.base import Section
from offlabel.results import SummarisedResult
from offlabel.results.estimate_values import SUPPRESSED


def _values(part: SummarisedResult) -> dict:
    out: dict[tuple, dict] = defaultdict(dict)
    for r in part.rows:
        out[(r.group_level, r.strata_level, r.variable_name, r.variable_level)][r.estimate_name] = r.estimate_value
    return out


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value is not SUPPRESSED


def _percent(value, fmt, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f}%" if _number(value) else fmt(value)


def _with_ci(v: dict, name: str, fmt, scale=None) -> str:
    est, lo, hi = v.get(name), v.get(f"{name}_95CI_lower"), v.get(f"{name}_95CI_upper")
    if not _number(est):
        return fmt(est)
    show = scale or (lambda x: "∞" if _number(x) and math.isinf(x) else fmt(x))
    return f"{show(est)} ({show(lo)} to {show(hi)})"


def _months(days: str) -> str:
    d = int(days.split()[0])
    months = round(d / 30.4375)
    return f"{months} months ({d} days)" if abs(months * 30.4375 - d) < 3 else f"{d} days"


def _tolerability(part: SummarisedResult, fmt) -> dict:
    values = _values(part)
    cohorts = list(dict.fromkeys(k[0] for k in values))
    tables, figs, found = [], [], []
    def pct(x):
        return _percent(x, fmt)

    for g in cohorts:
        def get(variable, level=None, g=g):
            return values.get((g, "overall", variable, level), {})
        n, stopped = get("number subjects").get("count"), get("discontinued")
        levels = [k[3] for k in values if k[0] == g and k[2] == "cumulative discontinuation"]
        rows = []
        for level in levels:
            km, crude = get("cumulative discontinuation", level), get("discontinued by", level)
            observed = get("observed at least", level).get("count")
            share = f"{fmt(crude.get('count'))} / {fmt(observed)} ({_percent_of(crude.get('percentage'), fmt)})"
            rows.append([_months(level), _with_ci(km, "cumulative_incidence", fmt, pct),
                         fmt(km.get("n_events_count")), fmt(km.get("n_risk_count")), share])
        median = get("time on treatment (days)").get("median")
        median = int(median) if _number(median) and float(median).is_integer() else median
        tables.append({
            "caption": f"{g}: discontinuation of treatment ({fmt(n)} persons; {fmt(stopped.get('count'))} discontinued "
                       f"during follow-up; median time on treatment {fmt(median)} days). Kaplan-Meier cumulative "
                       "discontinuation (95% CI); crude: discontinued among persons observed that long",
            "header": ["by", "cumulative discontinuation (95% CI)", "discontinued", "still followed",
                       "crude: discontinued / observed (%)"],
            "rows": rows})
        by = [f"{_months(level).split(' (')[0]} {_with_ci(get('cumulative discontinuation', level), 'cumulative_incidence', fmt, pct)}"
              for level in levels if _number(get("cumulative discontinuation", level).get("cumulative_incidence"))]
        if by:
            found.append(f"Tolerability ({g}, {fmt(n)} persons): discontinued by " + ", ".join(by) + " (Kaplan-Meier).")
        reasons = [(k[3], v) for k, v in values.items() if k[0] == g and k[2] == "reason for discontinuation"]
        if reasons:
            tables.append({"caption": f"{g}: reasons for discontinuation (stop_reason of the era's last record)",
                           "header": ["reason", "persons", "% of discontinued"],
                           "rows": [[r, fmt(v.get("count")), _percent_of(v.get("percentage"), fmt)]
                                    for r, v in reasons]})
        restarts = [(k[2], k[3], v) for k, v in values.items() if k[0] == g and k[2].startswith("restart within")]
        if restarts:
            tables.append({"caption": f"{g}: {restarts[0][0]} after discontinuation (censored: observation ended "
                                      "earlier without a restart)",
                           "header": ["", "persons", "% of discontinued"],
                           "rows": [[lv, fmt(v.get("count")), _percent_of(v.get("percentage"), fmt)]
                                    for _, lv, v in restarts]})
        curve = [(int(k[3].split()[0]), v.get("cumulative_incidence"), v.get("cumulative_incidence_95CI_lower"),
                  v.get("cumulative_incidence_95CI_upper"))
                 for k, v in values.items() if k[0] == g and k[2] == "cumulative discontinuation curve"]
        if curve:
            points = [(x, *[y if _number(y) else None for y in ys]) for x, *ys in sorted(curve)]
            figs.append({"caption": f"{g}: cumulative discontinuation (Kaplan-Meier, 95% CI band) by days since "
                                    "index; suppressed points are gaps, dotted lines at the reported days",
                         "svg": figures.cumulative_curve(points, "days since the first dispensing",
                                                         "discontinued", "Cumulative discontinuation",
                                                         marks=[int(lv.split()[0]) for lv in levels])})
    return {"tables": tables, "figures": figs, "findings": found}


def _percent_of(value, fmt) -> str:
    return f"{value:.1f}%" if _number(value) else fmt(value)


PERIODS = ("before index", "on treatment", "off treatment")


def _adverse_events(part: SummarisedResult, fmt) -> dict:
    values = _values(part)
    groups = list(dict.fromkeys(k[0] for k in values))
    periods = [p for p in PERIODS if any(k[1] == p for k in values)]
    comparisons = list(dict.fromkeys(k[1] for k in values if k[2] == "rate ratio"))
    settings = part.settings_for(part.result_ids[0]) if part.result_ids else {}
    header = ["outcome"]
    for p in periods:
        header += [f"{p}: persons", "person-years", "events", "rate per 1,000 PY (95% CI)"]
    for c in comparisons:
        header += [f"rate ratio {c} (95% CI)", "p"]
    rows = []
    for g in groups:
        row = [g.split(" &&& ")[-1]]
        for p in periods:
            den, out = values.get((g, p, "Denominator", None), {}), values.get((g, p, "Outcome", None), {})
            row += [fmt(den.get("denominator_count")), fmt(den.get("person_years")), fmt(out.get("outcome_count")),
                    _with_ci(out, "incidence_1000_pys", fmt)]
        for c in comparisons:
            rr = values.get((g, c, "rate ratio", None), {})
            p_value = rr.get("p_value")
            row += [_with_ci(rr, "rate_ratio", fmt), f"{p_value:.3g}" if _number(p_value) else fmt(p_value)]
        rows.append(row)
    window = settings.get("risk_window", "NA")
    on = f"on treatment = in a drug era of '{settings.get('drug', '?')}' (gap {settings.get('gap_days', '?')} days"
    on += f", grace {settings.get('grace_days', '0')} days)"
    if window != "NA":
        on += f", only days {window.removesuffix(' days')} from index"
    events = "first event per person" if settings.get("events") == "first" else "every day with the outcome"
    caption = (f"Adverse events in {settings.get('cohort', 'the cohort')}: {on}; off treatment = the rest of "
               f"follow-up; events: {events}. Exact Poisson CIs; rate ratios with exact conditional (binomial) CIs")
    return {"tables": [{"caption": caption, "header": header, "rows": rows}], "figures": [],
            "findings": _ae_findings(values, groups, comparisons, settings, fmt)}


def _ae_findings(values, groups, comparisons, settings, fmt) -> list[str]:
    out = []
    for c in comparisons:
        items = []
        for g in groups:
            rr = values.get((g, c, "rate ratio", None), {})
            est, lo, hi = (rr.get(k) for k in ("rate_ratio", "rate_ratio_95CI_lower", "rate_ratio_95CI_upper"))
            if all(_number(v) and not math.isinf(v) for v in (est, lo, hi)):
                items.append((g.split(" &&& ")[-1], findings.verdict(lo, hi, 1.0), findings.with_ci(est, lo, hi, fmt)))
        if items:
            window = settings.get("risk_window", "NA")
            where = f" (days {window.removesuffix(' days')} from index)" if window != "NA" else ""
            out.append(f"Adverse events in {settings.get('cohort', 'the cohort')}{where}, rate ratio {c}. "
                       + findings.grouped(items, "Clearly higher", "Clearly lower",
                                          "No clear difference (CI includes 1)"))
    return out


SECTIONS = {
    "summarise_tolerability": Section("Tolerability: discontinuation and its reasons", _tolerability),
    "summarise_adverse_events": Section("Adverse events on and off treatment", _adverse_events),
}
