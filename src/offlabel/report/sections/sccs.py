"""The self-controlled case series section: a table of windows per outcome, the assumption checks
in words, and a forest plot of the IRRs."""

from __future__ import annotations

from collections import defaultdict

from offlabel.report import figures
from offlabel.report.sections import findings
from offlabel.report.sections.base import Section
from offlabel.results import SUPPRESSED, SummarisedResult

REFERENCE = "reference"


def _p(value) -> str:
    if value is None or value is SUPPRESSED or not isinstance(value, float):
        return "–" if value is None else str(value)
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _sccs(part: SummarisedResult, fmt) -> dict:
    values: dict[tuple, dict] = defaultdict(dict)
    outcomes, windows = [], defaultdict(list)
    for r in part.rows:
        values[(r.group_level, r.strata_level, r.variable_name, r.variable_level)][r.estimate_name] = r.estimate_value
        outcomes += [r.group_level] if r.group_level not in outcomes else []
        if r.strata_level != "overall" and r.strata_level not in windows[r.group_level]:
            windows[r.group_level].append(r.strata_level)

    def get(o, w, variable, estimate, level=None):
        return values.get((o, w, variable, level), {}).get(estimate)

    def irr_text(o, w, variable="incidence rate ratio", level=None):
        est = get(o, w, variable, "irr", level)
        if est is None:
            why = get(o, w, variable, "reason", level)
            return f"not estimable ({why})" if why else "–"
        if est is SUPPRESSED:
            return fmt(est)
        return f"{fmt(est)} ({fmt(get(o, w, variable, 'irr_95CI_lower', level))} to " \
               f"{fmt(get(o, w, variable, 'irr_95CI_upper', level))})"

    settings = part.settings_for(part.result_ids[0]) if part.result_ids else {}
    adjusted = [f"age ({settings['age_adjustment']})" if settings.get("age_adjustment", "none") != "none" else "",
                f"season ({settings['season_adjustment']})" if settings.get("season_adjustment", "none") != "none" else ""]
    adjusted = " and ".join(a for a in adjusted if a) or "nothing (no age or season term)"
    exposure = settings.get("exposure", "the exposure")
    tables, forest, checks = [], [], []
    header = ["window", "cases", "events", "person-years", "IRR (95% CI)", "p-value"]
    for o in outcomes:
        rows = [["all analysed time", fmt(get(o, "overall", "number subjects", "count")),
                 fmt(get(o, "overall", "events", "count")), fmt(get(o, "overall", "person-time", "person_years")),
                 "", ""]]
        for w in windows[o]:
            reference = w == REFERENCE
            rows.append([w, fmt(get(o, w, "cases", "count")), fmt(get(o, w, "events", "count")),
                         fmt(get(o, w, "person-time", "person_years")),
                         "1 (reference)" if reference else irr_text(o, w),
                         "" if reference else _p(get(o, w, "incidence rate ratio", "p_value"))])
            est = [get(o, w, "incidence rate ratio", k) for k in ("irr", "irr_95CI_lower", "irr_95CI_upper")]
            if not reference and est[0] is not None:  # not estimable (no events): not in the plot
                label = f"{o}: {w}" + (f" ({fmt(est[0])} events: not shown)" if est[0] is SUPPRESSED else "")
                forest.append((label, *[v if isinstance(v, float) else None for v in est]))
        tables.append({"caption": f"{o}: cases, events and person-time in each window around {exposure} and in "
                                  "the reference time (the cases' other analysed time); incidence rate ratios "
                                  f"against the reference, within cases, adjusted for {adjusted}",
                       "header": header, "rows": rows})
        checks += _checks(o, get, irr_text, lambda level: (o, "overall", "diagnostic", level) in values)
    tables.append({"caption": "Checks of the SCCS assumptions (SelfControlledCaseSeries's diagnostics)",
                   "header": ["outcome", "check", "estimate", "what it says"], "rows": checks})
    figs = []
    if forest:
        figs.append({"caption": f"Incidence rate ratios with 95% CI in each window around {exposure}, within "
                                "cases (self-controlled case series); 1 = the cases' own rate at other times",
                     "svg": figures.forest(forest, "incidence rate ratio (log scale)", "Self-controlled case series")})
    return {"tables": tables, "figures": figs, "findings": _findings(outcomes, windows, get, exposure, fmt)}


PRE_EXPOSURE = "pre-exposure"


def _findings(outcomes, windows, get, exposure, fmt) -> list[str]:
    items, flagged = [], []
    for o in outcomes:
        for w in windows[o]:
            est, lo, hi = (get(o, w, "incidence rate ratio", k) for k in ("irr", "irr_95CI_lower", "irr_95CI_upper"))
            if w not in (REFERENCE, PRE_EXPOSURE) and all(findings.known(v) for v in (est, lo, hi)):
                items.append((f"{o} {w}", findings.verdict(lo, hi, 1.0), findings.with_ci(est, lo, hi, fmt)))
        flagged += [f"{o} ({check})" for check in ("pre-exposure window", "end of observation", "time stability")
                    if get(o, "overall", "diagnostic", "flagged", check) is True]
    if not items:
        return []
    checks = (f" Assumption checks flagged: {', '.join(flagged)} (see the section)." if flagged
              else " No assumption check was flagged.")
    return [f"Self-controlled case series, incidence rate ratio in each window after {exposure} against the cases' "
            "own rate at other times. " + findings.grouped(items, "Clearly raised", "Clearly lowered",
                                                           "No clear difference (CI includes 1)") + checks]


def _checks(o, get, irr_text, has) -> list[list[str]]:
    rows = []
    flag = get(o, "overall", "diagnostic", "flagged", "pre-exposure window")
    if has("pre-exposure window"):
        irr = get(o, "overall", "diagnostic", "irr", "pre-exposure window")
        direction = "rise" if isinstance(irr, float) and irr > 1 else "fall"
        words = {True: f"Events {direction} before exposure (95% CI excludes 1): the outcome, or what leads to it, "
                       "may change the chance of starting the drug, which biases the risk-window IRRs.",
                 False: "No change in the rate just before exposure (95% CI includes 1).",
                 None: "Not estimable: no events in the pre-exposure window.",
                 SUPPRESSED: "Too few events in the pre-exposure window to show."}
        rows.append([o, "event-dependent exposure (pre-exposure window)",
                     irr_text(o, "overall", "diagnostic", "pre-exposure window"), words[flag]])
    level = "end of observation"
    if has(level):
        days = get(o, "overall", "diagnostic", "probe_days", level)
        flag = get(o, "overall", "diagnostic", "flagged", level)
        words = {True: f"More events than expected in the last {days} days of observation (95% CI excludes 1): "
                       "events may end or shorten observation (e.g. death), which biases the SCCS.",
                 False: f"No excess of events in the last {days} days of observation: no sign that events end it.",
                 None: "Not estimable (no case whose observation ends before the data do, or no events).",
                 SUPPRESSED: "Too few events at the end of observation to show."}
        rows.append([o, "event-dependent end of observation (probe)", irr_text(o, "overall", "diagnostic", level),
                     words.get(flag, str(flag))])
    level = "time stability"
    flag = get(o, "overall", "diagnostic", "flagged", level)
    if has(level):
        p = _p(get(o, "overall", "diagnostic", "p_value", level))
        words = {True: f"The outcome rate is not stable over calendar months (p = {p}): a calendar-time trend or "
                       "outbreak can bias the IRRs; consider a shorter study period.",
                 False: f"The outcome rate is stable over calendar months (p = {p}).",
                 SUPPRESSED: "Suppressed."}
        ratio = get(o, "overall", "diagnostic", "ratio", level)
        rows.append([o, "stable rate over calendar time",
                     f"ratio {ratio:.2f}" if isinstance(ratio, float) else "–", words.get(flag, str(flag))])
    return rows


SECTIONS = {"sccs": Section("Self-controlled case series", _sccs)}
