"""The report: one self-contained HTML page rendered only from the results."""

from offlabel.report.render import render_report

__all__ = ["render_report"]
