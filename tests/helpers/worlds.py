"""The configs of the synthetic worlds that tests and coverage benchmarks build.

They do not read the demo world's config (src/offlabel/synth/worlds/demo.yaml): the demo is a
showcase whose settings may change, while the planted-truth tests and the coverage benchmarks are
calibrated and recorded on these worlds. `ms_raised()` is the Norway default with MS prevalence
raised 20-fold and the illustrative LDN stop reasons: the demo world as it was when those
numbers were recorded.
"""

from __future__ import annotations

from offlabel.synth.config import WorldConfig

_MS_RAISED = {
    "name": "offlabel demo world (MS prevalence raised 20-fold)",
    "ms": {"prevalence_multiplier": 20.0},
    "ldn": {"stop_reason_shares": {"adverse effects": 0.2, "no effect": 0.3, "cost": 0.05}},
}


def ms_raised() -> dict:
    """The MS-raised world's config as a dict (WorldConfig.model_dump), for a test to change."""
    return WorldConfig.model_validate(_MS_RAISED).model_dump(mode="json")


MS_RAISED = WorldConfig.model_validate(_MS_RAISED)
