"""The drug-utilisation part of studies/ldn_ms.yaml written by hand in DuckDB SQL (issue 4, item 6).

What a pharmacoepidemiologist without offlabel would write: plain SQL on one DuckDB connection, with
the light statistics (exact Poisson, paired t, Kaplan-Meier) in numpy/scipy on the aggregates. It is
the yardstick `bench_ldn_ms_du.py` times offlabel against, and each module checks its numbers
against offlabel's results.csv, so that the two compute the same thing.

Contract of every module (MODULES below, run in that order):

    run(con) -> dict[str, pandas.DataFrame]     # the analysis's aggregates
    check(out, results) -> list[str]            # mismatches against offlabel's results.csv (empty: equal)

`con` is an in-memory DuckDB connection (threads = 2) with the CDM attached read-only as `cdm`
(tables cdm.person, cdm.drug_exposure, ...). `concept_sets.run` creates the temp table
concept_sets(codelist VARCHAR, concept_id BIGINT); `cohorts.run` creates the temp tables
cohort_ms_patients and cohort_ldn_ms_2013 (subject_id BIGINT, cohort_start_date DATE,
cohort_end_date DATE); later modules read them. `results` is offlabel's results.csv as a DataFrame
(all columns strings; suppressed values are "-" or NA).
"""

MODULES = ("concept_sets", "cohorts", "snapshot", "incidence", "prevalence", "before_after", "dose", "persistence",
           "coverage", "switching", "code_use")
