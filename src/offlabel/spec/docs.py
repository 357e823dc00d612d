"""The study-file reference page, generated from the models (`python -m offlabel.spec.docs`)."""

from __future__ import annotations

import re
from typing import get_args

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from offlabel.spec import cohorts
from offlabel.spec.analyses import SETTINGS, references
from offlabel.spec.concept_sets import ConceptSetItem, Strength
from offlabel.spec.study import SPEC_VERSION, Study


def _type_name(annotation) -> str:
    text = str(annotation) if not isinstance(annotation, type) else annotation.__name__
    text = re.sub(r"offlabel\.spec\.[a-z_.]*\.|typing\.|datetime\.", "", text)
    text = text.replace("Annotated[str, ConceptSetName]", "concept set name").replace(
        "Annotated[str, CohortName]", "cohort name")
    if text.startswith("Optional[") and text.endswith("]"):
        text = text[9:-1] + " or None"
    if "Annotated[Union[" in text:
        if "EventCountRule" in text:
            return "list of inclusion rules (count rule, `any_of`, `all_of`)"
        return "list of analyses (by `type`)"
    if text.startswith("Union["):
        return " or ".join(part.strip() for part in text[6:-1].split(","))
    return text.replace("NoneType", "None").replace(" | ", " or ")


def _default(field) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default
    if isinstance(value, BaseModel):
        return f"`{value.model_dump(exclude_none=True)}`"
    return "—" if value is None else f"`{value!r}`"


_OPS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<", "min_length": "at least", "pattern": "matches"}


def _constraint(meta) -> str:
    for attr, op in _OPS.items():
        value = getattr(meta, attr, None)
        if value is not None:
            return f"{op} {value}" if attr != "pattern" else f"matches `{value}`"
    return ""


def _section(model: type[BaseModel], title: str) -> list[str]:
    refs = references(model)
    lines = [f"## {title}", "", " ".join((model.__doc__ or "").split()), "",
             "| field | type | default | meaning |", "| --- | --- | --- | --- |"]
    for name, field in model.model_fields.items():
        constraints = [_constraint(m) for m in field.metadata if _constraint(m)]
        meaning = " ".join((field.description or "").split())
        if constraints:
            meaning += f" ({', '.join(constraints)})"
        shown = f"{refs[name]} name" if field.annotation is str and isinstance(refs.get(name), str) else \
            _type_name(field.annotation)
        lines.append(f"| `{name}` | {shown} | {_default(field)} | {meaning} |")
    return lines + [""]


def _parts(model: type[BaseModel], seen: tuple = ()) -> list[type[BaseModel]]:
    """The models nested in a settings model's fields (e.g. a list of lab settings), depth first."""
    out = []
    for field in model.model_fields.values():
        stack = [field.annotation]
        while stack:
            a = stack.pop(0)
            if isinstance(a, type) and issubclass(a, BaseModel):
                if a not in seen and a not in out:
                    out.append(a)
                    out += [p for p in _parts(a, (*seen, model, *out)) if p not in out]
            else:
                stack.extend(get_args(a))
    return out


def reference() -> str:
    lines = [
        "# The study file (reference)",
        "",
        f"Generated from the models in `src/offlabel/spec/` by `make docs`; spec_version {SPEC_VERSION}.",
        "Every problem in a study file is reported at once with its YAML path, e.g.",
        "`analyses[2].washout_days: must be >= 0, got -5`.",
        "",
    ]
    lines += _section(Study, "Study (top level)")
    lines += _section(ConceptSetItem, "Concept set item")
    lines += _section(Strength, "Concept set item: strength")
    for model in (cohorts.CohortDefinition, cohorts.CohortEntry, cohorts.DateRange, cohorts.EventCountRule,
                  cohorts.RelativeWindow, cohorts.CalendarWindow, cohorts.AnyOf, cohorts.AllOf,
                  cohorts.EndOfObservationExit, cohorts.DrugEraExit, cohorts.FixedDaysExit, cohorts.EventEndExit):
        lines += _section(model, f"Cohort: {model.__name__}")
    for model in SETTINGS:
        kind = get_args(model.model_fields["type"].annotation)[0]
        lines += _section(model, f"Analysis `type: {kind}`")
        for part in _parts(model):
            lines += _section(part, f"Analysis `type: {kind}`: {part.__name__}")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(reference(), end="")
