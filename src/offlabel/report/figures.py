"""Figures as inline SVG: deterministic (fixed hash salt, no date), no network needed to view."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, PercentFormatter  # noqa: E402

plt.rcParams.update({
    "svg.hashsalt": "offlabel",  # stable element ids: same results, byte-identical report
    "svg.fonttype": "none",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
})


def to_svg(fig) -> str:
    # The tight box (labels and outside legends included) measured on the Agg canvas, not by
    # bbox_inches="tight", which renders the whole SVG twice to measure it (0.6 s of the flagship's
    # report). Agg's text extents are a little wider than the SVG's, so nothing is cut off.
    bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.1)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches=bbox, metadata={"Date": None})
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
        ax.set_xscale("log")
        _log_ticks(ax, [v for _, *values in rows for v in values if v is not None and v > 0] + [null])
    ax.set_yticks(ys)
    ax.set_yticklabels([label for label, *_ in rows])
    ax.set_ylim(0.3, len(rows) + 0.7)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    return to_svg(fig)


def _log_ticks(ax, values: list[float]) -> None:
    """Readable ticks on a log axis: 1-2-5 steps, finer ones (1.25, 1.5, 3, 7) when the range is narrow;
    no minor labels (matplotlib's default minor labels run into each other)."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    lo, hi = min(values), max(values)
    ticks: list[float] = []
    for mantissas in ((1, 2, 5), (1, 1.5, 2, 3, 5, 7), (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9)):
        ticks = [m * 10.0 ** e for e in range(-4, 5) for m in mantissas if lo <= m * 10.0 ** e <= hi]
        if len(ticks) >= 4:
            break
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


def smd_plot(rows: list[tuple[str, str, float | None]], xlabel: str, title: str) -> str:
    """Standardised mean differences: one line per row label, one marker per compared stratum; lines at
    +-0.1 (balance) and 0. rows: (label, stratum, smd or None)."""
    labels = list(dict.fromkeys(label for label, _, _ in rows))
    strata = list(dict.fromkeys(s for _, s, _ in rows))
    fig, ax = plt.subplots(figsize=(7.5, 0.22 * len(labels) + 1.2))
    ys = {label: len(labels) - i for i, label in enumerate(labels)}
    markers = "osD^v"
    shown = 0
    for k, s in enumerate(strata):
        pts = [(d, ys[label]) for label, st, d in rows if st == s and d is not None]
        if pts:
            shown += 1
            ax.plot([d for d, _ in pts], [y for _, y in pts], linestyle="none", marker=markers[k % len(markers)],
                    markersize=4, label=s)
    if not shown:  # every difference suppressed (small cells) or not computable
        ax.text(0.5, 0.5, "no difference to show (small cells suppressed)", transform=ax.transAxes,
                ha="center", va="center", color="grey")
    for x in (-0.1, 0.1):
        ax.axvline(x, color="grey", linestyle="--", linewidth=0.8)
    ax.axvline(0, color="grey", linewidth=0.6)
    ax.set_yticks(list(ys.values()))
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_ylim(0.3, len(labels) + 0.7)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    if shown and len(strata) > 1:
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return to_svg(fig)


def box_plot(boxes: list[tuple[str, dict]], xlabel: str, title: str) -> str:
    """Horizontal box plots from summaries: (label, {q05, q25, median, q75, q95, mean}); whiskers at the
    5th and 95th percentiles (no single values are drawn)."""
    stats = [{"label": label, "whislo": s["q05"], "q1": s["q25"], "med": s["median"], "q3": s["q75"],
              "whishi": s["q95"], "mean": s.get("mean"), "fliers": []} for label, s in boxes]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(stats) + 1.2))
    ax.bxp(stats[::-1], orientation="horizontal", showmeans=all(s["mean"] is not None for s in stats),
           showfliers=False, patch_artist=False)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    return to_svg(fig)


def survival_curve(points: list[tuple[float, float, float | None, float | None]], at_risk: list[tuple[int, str]],
                   ylabel: str, title: str) -> str:
    """A Kaplan-Meier step curve (time, estimate, lower, upper) with its CI band, and the numbers at risk
    (time, text) under the time axis."""
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    t = [p[0] for p in points]
    ax.step(t, [p[1] for p in points], where="post", color="black", linewidth=1.2)
    lo = [float("nan") if p[2] is None else p[2] for p in points]
    hi = [float("nan") if p[3] is None else p[3] for p in points]
    ax.fill_between(t, lo, hi, step="post", color="grey", alpha=0.3, linewidth=0)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("days since index")
    ax.set_title(title, loc="left")
    if at_risk:
        ax.set_xticks([d for d, _ in at_risk])
        for d, n in at_risk:
            ax.annotate(n, (d, 0), xycoords=("data", "axes fraction"),
                        xytext=(0, -46), textcoords="offset points", ha="center", fontsize=8)
        ax.annotate("at risk", (0, 0), xycoords="axes fraction", xytext=(-30, -46), textcoords="offset points",
                    ha="right", fontsize=8)
    return to_svg(fig)


def proportion_curve(points: list[tuple[float, float | None, float | None, float | None]], ylabel: str,
                     title: str, xlabel: str = "days since index") -> str:
    """A curve of percentages (x, estimate, lower, upper) with its CI band; suppressed points are gaps."""
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    nan = float("nan")
    xs = [p[0] for p in points]
    ax.plot(xs, [nan if p[1] is None else p[1] for p in points], color="black", linewidth=1.2)
    ax.fill_between(xs, [nan if p[2] is None else p[2] for p in points], [nan if p[3] is None else p[3] for p in points],
                    color="grey", alpha=0.3, linewidth=0)
    ax.set_ylim(0, 104)  # head room: a curve at 100% would hide under the frame
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel(ylabel)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    return to_svg(fig)


def bars(values: list[tuple[str, float | None]], xlabel: str, title: str) -> str:
    """Horizontal bars, top to bottom; a missing (suppressed) value leaves its label without a bar."""
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(values) + 1.0))
    ys = list(range(len(values), 0, -1))
    ax.barh(ys, [0 if v is None else v for _, v in values], color="#4c72b0", height=0.6)
    ax.set_yticks(ys)
    ax.set_yticklabels([label for label, _ in values])
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
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, 1)
    ax.set_xlim(left=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    return to_svg(fig)
