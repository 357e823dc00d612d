"""Figures as inline SVG: deterministic (fixed hash salt, no date), no network needed to view."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams.update({
    "svg.hashsalt": "offlabel",  # stable element ids: same results, byte-identical report
    "svg.fonttype": "none",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
})


def to_svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def calendar_trend(series: dict[str, list[tuple[int, float | None]]], ylabel: str, title: str) -> str:
    """Lines by calendar period, one per series; suppressed points (None) leave gaps."""
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    for label, points in sorted(series.items()):
        xs = [x for x, _ in points]
        ys = [float("nan") if y is None else y for _, y in points]
        ax.plot(xs, ys, marker="o", markersize=3, label=label)
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    if len(series) > 1:
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return to_svg(fig)
