"""Secondary suppression: hiding the numbers from which a suppressed count could be worked out.

Primary suppression (`suppression.py`) hides every count 0 < n < min_cell_count at export. A
hidden count can still be recovered from the numbers around it: each step of an attrition table
is the difference of the counts before and after it, so a small exclusion shown as "<5" between
two shown totals is no secret; and the levels of a categorical row add up to its shown total, so
a single hidden level is the total minus the others. omopgenerics accepts these leaks; offlabel
does not. The analyses that publish such numbers hide their complements here, before export:
`suppress_chain` for attrition chains, `complementary_cells` for a partition of a total (levels of
a categorical row, categories of treatment change, reasons for discontinuation), and `small` says
which counts primary suppression will hide.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Mapping

__all__ = ["complementary_cells", "small", "suppress_chain", "unprotectable"]


def small(value, min_cell_count: int) -> bool:
    """Whether primary suppression hides this count: a whole number 0 < n < min_cell_count.

    Zero is shown (as in omopgenerics: it describes nobody), and so is anything that is not a
    count (None, a value already suppressed, a bool, a float).
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and 0 < value < min_cell_count


def complementary_cells(counts: Mapping[Hashable, int], min_cell_count: int) -> set:
    """The cells to hide in a partition of a shown total (classic complementary cell suppression).

    counts: mutually exclusive cells (levels, categories) whose sum is published. Hidden are the
    small cells (primary suppression, see `small`) and, when there is one, complements, so that
    the total and the shown cells do not give a small one back. A reader knows the sum S of the
    hidden cells (total minus shown) and, since zeros are shown, that each is >= 1; so the smallest
    other non-zero cells are hidden too until
    - at least two cells are hidden (one hidden cell would be S itself),
    - the hidden cells add up to min_cell_count or more (else S < m bounds each of them tightly),
    - not every hidden cell is 1 (then S equals their number and gives each of them away).
    When the non-zero cells run out first, every one is hidden and adds up to the total: a total
    below min_cell_count is itself hidden at export, which leaves nothing to subtract from; a
    shown total whose cells are all 1 (as many cells as persons) has its zero cells hidden too, so
    that which cells hold the ones is not known. Without zero cells such a partition cannot be
    protected by its cells (`unprotectable`: the caller leaves its cells out). Ties are broken by the
    cell's key (as text), so the same counts hide the same cells. The rule is checked by brute
    force in tests/results/test_secondary_suppression.py.
    """
    m = int(min_cell_count)
    hidden = {k for k, n in counts.items() if small(n, m)}
    if not hidden:
        return hidden
    others = sorted(((n, str(k)), k) for k, n in counts.items() if k not in hidden and n > 0)

    def exposed() -> bool:
        s = sum(counts[k] for k in hidden)
        return len(hidden) < 2 or s < m or s == len(hidden)

    while others and exposed():
        hidden.add(others.pop(0)[1])
    if exposed() and sum(counts[k] for k in hidden) >= m:  # all ones, as many as the shown total
        hidden |= {k for k, n in counts.items() if n == 0}
    return hidden


def unprotectable(counts: Mapping[Hashable, int], min_cell_count: int) -> bool:
    """Whether a partition of a shown total gives its small cells away whatever of it is hidden:
    every cell is 1 and there are min_cell_count or more of them (so the total is shown). The total
    and the number of cells then say that each holds one person; the caller leaves the cells out
    of the result altogether (their levels are what would be given away). A total below
    min_cell_count is hidden at export, and a zero cell among the ones is hidden with them by
    `complementary_cells`: both are protected."""
    m = int(min_cell_count)
    values = list(counts.values())
    return small(1, m) and len(values) >= m and all(small(n, m) and n == 1 for n in values)


def suppress_chain(totals: list[int], min_cell_count: int) -> tuple[list[bool], list[bool]]:
    """Which totals and which exclusions of an attrition chain to hide.

    totals: the counts left after each step, N_0 >= N_1 >= ... >= N_k; exclusion i is
    E_i = N_{i-1} - N_i (E_0 = 0, the entry step excludes nothing).

    Returns (hide_total, hide_exclusion), one flag per step. Besides the small counts themselves:
    - a small exclusion (0 < E_i < m) hides N_i, and the exclusions after it up to the first step j
      at which the hidden exclusions E_i + ... + E_j add up to at least m (N_i ... N_{j-1} hidden
      too): the shown totals N_{i-1} and N_j then bound E_i only by a gap of at least m. When the
      chain ends first, its last total is hidden as well;
    - a small total (0 < N_i < m) hides the exclusion E_i that leads to it, which with N_{i-1}
      would give it away (the exclusions after it are small or zero and follow the rule above).
    The result is checked by brute force in tests/results/test_secondary_suppression.py: no
    primarily suppressed count is determined by what is shown.
    """
    m = int(min_cell_count)
    n = len(totals)
    exclusions = [0] + [totals[i - 1] - totals[i] for i in range(1, n)]
    if any(e < 0 for e in exclusions):
        raise ValueError(f"attrition totals must not increase from step to step, got {totals}")
    small = [0 < v < m for v in totals], [0 < v < m for v in exclusions]
    hide_total, hide_exclusion = list(small[0]), list(small[1])
    for i in range(1, n):
        if small[0][i]:
            hide_exclusion[i] = True
        if not small[1][i]:
            continue
        hide_total[i] = True
        hidden_sum, j = exclusions[i], i
        while hidden_sum < m:
            j += 1
            if j == n:  # no step left to share the gap with: the last total goes too
                hide_total[n - 1] = True
                break
            hide_exclusion[j] = True
            hidden_sum += exclusions[j]
            if hidden_sum < m:
                hide_total[j] = True
    return hide_total, hide_exclusion
