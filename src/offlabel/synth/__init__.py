"""The synthetic OMOP world: an MS population with the 2013 LDN surge, real codes, planted truths.

    from offlabel.synth import synthesize
    truth = synthesize(persons=200_000, seed=1, out="world.duckdb")   # or a folder for Parquet

writes a CDM v5.4 and `truth.json` (beside a .duckdb file, inside a Parquet folder) with every
planted effect and the realised counts. Same persons, seed and config give identical tables.
See docs/synthetic-world.md.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from importlib import resources
from pathlib import Path

import numpy as np

from offlabel.errors import OutputError
from offlabel.synth.config import WorldConfig
from offlabel.synth.truth import build_truth, truth_path, write_truth

CHUNK_PERSONS = 125_000  # part of the determinism contract: changing it changes the world
DEMO_WORLD = Path(str(resources.files("offlabel.synth") / "worlds" / "demo.yaml"))
DEMO_PERSONS = 200_000
DEMO_SEED = 2013

__all__ = ["synthesize", "WorldConfig", "DEMO_WORLD", "DEMO_PERSONS", "DEMO_SEED",
           "truth_path", "CHUNK_PERSONS"]


def _load_config(config) -> WorldConfig:
    if config is None:
        return WorldConfig()
    if isinstance(config, WorldConfig):
        return config
    return WorldConfig.from_yaml(config)


def _chunk(args):
    from offlabel.synth.world import simulate_chunk
    offset, n, cfg, ss = args
    return simulate_chunk(offset, n, cfg, ss)


def synthesize(persons: int, seed: int, out: str | Path, config: WorldConfig | str | Path | None = None,
               progress: bool = True, workers: int | None = None) -> dict:
    """Write a synthetic CDM v5.4 of `persons` persons to `out` (a .duckdb file, else a Parquet folder)
    and truth.json beside it; return the truth dict.

    workers: processes that simulate chunks (default: up to 2, one per CPU); the world does not
    depend on it.
    """
    from offlabel.synth.world import _tables  # noqa: F401  (import errors surface before forking)
    from offlabel.synth.writer import open_writer, rows_to_arrow, to_arrow
    from offlabel.synth.vocabulary import build_vocabulary, vocabulary_tables

    if persons < 1:
        raise ValueError(f"persons must be at least 1, got {persons}")
    cfg = _load_config(config)
    out = Path(out)
    staging = _staging(out)
    sizes = [min(CHUNK_PERSONS, persons - o) for o in range(0, persons, CHUNK_PERSONS)]
    seqs = np.random.SeedSequence(seed).spawn(len(sizes))
    jobs = [(o, n, cfg, ss) for o, n, ss in zip(range(0, persons, CHUNK_PERSONS), sizes, seqs)]
    workers = workers or max(1, min(2, os.cpu_count() or 1, len(jobs)))
    id_columns = {"visit_occurrence": ["visit_occurrence_id"], "condition_occurrence": ["condition_occurrence_id", "visit_occurrence_id"],
                  "drug_exposure": ["drug_exposure_id"], "measurement": ["measurement_id", "visit_occurrence_id"]}
    own_id = {"visit_occurrence": "visit_occurrence", "condition_occurrence": "condition_occurrence",
              "drug_exposure": "drug_exposure", "measurement": "measurement"}
    next_id = Counter()
    realised = Counter()
    writer = None
    bar = _progress(progress, persons)
    try:
        results = _run(jobs, workers)
        writer = open_writer(staging / out.name)
        v = build_vocabulary()
        for table, rows in vocabulary_tables(v).items():
            writer.write(table, rows_to_arrow(table, rows))
        writer.write("cdm_source", rows_to_arrow("cdm_source", [_cdm_source(cfg, persons, seed, v)]))
        for (offset, n, _, _), (cols, counts) in zip(jobs, results):
            base = {t: next_id[t] for t in own_id}
            for table, columns in cols.items():
                for c in id_columns.get(table, []):
                    ref = "visit_occurrence" if c == "visit_occurrence_id" else table
                    columns[c] = columns[c] + base[ref] + 1
                if table in own_id:
                    next_id[table] += len(columns[id_columns[table][0]])
                writer.write(table, to_arrow(table, columns))
            realised.update(counts)
            if bar:
                bar[0].update(bar[1], advance=n)
        writer.close()
        writer = None
    except BaseException:
        if writer is not None:
            writer.close()
            writer = None
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if bar:
            bar[0].stop()
    truth = build_truth(persons, seed, cfg, realised)
    write_truth(truth, staging / out.name)
    _publish(staging, out)
    return truth


def _is_duckdb(out: Path) -> bool:
    return out.suffix.lower() in (".duckdb", ".db", ".ddb")


def _staging(out: Path) -> Path:
    """A private folder beside `out` to build in: a failed build leaves nothing at `out`.

    An existing `out` is replaced only when it is an earlier synthetic world (its truth.json
    is there): a real CDM or any other file is never overwritten."""
    if out.exists() and not truth_path(out).exists():
        raise OutputError(f"'{out}' exists and is not a synthetic world written by offlabel (no truth.json "
                          "beside it); offlabel will not overwrite it. Choose a new --out path.")
    if _is_duckdb(out) and out.is_dir():
        raise OutputError(f"'{out}' is a folder; give a .duckdb file name or a new folder for Parquet files.")
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
    except OSError as e:
        raise OutputError(f"Cannot write the synthetic world to '{out}': {e.strerror or e}. "
                          "Choose a folder you can write to with --out.") from e
    return staging


def _publish(staging: Path, out: Path) -> None:
    """Move the finished world (and its truth.json) into place, replacing an earlier world."""
    built = staging / out.name
    if _is_duckdb(out):
        for old in (out, out.with_name(out.name + ".wal"), truth_path(out)):
            old.unlink(missing_ok=True)
        built.rename(out)
        (staging / "truth.json").rename(truth_path(out))
    else:
        if out.exists():
            shutil.rmtree(out)
        built.rename(out)
    shutil.rmtree(staging, ignore_errors=True)


def _run(jobs, workers):
    """Chunk results in chunk order; at most workers + 1 chunks in flight so memory stays bounded."""
    if workers <= 1:
        for j in jobs:
            yield _chunk(j)
        return
    import multiprocessing as mp
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as ex:
        pending = []
        it = iter(jobs)
        for j in it:
            pending.append(ex.submit(_chunk, j))
            if len(pending) >= workers:
                break
        while pending:
            f = pending.pop(0)
            nxt = next(it, None)
            if nxt is not None:
                pending.append(ex.submit(_chunk, nxt))
            yield f.result()


def _progress(enabled: bool, total: int):
    if not enabled:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    bar = Progress(TextColumn("synthesising persons"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    task = bar.add_task("synth", total=total)
    bar.start()
    return bar, task


def _cdm_source(cfg: WorldConfig, persons: int, seed: int, v) -> dict:
    import datetime as dt
    release = dt.date(cfg.population.last_year + 1, 1, 1)
    return dict(cdm_source_name=cfg.name, cdm_source_abbreviation="offlabel-synth", cdm_holder="offlabel",
                source_description=f"Synthetic OMOP world, {persons} persons, seed {seed}; see truth.json",
                source_documentation_reference="docs/synthetic-world.md", cdm_etl_reference="offlabel.synth",
                source_release_date=release, cdm_release_date=release, cdm_version="v5.4",
                cdm_version_concept_id=v.meta["cdm_v5.4"], vocabulary_version="offlabel-synth 1")
