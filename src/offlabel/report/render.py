"""Render a SummarisedResult as one self-contained HTML page (no network needed to view it).

Each result_type has a section (offlabel.report.sections); a result type without one is shown as a table.
The page is a function of the results and the study only: same results, same bytes.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from importlib import resources

import jinja2

import offlabel
from offlabel.report.sections import SECTIONS
from offlabel.results import SummarisedResult, bind, suppress
from offlabel.results.estimate_values import SUPPRESSED

_env = jinja2.Environment(
    loader=jinja2.FunctionLoader(lambda name: (resources.files("offlabel.report") / "templates" / name).read_text()),
    autoescape=True, trim_blocks=True, lstrip_blocks=True,
)


def render_report(result: SummarisedResult, study) -> str:
    """The report of a (bound, suppressed) result: one section per result_id, in order."""
    threshold = _threshold(result)
    return _page(study, _sections(result, threshold), threshold, result)


class ReportDraft:
    """The report of a run, drawn while the run goes on.

    Each analysis's results are suppressed and turned into sections (tables and matplotlib figures) as
    soon as the analysis ends, while the run goes on with the next analyses, instead of after the last
    one. `page(result)` gives the same bytes as `render_report(result)` for
    `result = suppress(bind(*results))`: suppression works within a result_id and bind only renumbers
    the results of different analyses (their settings differ by analysis_id).

    On Linux one worker process draws, forked when the draft is opened: a thread would share the
    interpreter lock with the run's own Python work (building and compiling queries), which would then
    wait for the figures; a process draws on the core that the run leaves idle meanwhile, at the lowest
    priority so that the database's threads go first (on a 1M-person CDM the drug-utilisation part of
    the flagship study ran 7% faster than with a thread; benchmarks/README.md). Open the draft after
    `gc.freeze()` (as `offlabel run` does): the worker then never collects, and so never finalises, an
    object it inherited, such as a database connection. Elsewhere one thread draws. One worker either
    way, so matplotlib's pyplot state is never shared.
    """

    def __init__(self, study, min_cell_count: int):
        self.study, self.min_cell_count = study, min_cell_count
        self._pool = _drawing_pool()
        self._parts = []

    def add(self, result: SummarisedResult) -> None:
        """Queue one analysis's (unsuppressed) results for drawing."""
        try:
            future = self._pool.submit(_draw, result, self.min_cell_count)
        except BrokenProcessPool:  # the worker was killed (out of memory, a signal): drawn in page()
            future = None
        self._parts.append((result, future))

    def page(self, result: SummarisedResult) -> str:
        """The page of the run's whole (bound, suppressed) `result`, once every queued analysis is drawn;
        an error while drawing is raised here."""
        threshold = _threshold(result)
        sections = []
        for part, future in self._parts:
            drawn_with, drawn = self._drawn(part, future)
            if drawn_with != threshold:  # "<n" names the page's threshold; redraw with the page's
                drawn_with, drawn = _draw(part, self.min_cell_count, threshold)
            sections += drawn
        return _page(self.study, sections, threshold, result)

    def _drawn(self, part: SummarisedResult, future) -> tuple[int, list[dict]]:
        if future is not None:
            try:
                return future.result()
            except BrokenProcessPool:  # the worker was killed (out of memory, a signal): draw here
                pass
        return _draw(part, self.min_cell_count)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _drawing_pool():
    if sys.platform == "linux":
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_worker_started)
        try:
            pool.submit(int)  # fork now, before the run opens its database connection and its threads
            return pool
        except OSError:  # no process to be had (a process limit): draw in a thread
            pool.shutdown(wait=False)
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="offlabel-report")


def _worker_started() -> None:
    os.nice(19)
    # Ctrl-C reaches the whole process group: the run stops and shuts the worker down, which then
    # exits quietly instead of printing a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _draw(result: SummarisedResult, min_cell_count: int, threshold: int | None = None) -> tuple[int, list[dict]]:
    """(the threshold shown as "<n", the sections) of one analysis's results; by default the threshold
    is the results' own."""
    part = suppress(bind(result), min_cell_count=min_cell_count)
    threshold = _threshold(part) if threshold is None else threshold
    return threshold, _sections(part, threshold)


def _sections(result: SummarisedResult, threshold: int) -> list[dict]:
    sections = []
    for rid in result.result_ids:
        settings = result.settings_for(rid)
        # One analysis's rows with only its own settings (filter() keeps every result's settings).
        part = SummarisedResult(result.filter(result_id=rid).rows, {rid: settings})
        section = SECTIONS.get(settings.get("result_type"))
        renderer = section.render if section else _generic
        sections.append({"title": _title(settings), "settings": settings,
                         **renderer(part, lambda v: _fmt(v, threshold))})
    return sections


def _page(study, sections: list[dict], threshold: int, result: SummarisedResult) -> str:
    key_findings = [(text, index) for index, section in enumerate(sections, start=1)
                    for text in section.get("findings") or []]
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
