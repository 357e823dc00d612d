"""The world config reference as Markdown, generated from the pydantic models.

    .venv/bin/python -m offlabel.synth.reference   # prints the tables of docs/synthetic-world.md
"""

from __future__ import annotations

import json

from pydantic import BaseModel

from offlabel.synth.config import (AdverseEventEffect, ConditionsConfig, DMTConfig, DrugGroupConfig, EffectsConfig,
                                   LabsConfig, LDNConfig, MSConfig, PopulationConfig, PositiveControl, WorldConfig)

SECTIONS = [("population", PopulationConfig), ("ms", MSConfig), ("dmt", DMTConfig), ("ldn", LDNConfig),
            ("drug_groups.<group>", DrugGroupConfig), ("conditions", ConditionsConfig), ("labs", LabsConfig),
            ("effects", EffectsConfig), ("effects.adverse_events.<outcome>", AdverseEventEffect),
            ("effects.positive_controls[]", PositiveControl)]


def _default(model: type[BaseModel], name: str) -> str:
    field = model.model_fields[name]
    if field.is_required():
        return "(required)"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, dict):
        value = {k: (v.model_dump(mode="json") if isinstance(v, BaseModel) else v) for k, v in value.items()}
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    text = json.dumps(value, default=str)
    return text if len(text) < 90 else text[:87] + "..."


def config_reference() -> str:
    lines = []
    for prefix, model in SECTIONS:
        lines += [f"### `{prefix}`", "", "| key | default | meaning |", "| --- | --- | --- |"]
        for name, field in model.model_fields.items():
            desc = (field.description or "").replace("|", "\\|")
            lines.append(f"| `{name}` | `{_default(model, name)}` | {desc} |")
        lines.append("")
    groups = WorldConfig().drug_groups
    lines += ["### Default drug groups", "", "| group | " + " | ".join(DrugGroupConfig.model_fields) + " |",
              "| --- |" + " --- |" * len(DrugGroupConfig.model_fields)]
    for g, cfg in groups.items():
        lines.append(f"| {g} | " + " | ".join(str(getattr(cfg, f)) for f in DrugGroupConfig.model_fields) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(config_reference())
