"""Figures for the HTML report: matplotlib drawings embedded as base64 PNG data URIs.

A data URI keeps the report one file that opens without network access; PNG
(rather than inline SVG) lets a browser report each figure as loaded
(``img.complete`` and ``naturalWidth > 0``).

Examples
--------
>>> uri = reliability_png([0, 1, 1, 0], [0.2, 0.7, 0.9, 0.4], [0.1, 0.8, 0.9, 0.2], title="demo")
>>> uri.startswith("data:image/png;base64,")
True
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

from judgecal.plotting import pyplot, reliability_diagram

__all__ = ["png_data_uri", "reliability_png"]


def png_data_uri(draw: Callable[[Any], object], *, size: tuple[float, float] = (4.2, 4.2)) -> str:
    """Draw on a fresh matplotlib Axes and return the figure as a PNG data URI.

    Parameters
    ----------
    draw : callable
        Called with the Axes; draws into it.
    size : (float, float)
        Figure size in inches (100 dpi).

    Returns
    -------
    str
        ``data:image/png;base64,...``

    Examples
    --------
    >>> png_data_uri(lambda ax: ax.plot([0, 1], [1, 0]))[:22]
    'data:image/png;base64,'
    """
    plt = pyplot()
    figure, axes = plt.subplots(figsize=size)
    try:
        draw(axes)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100)
    finally:
        plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def reliability_png(
    targets: Any, raw: Any, calibrated: Any, *, weights: Any = None, title: str = ""
) -> str:
    """A reliability diagram of the raw judge against the calibrated probability, as a data URI.

    Parameters
    ----------
    targets : array-like
        Human targets in [0, 1] (soft or hard).
    raw, calibrated : array-like
        The raw judge score on [0, 1] and the calibrated probability.
    weights : array-like, optional
        Sample weights (raters per item).
    title : str
        Axes title.

    Returns
    -------
    str
        A PNG data URI.
    """

    def draw(axes: Any) -> None:
        reliability_diagram(
            targets,
            {"raw judge": raw, "calibrated": calibrated},
            sample_weight=weights,
            title=title,
            ax=axes,
        )

    return png_data_uri(draw)
