"""Render a SummarisedResult as one self-contained HTML page (no network needed to view it).

Each result_type has a section (offlabel.report.sections); a result type without one is shown as a table.
The page is a function of the results and the study only: same results, same bytes.
"""

from __future__ import annotations

from importlib import resources

import jinja2

import offlabel
from offlabel.report.sections import SECTIONS
from offlabel.results import SummarisedResult
from offlabel.results.estimate_values import SUPPRESSED

_env = jinja2.Environment(
    loader=jinja2.FunctionLoader(lambda name: (resources.files("offlabel.report") / "templates" / name).read_text()),
    autoescape=True, trim_blocks=True, lstrip_blocks=True,
)


def render_report(result: SummarisedResult, study) -> str:
    threshold = _threshold(result)
    sections, key_findings = [], []
    for rid in result.result_ids:
        settings = result.settings_for(rid)
        # One analysis's rows with only its own settings (filter() keeps every result's settings).
        part = SummarisedResult(result.filter(result_id=rid).rows, {rid: settings})
        section = SECTIONS.get(settings.get("result_type"))
        renderer = section.render if section else _generic
        sections.append({"title": _title(settings), "settings": settings,
                         **renderer(part, lambda v: _fmt(v, threshold))})
        key_findings += [(text, len(sections)) for text in sections[-1].get("findings") or []]
    return _env.get_template("report.html.j2").render(
        study=study, sections=sections, min_cell_count=threshold, key_findings=key_findings,
        cdm_names=sorted({r.cdm_name for r in result.rows}),
        version=offlabel.__version__,
    )


def _threshold(result) -> int:
    values = {int(result.settings_for(rid).get("min_cell_count") or 0) for rid in result.result_ids}
    return max(values) if values else 0


def _title(settings) -> str:
    kind = settings.get("result_type", "result")
    section = SECTIONS.get(kind)
    title = section.title if section else kind.removeprefix("summarise_").replace("_", " ").capitalize()
    return f"{title} ({settings.get('analysis_id', '')})"


def _fmt(value, threshold: int) -> str:
    if value is SUPPRESSED:
        return f"<{threshold}"
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


def _generic(part: SummarisedResult, fmt) -> dict:
    frame = part.tidy()
    return {"tables": [{"caption": "", "header": list(frame.columns),
                        "rows": [[fmt(v) for v in row] for row in frame.itertuples(index=False)]}]}
