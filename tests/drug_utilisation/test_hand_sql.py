"""The drug-utilisation part of the flagship through offlabel equals the same analyses written by hand
in DuckDB SQL (benchmarks/ldn_ms_du_sql, the yardstick of bench_ldn_ms_du.py), estimate by estimate,
on a synthetic world with about 200 LDN starters in 2013.

The hand SQL shares no code with offlabel's analyses (only the concept-set check asks offlabel for
its resolution), so an error in either shows up here as a mismatch; a row that only one side has
is a mismatch too, and suppressed cells ("-") are the only ones not compared.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from offlabel.synth import synthesize
from tests.helpers.worlds import MS_RAISED

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from bench_ldn_ms_du import check, run_hand_sql, run_offlabel  # noqa: E402
from ldn_ms_du_sql import MODULES  # noqa: E402


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hand_sql")
    world = folder / "cdm.duckdb"
    synthesize(persons=20_000, seed=21, out=world, config=MS_RAISED, progress=False)
    offlabel_run = run_offlabel(str(world), folder)
    hand = run_hand_sql(str(world))
    return offlabel_run["results"], hand["outs"]


def test_every_module_reproduces_offlabel(both):
    results_csv, outs = both
    problems = check(outs, results_csv)
    assert set(problems) == set(MODULES)
    bad = {name: p[:5] for name, p in problems.items() if p}
    assert not bad, f"hand SQL and offlabel differ: {bad}"


def test_the_comparison_is_not_empty(both):
    """Enough unsuppressed estimates of every drug-utilisation analysis to compare: a world too small
    to leave any would make the test above pass without comparing anything."""
    results = pd.read_csv(both[0], dtype=str, keep_default_na=False)
    types = results[results.estimate_name == "result_type"]
    type_of = dict(zip(types.result_id, types.estimate_value))
    shown = results[(results.variable_name != "settings") & (results.estimate_value != "-")]
    per_type = shown.result_id.map(type_of).value_counts()
    for result_type in ("summarise_omop_snapshot", "summarise_cohort_attrition", "incidence", "prevalence",
                        "summarise_characteristics", "summarise_before_after", "summarise_dose_coverage",
                        "summarise_persistence", "summarise_proportion_of_patients_covered",
                        "summarise_add_on_and_switch", "summarise_code_use"):
        assert per_type.get(result_type, 0) >= 5, (result_type, per_type.to_dict())
