"""Development aid: offlabel's own concept sets and cohorts as the temp tables of the contract, so a
module can be written and checked before concept_sets.py and cohorts.py exist.

    con = connect_cdm("/tmp/bench/w1m.duckdb"); offlabel_inputs(con, "/tmp/bench/w1m.duckdb")
"""

from __future__ import annotations

import duckdb
import pandas as pd

DU_COHORTS = ("ms_patients", "ldn_ms_2013")


def connect_cdm(cdm_path: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute(f"ATTACH '{cdm_path}' AS cdm (READ_ONLY)")
    return con


def offlabel_inputs(con, cdm_path: str) -> None:
    import offlabel
    from offlabel.analyses.context import StudyContext
    from offlabel.cdm.vocabulary import resolve_concept_sets
    from offlabel.demo import flagship_study
    from offlabel.spec import load_study

    study = load_study(flagship_study())
    with offlabel.connect(cdm_path) as cdm:
        sets = resolve_concept_sets(cdm, study.concept_sets)
        rows = [(n, int(i)) for n, cs in sets.items() for i in cs.concept_ids]
        con.register("_sets", pd.DataFrame(rows, columns=["codelist", "concept_id"]))
        con.execute("CREATE OR REPLACE TEMP TABLE concept_sets AS SELECT codelist::VARCHAR AS codelist, "
                    "concept_id::BIGINT AS concept_id FROM _sets")
        context = StudyContext(cdm=cdm, study=study, concept_sets=sets)
        for name in DU_COHORTS:
            con.register("_cohort", context.cohort(name).table.to_pandas())
            con.execute(f"CREATE OR REPLACE TEMP TABLE cohort_{name} AS SELECT subject_id::BIGINT AS subject_id, "
                        "cohort_start_date::DATE AS cohort_start_date, cohort_end_date::DATE AS cohort_end_date "
                        "FROM _cohort")


def main() -> None:
    """python -m ldn_ms_du_sql._dev MODULE [CDM] [RESULTS_CSV] [--own-inputs]

    Runs one module on the CDM (default /tmp/bench/w1m.duckdb) with offlabel's concept sets and
    cohorts as inputs (or, with --own-inputs, those of concept_sets.py and cohorts.py), prints its
    seconds and its check against RESULTS_CSV (default /tmp/bench/ref/out/results.csv)."""
    import importlib
    import sys
    import time

    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    module = importlib.import_module(f"ldn_ms_du_sql.{args[0]}")
    cdm_path = args[1] if len(args) > 1 else "/tmp/bench/w1m.duckdb"
    results_csv = args[2] if len(args) > 2 else "/tmp/bench/ref/out/results.csv"
    con = connect_cdm(cdm_path)
    if "--own-inputs" in sys.argv:
        for dep in ("concept_sets", "cohorts"):
            if dep != args[0]:
                importlib.import_module(f"ldn_ms_du_sql.{dep}").run(con)
    else:
        offlabel_inputs(con, cdm_path)
    start = time.perf_counter()
    out = module.run(con)
    seconds = time.perf_counter() - start
    results = pd.read_csv(results_csv, dtype=str, keep_default_na=False)
    problems = module.check(out, results)
    print(f"{args[0]}: {seconds:.2f} s; {len(problems)} mismatch(es)")
    for p in problems[:50]:
        print("  ", p)


if __name__ == "__main__":
    main()
