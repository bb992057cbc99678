"""What a bias measurement reports: :class:`BiasEffect` rows collected in a :class:`BiasReport`.

A report renders as a markdown table (:meth:`BiasReport.to_markdown`) and as a
forest plot (:meth:`BiasReport.plot`; matplotlib is imported only there).
Reports add up: ``probe_a + probe_b`` is one report with the rows of both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from judgecal.vocabulary import DEFAULT_LEVEL

__all__ = ["BiasEffect", "BiasReport", "EffectKind"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
EffectKind = Literal["ablation", "human_gap", "preference", "regression"]


class BiasEffect(BaseModel):
    """One measured effect of a surface feature on a judge.

    Examples
    --------
    >>> e = BiasEffect(kind="ablation", name="remove_mentions", estimate=-0.4, low=-0.6,
    ...                high=-0.2, p_value=0.001, n=80)
    >>> e.level, e.flagged(0.05), e.interval_text()
    (0.9, True, '[-0.600, -0.200]')
    """

    model_config = _FROZEN

    kind: EffectKind
    """``ablation`` (paired probe), ``human_gap``, ``preference`` (pairwise) or ``regression``."""
    name: str
    """What was changed or measured (ablation name, feature name)."""
    stage: str = "all"
    """Stage the row covers (``all`` pools every stage)."""
    attribute: str | None = None
    """Attribute the row covers (ablation probes per attribute); ``None`` means all of them."""
    estimate: float | None
    """The effect: mean paired change (variant minus original), gap difference, rate
    difference or coefficient. ``None`` when no pair was usable."""
    low: float | None = None
    """Lower end of the interval."""
    high: float | None = None
    """Upper end of the interval."""
    level: float = DEFAULT_LEVEL
    """Confidence level of the interval."""
    p_value: float | None = None
    """Two-sided p-value of "no effect" (permutation or t-test), when defined."""
    n: int = 0
    """Units used (pairs, items or rows)."""
    n_failed: int = 0
    """Units left out because the judge failed on either side (counted, never scored)."""
    n_unchanged: int = 0
    """Items the ablation did not change (not judged again, not in the statistics)."""
    flip_share: float | None = None
    """Share of used pairs whose verdict flips (ablation probes)."""
    judge_value: float | None = None
    """The judge's own gap or rate (human gaps, preferences)."""
    human_value: float | None = None
    """The humans' gap or rate (human gaps, preferences)."""
    unit: str = ""
    """What the estimate is measured in."""

    def flagged(self, alpha: float = 0.05) -> bool:
        """Whether the effect is significant.

        ``p < alpha``, or an interval that excludes 0 when there is no p-value.
        """
        if self.estimate is None:
            return False
        if self.p_value is not None:
            return self.p_value < alpha
        if self.low is None or self.high is None:
            return False
        return self.low > 0 or self.high < 0

    def direction(self, alpha: float = 0.05) -> Literal["higher", "lower"] | None:
        """Which way a flagged effect goes: ``higher`` or ``lower`` than humans (or than 0).

        ``None`` when the effect is not flagged at ``alpha``. For ``preference``
        and ``human_gap`` rows, ``higher`` means the judge's rate or gap is above
        the humans'; for ``ablation`` and ``regression`` rows, that the feature
        raises the judge's score.
        """
        if not self.flagged(alpha) or self.estimate is None or self.estimate == 0:
            return None
        return "higher" if self.estimate > 0 else "lower"

    def summary(self, subject: str = "the judge", alpha: float = 0.05) -> str:
        """One sentence saying which way the judge departs from humans, in points.

        Written for ``preference`` rows, whose ``name`` is what is picked
        ("picks the longer response"); other rows read the same way.

        Examples
        --------
        >>> e = BiasEffect(kind="preference", name="picks the longer response", estimate=0.328,
        ...                low=0.246, high=0.41, n=200)
        >>> e.summary("GPT-4")
        'GPT-4 picks the longer response more often than humans: +32.8 points [24.6, 41.0]'
        """
        if self.estimate is None:
            return f"{subject} {self.name}: no usable items"
        points = f"{100 * self.estimate:+.1f} points"
        if self.low is not None and self.high is not None:
            points += f" [{100 * self.low:.1f}, {100 * self.high:.1f}]"
        way = self.direction(alpha)
        if way is None:
            return f"{subject} {self.name}: no clear difference from humans ({points})"
        often = "more often" if way == "higher" else "less often"
        return f"{subject} {self.name} {often} than humans: {points}"

    def interval_text(self) -> str:
        """The interval as ``[low, high]``."""
        if self.low is None or self.high is None:
            return ""
        return f"[{self.low:.3f}, {self.high:.3f}]"

    def label(self) -> str:
        """The row's name with its stage and attribute, as on the forest plot."""
        stage = f" [{self.stage}]" if self.stage != "all" else ""
        attribute = f" ({self.attribute})" if self.attribute else ""
        return f"{self.name}{stage}{attribute}"


def _number(value: float | None, spec: str = ".3f") -> str:
    return "" if value is None else format(value, spec)


def _flag_text(effect: BiasEffect, alpha: float) -> str:
    """``yes (higher)``, ``yes (lower)`` or ``no``."""
    if not effect.flagged(alpha):
        return "no"
    way = effect.direction(alpha)
    return f"yes ({way})" if way else "yes"


Column = tuple[str, Callable[[BiasEffect], str]]


def _columns(interval_heading: str, alpha: float) -> list[Column]:
    """Every column a report may show, with how to render one effect in it."""
    return [
        ("kind", lambda e: e.kind),
        ("effect", lambda e: e.name),
        ("stage", lambda e: e.stage),
        ("attribute", lambda e: e.attribute or ""),
        ("estimate", lambda e: _number(e.estimate) or "n/a"),
        (interval_heading, lambda e: e.interval_text()),
        ("p", lambda e: "" if e.p_value is None else f"{e.p_value:.3g}"),
        ("judge", lambda e: _number(e.judge_value)),
        ("human", lambda e: _number(e.human_value)),
        ("flips", lambda e: "" if e.flip_share is None else f"{e.flip_share:.1%}"),
        ("n", lambda e: str(e.n)),
        ("failed", lambda e: str(e.n_failed) if e.n_failed else ""),
        ("unchanged", lambda e: str(e.n_unchanged) if e.n_unchanged else ""),
        ("flagged", lambda e: _flag_text(e, alpha)),
    ]


def _column_has_values(heading: str, cells: list[str]) -> bool:
    if heading in ("effect", "estimate"):
        return True
    if heading == "stage":
        return any(cell != "all" for cell in cells)
    return any(cells)


def _markdown_table(effects: tuple[BiasEffect, ...], alpha: float) -> list[str]:
    """The table's lines, leaving out columns without any value."""
    levels = {e.level for e in effects}
    interval_heading = f"{levels.pop():.0%} interval" if len(levels) == 1 else "interval"
    columns = _columns(interval_heading, alpha)
    rows = [[render(e) for _, render in columns] for e in effects]
    shown = [
        j
        for j, (heading, _) in enumerate(columns)
        if _column_has_values(heading, [row[j] for row in rows])
    ]
    headings = [columns[j][0] for j in shown]
    lines = ["| " + " | ".join(headings) + " |", "| " + " | ".join("---" for _ in headings) + " |"]
    lines += ["| " + " | ".join(row[j] for j in shown) + " |" for row in rows]
    return lines


class BiasReport(BaseModel):
    """A table of :class:`BiasEffect` rows, with a markdown rendering and a forest plot.

    Examples
    --------
    >>> r = BiasReport(title="demo", effects=(
    ...     BiasEffect(kind="regression", name="length", estimate=0.2, low=0.1, high=0.3, n=50),))
    >>> print(r.to_markdown())
    ### demo
    <BLANKLINE>
    | kind | effect | estimate | 90% interval | n | flagged |
    | --- | --- | --- | --- | --- | --- |
    | regression | length | 0.200 | [0.100, 0.300] | 50 | yes (higher) |
    """

    model_config = _FROZEN

    effects: tuple[BiasEffect, ...] = ()
    """The measured effects."""
    title: str = "Bias report"
    """Heading of the rendered table."""
    judge: str | None = None
    """Which judge was probed."""
    alpha: float = 0.05
    """Significance level used for ``flagged``."""
    status_counts: Mapping[str, Mapping[str, int]] = {}
    """Judge statuses per run (``original``, ``variant``), when a probe made calls."""
    notes: tuple[str, ...] = ()
    """Free notes (what the estimate means, controls, ...)."""

    def __add__(self, other: BiasReport) -> BiasReport:
        if not isinstance(other, BiasReport):
            return NotImplemented
        return self.model_copy(
            update={
                "effects": self.effects + other.effects,
                "notes": self.notes + other.notes,
                "status_counts": {**self.status_counts, **other.status_counts},
            }
        )

    def flagged(self) -> tuple[BiasEffect, ...]:
        """Effects significant at ``alpha``."""
        return tuple(e for e in self.effects if e.flagged(self.alpha))

    def heading(self) -> str:
        """The title, with the judge when known."""
        return self.title + (f" ({self.judge})" if self.judge else "")

    def to_markdown(self) -> str:
        """The report as a markdown table (columns without any value are left out)."""
        lines = [f"### {self.heading()}", "", *_markdown_table(self.effects, self.alpha)]
        for run, counts in self.status_counts.items():
            statuses = ", ".join(f"{status} {count}" for status, count in counts.items())
            lines += ["", f"Judge statuses ({run}): {statuses}"]
        for note in self.notes:
            lines += ["", note]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_markdown()

    def plot(self, *, ax: Any = None, path: str | os.PathLike[str] | None = None) -> Any:
        """A forest plot: each effect's estimate and interval, with a line at zero.

        matplotlib is imported only here. Returns the matplotlib Axes.
        """
        from judgecal.plotting import pyplot

        rows = [e for e in self.effects if e.estimate is not None]
        if ax is None:
            _, ax = pyplot().subplots(figsize=(7, 0.45 * max(len(rows), 2) + 1.2))
        heights = np.arange(len(rows))[::-1]
        for height, effect in zip(heights, rows, strict=True):
            color = "C3" if effect.flagged(self.alpha) else "C0"
            low = effect.low if effect.low is not None else effect.estimate
            high = effect.high if effect.high is not None else effect.estimate
            ax.plot([low, high], [height, height], color=color, lw=2)
            ax.plot([effect.estimate], [height], "o", color=color)
        ax.set_yticks(heights, [e.label() for e in rows])
        ax.axvline(0.0, color="grey", lw=1, ls="--")
        ax.set_xlabel("effect (estimate and interval; red = flagged)")
        ax.set_title(self.heading())
        if path is not None:
            ax.figure.tight_layout()
            ax.figure.savefig(path)
        return ax
