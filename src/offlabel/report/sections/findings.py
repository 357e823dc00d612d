"""Key findings: one plain sentence per analysis, with its numbers and 95% CIs, for the top of the report.

A section's renderer may return "findings" (a list of sentences) beside its tables and figures. The
words are rules, not judgement: an estimate is "clearly" above or below no effect only when its 95%
CI excludes it; otherwise the sentence says the CI includes no effect. Suppressed estimates are
left out, never guessed.
"""

from __future__ import annotations

from offlabel.results.estimate_values import SUPPRESSED


def known(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value is not SUPPRESSED


def with_ci(est, lower, upper, fmt) -> str:
    return f"{fmt(est)} (95% CI {fmt(lower)} to {fmt(upper)})"


def verdict(lower, upper, null: float) -> str:
    """'above', 'below' or 'unclear' against the no-effect value (1 for ratios, 0 for differences)."""
    if known(lower) and lower > null:
        return "above"
    if known(upper) and upper < null:
        return "below"
    return "unclear"


def grouped(items: list[tuple[str, str, str]], above: str, below: str, unclear: str) -> str:
    """Items (label, verdict, text) as one sentence: the clear ones first, then those whose CI includes no effect."""
    parts = []
    for kind, words in (("above", above), ("below", below), ("unclear", unclear)):
        texts = [f"{label} {text}" for label, v, text in items if v == kind]
        if texts:
            parts.append(f"{words}: {'; '.join(texts)}")
    return ". ".join(parts) + "." if parts else ""
