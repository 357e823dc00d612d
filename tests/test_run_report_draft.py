"""`offlabel run` draws the report while the analyses run (`ReportDraft`) and compiles without Ibis's
select fusion: the outputs must be those of drawing the report from the whole result at the end."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import ibis
import pytest

import offlabel.run as run_module
from offlabel.analyses import REGISTRY
from offlabel.errors import SpecError
from offlabel.report import ReportDraft, render_report
from offlabel.report.sections import SECTIONS, Section
from offlabel.results import SUPPRESSED, SummarisedResult, bind, import_summarised_result, suppress
from offlabel.run import run_study
from offlabel.spec import load_study

STUDY = Path(__file__).resolve().parent / "data" / "eunomia_study.yaml"


class _AtTheEnd(ReportDraft):
    """The report as it was drawn before: from the whole result, after the last analysis."""

    def add(self, result):
        pass

    def page(self, result) -> str:
        return render_report(result, self.study)


def _recording_where_sections_are_drawn(monkeypatch, log: Path) -> None:
    """Every section renderer appends "<pid> <thread name>" to `log` (a file: the report's worker may be
    another process)."""
    for kind, section in list(SECTIONS.items()):
        def render(part, fmt, _render=section.render):
            with log.open("a") as f:
                f.write(f"{os.getpid()} {threading.current_thread().name}\n")
            return _render(part, fmt)
        monkeypatch.setitem(SECTIONS, kind, Section(section.title, render))


@pytest.mark.parametrize("min_cell_count", [None, 1, 200])
def test_the_report_is_that_of_the_whole_result(eunomia_path, monkeypatch, tmp_path, min_cell_count):
    log = tmp_path / "drawn_in.txt"
    _recording_where_sections_are_drawn(monkeypatch, log)
    assert run_study(STUDY, str(eunomia_path), tmp_path / "draft", min_cell_count=min_cell_count) == 0
    drawn_in = {tuple(line.split(" ", 1)) for line in log.read_text().splitlines()}
    if sys.platform == "linux":  # by the report's worker process, not by the run's
        assert len(drawn_in) == 1 and next(iter(drawn_in))[0] != str(os.getpid())
    else:  # by the report's thread
        assert {thread.split("_")[0] for _, thread in drawn_in} == {"offlabel-report"}

    monkeypatch.setattr(run_module, "ReportDraft", _AtTheEnd)
    assert run_study(STUDY, str(eunomia_path), tmp_path / "end", min_cell_count=min_cell_count) == 0
    for name in ("report.html", "results.csv"):
        assert (tmp_path / "draft" / name).read_bytes() == (tmp_path / "end" / name).read_bytes(), name


def test_a_part_drawn_with_another_threshold_is_redrawn_with_the_pages(eunomia_path, tmp_path):
    """"<n" names the page's threshold (the largest min_cell_count of its results) in every section, also
    in those of a result drawn with a smaller one."""
    assert run_study(STUDY, str(eunomia_path), tmp_path / "run") == 0
    result = import_summarised_result(tmp_path / "run" / "results.csv")
    kinds = {result.settings_for(rid)["result_type"]: rid for rid in result.result_ids}
    incidence, attrition = kinds["incidence"], kinds["summarise_cohort_attrition"]
    # Some of the incidence counts suppressed at 5, the attrition's results at 50.
    rows = [r._replace(estimate_value=SUPPRESSED) if r.estimate_type == "integer" and i % 3 == 0 else r
            for i, r in enumerate(result.filter(result_id=incidence).rows)]
    part = SummarisedResult(rows, {incidence: result.settings_for(incidence)})
    stricter = SummarisedResult(result.filter(result_id=attrition).rows,
                                {attrition: {**result.settings_for(attrition), "min_cell_count": "50"}})
    study = load_study(STUDY)
    with pytest.warns(UserWarning, match="higher min_cell_count"):
        whole = suppress(bind(part, stricter), min_cell_count=5)
    with ReportDraft(study, 5) as draft:
        draft.add(part)
        draft.add(stricter)
        page = draft.page(whole)
    assert "&lt;50" in page and "&lt;5<" not in page
    assert page == render_report(whole, study)


def test_the_report_is_drawn_in_the_run_when_its_worker_dies(eunomia_path, monkeypatch, tmp_path):
    """A worker killed while the run goes on (out of memory, a signal) costs time, not the report."""
    if sys.platform != "linux":
        pytest.skip("the report's worker is a process on Linux only")
    run_pid, incidence = os.getpid(), SECTIONS["incidence"]

    def killed_in_the_worker(part, fmt):
        if os.getpid() != run_pid:
            os.kill(os.getpid(), signal.SIGKILL)
        return incidence.render(part, fmt)

    monkeypatch.setitem(SECTIONS, "incidence", Section(incidence.title, killed_in_the_worker))
    assert run_study(STUDY, str(eunomia_path), tmp_path / "killed") == 0
    monkeypatch.setattr(run_module, "ReportDraft", _AtTheEnd)
    assert run_study(STUDY, str(eunomia_path), tmp_path / "end") == 0
    assert (tmp_path / "killed" / "report.html").read_bytes() == (tmp_path / "end" / "report.html").read_bytes()


def test_the_report_is_drawn_in_a_thread_when_no_process_can_be_forked(eunomia_path, monkeypatch, tmp_path):
    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    log = tmp_path / "drawn_in.txt"
    _recording_where_sections_are_drawn(monkeypatch, log)
    assert run_study(STUDY, str(eunomia_path), tmp_path / "run") == 0
    drawn_in = {tuple(line.split(" ", 1)) for line in log.read_text().splitlines()}
    assert {pid for pid, _ in drawn_in} == {str(os.getpid())}
    assert {thread.split("_")[0] for _, thread in drawn_in} == {"offlabel-report"}


def test_an_error_while_drawing_stops_the_run_and_writes_nothing(eunomia_path, monkeypatch, tmp_path):
    def broken(part, fmt):
        raise SpecError("the incidence section cannot be drawn.")

    monkeypatch.setitem(SECTIONS, "incidence", Section("New users", broken))
    threads = threading.active_count()
    with pytest.raises(SpecError, match="cannot be drawn"):
        run_study(STUDY, str(eunomia_path), tmp_path / "run")
    assert list(tmp_path.iterdir()) == [] or all(p.name.endswith(".offlabel.duckdb") for p in tmp_path.iterdir())
    assert threading.active_count() == threads


def test_ibis_options_are_restored_after_a_run(eunomia_path, monkeypatch, tmp_path):
    seen = {}
    real = REGISTRY["incidence"]

    def incidence(context, settings):
        seen["fuse_selects"] = ibis.options.sql.fuse_selects
        return real(context, settings)

    monkeypatch.setitem(REGISTRY, "incidence", incidence)
    assert ibis.options.sql.fuse_selects is True
    assert run_study(STUDY, str(eunomia_path), tmp_path / "run") == 0
    assert seen == {"fuse_selects": False}  # compiled without merging nested selects during the run
    assert ibis.options.sql.fuse_selects is True
