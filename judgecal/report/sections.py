"""The report's sections, each an HTML fragment built from judgecal's own results.

Every function here takes computed inputs (arrays, reports, estimates) and
returns a :class:`ReportSection`; the computing happens in
:mod:`judgecal.report.build`. All text is HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from judgecal.bias.report import BiasEffect, BiasReport
from judgecal.estimate.results import RateEstimate
from judgecal.metrics import brier_score, expected_calibration_error
from judgecal.report.figures import png_data_uri, reliability_png

__all__ = [
    "CalibrationData",
    "ReportSection",
    "agreement_section",
    "bias_section",
    "calibration_section",
    "estimate_section",
    "html_table",
]


@dataclass(frozen=True)
class ReportSection:
    """One titled part of the report.

    Examples
    --------
    >>> ReportSection("metrics", "Calibration metrics", "<p>ok</p>").title
    'Calibration metrics'
    """

    anchor: str
    """The HTML id of the section (for the table of contents)."""
    title: str
    """Heading, plain text."""
    body: str
    """HTML fragment (already escaped)."""


@dataclass(frozen=True)
class CalibrationData:
    """Held-out items with their human target, raw judge score and calibrated probability."""

    stages: np.ndarray  # type: ignore[type-arg]
    """Stage of each item."""
    targets: np.ndarray  # type: ignore[type-arg]
    """Human target in [0, 1] (share of raters who rated positively)."""
    weights: np.ndarray  # type: ignore[type-arg]
    """Weight of each item (raters)."""
    raw: np.ndarray  # type: ignore[type-arg]
    """The raw judge score mapped to [0, 1]."""
    calibrated: np.ndarray  # type: ignore[type-arg]
    """The calibrated probability that a human rates the item positively."""
    note: str
    """Which items these are, in words."""


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An HTML table of escaped cells; numeric-looking cells align right.

    Examples
    --------
    >>> table = html_table(["a", "b"], [["x<y", "1.0"]])
    >>> "<td>x&lt;y</td>" in table, '<td class="num">1.0</td>' in table
    (True, True)
    """
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(_cell(cell) for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(text: str) -> str:
    numeric = text.replace(".", "", 1).replace("-", "", 1).replace("%", "").isdigit()
    css = ' class="num"' if numeric else ""
    return f"<td{css}>{html.escape(text)}</td>"


def _figure(uri: str, caption: str) -> str:
    alt = html.escape(caption, quote=True)
    return (
        f'<figure><img src="{uri}" alt="{alt}" class="figure">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _stage_order(stages: np.ndarray) -> list[str]:  # type: ignore[type-arg]
    return list(dict.fromkeys(str(s) for s in stages.tolist()))


def calibration_section(data: CalibrationData) -> tuple[ReportSection, ReportSection]:
    """Per-stage reliability diagrams (raw against calibrated) and the metrics table."""
    figures = []
    for stage in _stage_order(data.stages):
        mask = data.stages == stage
        uri = reliability_png(
            data.targets[mask],
            data.raw[mask],
            data.calibrated[mask],
            weights=data.weights[mask],
            title=stage,
        )
        figures.append(_figure(uri, f"{stage}: {int(mask.sum())} items"))
    intro = f"<p>{html.escape(data.note)}</p>"
    diagrams = ReportSection(
        "reliability",
        "Reliability diagrams: raw judge against calibrated",
        intro + '<div class="grid">' + "".join(figures) + "</div>",
    )
    return diagrams, ReportSection("metrics", "Calibration metrics", _metrics_table(data))


def _metrics_row(name: str, data: CalibrationData, mask: Any) -> list[str]:
    y, w = data.targets[mask], data.weights[mask]
    values = [
        expected_calibration_error(y, data.raw[mask], sample_weight=w),
        expected_calibration_error(y, data.calibrated[mask], sample_weight=w),
        brier_score(y, data.raw[mask], sample_weight=w),
        brier_score(y, data.calibrated[mask], sample_weight=w),
    ]
    return [name, str(int(np.sum(mask)))] + [f"{value:.3f}" for value in values]


def _metrics_table(data: CalibrationData) -> str:
    rows = [_metrics_row(stage, data, data.stages == stage) for stage in _stage_order(data.stages)]
    rows.append(_metrics_row("all", data, np.ones(len(data.stages), dtype=bool)))
    header = ["stage", "items", "raw ECE", "calibrated ECE", "raw Brier", "calibrated Brier"]
    explain = (
        "<p>ECE: expected calibration error (10 equal-width bins); Brier: mean squared error "
        "of the probability against the human target. Lower is better for both.</p>"
    )
    return explain + html_table(header, rows)


def agreement_section(agreement_html: str) -> ReportSection:
    """The agreement report (human-human, judge-human, judge-judge) as given by ``to_html``."""
    demoted = agreement_html.replace("<h3", "<h4").replace("</h3>", "</h4>")
    demoted = demoted.replace("<h2", "<h3").replace("</h2>", "</h3>")
    return ReportSection("agreement", "Agreement", demoted)


def _direction(effect: BiasEffect, alpha: float) -> str:
    way = effect.direction(alpha)
    if effect.estimate is None:
        return "not measurable (no usable items)"
    if way is None:
        return f"no clear effect at alpha {alpha:g}"
    if effect.kind == "preference":
        return (
            f"{way}: the judge picks it {'more' if way == 'higher' else 'less'} often than humans"
        )
    towards = "rewards" if way == "higher" else "penalises"
    return f"{way}: the judge {towards} it beyond what humans do"


def bias_section(report: BiasReport | None, reason: str = "") -> ReportSection:
    """Bias findings with their direction, plus the forest plot."""
    if report is None or not report.effects:
        text = reason or "No surface features were available to test."
        return ReportSection("bias", "Bias findings", f"<p>{html.escape(text)}</p>")
    header = ["finding", "stage", "estimate", "interval", "n", "direction"]
    rows = [
        [
            e.label(),
            e.stage,
            f"{e.estimate:.3f}" if e.estimate is not None else "n/a",
            e.interval_text(),
            str(e.n),
            _direction(e, report.alpha),
        ]
        for e in report.effects
    ]
    plot = png_data_uri(lambda axes: report.plot(ax=axes), size=(7.0, 0.5 + 0.45 * len(rows)))
    body = (
        "".join(f"<p>{html.escape(note)}</p>" for note in report.notes)
        + html_table(header, rows)
        + _figure(plot, "Effects with their intervals (0: no bias)")
    )
    return ReportSection("bias", "Bias findings", body)


def _worth_words(result: RateEstimate) -> str:
    gained = result.labels_gained
    return (
        f"With {result.n_labelled} human labels and the judge on {result.n_unlabelled} more "
        f"items, the interval is as narrow as a human-only estimate from about "
        f"{result.effective_labels:.0f} labels: the judge was worth about {gained:.0f} "
        f"human labels ({result.effective_labels / max(result.n_labelled, 1):.2f}x)."
    )


def estimate_section(result: RateEstimate) -> ReportSection:
    """The human-rate estimate with its interval, the baselines, and what the judge was worth."""
    header = ["estimator", "estimate", f"{result.level:.0%} interval", "width"]
    human, judge = result.human_only, result.judge_only
    rows = [
        [
            result.method,
            f"{result.estimate:.3f}",
            f"[{result.low:.3f}, {result.high:.3f}]",
            f"{result.width:.3f}",
        ],
        [
            "human labels only",
            f"{human.estimate:.3f}",
            f"[{human.low:.3f}, {human.high:.3f}]",
            f"{human.width:.3f}",
        ],
        [
            "raw judge only (naive)",
            f"{judge.estimate:.3f}",
            f"[{judge.low:.3f}, {judge.high:.3f}]",
            f"{judge.width:.3f}",
        ],
    ]
    body = (
        f"<p><strong>{html.escape(result.estimand)}</strong></p>"
        + html_table(header, rows)
        + f'<p class="worth">{html.escape(_worth_words(result))}</p>'
    )
    return ReportSection("estimate", "Human rate", body)
