"""The flagship study on a small synthetic world gives the same results on every backend.

This covers what Eunomia cannot: real doses (drug_strength), DDDs, the LDN cohort with its
calendar-window inclusion rule, incidence by month and the before/after design.
"""

from __future__ import annotations

import html
import os
import re

import pytest

from offlabel.demo import flagship_study
from offlabel.run import run_study
from offlabel.synth import DEMO_WORLD, synthesize
from tests.helpers import postgres as pg


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("world") / "cdm.duckdb"
    synthesize(persons=30_000, seed=11, out=path, config=DEMO_WORLD, progress=False)
    return path


@pytest.fixture(scope="module")
def duckdb_run(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("flagship") / "duckdb"
    assert run_study(flagship_study(), str(world), out) == 0
    return out


@pytest.fixture(scope="module")
def duckdb_results(duckdb_run) -> bytes:
    return (duckdb_run / "results.csv").read_bytes()


def test_flagship_results_are_identical_on_every_backend(request, backend, world, duckdb_results, tmp_path):
    if backend == "duckdb":
        address = str(world)
    else:
        server = request.getfixturevalue("postgres_server")
        database = pg.load_duckdb_cdm(server, world, database=f"offlabel_flagship_{os.getpid()}_{tmp_path.name[-8:]}", schema="cdm")
        request.addfinalizer(lambda: pg.drop_database(server, database))
        address = pg.cdm_url(server, database, cdm_schema="cdm", results_schema="offlabel_results")
    assert run_study(flagship_study(), address, tmp_path / "run") == 0
    produced = (tmp_path / "run" / "results.csv").read_bytes()
    assert produced == duckdb_results, f"flagship results on {backend} differ from DuckDB's"


def test_flagship_report_opens_with_key_findings_that_repeat_its_tables(duckdb_run):
    """Each key finding comes from one section and quotes that section's own numbers."""
    page = html.unescape((duckdb_run / "report.html").read_text(encoding="utf-8"))
    top = page[page.index("<h2>Key findings</h2>"):page.index('<nav class="toc">')]
    items = re.findall(r"<li>(.*?) <a href=\"#section-(\d+)\">", top, re.S)
    starts = ["Before/after", "Lab chart review", "Tolerability", "Adverse events", "Self-controlled case series"]
    assert all(any(text.startswith(s) for text, _ in items) for s in starts), [t[:30] for t, _ in items]
    quoted = 0
    for text, index in items:
        body = page[page.index(f'id="section-{index}"'):]
        body = body[:body.find('<h2 id="section-', 10)]
        # two-decimal estimates are quoted as the tables show them (the lab ratios have three decimals)
        for est, lo, hi in re.findall(r"(-?[\d,]+\.\d\d) \(95% CI (-?[\d,]+\.\d\d) to (-?[\d,]+\.\d\d)\)", text):
            assert f"{est} ({lo} to {hi})" in body, (text[:40], est, lo, hi)
            quoted += 1
    assert quoted >= 10
