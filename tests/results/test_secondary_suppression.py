"""Secondary suppression of attrition chains and of partitions of a total: no suppressed count can
be worked out from what is shown."""

from __future__ import annotations

import itertools
import random

import pytest

from offlabel.results.secondary import complementary_cells, small, suppress_chain, unprotectable


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


# -- partitions of a shown total -----------------------------------------------------------------

def _leaks(counts: list[int], hidden: set, m: int) -> list[int]:
    """The primarily suppressed cells (0 < n < m) that a reader can work out, by brute force.

    The reader's knowledge, exactly: every shown cell; which cells are hidden; the total, unless it
    is itself small (then export hides it); and a lower bound on each hidden cell: 1, since zeros
    are shown; when the rule has hidden zero cells too, the reader is granted that the hidden cells
    are then 0 or 1 (the rule hides zeros only when every non-zero cell is 1). Nothing else (in
    particular not that a hidden cell is below m). A cell is worked out when every assignment of
    the hidden cells that agrees with this knowledge gives it the same value.
    """
    total = sum(counts)
    hide = sorted(hidden)
    zeros_hidden = any(counts[i] == 0 for i in hide)
    remaining = total - sum(n for i, n in enumerate(counts) if i not in hidden)
    total_shown = not small(total, m)
    # without a total the hidden cells are unbounded and independent: two values show it
    lo, hi = (0, 1) if zeros_hidden else (1, remaining if total_shown else 2)
    assert all(lo <= counts[i] <= hi for i in hide) or not total_shown  # the truth agrees with it
    primary = [i for i in hide if small(counts[i], m)]
    seen = {i: set() for i in primary}
    for values in itertools.product(range(lo, hi + 1), repeat=len(hide)):
        if total_shown and sum(values) != remaining:
            continue
        for i, v in zip(hide, values):
            if i in seen:
                seen[i].add(v)
        if all(len(v) > 1 for v in seen.values()):
            break
    return [i for i in primary if len(seen[i]) == 1]


def _protected(counts: list[int], m: int) -> bool:
    hidden = complementary_cells(dict(enumerate(counts)), m)
    assert {i for i, n in enumerate(counts) if small(n, m)} <= hidden
    return not _leaks(counts, hidden, m)


def _check(counts: list[int], m: int) -> None:
    """complementary_cells protects the partition, or `unprotectable` says that nothing among its
    cells can (and the brute force agrees: the callers then leave the cells out)."""
    if unprotectable(dict(enumerate(counts)), m):
        assert not _protected(counts, m), (counts, m)
        hidden_all = set(range(len(counts)))
        assert _leaks(counts, hidden_all, m), (counts, m)  # not even hiding every cell helps
    else:
        assert _protected(counts, m), (counts, m)


@pytest.mark.parametrize("m", [2, 3, 5])
def test_every_small_partition(m):
    for k in range(1, 6):
        for counts in itertools.product([0, 1, 2, 3, 4, 5, 6, 9][:m + 3], repeat=k):
            _check(list(counts), m)


def test_random_partitions():
    rng = random.Random(7)
    for _ in range(400):
        m = rng.choice([3, 5])
        counts = [rng.choice([0, 0, 1, 1, 1, 2, 4, 5, 8, 20]) for _ in range(rng.randint(2, 7))]
        _check(counts, m)


def test_unprotectable_partitions():
    assert unprotectable({"a": 1, "b": 1, "c": 1, "d": 1, "e": 1}, 5)      # five persons, five levels
    assert not unprotectable({"a": 1, "b": 1, "c": 1, "d": 1}, 5)          # total 4: hidden at export
    assert not unprotectable({"a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "z": 0}, 5)  # the zero protects
    assert not unprotectable({"a": 1, "b": 1, "c": 1, "d": 1, "e": 2}, 5)
    assert not unprotectable({"a": 1, "b": 1}, 1)                           # nothing is small
    assert not unprotectable({}, 5)


@pytest.mark.parametrize("counts, hidden", [
    ({"a": 10, "b": 3, "c": 20}, {"b", "a"}),               # one small: the smallest other goes with it
    ({"a": 10, "b": 3, "c": 2}, {"b", "c"}),                 # two small adding up to 5
    ({"a": 10, "b": 1, "c": 2, "d": 30}, {"b", "c", "a"}),   # 1 + 2 < 5: one more
    ({"a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "f": 20}, {"a", "b", "c", "d", "e", "f"}),  # five ones: 5 = 5 cells
    ({"a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "z": 0}, {"a", "b", "c", "d", "e", "z"}),   # only ones: zeros too
    ({"a": 10, "b": 0, "c": 20}, set()),
    ({"a": 3}, {"a"}),                                       # the total is itself small: hidden at export
    ({"a": 3, "z": 0}, {"a"}),
])
def test_complementary_cells(counts, hidden):
    assert complementary_cells(counts, 5) == hidden


def test_the_check_finds_leaks():
    """The brute force is not vacuous: it finds what weaker rules give away."""
    def one_complement(counts, m):  # the former rule of characteristics and switching
        hidden = {i for i, n in enumerate(counts) if small(n, m)}
        if len(hidden) == 1:
            hidden.add(min((n, i) for i, n in enumerate(counts) if i not in hidden and n > 0)[1])
        return hidden

    assert _leaks([1, 1, 20], one_complement([1, 1, 20], 5), 5) == [0, 1]   # 1 + 1 = 2 hidden cells
    assert _leaks([1, 1, 1, 1, 1, 20], {0, 1, 2, 3, 4}, 5) == [0, 1, 2, 3, 4]  # sum 5 >= m, all ones
    assert _leaks([3, 10, 20], {0}, 5) == [0]
    assert _leaks([1, 1, 1, 1, 1], complementary_cells(dict(enumerate([1] * 5)), 5), 5)  # unprotectable


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
