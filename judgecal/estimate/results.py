"""The objects estimates return: a rate with its interval, baselines, strata, a label plan."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from judgecal.metrics import Interval

__all__ = ["Baseline", "LabelPlan", "RateEstimate", "StratumEstimate"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Baseline(BaseModel):
    """A comparison estimate (human labels only, or the judge only)."""

    model_config = _FROZEN

    estimate: float
    """Point estimate."""
    low: float
    """Lower end of the interval."""
    high: float
    """Upper end of the interval."""

    @property
    def width(self) -> float:
        """Interval width ``high - low``."""
        return self.high - self.low


class StratumEstimate(BaseModel):
    """The estimate for one stratum (stage, model pairing, ...)."""

    model_config = _FROZEN

    estimate: float
    """Point estimate for this stratum."""
    low: float
    """Lower end of the interval."""
    high: float
    """Upper end of the interval."""
    weight: float
    """Weight of the stratum in the overall estimate (its share of all items; signed for
    differences)."""
    n_labelled: int
    """Human-labelled items in the stratum."""
    n_unlabelled: int
    """Items with only a judge output."""
    lam: float
    """Power-tuning weight on the judge (0: humans only, 1: plain PPI)."""
    human_only: Baseline
    """The labelled items alone."""
    judge_only: Baseline
    """The raw judge alone (naive interval)."""


class RateEstimate(BaseModel):
    """A human rate (or a difference of rates) with its interval and baselines.

    Examples
    --------
    >>> r = RateEstimate(estimand="P(yes)", method="ppi++", estimate=0.4, low=0.35, high=0.45,
    ...                  level=0.9, n_labelled=100, n_unlabelled=900, n_unscored=0,
    ...                  effective_labels=180.0,
    ...                  human_only=Baseline(estimate=0.41, low=0.33, high=0.49),
    ...                  judge_only=Baseline(estimate=0.55, low=0.53, high=0.57))
    >>> r.labels_gained, round(r.width, 2)
    (80.0, 0.1)
    """

    model_config = _FROZEN

    estimand: str
    """What is estimated, in words (including the tie policy)."""
    method: str
    """How: ``ppi++``, ``ppi``, ``rogan-gladen``, ``human``, ``judge`` or ``bayes``, plus the
    predictor."""
    estimate: float
    """Point estimate."""
    low: float
    """Lower end of the interval."""
    high: float
    """Upper end of the interval."""
    level: float
    """Nominal coverage of the interval."""
    n_labelled: int
    """Items with at least one usable human rating."""
    n_unlabelled: int
    """Items with a judge output only."""
    n_unscored: int
    """Items the judge failed on (kept in the population, predicted by the labelled mean)."""
    effective_labels: float
    """Human labels that the human-only estimate would need for the same interval width."""
    human_only: Baseline
    """Human labels only (same strata and tie policy)."""
    judge_only: Baseline
    """The raw judge score as the rate, with its naive interval (no human labels used)."""
    lam: float | None = None
    """Power-tuning weight (labelled-weighted mean over strata); ``None`` for non-PPI methods."""
    strata: dict[str, StratumEstimate] = {}
    """Per-stratum estimates (empty when not stratified)."""
    tie_rate: RateEstimate | None = None
    """The human tie rate, with ``ties="separate"``."""
    std_error: float | None = None
    """Standard error of the estimate (before clipping the interval to [0, 1]); used by
    :func:`~judgecal.estimate.sequential.anytime_interval`."""

    @property
    def width(self) -> float:
        """Interval width ``high - low``."""
        return self.high - self.low

    @property
    def labels_gained(self) -> float:
        """``effective_labels - n_labelled``: what the judge was worth, in human labels."""
        return self.effective_labels - self.n_labelled

    @property
    def interval(self) -> Interval:
        """The estimate as a :class:`judgecal.metrics.Interval`."""
        return Interval(self.estimate, self.low, self.high, self.level)

    def __str__(self) -> str:
        return (
            f"{self.estimand}: {self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}] "
            f"({self.level:.0%}, {self.method}; {self.n_labelled} labelled + "
            f"{self.n_unlabelled} judged, worth {self.effective_labels:.0f} labels; "
            f"human-only width {self.human_only.width:.3f}, "
            f"judge-only {self.judge_only.estimate:.3f})"
        )

    def to_markdown(self) -> str:
        """A markdown table: overall row, then one row per stratum."""
        lines = [
            f"**{self.estimand}** — method `{self.method}`, {self.level:.0%} intervals",
            "",
            "| stratum | n lab | n unlab | estimate | interval | human-only | judge-only |",
            "| --- | ---: | ---: | ---: | --- | --- | ---: |",
            _markdown_row("**all**", self),
        ]
        lines += [_markdown_row(name, stratum) for name, stratum in self.strata.items()]
        return "\n".join(lines)


def _markdown_row(name: str, result: RateEstimate | StratumEstimate) -> str:
    human = result.human_only
    return (
        f"| {name} | {result.n_labelled} | {result.n_unlabelled} | {result.estimate:.3f} | "
        f"[{result.low:.3f}, {result.high:.3f}] | "
        f"{human.estimate:.3f} [{human.low:.3f}, {human.high:.3f}] | "
        f"{result.judge_only.estimate:.3f} |"
    )


class LabelPlan(BaseModel):
    """How many human labels give a target interval half-width."""

    model_config = _FROZEN

    half_width: float
    """Target half-width of the interval."""
    level: float
    """Nominal coverage."""
    n_ppi: int
    """Labels needed with PPI++ and a judge of the given quality."""
    n_human_only: int
    """Labels needed without the judge."""
    correlation: float
    """Correlation between the (calibrated) judge and the human target assumed."""
    sd: float
    """Standard deviation of the human target assumed."""
    n_total: int | None
    """Size of the pool (labelled + unlabelled); ``None`` means unlimited judge outputs."""
    n_anytime: int | None = None
    """Predicted stopping size when labelling in batches until the anytime-valid interval
    (:mod:`judgecal.estimate.sequential`) reaches the target width."""

    @property
    def saving(self) -> float:
        """Share of human labels saved by using the judge."""
        return 1.0 - self.n_ppi / self.n_human_only
