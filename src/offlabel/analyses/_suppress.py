"""Secondary suppression shared by the analyses: counts that add up to a total that is shown."""

from __future__ import annotations

from collections.abc import Hashable, Mapping


def small(value, min_cell_count: int) -> bool:
    """A count that primary suppression hides: 0 < n < min_cell_count (zero is shown)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < min_cell_count


def complementary(counts: Mapping[Hashable, int], min_cell_count: int) -> set:
    """The keys to hide among counts that partition a total that is shown: every small count, and,
    when exactly one is small (the total minus the others would give it back), the smallest other
    non-zero count too."""
    hidden = {k for k, n in counts.items() if small(n, min_cell_count)}
    if len(hidden) == 1:
        others = sorted(((n, str(k)), k) for k, n in counts.items() if k not in hidden and n > 0)
        if others:
            hidden.add(others[0][1])
    return hidden
