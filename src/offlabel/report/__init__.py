"""The report: one self-contained HTML page rendered only from the results."""

from offlabel.report.render import ReportDraft, render_report

__all__ = ["ReportDraft", "render_report"]
