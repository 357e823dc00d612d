"""The before/after dispensing section: one table per drug group and the forest plot."""

from __future__ import annotations

from collections import defaultdict

from offlabel.report import figures
from offlabel.report.sections import findings
from offlabel.report.sections.base import Section
from offlabel.results import SummarisedResult
from offlabel.results.estimate_values import SUPPRESSED


def _before_after(part: SummarisedResult, fmt) -> dict:
    values: dict[tuple, dict] = defaultdict(dict)
    groups, strata = [], []
    for r in part.rows:
        values[(r.group_level, r.strata_level, r.variable_name, r.variable_level)][r.estimate_name] = r.estimate_value
        groups += [r.group_level] if r.group_level not in groups else []
        strata += [r.strata_level] if r.strata_level not in strata else []

    def get(g, s, variable, level, estimate):
        return values.get((g, s, variable, level), {}).get(estimate)

    def ci(g, s, variable, name):
        est = get(g, s, variable, None, name)
        if est is None or est is SUPPRESSED:
            return fmt(est)
        return f"{fmt(est)} ({fmt(get(g, s, variable, None, name + '_95CI_lower'))} to " \
               f"{fmt(get(g, s, variable, None, name + '_95CI_upper'))})"

    settings = part.settings_for(part.result_ids[0]) if part.result_ids else {}
    before, after = settings.get("lookback_days", "?"), settings.get("followup_days", "?")
    reference = settings.get("reference_stratum", "reference")
    tables, forest = [], []
    header = ["collection stratum", "persons", "users before", "users after", "mean DDD before", "mean DDD after",
              "change in DDD (95% CI)", "difference in differences (95% CI)", "ratio of ratios (95% CI)",
              "stopped", "reduced", "kept", "increased", "started"]
    for g in groups:
        rows = []
        for s in strata:
            rows.append([s, fmt(get(g, s, "number subjects", None, "count")),
                         fmt(get(g, s, "users", "before", "count")), fmt(get(g, s, "users", "after", "count")),
                         fmt(get(g, s, "cumulative DDD per person", "before", "mean")),
                         fmt(get(g, s, "cumulative DDD per person", "after", "mean")),
                         ci(g, s, "change in DDD per person", "mean"),
                         ci(g, s, "difference in differences", "mean"),
                         ci(g, s, "relative difference in differences", "ratio"),
                         *[fmt(get(g, s, "users by change", c, "count"))
                           for c in ("stopped", "reduced", "kept", "increased", "started")]])
            if (g, s, "relative difference in differences", None) in values:
                est = [get(g, s, "relative difference in differences", None, k)
                       for k in ("ratio", "ratio_95CI_lower", "ratio_95CI_upper")]
                forest.append((f"{g}: {s}", *[v if isinstance(v, float) else None for v in est]))
        tables.append({"caption": f"{g}: cumulative DDD per person in the {before} days before and the {after} "
                                  "days from index, by collections of the study drug in follow-up; differences in "
                                  f"differences against the '{reference}' stratum", "header": header, "rows": rows})
    figs = []
    if forest:
        figs.append({"caption": "Ratio of ratios (mean DDD after / before in a stratum, over the same in the "
                                "reference stratum) with 95% CI; 1 = no change beyond the reference stratum's",
                     "svg": figures.forest(forest, "ratio of ratios (log scale)", "Difference in differences")})
    return {"tables": tables, "figures": figs, "findings": _findings(groups, strata, get, reference, after, fmt)}


def _findings(groups, strata, get, reference, after, fmt) -> list[str]:
    """The difference in differences of the stratum with the most collections against the reference."""
    top = next((s for s in reversed(strata) if s not in (reference, "overall")), None)
    items = []
    for g in groups:
        est, lo, hi = (get(g, top, "difference in differences", None, k)
                       for k in ("mean", "mean_95CI_lower", "mean_95CI_upper"))
        if findings.known(est) and findings.known(lo) and findings.known(hi):
            items.append((g, findings.verdict(lo, hi, 0.0), findings.with_ci(est, lo, hi, fmt)))
    if top is None or not items:
        return []
    persons = get(groups[0], top, "number subjects", None, "count")
    head = (f"Before/after: users with {top} collections ({fmt(persons)} persons) against those with {reference}, "
            f"change in cumulative DDD per person over the {after} days from index (difference in differences). ")
    return [head + findings.grouped(items, "Clear increase", "Clear decrease", "No clear change (CI includes 0)")]


SECTIONS = {"summarise_before_after": Section("Before/after dispensing (difference in differences)", _before_after)}
