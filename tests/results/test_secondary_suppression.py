"""Secondary suppression of attrition chains: no suppressed count can be worked out from what is shown."""

from __future__ import annotations

import random

import pytest

from offlabel.results.secondary import suppress_chain


def _shown(totals, m):
    hide_t, hide_e = suppress_chain(totals, m)
    exclusions = [0] + [a - b for a, b in zip(totals, totals[1:])]
    return ([None if h else t for t, h in zip(totals, hide_t)],
            [None if h else e for e, h in zip(exclusions, hide_e)], exclusions)


def _feasible(shown_totals, shown_exclusions, bound):
    """Every chain of totals (non-increasing, >= 0) that agrees with everything shown (depth first)."""
    def extend(chain):
        i = len(chain)
        if i == len(shown_totals):
            yield chain, [0] + [a - b for a, b in zip(chain, chain[1:])]
            return
        top = bound if i == 0 else chain[-1]
        options = [shown_totals[i]] if shown_totals[i] is not None else range(top + 1)
        for t in options:
            if i and (t > chain[-1] or (shown_exclusions[i] is not None and chain[-1] - t != shown_exclusions[i])):
                continue
            yield from extend(chain + [t])
    yield from extend([])


def _assert_protected(totals, m):
    shown_t, shown_e, exclusions = _shown(totals, m)
    bound = max(totals) + m
    solutions = list(_feasible(shown_t, shown_e, bound))
    assert (totals, exclusions) in solutions
    for i, (t, e) in enumerate(zip(totals, exclusions)):
        if 0 < t < m:
            assert shown_t[i] is None and len({s[0][i] for s in solutions}) > 1, (totals, i, "total")
        if 0 < e < m:
            assert shown_e[i] is None and len({s[1][i] for s in solutions}) > 1, (totals, i, "exclusion")


@pytest.mark.parametrize("totals", [
    [100, 97, 60, 60, 20],   # one small exclusion, the next one large
    [100, 98, 97, 97, 96],   # small exclusions in a row: the gap runs to the end of the chain
    [100, 3, 3, 0],          # a small total after a large exclusion
    [40, 40, 38, 0],
    [3, 2, 1, 0],            # everything small
    [500, 500, 500],         # nothing to hide
])
def test_chains_of_attrition(totals):
    _assert_protected(totals, 5)


def test_random_chains():
    rng = random.Random(5)
    for _ in range(150):
        totals = [rng.randint(0, 14)]
        for _ in range(rng.randint(1, 4)):
            totals.append(max(0, totals[-1] - rng.choice([0, 0, 1, 2, 3, 4, 6, 9])))
        _assert_protected(totals, 5)


def test_nothing_small_hides_nothing():
    assert suppress_chain([1000, 900, 800], 5) == ([False] * 3, [False] * 3)


def test_small_exclusion_hides_its_complements():
    hide_t, hide_e = suppress_chain([100, 97, 60, 60], 5)
    assert hide_t == [False, True, False, False]
    assert hide_e == [False, True, True, False]


def test_increasing_totals_are_refused():
    with pytest.raises(ValueError, match="must not increase"):
        suppress_chain([10, 12], 5)


def test_attrition_analysis_hides_complements(eunomia_path, tmp_path):
    """On Eunomia, 44 of 1,844 celecoxib users start outside an observation period (a known Eunomia
    quirk): with a threshold of 50 that exclusion is hidden, and so is everything that would give it
    away (the totals after it, as the later steps exclude nobody and cannot share the gap); the steps
    before it stay shown."""
    import textwrap

    from offlabel.results import SUPPRESSED, import_summarised_result
    from offlabel.run import run_study

    study = tmp_path / "study.yaml"
    study.write_text(textwrap.dedent("""
        spec_version: 1
        name: attrition_test
        min_cell_count: 50
        concept_sets:
          celecoxib: [{concept_id: 1118084, include_descendants: true}]
          gi_bleed: [{concept_id: 192671, include_descendants: true}]
        cohorts:
          celecoxib_users:
            entry: {concept_set: celecoxib, events: first}
            prior_observation_days: 365
            inclusion:
              - {concept_set: gi_bleed, max_count: 0, min_count: 0, window: {start: -365, end: -1}}
        analyses:
          - type: cohort_attrition
        """))
    assert run_study(study, str(eunomia_path), tmp_path / "out") == 0
    result = import_summarised_result(tmp_path / "out" / "results.csv")
    steps: dict[int, dict] = {}
    for r in result.rows:
        steps.setdefault(int(r.additional_level), {})[r.variable_name] = r.estimate_value
    reasons = [r.strata_level for r in result.rows if r.variable_name == "number_subjects"]
    step = next(i for i, reason in enumerate(reasons, start=1) if "in an observation period" in reason)
    assert steps[step - 1]["number_subjects"] == 1844
    for variable in ("number_subjects", "excluded_subjects", "number_records", "excluded_records"):
        assert steps[step][variable] is SUPPRESSED
    for later in range(step + 1, max(steps) + 1):
        assert steps[later]["number_subjects"] is SUPPRESSED
