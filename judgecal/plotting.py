"""Reliability diagrams (matplotlib is imported only when a plot is drawn)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from judgecal._exceptions import InputError, MissingDependencyError
from judgecal.metrics import reliability_curve

__all__ = ["MATPLOTLIB_REQUIREMENT", "pyplot", "reliability_diagram"]


MATPLOTLIB_REQUIREMENT = "matplotlib>=3.8"
"""What to install for plots (a dependency of judgecal; missing only in trimmed environments)."""


def pyplot() -> Any:
    """``matplotlib.pyplot``, imported on first use (headless backend when there is no display).

    Raises
    ------
    MissingDependencyError
        When matplotlib is not installed; the message says what to install.

    Examples
    --------
    >>> pyplot().__name__
    'matplotlib.pyplot'
    """
    try:
        import matplotlib

        if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingDependencyError(
            f"Plotting needs matplotlib, which is not installed: "
            f"pip install '{MATPLOTLIB_REQUIREMENT}'"
        ) from exc
    return plt


def reliability_diagram(
    y: Any,
    predictions: Mapping[str, Any],
    *,
    n_bins: int = 10,
    strategy: Literal["uniform", "quantile"] = "uniform",
    sample_weight: Any = None,
    title: str | None = None,
    ax: Any = None,
    path: str | os.PathLike[str] | None = None,
) -> Any:
    """Plot observed agreement against predicted probability for one or more predictors.

    Parameters
    ----------
    y : array-like
        0/1 or soft labels.
    predictions : mapping of str to array-like
        Named probability vectors, e.g. ``{"raw judge": p0, "calibrated": p1}``.
    n_bins, strategy, sample_weight
        As in :func:`judgecal.metrics.reliability_curve`.
    title : str, optional
        Axes title.
    ax : matplotlib Axes, optional
        Draw into it; otherwise a new figure is made.
    path : path, optional
        Save the figure there (PNG by extension).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = reliability_diagram([0, 1, 1, 0], {"judge": [0.2, 0.7, 0.9, 0.4]})
    >>> ax.get_xlabel()
    'predicted P(human agrees)'
    """
    if not isinstance(predictions, Mapping) or not predictions:
        raise InputError(
            "predictions",
            "a non-empty mapping of name to probabilities",
            predictions,
            where="reliability_diagram",
        )
    curves = {
        str(name): reliability_curve(
            y, p, n_bins=n_bins, strategy=strategy, sample_weight=sample_weight
        )
        for name, p in predictions.items()
    }
    plt = pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfectly calibrated")
    for name, c in curves.items():
        size = 20 + 200 * c.weight / c.weight.max()
        ax.plot(
            c.mean_predicted,
            c.observed,
            marker="o",
            markersize=0,
            label=f"{name} (ECE {c.ece:.3f})",
        )
        ax.scatter(c.mean_predicted, c.observed, s=size, alpha=0.6)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted P(human agrees)")
    ax.set_ylabel("observed human agreement")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    if path is not None:
        ax.figure.tight_layout()
        ax.figure.savefig(path, dpi=120)
    return ax
