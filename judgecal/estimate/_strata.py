"""Per-stratum PPI estimates combined into one, with their baselines.

Internal to :mod:`judgecal.estimate`: names here are public to the package's
modules, not to users.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from judgecal._exceptions import InputError
from judgecal._validation import FloatArray, Verbatim
from judgecal.estimate._prepared import PreparedData
from judgecal.estimate.ppi import Moments, PpiCore, critical_value, ppi_core
from judgecal.estimate.results import Baseline, RateEstimate, StratumEstimate


@dataclass(frozen=True)
class EstimateOptions:
    """The settings of one estimate, checked by the public function that made them."""

    method: str
    """``ppi++``, ``ppi``, ``human``, ``judge``, ``rogan-gladen`` or ``bayes``."""
    ties: str
    """Tie policy (:mod:`judgecal.vocabulary`); ``separate-tie`` for the tie rate itself."""
    level: float
    interval: str
    """``t`` or ``normal`` quantiles."""
    bounded: bool
    """Clip intervals to [0, 1] (a rate) or not (a difference)."""
    where: str
    """The public function, for error messages."""
    estimand: str = ""
    folds: int = 5
    stagewise: bool = False


@dataclass(frozen=True)
class StratifiedPpi:
    """Strata combined with weights ``W_h``: estimate, variances and the strata themselves."""

    estimate: float
    variance: float
    human_variance: float
    df: float
    """Degrees of freedom: the labelled items less one, summed over strata."""
    lam_mean: float
    """Power-tuning weight, averaged over strata with their labelled counts."""
    per_stratum: dict[str, tuple[PpiCore, float]]
    """Each stratum's PPI core and weight."""

    @property
    def human_estimate(self) -> float:
        """The weighted mean of the strata's human-only means."""
        return float(sum(w * core.human_mean for core, w in self.per_stratum.values()))


def stratified_ppi(
    target: FloatArray,
    prediction: FloatArray,
    data: PreparedData,
    weights: Mapping[str, float],
    lam: float | None,
    where: str,
) -> StratifiedPpi:
    """PPI(++) in every stratum (rates: with the variance floor), combined with ``weights``."""
    masks = {}
    for name in weights:
        in_stratum = data.strata == name
        labelled, unlabelled = in_stratum & data.labelled, in_stratum & ~data.labelled
        if labelled.sum() < 2:
            raise InputError(
                "judgments",
                f"at least 2 human-labelled items in every stratum (stratum {name!r})",
                Verbatim(str(int(labelled.sum()))),
                where=where,
            )
        masks[name] = (labelled, unlabelled)
    samples = {
        name: (target[lab], prediction[lab], Moments.of(prediction[unl]))
        for name, (lab, unl) in masks.items()
    }
    return combine_strata(samples, weights, lam)


def combine_strata(
    samples: Mapping[str, tuple[FloatArray, FloatArray, Moments]],
    weights: Mapping[str, float],
    lam: float | None,
) -> StratifiedPpi:
    """Strata combined: per stratum the labelled targets and predictions, and the
    :class:`Moments` of the unlabelled predictions (all PPI needs of them)."""
    per_stratum = {
        name: (ppi_core(targets, pred, unlabelled, lam, floor=True), weights[name])
        for name, (targets, pred, unlabelled) in samples.items()
    }
    cores = [(core, w) for core, w in per_stratum.values()]
    n_labelled = sum(core.n_labelled for core, _ in cores)
    return StratifiedPpi(
        estimate=sum(w * core.estimate for core, w in cores),
        variance=sum(w**2 * core.variance for core, w in cores),
        human_variance=sum(w**2 * core.human_variance for core, w in cores),
        df=float(sum(core.n_labelled - 1 for core, _ in cores)),
        lam_mean=sum(core.n_labelled * core.lam for core, _ in cores) / n_labelled,
        per_stratum=per_stratum,
    )


def _naive_baseline(values_by_stratum: list[tuple[FloatArray, float]], level: float) -> Baseline:
    return naive_baseline([(Moments.of(values), w) for values, w in values_by_stratum], level)


def naive_baseline(moments_by_stratum: list[tuple[Moments, float]], level: float) -> Baseline:
    """Weighted stratum means with a naive normal interval, from each stratum's moments."""
    estimate = variance = 0.0
    for moments, w in moments_by_stratum:
        if moments.count == 0:
            continue
        estimate += w * moments.mean
        variance += w**2 * moments.variance(ddof=1) / moments.count
    half = critical_value(level, math.inf, "normal") * math.sqrt(variance)
    return Baseline(estimate=estimate, low=estimate - half, high=estimate + half)


def judge_baseline(
    data: PreparedData, weights: Mapping[str, float], level: float, ties: str
) -> Baseline:
    """The raw judge as the rate: stratum means of the unit score, naive normal interval.

    With a judge that can say "tie": ``drop`` leaves its ties out, ``separate``
    and ``loss`` count only its "first" verdicts.
    """
    values = []
    for name, w in weights.items():
        rows = (data.strata == name) & data.scored
        if ties == "drop" and data.judge_says_tie is not None:
            rows = rows & (data.judge_says_tie == 0)
        unit = data.unit_score[rows]
        strict = ties in ("separate", "loss") and data.judge_says_tie is not None
        values.append(((unit == 1.0).astype(float) if strict else unit, w))
    return _naive_baseline(values, level)


def tie_judge_baseline(data: PreparedData, weights: Mapping[str, float], level: float) -> Baseline:
    """The judge's own tie rate (0 when its scale has no tie verdict)."""
    if data.judge_says_tie is None:
        return Baseline(estimate=0.0, low=0.0, high=0.0)
    says_tie = data.judge_says_tie
    values = [(says_tie[(data.strata == name) & data.scored], w) for name, w in weights.items()]
    return _naive_baseline(values, level)


def clip_interval(estimate: float, half: float, bounded: bool) -> tuple[float, float]:
    """``estimate -/+ half``, clipped to [0, 1] when ``bounded``."""
    low, high = estimate - half, estimate + half
    if bounded:
        low, high = max(low, 0.0), min(high, 1.0)
    return low, high


def human_stratum_baseline(targets: FloatArray, level: float) -> Baseline:
    """The labelled mean of one stratum with its t interval (variance floored as in PPI)."""
    mean = float(targets.mean())
    variance = max(float(targets.var(ddof=1)), targets.size / (targets.size + 1.0) ** 2)
    half = critical_value(level, targets.size - 1, "t") * math.sqrt(variance / targets.size)
    low, high = clip_interval(mean, half, True)
    return Baseline(estimate=mean, low=low, high=high)


def _stratum_estimate(
    core: PpiCore, weight: float, options: EstimateOptions, judge_only: Baseline
) -> StratumEstimate:
    crit = critical_value(options.level, core.n_labelled - 1, options.interval)
    low, high = clip_interval(core.estimate, crit * math.sqrt(core.variance), options.bounded)
    human_low, human_high = clip_interval(
        core.human_mean, crit * math.sqrt(core.human_variance), options.bounded
    )
    return StratumEstimate(
        estimate=core.estimate,
        low=low,
        high=high,
        weight=weight,
        n_labelled=core.n_labelled,
        n_unlabelled=core.n_unlabelled,
        lam=core.lam,
        human_only=Baseline(estimate=core.human_mean, low=human_low, high=human_high),
        judge_only=judge_only,
    )


def assemble(
    data: PreparedData,
    combined: StratifiedPpi,
    options: EstimateOptions,
    *,
    method: str,
    judge: Baseline,
    judge_of: Callable[[str], Baseline],
    human_estimate: float | None = None,
    lam_reported: bool = True,
) -> RateEstimate:
    """The result object: overall interval, human-only baseline, and one entry per stratum."""
    crit = critical_value(options.level, combined.df, options.interval)
    low, high = clip_interval(
        combined.estimate, crit * math.sqrt(combined.variance), options.bounded
    )
    human_mean = combined.human_estimate if human_estimate is None else human_estimate
    human_half = crit * math.sqrt(combined.human_variance)
    human_low, human_high = clip_interval(human_mean, human_half, options.bounded)
    strata = {}
    if len(combined.per_stratum) > 1:
        strata = {
            name: _stratum_estimate(core, w, options, judge_of(name))
            for name, (core, w) in combined.per_stratum.items()
        }
    n_labelled = int(data.labelled.sum())
    ratio = combined.human_variance / combined.variance if combined.variance > 0 else 1.0
    return RateEstimate(
        estimand=options.estimand,
        method=method,
        estimate=combined.estimate,
        low=low,
        high=high,
        level=options.level,
        **data.sample_sizes(),
        effective_labels=float(n_labelled * ratio),
        human_only=Baseline(estimate=human_mean, low=human_low, high=human_high),
        judge_only=judge,
        lam=combined.lam_mean if lam_reported else None,
        strata=strata,
    )
