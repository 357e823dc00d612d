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


def cumulative_curve(points: list[tuple[float, float | None, float | None, float | None]], xlabel: str,
                     ylabel: str, title: str, marks: list[float] | None = None) -> str:
    """A step curve of a cumulative proportion (x, estimate, lower, upper) with its confidence band.

    Points whose estimate is missing (suppressed) leave gaps; `marks` draws dotted vertical lines
    (e.g. at 3, 6 and 12 months).
    """
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    xs = [p[0] for p in points]
    nan = float("nan")
    est = [nan if p[1] is None else p[1] for p in points]
    lo = [nan if p[2] is None else p[2] for p in points]
    hi = [nan if p[3] is None else p[3] for p in points]
    ax.fill_between(xs, lo, hi, step="post", color="tab:blue", alpha=0.2, linewidth=0)
    ax.step(xs, est, where="post", color="tab:blue")
    for m in marks or []:
        ax.axvline(m, color="grey", linestyle=":", linewidth=0.8)
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, 1)
    ax.set_xlim(left=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    return to_svg(fig)
