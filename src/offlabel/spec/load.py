"""Reading a study file: YAML → `Study`, with every problem reported at once by its YAML path."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import ValidationError

from offlabel.errors import SpecError
from offlabel.spec.analyses import SETTINGS, references
from offlabel.spec.cohorts import INCLUSION_RULE_TAGS
from offlabel.spec.study import Study


def load_study(source: str | Path) -> Study:
    """Read a study file and return the validated `Study`, or raise `SpecError` listing every problem."""
    path = Path(source)
    if not path.exists():
        raise SpecError(f"The study file '{path}' does not exist. Give the path of a .yaml study file "
                        "(see studies/ldn_ms.yaml for an example).")
    if path.is_dir():
        raise SpecError(f"'{path}' is a folder; give the path of a .yaml study file.")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"Cannot read the study file '{path}': {e}.") from e
    return parse_study(text, origin=str(path))


def parse_study(text: str, origin: str = "<study>") -> Study:
    data = read_yaml(text, origin)
    if not isinstance(data, dict):
        raise SpecError(f"The study file {origin} must be a YAML mapping with spec_version, name, "
                        f"concept_sets and analyses; it is a {type(data).__name__}.")
    problems: list[str] = []
    study = None
    try:
        study = Study.model_validate(data)
    except ValidationError as e:
        problems += validation_problems(e)
    problems += _reference_problems(data)
    if problems:
        raise SpecError(f"The study file {origin} has {len(problems)} problem(s):", sorted(set(problems), key=problems.index))
    return study


def read_yaml(text: str, origin: str):
    """Parse YAML text; a syntax error becomes a SpecError naming the line and column."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        start = getattr(e, "context_mark", None)
        if start is not None and (mark is None or start.line != mark.line):
            problem += f" ({getattr(e, 'context', None) or 'the construct'} that opened at line {start.line + 1}, column {start.column + 1})"
        raise SpecError(f"The file {origin} is not valid YAML{where}: {problem}. "
                        "Check the indentation and quoting there.") from e


def validation_problems(error: ValidationError) -> list[str]:
    """pydantic's errors as `path: problem` lines in the user's words."""
    return [_describe(err) for err in error.errors()]


def study_to_yaml(study: Study) -> str:
    """The study as YAML; `parse_study(study_to_yaml(s)) == s`."""
    return yaml.safe_dump(study.to_json_dict(), sort_keys=False, allow_unicode=True)


def _path(loc: tuple) -> str:
    out = ""
    types = _analysis_types()
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif (i > 0 and isinstance(loc[i - 1], int) and part in types) or part in INCLUSION_RULE_TAGS:
            continue  # pydantic's union step (analysis type, inclusion rule kind), not a YAML key
        elif part in ("function-after", "[key]"):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _describe(err: dict) -> str:
    path = _path(err["loc"])
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "missing":
        return f"{path}: is required"
    if kind == "extra_forbidden":
        return f"{path}: unknown field (remove it, or check its spelling)"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        bound = next(iter(ctx.values()))
        return f"{path}: must be {op} {bound}, got {value!r}"
    if kind == "literal_error":
        return f"{path}: must be {ctx.get('expected')}, got {value!r}"
    if kind == "union_tag_invalid":
        return f"{path}: unknown analysis type {ctx.get('tag')!r}; known types: {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return f"{path}: needs a `type` ({', '.join(sorted(_analysis_types()))})"
    if kind == "too_short":
        return f"{path}: must have at least {ctx.get('min_length')} item(s)"
    if kind == "string_pattern_mismatch":
        return f"{path}: {value!r} is not a valid name (letters, digits and _; starting with a letter)"
    msg = err["msg"].removeprefix("Value error, ")
    shown = "" if isinstance(value, (dict, list)) else f", got {value!r}"
    return f"{path}: {msg}{shown}"


def _concept_set_refs(node) -> set[str]:
    """Every `concept_set: name` anywhere inside a cohort definition."""
    if isinstance(node, dict):
        found = {node["concept_set"]} if isinstance(node.get("concept_set"), str) else set()
        return found.union(*(_concept_set_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_concept_set_refs(v) for v in node))
    return set()


def _named_refs(model, raw, path: str):
    """(YAML path, kind, name) of every concept set or cohort that the raw settings of `model` name,
    following the fields the model types as `ConceptSetName` / `CohortName` (offlabel.spec.analyses.base)."""
    if not isinstance(raw, dict):
        return
    for key, kind in references(model).items():
        value = raw.get(key)
        items = value if isinstance(value, list) else [value]
        for j, item in enumerate(items):
            where = f"{path}.{key}" + (f"[{j}]" if isinstance(value, list) else "")
            if isinstance(kind, str):
                if isinstance(item, str):
                    yield where, kind, item
            else:
                yield from _named_refs(kind, item, where)


def _reference_problems(data: dict[str, Any]) -> list[str]:
    """Cross-references that a single field cannot check: concept set names, unique analysis ids."""
    problems = []
    sets = data.get("concept_sets") or {}
    names = set(sets) if isinstance(sets, dict) else set()
    defined = ", ".join(sorted(names)) or "none"
    cohorts = data.get("cohorts") or {}
    for cohort_name, cohort in (cohorts.items() if isinstance(cohorts, dict) else ()):
        # Read from the raw YAML, so that these are reported even when a field elsewhere is invalid.
        for ref in sorted(_concept_set_refs(cohort) - names):
            problems.append(f"cohorts.{cohort_name}: uses concept set {ref!r}, which is not defined "
                            f"(defined: {defined})")
    analyses = data.get("analyses") or []
    if not isinstance(analyses, list):
        return problems
    known = {"concept set": names, "cohort": set(cohorts) if isinstance(cohorts, dict) else set()}
    models = _analysis_models()
    seen: dict[str, int] = {}
    for i, a in enumerate(analyses):
        if not isinstance(a, dict):
            continue
        model = models.get(a.get("type")) if isinstance(a.get("type"), str) else None
        for where, kind, ref in (_named_refs(model, a, f"analyses[{i}]") if model else ()):
            if ref not in known[kind]:
                problems.append(f"{where}: no {kind} named {ref!r} (defined: {', '.join(sorted(known[kind])) or 'none'})")
        aid = a.get("id") or a.get("type")
        if isinstance(aid, str):
            if aid in seen:
                problems.append(f"analyses[{i}].id: {aid!r} is already used by analyses[{seen[aid]}]; "
                                "give each analysis a unique id")
            seen.setdefault(aid, i)
    return problems


@cache
def _analysis_models() -> dict[str, type]:
    return {get_args(m.model_fields["type"].annotation)[0]: m for m in SETTINGS}


def _analysis_types() -> frozenset[str]:
    return frozenset(_analysis_models())
