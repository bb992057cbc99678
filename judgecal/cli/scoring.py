"""What ``apply`` and ``compare`` share: calibrated predictions of any calibrator, and metrics.

Every calibrator kind answers the same question here, P(a human rates the
item positively): :meth:`predict_agreement` where the calibrator has one (the
Bayesian kinds: binary, monotone, ordinal at its threshold, pairwise with ties
counted half), else column 1 of :meth:`predict_proba`. A feature-adjusted
calibrator gets its feature columns beside the score.

Examples
--------
>>> import numpy as np
>>> rows = metric_rows([0, 1, 1, 0], np.ones(4), {"raw judge": [0.2, 0.7, 0.9, 0.4]})
>>> rows[0].name, round(rows[0].brier, 3)
('raw judge', 0.075)
>>> print(metrics_table(rows).splitlines()[0])
| predictor | Brier | ECE | log loss |
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "MetricRow",
    "agreement",
    "calibrator_inputs",
    "interval",
    "metric_rows",
    "metrics_table",
    "reliability_plot",
]


def calibrator_inputs(calibrator: Any, scores: Any, features: Mapping[str, Any]) -> Any:
    """The ``X`` a calibrator predicts from: the scores, plus its feature columns if it has any."""
    names = feature_names(calibrator)
    if not names:
        return np.asarray(scores, dtype=np.float64)
    columns = [np.asarray(scores, dtype=np.float64)]
    columns += [np.asarray(features[name], dtype=np.float64) for name in names]
    return np.column_stack(columns)


def feature_names(calibrator: Any) -> tuple[str, ...]:
    """The feature columns a feature-adjusted calibrator needs (empty for the others).

    Examples
    --------
    >>> from judgecal import FeatureAdjustedCalibrator, IsotonicCalibrator
    >>> feature_names(FeatureAdjustedCalibrator(features=("mentions",)))
    ('mentions',)
    >>> feature_names(IsotonicCalibrator())
    ()
    """
    from judgecal.calibration.feature_adjusted import FeatureAdjustedCalibrator

    if isinstance(calibrator, FeatureAdjustedCalibrator):
        return tuple(str(name) for name in calibrator.features)
    return ()


def agreement(calibrator: Any, inputs: Any, stages: Any) -> Any:
    """P(a human rates positively) for every row of ``inputs``, shape (n,)."""
    if hasattr(calibrator, "predict_agreement"):
        return np.asarray(calibrator.predict_agreement(inputs, stages=stages), dtype=np.float64)
    return np.asarray(calibrator.predict_proba(inputs, stages=stages)[:, 1], dtype=np.float64)


def interval(calibrator: Any, inputs: Any, stages: Any, level: float) -> Any:
    """The (n, 2) interval of :func:`agreement`, or None when the calibrator has none."""
    if not hasattr(calibrator, "predict_interval"):
        return None
    bounds = np.asarray(
        calibrator.predict_interval(inputs, stages=stages, level=level), dtype=np.float64
    )
    return bounds.reshape(-1, 2)


@dataclass(frozen=True)
class MetricRow:
    """Calibration metrics of one predictor on labelled items (lower is better)."""

    name: str
    brier: float
    ece: float
    log_loss: float


def metric_rows(y: Any, weight: Any, predictions: Mapping[str, Any]) -> list[MetricRow]:
    """Brier score, expected calibration error and log loss of each predictor."""
    from judgecal.metrics import brier_score, expected_calibration_error, log_loss

    rows = []
    for name, probability in predictions.items():
        rows.append(
            MetricRow(
                name=name,
                brier=brier_score(y, probability, sample_weight=weight),
                ece=expected_calibration_error(y, probability, sample_weight=weight),
                log_loss=log_loss(y, probability, sample_weight=weight),
            )
        )
    return rows


def metrics_table(rows: Sequence[MetricRow], *, stage: str | None = None) -> str:
    """The metrics as a markdown table (one row per predictor)."""
    first = "| stage " if stage is not None else ""
    lines = [
        f"{first}| predictor | Brier | ECE | log loss |",
        ("| --- " if stage is not None else "") + "| --- | --- | --- | --- |",
    ]
    for row in rows:
        cell = f"| {stage} " if stage is not None else ""
        lines.append(f"{cell}| {row.name} | {row.brier:.4f} | {row.ece:.4f} | {row.log_loss:.4f} |")
    return "\n".join(lines)


def reliability_plot(
    path: str, y: Any, weight: Any, predictions: Mapping[str, Any], *, title: str
) -> None:
    """Write a reliability diagram of ``predictions`` to ``path`` (atomically)."""
    from judgecal.cli.output import save_plot
    from judgecal.plotting import pyplot, reliability_diagram

    def draw(temporary: str) -> None:
        ax = reliability_diagram(y, predictions, sample_weight=weight, title=title)
        ax.figure.tight_layout()
        ax.figure.savefig(temporary)
        pyplot().close(ax.figure)

    save_plot(path, draw)
