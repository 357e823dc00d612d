"""Secondary suppression: hiding the numbers from which a suppressed count could be worked out.

Primary suppression (`suppression.py`) hides every count 0 < n < min_cell_count at export. A
hidden count can still be recovered from the numbers around it: each step of an attrition table
is the difference of the counts before and after it, so a small exclusion shown as "<5" between
two shown totals is no secret. omopgenerics accepts that leak; offlabel does not. The analyses
that publish such numbers hide their complements here, before export.
"""

from __future__ import annotations

__all__ = ["suppress_chain"]


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
