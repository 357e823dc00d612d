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


def forest(rows: list[tuple[str, float | None, float | None, float | None]], xlabel: str, title: str,
           null: float = 1.0, log: bool = True) -> str:
    """A forest plot: one row per (label, estimate, lower, upper), top to bottom, a line at `null`.

    Rows whose estimate is missing (suppressed or not estimable) keep their label and show no point.
    """
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(rows) + 1.0))
    ys = list(range(len(rows), 0, -1))
    for y, (_, est, lo, hi) in zip(ys, rows):
        if est is None:
            continue
        if lo is not None and hi is not None:
            ax.plot([lo, hi], [y, y], color="black", linewidth=1)
        ax.plot([est], [y], marker="s", markersize=4, color="black")
    ax.axvline(null, color="grey", linestyle="--", linewidth=0.8)
    if log:
        from matplotlib.ticker import FuncFormatter

        ax.set_xscale("log")
        for axis in (ax.xaxis.set_major_formatter, ax.xaxis.set_minor_formatter):
            axis(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_yticks(ys)
    ax.set_yticklabels([label for label, *_ in rows])
    ax.set_ylim(0.3, len(rows) + 0.7)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    return to_svg(fig)


def trajectory(series: dict[str, list[tuple[float | None, float | None, float | None]]], categories: list[str],
               ylabel: str, title: str) -> str:
    """A value by time window for each series (e.g. cohort): a point (median) with a bar (IQR) per
    window, the series side by side; missing (suppressed) points leave gaps."""
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    width = 0.5 / max(len(series), 1)
    for k, (label, points) in enumerate(series.items()):
        shift = (k - (len(series) - 1) / 2) * width
        xs = [i + shift for i in range(len(categories))]
        mids = [float("nan") if p[0] is None else p[0] for p in points]
        ax.plot(xs, mids, marker="o", markersize=4, linewidth=1, label=label)
        colour = ax.lines[-1].get_color()
        for x, (_, lo, hi) in zip(xs, points):
            if lo is not None and hi is not None:
                ax.plot([x, x], [lo, hi], color=colour, linewidth=1)
    ax.set_xticks(range(len(categories)))
    ax.set_xticklabels(categories, rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    if len(series) > 1:
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return to_svg(fig)
