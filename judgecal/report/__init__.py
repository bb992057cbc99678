"""``judgecal report``: one self-contained HTML file for the people who decide on an evaluation.

It holds per-stage reliability diagrams (raw judge against calibrated),
calibration metrics, the agreement table (human-human, judge-human,
judge-judge), bias findings with their direction, and the human-rate estimate
with its interval and how many human labels the judge was worth. Figures are
PNG data URIs and there are no scripts, so the file opens anywhere without
network access.

Examples
--------
>>> import judgecal
>>> from judgecal.report import build_report
>>> report = build_report(judgecal.load_hanna(criteria=("Empathy",)), n_resamples=20)
>>> report.to_html().startswith("<!DOCTYPE html>")
True
"""

from judgecal.report.build import BUNDLED, Report, build_report, write_report
from judgecal.report.sections import ReportSection

__all__ = ["BUNDLED", "Report", "ReportSection", "build_report", "write_report"]
