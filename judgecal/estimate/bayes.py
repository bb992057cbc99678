r"""The finite-population rate from a Bayesian calibrator's posterior draws (``method="bayes"``).

For posterior draw :math:`d`, stratum :math:`h` with labelled set :math:`L_h` and
unlabelled set :math:`U_h`: :math:`\theta_{h,d} = (\sum_{L_h} y_i + \sum_{U_h}
\tilde y_{j,d}) / N_h` with :math:`\tilde y_{j,d} \sim \text{Bernoulli}(p_d(s_j))`
(drawn through its normal approximation; an upper bound on the spread of soft
targets). The calibrator sees the strata as its stages, so they pool
partially. Items the judge failed on get the stratum's labelled mean. The
interval is equal-tailed. Unlike PPI, validity rests on the calibration model
being right.

Any calibrator with ``fit(X, y, sample_weight, stages=)`` and
``predict_agreement_draws(X, stages=) -> (draws, n)`` serves, such as
:class:`judgecal.BayesianCalibrator`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import clone

from judgecal._exceptions import InputError, SmallSampleWarning
from judgecal._validation import FloatArray
from judgecal.estimate._prepared import PreparedData
from judgecal.estimate._strata import (
    EstimateOptions,
    human_stratum_baseline,
    judge_baseline,
)
from judgecal.estimate.results import Baseline, RateEstimate, StratumEstimate
from judgecal.records.core import JudgmentSet

__all__ = [
    "MIN_STRATUM_LABELS",
    "bayes_estimate",
    "check_offered",
    "default_bayes",
    "has_posterior",
    "posterior_draws",
]

#: ``estimate_rate(method="bayes")`` with several strata needs this many labels in each.
MIN_STRATUM_LABELS = 100
# What was measured (benchmarks/bench_bayes_rate.py, results/bayes_rate.json): 200 splits.
_MEASURED = (
    "on PandaLM (10 pairings as strata, 200 random splits) the worst stratum's 90% interval "
    "from method='bayes' covered 0.59-0.74 with 10 labels per stratum and 0.74-0.81 with 30 "
    "(0.86-0.92 on average; the overall rate 0.90-0.95), while with 100 labels per stratum "
    "(HANNA, 6 criteria) every stratum covered >= 0.965"
)


def default_bayes(judgments: Any, where: str) -> Any:
    """A binary :class:`~judgecal.BayesianCalibrator` on the judge's scale (the default)."""
    try:
        from judgecal.calibration.bayes.calibrator import BayesianCalibrator
    except ImportError as exc:  # pragma: no cover - shipped together
        raise InputError(
            "method",
            "'ppi++' ('bayes' needs judgecal.calibration.bayes.calibrator)",
            "bayes",
            where=where,
        ) from exc
    scale = judgments.scale if isinstance(judgments, JudgmentSet) else None
    score_range = None if scale is None else (float(scale.low), float(scale.high))
    return BayesianCalibrator(kind="binary", score_range=score_range, random_state=0)


def check_offered(
    data: PreparedData, weights: Mapping[str, float], calibrator: Any, where: str
) -> None:
    """Refuse ``method="bayes"`` with judgecal's calibrator where it was measured not to cover.

    With several strata, each stratum's interval leans on the calibration model
    and on partial pooling across strata; with few labels per stratum that model
    is not checked by the data and the intervals under-cover (numbers in the
    message). One stratum, or at least :data:`MIN_STRATUM_LABELS` labels in
    every stratum, is offered. A calibrator of the caller's own (any other class
    with posterior draws) is the caller's model and is not refused.
    """
    from judgecal.calibration.bayes.calibrator import BayesianCalibrator

    if len(weights) <= 1 or not isinstance(calibrator, BayesianCalibrator):
        return
    counts = {name: int((data.labelled & (data.strata == name)).sum()) for name in weights}
    fewest = min(counts, key=lambda name: counts[name])
    if counts[fewest] < MIN_STRATUM_LABELS:
        raise InputError(
            "method",
            f"'ppi++' (valid at any size), or 'bayes' with strata=None or at least "
            f"{MIN_STRATUM_LABELS} labels in every stratum, because {_MEASURED}",
            f"'bayes' with {len(weights)} strata and {counts[fewest]} labels in stratum {fewest!r}",
            where=where,
        )


def has_posterior(calibrator: Any) -> bool:
    """Whether ``calibrator`` gives posterior draws of P(agree) (duck-typed)."""
    if not callable(getattr(calibrator, "predict_agreement_draws", None)):
        return False
    # a Bayesian calibrator of ordered or pairwise labels models another target
    return getattr(calibrator, "kind", "binary") in ("binary", "monotone")


def posterior_draws(model: Any, scores: FloatArray, stages: Any) -> FloatArray:
    """Posterior draws of P(agree | score) from ``model.predict_agreement_draws``, (draws, n)."""
    draws = np.asarray(model.predict_agreement_draws(scores, stages=stages), dtype=np.float64)
    n = scores.shape[0]  # (n,) for one judge, (n, k) for a panel
    if draws.ndim != 2 or draws.shape[1] != n or not np.isfinite(draws).all():
        raise InputError(
            "calibrator",
            f"predict_agreement_draws returning finite draws of shape (draws, {n})",
            f"shape {draws.shape}",
            where="estimate_rate",
        )
    return draws


def _stratum_draws(
    data: PreparedData,
    name: str,
    draws: FloatArray,
    draw_strata: np.ndarray,
    rng: np.random.Generator,
) -> FloatArray:
    """Posterior draws of one stratum's finite-population rate."""
    in_stratum = data.strata == name
    labelled = in_stratum & data.labelled
    labelled_mean = float(data.target[labelled if labelled.any() else data.labelled].mean())
    n_failed = int((in_stratum & ~data.labelled & ~data.scored).sum())
    probabilities = draws[:, draw_strata == name]
    mean_unlabelled = probabilities.sum(1) + n_failed * labelled_mean
    var_unlabelled = (probabilities * (1 - probabilities)).sum(1) + n_failed * labelled_mean * (
        1 - labelled_mean
    )
    noise = rng.standard_normal(draws.shape[0]) * np.sqrt(var_unlabelled)
    total = float(data.target[labelled].sum()) + mean_unlabelled + noise
    out: FloatArray = total / int(in_stratum.sum())
    return out


def _equal_tailed(draws: FloatArray, level: float) -> tuple[float, float, float]:
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(draws, [alpha, 1 - alpha])
    return float(np.clip(draws.mean(), 0, 1)), float(max(low, 0.0)), float(min(high, 1.0))


def bayes_estimate(
    data: PreparedData,
    weights: Mapping[str, float],
    calibrator: Any,
    options: EstimateOptions,
    judge: Baseline,
    human: Baseline,
    rng: np.random.Generator,
) -> RateEstimate:
    """Fit ``calibrator`` on every label and turn its draws into the rate's posterior."""
    fit_rows = data.labelled & data.scored
    model = clone(calibrator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        model.fit(data.predictors[fit_rows], data.target[fit_rows], stages=data.strata[fit_rows])
    predict_rows = ~data.labelled & data.scored
    draws = posterior_draws(model, data.predictors[predict_rows], data.strata[predict_rows])
    rate_draws = np.zeros(draws.shape[0])
    strata: dict[str, StratumEstimate] = {}
    for name, w in weights.items():
        stratum_draws = _stratum_draws(data, name, draws, data.strata[predict_rows], rng)
        rate_draws += w * stratum_draws
        if len(weights) > 1:
            strata[name] = _bayes_stratum(data, name, w, stratum_draws, options.level, human)
    estimate, low, high = _equal_tailed(rate_draws, options.level)
    n_labelled = int(data.labelled.sum())
    width = high - low
    effective = n_labelled * (human.width / width) ** 2 if width > 0 else float(n_labelled)
    return RateEstimate(
        estimand=options.estimand,
        method=f"bayes ({type(calibrator).__name__} posterior, {draws.shape[0]} draws)",
        estimate=estimate,
        low=low,
        high=high,
        level=options.level,
        **data.sample_sizes(),
        effective_labels=float(effective),
        human_only=human,
        judge_only=judge,
        strata=strata,
    )


def _bayes_stratum(
    data: PreparedData,
    name: str,
    weight: float,
    stratum_draws: FloatArray,
    level: float,
    human: Baseline,
) -> StratumEstimate:
    in_stratum = data.strata == name
    labelled = in_stratum & data.labelled
    estimate, low, high = _equal_tailed(stratum_draws, level)
    return StratumEstimate(
        estimate=estimate,
        low=low,
        high=high,
        weight=weight,
        n_labelled=int(labelled.sum()),
        n_unlabelled=int((in_stratum & ~data.labelled).sum()),
        lam=1.0,
        human_only=(
            human_stratum_baseline(data.target[labelled], level) if labelled.sum() >= 2 else human
        ),
        judge_only=judge_baseline(data, {name: 1.0}, level, "half"),
    )
