"""ATLAS / Circe cohort JSON: import into offlabel's definition, or run Circe's own SQL.

`definition_from_circe(json)` translates the parts of Circe that offlabel's engine expresses
(one primary criterion of a concept set, first/all events, a start-date range, observation
window, inclusion rules as counts in start-date windows with ALL/ANY groups, date-offset and
custom-era exits, era pad) into a `CohortDefinition` plus concept sets; anything else is a
SpecError that names the feature, so nothing is silently dropped.

`build_circe_cohort(cdm, json)` runs the SQL that Circe itself generates (through `duckcdm`, a
pure-Python port of circe-be and SqlRender that reproduces the Java output exactly) and returns
the cohort it wrote. It is the reference the import is tested against, and the way to run a
definition whose features offlabel does not translate.

Known differences of the import, all on data that OMOP conventions rule out: offlabel resolves a
non-standard concept of a concept set through "Maps to" and keeps only standard descendants
(Circe uses the concepts as given and every valid descendant); a drug record with no end date
lasts one day in offlabel (Circe: days_supply, else one day); Circe's custom era also matches
drug_source_concept_id; with several records of the entry concept set on the index day, an
`event_end` exit uses the latest of their ends (Circe: the end of the record with the lowest id).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import ibis
import ibis.expr.types as ir

from offlabel.errors import CdmError, SpecError
from offlabel.spec.cohorts import CohortDefinition
from offlabel.spec.concept_sets import ConceptSetItem

_DOMAINS = {"DrugExposure", "ConditionOccurrence", "ProcedureOccurrence", "Measurement", "Observation",
            "DeviceExposure", "VisitOccurrence"}
_OCCURRENCE = {0: "exactly", 1: "at_most", 2: "at_least"}


def load_circe(expression) -> dict:
    """A Circe expression from a JSON string, a file path or an already-parsed dict."""
    if isinstance(expression, dict):
        return expression
    if isinstance(expression, Path) or (isinstance(expression, str) and not expression.lstrip().startswith("{")):
        expression = Path(expression).read_text(encoding="utf-8")
    try:
        return json.loads(expression)
    except json.JSONDecodeError as e:
        raise SpecError(f"The Circe cohort JSON is not valid JSON: {e}. Export it again from ATLAS "
                        "(Cohort definition → Export → JSON).") from e


def _get(d: dict | None, key: str, default=None):
    """Circe keys are PascalCase or camelCase depending on the exporter: match either case."""
    if not d:
        return default
    for k, v in d.items():
        if k.lower() == key.lower():
            return v if v is not None else default
    return default


def definition_from_circe(expression, *, name: str | None = None
                          ) -> tuple[CohortDefinition, dict[str, list[ConceptSetItem]]]:
    """Translate a Circe cohort expression into (CohortDefinition, concept sets by name)."""
    cx = load_circe(expression)
    unsupported: list[str] = []
    concept_sets, names = _concept_sets(cx, unsupported)

    primary = _get(cx, "PrimaryCriteria", {})
    criteria = _get(primary, "CriteriaList", [])
    if len(criteria) != 1:
        unsupported.append(f"PrimaryCriteria with {len(criteria)} criteria (offlabel takes exactly one)")
    entry: dict = {"concept_set": "?"}
    if criteria:
        domain, crit = _single(criteria[0], unsupported, "PrimaryCriteria")
        entry["concept_set"] = names.get(_get(crit, "CodesetId"), "?")
        first_ever = bool(_get(crit, "First", False))
        date_range = _date_range(_get(crit, "OccurrenceStartDate"), unsupported)
        if date_range:
            entry["date_range"] = date_range
        _no_other_fields(crit, {"CodesetId", "First", "OccurrenceStartDate"}, f"{domain} primary criterion",
                         unsupported)
    window = _get(primary, "ObservationWindow", {})
    prior, post = int(_get(window, "PriorDays", 0)), int(_get(window, "PostDays", 0))
    limit = (_get(_get(primary, "PrimaryCriteriaLimit", {}), "Type", "First") or "First").lower()
    if criteria and first_ever:
        entry["events"] = "first_ever"
    else:
        entry["events"] = {"first": "first_observed", "all": "all"}.get(limit, "?")
        if entry["events"] == "?":
            unsupported.append(f"PrimaryCriteriaLimit {limit!r}")
    one_per_person = entry["events"] != "all"
    for key in ("QualifiedLimit", "ExpressionLimit"):
        kind = (_get(_get(cx, key, {}), "Type", "First") or "First").lower()
        if kind == "first" and not one_per_person:
            unsupported.append(f"{key} 'First' after all events (offlabel limits events at entry only)")
        elif kind not in ("first", "all"):
            unsupported.append(f"{key} {kind!r}")
    if _get(primary, "AdditionalCriteria") or _get(cx, "AdditionalCriteria"):
        unsupported.append("AdditionalCriteria on the primary criteria (write them as inclusion rules)")

    inclusion = [_group(_get(rule, "expression", {}), names, unsupported, name=_get(rule, "name"))
                 for rule in _get(cx, "InclusionRules", [])]
    exit_rule = _exit(_get(cx, "EndStrategy"), names, unsupported)
    if _get(cx, "CensoringCriteria"):
        unsupported.append("CensoringCriteria")
    censor = _get(cx, "CensorWindow", {})
    if _get(censor, "StartDate") or _get(censor, "EndDate"):
        unsupported.append("CensorWindow")
    collapse = _get(cx, "CollapseSettings", {})
    if unsupported:
        raise SpecError("This ATLAS cohort uses features that offlabel's cohort engine does not translate. "
                        "Rewrite them in the study file, or run the definition as it is with "
                        "offlabel.cohorts.circe.build_circe_cohort.", sorted(set(unsupported)))
    definition = CohortDefinition.model_validate({
        "name": name, "entry": entry, "prior_observation_days": prior, "post_observation_days": post,
        "inclusion": inclusion, "exit": exit_rule, "censor_at_death": False,
        "collapse_days": int(_get(collapse, "EraPad", 0)),
    })
    return definition, concept_sets


def _concept_sets(cx, unsupported) -> tuple[dict[str, list[ConceptSetItem]], dict[int, str]]:
    sets, names = {}, {}
    for cs in _get(cx, "ConceptSets", []):
        cid = _get(cs, "id")
        label = re.sub(r"[^a-z0-9]+", "_", str(_get(cs, "name") or "").lower()).strip("_") or f"codeset_{cid}"
        if label in sets:
            label = f"{label}_{cid}"
        items = []
        for item in _get(_get(cs, "expression", {}), "items", []):
            if _get(item, "includeMapped", False):
                unsupported.append(f"concept set '{label}': includeMapped")
            items.append(ConceptSetItem(concept_id=int(_get(_get(item, "concept", {}), "CONCEPT_ID")),
                                        include_descendants=bool(_get(item, "includeDescendants", False)),
                                        exclude=bool(_get(item, "isExcluded", False))))
        sets[label], names[cid] = items, label
    return sets, names


def _single(criterion: dict, unsupported, where: str) -> tuple[str, dict]:
    if len(criterion) != 1:
        unsupported.append(f"{where}: a criterion with {len(criterion)} types {sorted(criterion)}")
        return "?", {}
    domain, crit = next(iter(criterion.items()))
    if domain not in _DOMAINS:
        unsupported.append(f"{where}: criterion type {domain}")
    return domain, crit or {}


def _no_other_fields(crit: dict, allowed: set[str], where: str, unsupported) -> None:
    extra = sorted(k for k, v in crit.items() if v not in (None, [], {}, False)
                   and k.lower() not in {a.lower() for a in allowed})
    if extra:
        unsupported.append(f"{where}: {', '.join(extra)}")


def _date_range(rng: dict | None, unsupported) -> dict | None:
    if not rng:
        return None
    op = (_get(rng, "Op") or "").lower()
    value = dt.date.fromisoformat(str(_get(rng, "Value"))[:10])
    one = dt.timedelta(days=1)
    if op == "bt":
        return {"start": value, "end": dt.date.fromisoformat(str(_get(rng, "Extent"))[:10])}
    if op == "nbt":
        unsupported.append("a 'not between' date range")
        return None
    ranges = {"gt": {"start": value + one}, "gte": {"start": value}, "lt": {"end": value - one},
              "lte": {"end": value}, "eq": {"start": value, "end": value}}
    if op not in ranges:
        unsupported.append(f"date range operator {op!r}")
        return None
    return ranges[op]


def _endpoint(point: dict | None) -> int | None:
    days = _get(point, "Days")
    return None if days is None else int(_get(point, "Coeff", -1)) * int(days)


def _group(group: dict, names, unsupported, name=None) -> dict:
    kind = (_get(group, "Type", "ALL") or "ALL").upper()
    if kind not in ("ALL", "ANY"):
        unsupported.append(f"inclusion group type {kind} (offlabel has ALL and ANY)")
    if _get(group, "DemographicCriteriaList"):
        unsupported.append("demographic criteria in inclusion rules")
    members = [_count_rule(c, names, unsupported) for c in _get(group, "CriteriaList", [])]
    members += [_group(g, names, unsupported) for g in _get(group, "Groups", [])]
    if len(members) == 1 and name is None:
        return members[0]
    key = "all_of" if kind == "ALL" else "any_of"
    out = {key: members or [{"concept_set": "?"}]}
    if name:
        out["name"] = name
    return out


def _count_rule(cc: dict, names, unsupported) -> dict:
    domain, crit = _single(_get(cc, "Criteria", {}), unsupported, "inclusion rule")
    _no_other_fields(crit, {"CodesetId", "OccurrenceStartDate"}, f"{domain} inclusion criterion", unsupported)
    window = _get(cc, "StartWindow", {})
    if _get(window, "UseIndexEnd") or _get(window, "UseEventEnd"):
        unsupported.append("windows on the index or event end date")
    if _get(cc, "EndWindow"):
        unsupported.append("EndWindow in inclusion rules")
    if _get(cc, "RestrictVisit"):
        unsupported.append("RestrictVisit in inclusion rules")
    occurrence = _get(cc, "Occurrence", {})
    kind, count = _OCCURRENCE.get(int(_get(occurrence, "Type", 2))), int(_get(occurrence, "Count", 1))
    if _get(occurrence, "IsDistinct"):
        column = (_get(occurrence, "CountColumn") or "").upper()
        if column != "START_DATE":
            unsupported.append(f"distinct counts of {column or 'DOMAIN_CONCEPT'} (offlabel counts distinct days)")
    rule: dict = {"concept_set": names.get(_get(crit, "CodesetId"), "?"),
                  "within_observation_period": not _get(cc, "IgnoreObservationPeriod", False),
                  "distinct_days": bool(_get(occurrence, "IsDistinct", False))}
    rule["min_count"] = {"exactly": count, "at_most": 0, "at_least": count}[kind]
    if kind in ("exactly", "at_most"):
        rule["max_count"] = count
    start, end = _endpoint(_get(window, "Start")), _endpoint(_get(window, "End"))
    if start is not None or end is not None:
        rule["window"] = {"start": start, "end": end}
    calendar = _date_range(_get(crit, "OccurrenceStartDate"), unsupported)
    if calendar:
        rule["calendar_window"] = calendar
    return rule


def _exit(strategy: dict | None, names, unsupported) -> dict:
    if not strategy:
        return {"type": "end_of_observation"}
    offset = _get(strategy, "DateOffset")
    if offset is not None:
        field, days = _get(offset, "DateField", "StartDate"), int(_get(offset, "Offset", 0))
        if field == "StartDate":
            return {"type": "fixed_days", "days": days}
        return {"type": "event_end", "offset_days": days}
    era = _get(strategy, "CustomEra")
    if era is not None:
        if _get(era, "DaysSupplyOverride") is not None:
            unsupported.append("CustomEra with DaysSupplyOverride")
        return {"type": "drug_era", "concept_set": names.get(_get(era, "DrugCodesetId"), "?"),
                "gap_days": int(_get(era, "GapDays", 0)), "offset_days": int(_get(era, "Offset", 0))}
    unsupported.append(f"EndStrategy {list(strategy)}")
    return {"type": "end_of_observation"}


# -- running Circe's own SQL --------------------------------------------------------------


def circe_sql(expression, *, cdm_schema: str, target_table: str, dialect: str, cohort_definition_id: int = 1
              ) -> list[str]:
    """The statements Circe generates for the expression, translated to `dialect` (duckdb, postgresql)."""
    from duckcdm.circe import build_cohort_query
    from duckcdm.sqlrender import render, split_sql, translate

    text = json.dumps(load_circe(expression))
    sql = build_cohort_query(text, cdm_schema=cdm_schema, vocabulary_schema=cdm_schema, target_table=target_table,
                             result_schema=target_table.rsplit(".", 1)[0], cohort_id=cohort_definition_id,
                             generate_stats=False)
    return [s for s in split_sql(translate(render(sql), dialect)) if s.strip()]


def build_circe_cohort(cdm, expression, *, cohort_definition_id: int = 1, table_name: str | None = None
                       ) -> ir.Table:
    """Run Circe's SQL for the expression on `cdm`; return the cohort table it wrote (in
    offlabel's own schema). Circe's SQL names columns unquoted, so the CDM's columns must be
    lower case on PostgreSQL, as OHDSI's DDL makes them."""
    cx = load_circe(expression)
    digest = hashlib.sha256(json.dumps(cx, sort_keys=True).encode()).hexdigest()[:16]
    table_name = table_name or f"circe_{digest}"
    schema = ibis.schema({"cohort_definition_id": "int64", "subject_id": "int64",
                          "cohort_start_date": "date", "cohort_end_date": "date"})
    cdm.con.create_table(table_name, schema=schema, database=cdm.write_database, overwrite=True)
    dialect = {"duckdb": "duckdb", "postgres": "postgresql"}.get(cdm.dialect)
    if dialect is None:
        raise CdmError(f"Running Circe SQL on {cdm.dialect} is not supported; use offlabel's own engine.")
    database = cdm.cdm_database
    cdm_schema = ".".join(database) if isinstance(database, tuple) else database
    write_schema = cdm.write_database or "main"
    for statement in circe_sql(cx, cdm_schema=cdm_schema, target_table=f"{write_schema}.{table_name}",
                               dialect=dialect, cohort_definition_id=cohort_definition_id):
        try:
            cursor = cdm.con.raw_sql(statement)
        except Exception as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise CdmError(f"Circe's SQL failed on this CDM: {first}. Circe names tables and columns "
                           "unquoted, so on PostgreSQL the CDM's names must be lower case, as OHDSI's DDL "
                           "makes them; otherwise use offlabel's own engine (definition_from_circe and "
                           "build_cohort).") from e
        if cdm.dialect == "postgres":  # a psycopg cursor; DuckDB returns its connection: keep it open
            cursor.close()
    return cdm.written(table_name)
