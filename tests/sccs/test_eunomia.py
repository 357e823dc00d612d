"""SCCS of GI bleeding after NSAIDs on Eunomia GiBleed (issue #5 item 5), on every backend.

The study file is eunomia_sccs.yaml; its settings and result are described in README.md here.
Eunomia's GI bleeds were simulated to follow an NSAID dispensing within 90 days (every one of
the 479 cases has one, and every bleed falls 0-89 days after it), so the IRR of days 0-30 is
large; the test checks the run, the shape of the result, the counts against a direct query, and
that PostgreSQL gives byte-identical results.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from offlabel.run import run_study

STUDY = Path(__file__).with_name("eunomia_sccs.yaml")


@pytest.fixture(scope="module")
def duckdb_run(eunomia_path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("eunomia_sccs") / "run"
    assert run_study(STUDY, str(eunomia_path), out) == 0
    return out


def estimates(run: Path) -> dict:
    d = pd.read_csv(run / "results.csv", dtype=str, keep_default_na=False)
    d = d[d.result_type == "sccs"] if "result_type" in d.columns else d[d.variable_name != "settings"]
    return {(r.strata_level, r.variable_name, r.variable_level, r.estimate_name): r.estimate_value
            for r in d.itertuples()}


def test_gi_bleeding_after_nsaids_has_an_irr_with_ci(duckdb_run):
    e = estimates(duckdb_run)
    irr = float(e[("days 0-30", "incidence rate ratio", "NA", "irr")])
    lo = float(e[("days 0-30", "incidence rate ratio", "NA", "irr_95CI_lower")])
    hi = float(e[("days 0-30", "incidence rate ratio", "NA", "irr_95CI_upper")])
    assert 1 < lo < irr < hi
    assert e[("overall", "number subjects", "NA", "count")] == "479"
    # no bleed in the 30 days before an NSAID: the pre-exposure IRR is not estimable, and said why
    assert e[("pre-exposure", "events", "NA", "count")] == "0"
    assert e[("pre-exposure", "incidence rate ratio", "NA", "reason")] == "no events"
    assert ("overall", "diagnostic", "time stability", "flagged") in e


def test_counts_match_a_direct_query(eunomia_path, duckdb_run):
    """Events in days 0-30 after an NSAID era start, first bleed per person, after the 180-day naive period."""
    con = duckdb.connect(str(eunomia_path), read_only=True)
    n = con.sql("""
        with nsaid as (select d.person_id, d.drug_exposure_start_date s from drug_exposure d
                       join concept_ancestor ca on ca.descendant_concept_id = d.drug_concept_id
                       where ca.ancestor_concept_id in (1118084, 1124300)),
             bleed as (select c.person_id, min(c.condition_start_date) d from condition_occurrence c
                       join concept_ancestor ca on ca.descendant_concept_id = c.condition_concept_id
                       where ca.ancestor_concept_id = 192671 group by 1)
        select count(distinct b.person_id) from bleed b
        join observation_period o on o.person_id = b.person_id
             and b.d between o.observation_period_start_date + 180 and o.observation_period_end_date
        join nsaid n on n.person_id = b.person_id and b.d - n.s between 0 and 30""").fetchone()[0]
    con.close()
    assert estimates(duckdb_run)[("days 0-30", "events", "NA", "count")] == str(n)


def test_identical_on_every_backend(backend, eunomia_address, duckdb_run, tmp_path):
    out = tmp_path / "run"
    assert run_study(STUDY, eunomia_address, out) == 0
    assert (out / "results.csv").read_bytes() == (duckdb_run / "results.csv").read_bytes(), \
        f"SCCS results on {backend} differ from DuckDB's"


def test_an_irr_from_few_events_is_suppressed_with_its_counts(eunomia_path, tmp_path):
    """min_cell_count 200: days 0-30 has 159 events, so its counts, person-time and IRR go, and so do
    the total events and person-time (total - reference would give the window's back)."""
    out = tmp_path / "run"
    assert run_study(STUDY, str(eunomia_path), out, min_cell_count=200) == 0
    e = estimates(out)
    window = {k[3]: v for k, v in e.items() if k[0] == "days 0-30"}
    assert window and set(window.values()) == {"-"}
    assert e[("overall", "events", "NA", "count")] == "-"
    assert e[("overall", "person-time", "NA", "person_days")] == "-"
    assert e[("reference", "events", "NA", "count")] == "320"
    assert e[("overall", "number subjects", "NA", "count")] == "479"


def test_report_has_the_window_table_checks_and_forest_plot(duckdb_run):
    html = (duckdb_run / "report.html").read_text()
    section = html[html.index("Self-controlled case series"):]
    assert "gi_bleeding: cases, events and person-time" in section
    assert "189.04 (156.04 to 229.02)" in section
    assert "Checks of the SCCS assumptions" in section and "Not estimable: no events in the pre-exposure window" in section
    assert "<svg" in section
