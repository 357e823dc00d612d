"""`build_cohort`: a cohort definition → a materialised OMOP cohort table plus its attrition.

The steps (entry, observation, inclusion rules, exit, merging of overlapping episodes) are lazy
Ibis expressions run in the database. The result is written once into offlabel's own schema
under a name derived from a hash of the definition, the concept ids it uses, the cohort id, the
CDM's fingerprint and the engine version; a later build with the same hash reuses the table.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from offlabel.cohorts.attrition import attrition_frame, count_stages
from offlabel.cohorts.entry import entry_stages, observation_stages
from offlabel.cohorts.eras import collapse
from offlabel.cohorts.exit import add_exit
from offlabel.cohorts.inclusion import inclusion_stage
from offlabel.errors import EmptyCohortError, SpecError
from offlabel.spec.cohorts import CohortDefinition

# Bump when a change to the engine changes which members a definition gives: old tables are then
# not reused.
ENGINE_VERSION = 1
COHORT_COLUMNS = ["cohort_definition_id", "subject_id", "cohort_start_date", "cohort_end_date"]


@dataclass(frozen=True)
class Cohort:
    """A built cohort: the OMOP cohort table (in the database) and the attrition that led to it."""

    table: ir.Table
    """cohort_definition_id, subject_id, cohort_start_date, cohort_end_date (one row per episode)."""
    attrition: pd.DataFrame
    """omopgenerics-style attrition, one row per step (see `offlabel.cohorts.attrition`)."""
    definition: CohortDefinition
    definition_hash: str
    table_name: str
    cohort_definition_id: int
    reused: bool
    """True when the table was found materialised and nothing was computed."""

    @property
    def name(self) -> str:
        return self.definition.name or self.table_name

    @property
    def number_records(self) -> int:
        return int(self.attrition["number_records"].iloc[-1]) if len(self.attrition) else 0

    @property
    def number_subjects(self) -> int:
        return int(self.attrition["number_subjects"].iloc[-1]) if len(self.attrition) else 0


def concept_ids_for(definition: CohortDefinition, concept_sets: Mapping) -> dict[str, tuple[int, ...]]:
    """The sorted concept ids of every concept set the definition uses; unknown names are a SpecError."""
    missing = sorted(definition.concept_set_names() - set(concept_sets))
    if missing:
        raise SpecError(f"Cohort '{definition.name or 'cohort'}' uses concept sets that the study does not "
                        "define. Add them under concept_sets, or correct the names.",
                        [f"unknown concept set '{m}'" for m in missing])
    out = {}
    for name in sorted(definition.concept_set_names()):
        value = concept_sets[name]
        ids: Iterable = getattr(value, "concept_ids", value)
        out[name] = tuple(sorted({int(i) for i in ids}))
    return out


def cohort_hash(cdm, definition: CohortDefinition, concept_ids: Mapping[str, tuple[int, ...]],
                cohort_definition_id: int = 1) -> str:
    payload = {
        "engine": ENGINE_VERSION,
        "definition": definition.model_dump(mode="json"),
        "concept_ids": {k: list(v) for k, v in sorted(concept_ids.items())},
        "cohort_definition_id": cohort_definition_id,
        "cdm": cdm.fingerprint,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


Stage = tuple[str, ir.Table]


def cohort_stages(cdm, definition: CohortDefinition, concept_ids: Mapping[str, tuple[int, ...]],
                  cohort_definition_id: int = 1,
                  materialise: Callable[[ir.Table], ir.Table] | None = None) -> tuple[list[Stage], ir.Table]:
    """Every step as (reason, table), and the final cohort expression.

    materialise: called on the entry days and on the result of the entry, observation and each
    inclusion step, e.g. to write it to a work table. Without it everything stays one lazy
    expression (nothing is run); with it the database plans each step on real row counts instead
    of nested estimates, and the counts of the attrition read the work tables, not the CDM.
    """
    keep = materialise or (lambda t: t)
    stages = entry_stages(cdm, definition.entry, concept_ids[definition.entry.concept_set], keep)
    if len(stages) > 1:
        stages[-1] = (stages[-1][0], keep(stages[-1][1]))
    stages += observation_stages(cdm, definition, stages[-1][1])
    stages[-1] = (stages[-1][0], keep(stages[-1][1]))
    for number, rule in enumerate(definition.inclusion, start=1):
        reason, table = inclusion_stage(cdm, stages[-1][1], rule, number, concept_ids)
        stages.append((reason, keep(table)))
    ended = add_exit(cdm, definition, stages[-1][1], concept_ids)
    episodes = ended.select(
        cohort_definition_id=ibis.literal(cohort_definition_id, "int64"),
        subject_id=ended.subject_id.cast("int64"),
        observation_period_start_date=ended.observation_period_start_date,
        cohort_start_date=ended.cohort_start_date.cast("date"),
        cohort_end_date=ended.cohort_end_date.cast("date"),
    )
    if definition.entry.events == "all":
        # Episodes of one person must not overlap; merge those at most collapse_days apart,
        # never across observation periods.
        episodes = collapse(episodes, gap_days=definition.collapse_days,
                            by=("cohort_definition_id", "subject_id", "observation_period_start_date"))
        stages.append((f"Overlapping episodes merged (at most {definition.collapse_days} days apart)",
                       episodes.select(*COHORT_COLUMNS)))
    return stages, episodes.select(*COHORT_COLUMNS)


def build_cohort(cdm, definition: CohortDefinition, concept_sets: Mapping, *, cohort_definition_id: int = 1,
                 allow_empty: bool = False, reuse: bool = True) -> Cohort:
    """Build (or reuse) the cohort of `definition` on `cdm`.

    concept_sets: name → `ResolvedConceptSet` (from `offlabel.cdm.vocabulary.resolve_concept_sets`)
        or an iterable of standard concept ids.
    allow_empty: return an empty cohort instead of raising `EmptyCohortError`.
    reuse: use the materialised table of an earlier build with the same hash.
    """
    ids = concept_ids_for(definition, concept_sets)
    digest = cohort_hash(cdm, definition, ids, cohort_definition_id)
    table_name = f"cohort_{digest[:16]}"
    attrition_name = f"{table_name}_attrition"

    if reuse and cdm.has_written(table_name) and cdm.has_written(attrition_name):
        attrition = (cdm.written(attrition_name).to_pandas().sort_values("reason_id").reset_index(drop=True))
        _check_not_empty(definition, attrition, allow_empty)
        return Cohort(cdm.written(table_name), attrition, definition, digest, table_name,
                      cohort_definition_id, reused=True)

    work: list[str] = []
    run = uuid.uuid4().hex[:8]  # two runs building the same cohort at once never share work tables

    def materialise(t: ir.Table) -> ir.Table:
        work.append(f"{table_name}_work_{run}_{len(work) + 1}")
        return cdm.write_table(work[-1], t)

    try:
        stages, final = cohort_stages(cdm, definition, ids, cohort_definition_id, materialise)
        counts = count_stages(stages)
        attrition = attrition_frame(cohort_definition_id, [r for r, _ in stages], counts)
        _check_not_empty(definition, attrition, allow_empty)
        # The attrition is written first: a cohort table is only ever found together with its attrition.
        cdm.write_table(attrition_name, attrition)
        table = cdm.write_table(table_name, final)
    finally:
        for name in work:
            cdm.con.drop_table(name, database=cdm.write_database, force=True)
    return Cohort(table, attrition, definition, digest, table_name, cohort_definition_id, reused=False)


def _check_not_empty(definition: CohortDefinition, attrition: pd.DataFrame, allow_empty: bool) -> None:
    if allow_empty:
        return
    empty = attrition[attrition["number_subjects"] == 0]
    if empty.empty:
        return
    step = empty.iloc[0]
    label = f"Cohort '{definition.name}'" if definition.name else "The cohort"
    if int(step["reason_id"]) == 1:
        raise EmptyCohortError(
            f"{label} is empty: no person has a record of the entry concept set "
            f"'{definition.entry.concept_set}' in this CDM. Check the concept set's codes "
            "(`offlabel cdm check` and the code_use analysis show what the CDM holds).")
    before = attrition.iloc[int(step["reason_id"]) - 2]
    raise EmptyCohortError(
        f"{label} is empty: the step '{step['reason']}' removed the last "
        f"{int(before['number_subjects'])} persons ({int(attrition['number_subjects'].iloc[0])} at entry). "
        "Loosen that step, or check its concept set and dates against the data.")
