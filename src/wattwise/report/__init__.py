"""Reports of stored runs: self-contained HTML (with plots, SCI, what-ifs), model-card metadata."""

from wattwise.report.html import ReportOptions, render, write_report

__all__ = ["ReportOptions", "render", "write_report"]
