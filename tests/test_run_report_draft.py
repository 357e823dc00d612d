"""`offlabel run` draws the report while the analyses run (`ReportDraft`) and compiles without Ibis's
select fusion: the outputs must be those of drawing the report from the whole result at the end."""

from __future__ import annotations

import threading
from pathlib import Path

import ibis
import pytest

import offlabel.run as run_module
from offlabel.analyses import REGISTRY
from offlabel.errors import SpecError
from offlabel.report import ReportDraft, render_report
from offlabel.report.sections import SECTIONS, Section
from offlabel.run import run_study

STUDY = Path(__file__).resolve().parent / "data" / "eunomia_study.yaml"


class _AtTheEnd(ReportDraft):
    """The report as it was drawn before: from the whole result, after the last analysis."""

    def add(self, result):
        pass

    def page(self, result) -> str:
        return render_report(result, self.study)


@pytest.mark.parametrize("min_cell_count", [None, 1, 200])
def test_the_report_is_that_of_the_whole_result(eunomia_path, monkeypatch, tmp_path, min_cell_count):
    drawn_on = set()
    for kind, section in list(SECTIONS.items()):
        def render(part, fmt, _render=section.render):
            drawn_on.add(threading.current_thread().name)
            return _render(part, fmt)
        monkeypatch.setitem(SECTIONS, kind, Section(section.title, render))
    assert run_study(STUDY, str(eunomia_path), tmp_path / "draft", min_cell_count=min_cell_count) == 0
    assert {name.split("_")[0] for name in drawn_on} == {"offlabel-report"}  # drawn in the background

    monkeypatch.setattr(run_module, "ReportDraft", _AtTheEnd)
    assert run_study(STUDY, str(eunomia_path), tmp_path / "end", min_cell_count=min_cell_count) == 0
    for name in ("report.html", "results.csv"):
        assert (tmp_path / "draft" / name).read_bytes() == (tmp_path / "end" / name).read_bytes(), name


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
