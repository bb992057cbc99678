r"""Choosing which items humans label, and the estimator for labels chosen that way.

Active (uncertainty) sampling
-----------------------------
Label item :math:`i` with probability :math:`\pi_i`; then the inverse-probability
weighted (IPW), power-tuned estimate of the mean human target over the
:math:`N` items is

.. math::

    \hat\theta = \frac1N \Big( \sum_{i=1}^N g_i
        + \sum_{i \text{ labelled}} \frac{y_i - g_i}{\pi_i} \Big),
    \qquad g_i = c + \lambda f_i,

with :math:`f` the cross-fitted calibrated judge. Its variance under Poisson
sampling is estimated by :math:`\hat N^{-2}\sum_{i \text{ labelled}} (1 - \pi_i)
(y_i - g_i)^2 / \pi_i^2` (Horvitz and Thompson, 1952) in its ratio (Hájek) form,
:math:`\hat N = \sum_{i \text{ labelled}} 1 / \pi_i` in place of :math:`N`, so that
it is the variance given how many items the draw actually labelled; plus
:math:`s_y^2 / N` for the super-population. :math:`(c, \lambda)` minimise that
variance estimate
(weighted least squares; :math:`\lambda` clipped to [0, 1], so
:math:`\lambda = 0` is the human-only IPW mean). The variance is smallest with
:math:`\pi_i \propto \sqrt{E[(y_i - g_i)^2 \mid x_i]}`; for a calibrated
judge :math:`E[(y - f)^2 \mid f] = f(1-f)`, hence sampling proportional to
:math:`\sqrt{f(1-f)}` (Zrnic and Candès, "Active statistical inference", ICML
2024, arXiv:2403.03208). Mixing with uniform sampling bounds the loss when
:math:`f` is wrong (Li, Zrnic and Candès, 2025, robust sampling);
:func:`choose_labels` picks the mixing weight that minimises the predicted
variance once some labels exist, and falls back to uniform sampling when the
judge does not help.

Rounds
------
Labels come in rounds: round :math:`r` samples from the items not labelled
before it, with probabilities that may depend on all earlier labels. Each
round gives its own estimate (the labels of earlier rounds enter as known
totals), valid conditionally on the past; the rounds are combined with
inverse-variance weights. The predictor :math:`f` is cross-fitted over the
labels of *all* rounds, so no label is spent only on fitting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from judgecal._exceptions import InputError, InputTypeError
from judgecal._validation import FloatArray, Verbatim, as_float_1d, check_float, check_int
from judgecal._validation import make_rng as _make_rng
from judgecal.estimate._prepared import (
    PreparedData,
    crossfit,
    make_calibrator,
    predict_or_fill,
    prepare_records,
    stratum_weights,
)
from judgecal.estimate._strata import EstimateOptions, StratifiedPpi, assemble, judge_baseline
from judgecal.estimate.ppi import Moments, PpiCore, confident_variance_floor
from judgecal.estimate.results import RateEstimate
from judgecal.records.core import JudgmentSet

__all__ = [
    "LabelChoice",
    "choose_from_data",
    "choose_labels",
    "inclusion_weights",
    "ipw_core",
    "ipw_estimate",
]

#: Mixing weights on uniform sampling that :func:`choose_labels` compares.
MIX_GRID = (0.1, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class LabelChoice:
    """The items to send to humans next, and every item's inclusion probability."""

    items: np.ndarray
    """Indices (into the records) of the items chosen for labelling."""
    inclusion: FloatArray
    """Inclusion probability of every item in this round (NaN: already labelled)."""
    mix: float
    """Weight of uniform sampling in the design (1: uniform)."""
    predictor: str
    """What the uncertainty came from: ``"raw score"`` or the calibrator's name."""

    def __len__(self) -> int:
        return int(self.items.size)


def poisson_probabilities(uncertainty: FloatArray, budget: float, mix: float) -> FloatArray:
    """Probabilities summing to ``budget``: ``mix`` uniform, the rest proportional to
    ``uncertainty``; capped at 1 with the excess handed to the others."""
    size = uncertainty.size
    total = float(uncertainty.sum())
    shape = np.full(size, 1.0 / size)
    if total > 0 and mix < 1.0:
        shape = mix / size + (1.0 - mix) * uncertainty / total
    prob = np.zeros(size)
    capped = np.zeros(size, dtype=bool)
    for _ in range(size):
        left = budget - capped.sum()
        free = shape * ~capped
        prob = np.where(capped, 1.0, left * free / max(float(free.sum()), 1e-300))
        over = (prob > 1.0) & ~capped
        if not over.any():
            break
        capped |= over
    out: FloatArray = np.clip(prob, 0.0, 1.0)
    return out


def _weighted_line(target: FloatArray, pred: FloatArray, weight: FloatArray) -> tuple[float, float]:
    """(c, lam) of the weighted least-squares line target ~ c + lam * pred, lam in [0, 1]."""
    total = float(weight.sum())
    if total <= 0:
        weight, total = np.ones_like(target), float(target.size)
    mean_y = float(np.dot(weight, target)) / total
    mean_f = float(np.dot(weight, pred)) / total
    spread = float(np.dot(weight, (pred - mean_f) ** 2))
    lam = float(np.dot(weight, (pred - mean_f) * (target - mean_y))) / spread if spread > 0 else 0.0
    lam = float(np.clip(lam, 0.0, 1.0))
    return mean_y - lam * mean_f, lam


@dataclass(frozen=True)
class _Round:
    estimate: float
    variance: float
    lam: float


def _one_round(
    target: FloatArray,
    pred: FloatArray,
    in_pool: np.ndarray,
    in_round: np.ndarray,
    inclusion: FloatArray,
    known_total: float,
    line: tuple[float, float],
) -> _Round:
    """One round's IPW estimate of the mean over all items (pool + earlier labels)."""
    n_items = target.size
    y, prob = target[in_round], inclusion[in_round]
    hajek = (1.0 - prob) / prob**2
    intercept, lam = line
    fitted = intercept + lam * pred
    residual = y - fitted[in_round]
    total = known_total + float(fitted[in_pool].sum()) + float(np.sum(residual / prob))
    size = y.size
    floor = size / (size + 1.0) ** 2  # one pseudo-disagreement, as in ppi_core
    total_variance = float(np.sum(hajek * residual**2)) * size / max(size - 2, 1)
    total_variance = max(total_variance, floor * float(np.sum(hajek)) / size)
    if float(np.ptp(prob)) <= 1e-9 * float(prob.max()):
        calibrated = _calibrated_uniform_total(y, pred[in_pool], lam, prob, total / n_items)
        total_variance = max(total_variance, calibrated)
    # Hajek (ratio) form: the variance given how many items the round drew. Poisson
    # sampling draws a random number; the Horvitz-Thompson form divides by the expected
    # number instead, too small a variance when few were drawn (measured: coverage 0.78
    # among draws 10% short of the budget, 0.88 with this form)
    total_variance *= (float(in_pool.sum()) / float(np.sum(1.0 / prob))) ** 2
    return _Round(total / n_items, total_variance / n_items**2, lam)


def _calibrated_uniform_total(
    y: FloatArray, frame_pred: FloatArray, lam: float, prob: FloatArray, mean: float
) -> float:
    r"""A uniform round's Horvitz-Thompson variance (of the total) if the predictor were
    calibrated, for a confident judge (0 otherwise): :math:`(1 - \pi)/\pi` times the
    rectifier's variance summed over the items the round sampled from (as
    :func:`~judgecal.estimate.ppi.confident_variance_floor` for PPI). Only for rounds
    with one probability: under unequal probabilities the weights :math:`1/\pi^2`
    magnify the predictor's miscalibration where labels are rare (measured: intervals
    twice as wide for a one-round chosen design)."""
    frame = Moments.of(frame_pred)
    per_item = confident_variance_floor(y, frame, lam, mean)
    share = float(prob[0])
    return (1.0 - share) / share * frame.count * per_item


def _predicted_variance(pred: FloatArray, in_round: np.ndarray, inclusion: FloatArray) -> float:
    """Horvitz-Thompson estimate of a round's variance with f(1-f) as the squared residual."""
    prob = inclusion[in_round]
    spread = np.clip(pred[in_round] * (1 - pred[in_round]), 0.01, None)
    return max(float(np.sum(spread * (1 - prob) / prob**2)), 1e-300)


def merge_uniform_rounds(
    labelled: np.ndarray, inclusion: FloatArray, rounds: np.ndarray
) -> tuple[FloatArray, np.ndarray]:
    """Leading rounds that each sampled with one probability are one uniform sample.

    Poisson sampling with :math:`p_0` and then, among the rest, with :math:`p_1`
    includes every item independently with :math:`1 - (1 - p_0)(1 - p_1)`: the
    rounds merge into one (estimated once, with no cost for the split).
    """
    merged_prob, merged_rounds = inclusion.copy(), rounds.copy()
    left_out, leading = 1.0, []
    for this_round in np.unique(rounds[labelled]):
        probs = inclusion[labelled & (rounds == this_round)]
        if float(np.ptp(probs)) > 1e-9 * float(probs.max()):
            break
        left_out *= 1.0 - float(probs[0])
        leading.append(this_round)
    if len(leading) > 1:
        mask = labelled & np.isin(rounds, leading)
        merged_prob[mask] = 1.0 - left_out
        merged_rounds[mask] = leading[0]
    return merged_prob, merged_rounds


def ipw_core(
    target: FloatArray,
    pred: FloatArray,
    labelled: np.ndarray,
    inclusion: FloatArray,
    rounds: np.ndarray,
    lam: float | None = None,
) -> PpiCore:
    """The IPW power-tuned estimate of the mean of ``target`` over all items.

    ``inclusion`` and ``rounds`` matter on labelled items only; ``pred`` is the
    (cross-fitted) predictor of every item; ``lam=None`` tunes the weight, ``0``
    gives the human-only IPW mean.
    """
    n_items = target.size
    inclusion, rounds = merge_uniform_rounds(labelled, inclusion, rounds)
    prob = inclusion[labelled]
    hajek = (1.0 - prob) / prob**2
    y_all, f_all = target[labelled], pred[labelled]
    if lam is None:  # one line for all rounds: fitted on every label
        line = _weighted_line(y_all, f_all, hajek)
    else:
        line = (_weighted_line(y_all - lam * f_all, np.zeros_like(f_all), hajek)[0], lam)
    results, sizes = [], []
    rounds_used = np.unique(rounds[labelled])
    for this_round in rounds_used:
        earlier = labelled & (rounds < this_round)
        in_round = labelled & (rounds == this_round)
        if in_round.sum() < 2:
            raise InputError(
                "rounds",
                "at least 2 labelled items in every labelling round",
                Verbatim(f"round {this_round}: {int(in_round.sum())} item"),
                where="ipw_core",
            )
        known = float(target[earlier].sum())
        results.append(_one_round(target, pred, ~earlier, in_round, inclusion, known, line))
        sizes.append(int(in_round.sum()))
    # weights from each round's *predicted* variance (f(1-f) in place of the squared
    # residual): weights from the observed residuals would correlate with the estimates
    # and cost coverage when a round is small
    predicted = np.array(
        [_predicted_variance(pred, labelled & (rounds == r), inclusion) for r in rounds_used]
    )
    share = (1.0 / predicted) / float(np.sum(1.0 / predicted))
    estimate = float(sum(s * r.estimate for s, r in zip(share, results, strict=True)))
    variance = float(sum(s**2 * r.variance for s, r in zip(share, results, strict=True)))
    weights = 1.0 / inclusion[labelled]
    y = target[labelled]
    mean_y = float(np.dot(weights, y) / weights.sum())
    spread_y = max(float(np.dot(weights, (y - mean_y) ** 2) / weights.sum()), 1e-12)
    n_lab = int(labelled.sum())
    spread_y = max(spread_y * n_lab / max(n_lab - 1, 1), n_lab / (n_lab + 1.0) ** 2)
    super_population = spread_y / n_items
    lam_mean = float(np.dot(sizes, [r.lam for r in results]) / sum(sizes))
    return PpiCore(
        estimate=estimate,
        variance=variance + super_population,
        lam=lam_mean,
        human_variance=spread_y / n_lab,
        n_labelled=n_lab,
        n_unlabelled=n_items - n_lab,
        human_mean=mean_y,
    )


def inclusion_weights(
    inclusion: Any, labelled: np.ndarray, rounds: Any, where: str
) -> tuple[FloatArray, np.ndarray]:
    """Check ``inclusion`` (and ``rounds``) against the labelled items; NaN allowed elsewhere."""
    probs = as_float_1d(inclusion, "inclusion", where=where, finite=False)
    if probs.size != labelled.size:
        raise InputError(
            "inclusion",
            f"one inclusion probability per item ({labelled.size})",
            Verbatim(f"{probs.size} values"),
            where=where,
        )
    on_labels = probs[labelled]
    bad = ~np.isfinite(on_labels) | (on_labels <= 0) | (on_labels > 1)
    if bad.any():
        first = int(np.flatnonzero(labelled)[np.flatnonzero(bad)[0]])
        raise InputError(
            "inclusion",
            "a probability in (0, 1] for every labelled item",
            Verbatim(f"item {first}: {probs[first]}"),
            where=where,
        )
    if rounds is None:
        return probs, np.zeros(labelled.size, dtype=np.int64)
    round_values = as_float_1d(rounds, "rounds", where=where, finite=False)
    if round_values.size != labelled.size:
        raise InputError(
            "rounds",
            f"one round number per item ({labelled.size})",
            Verbatim(f"{round_values.size} values"),
            where=where,
        )
    filled = np.where(labelled, round_values, 0.0)
    if not np.isfinite(filled).all() or (filled != np.round(filled)).any():
        raise InputError(
            "rounds", "whole round numbers on labelled items", Verbatim("other"), where=where
        )
    return probs, filled.astype(np.int64)


def _uncertainty_predictor(
    data: PreparedData, calibrator: Any, min_labels: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray | None, str]:
    """(f on every item, cross-fitted f on labelled items or None, predictor name)."""
    n_labelled = int(data.labelled.sum())
    if calibrator is None or n_labelled < min_labels:
        return np.where(data.scored, data.unit_score, 0.5), None, "raw score"
    model = calibrator
    rows = np.flatnonzero(data.labelled & data.scored)
    fitted = None
    if rows.size >= 2 and np.ptp(data.score[rows]) > 0:
        from sklearn.base import clone

        fitted = clone(model).fit(data.score[rows], data.target[rows])
    fill = float(data.target[data.labelled].mean())
    everywhere = predict_or_fill(data, fitted, np.arange(data.score.size), fill, False)
    oof = crossfit(data, data.target, model, 5, rng, False)
    return everywhere, oof[data.labelled], type(model).__name__


def _best_mix(
    data: PreparedData,
    pred: FloatArray,
    oof: FloatArray,
    pool: np.ndarray,
    budget: float,
) -> float:
    """The mixing weight whose predicted IPW variance is smallest (ties: more uniform)."""
    residual2 = (data.target[data.labelled] - oof) ** 2
    base = oof * (1 - oof)
    # E[(y - f)^2 | x] ~ a + b f(1-f), fitted on the labelled items (cross-fitted f)
    design = np.column_stack([np.ones_like(base), base])
    coef = np.linalg.lstsq(design, residual2, rcond=None)[0]
    expected = np.clip(coef[0] + coef[1] * pred[pool] * (1 - pred[pool]), 1e-4, None)
    uncertainty = np.sqrt(np.clip(pred[pool] * (1 - pred[pool]), 0.0, None))
    return _mix_with_least_variance(expected, uncertainty, budget)


def _mix_with_least_variance(expected: FloatArray, uncertainty: FloatArray, budget: float) -> float:
    """The value of :data:`MIX_GRID` with the smallest predicted Horvitz-Thompson variance
    when ``expected`` is each item's squared residual (ties: the more uniform design)."""
    best, best_variance = 1.0, math.inf
    for mix in sorted(MIX_GRID, reverse=True):
        prob = poisson_probabilities(uncertainty, budget, mix)
        variance = float(np.sum(expected * (1 - prob) / np.maximum(prob, 1e-12)))
        if variance < best_variance * 0.95:  # prefer the more uniform design unless 5% better
            best, best_variance = mix, variance
    return best


def _best_mix_trusted(pred: FloatArray, pool: np.ndarray, budget: float) -> float:
    """The mixing weight for a raw score read as a calibrated probability: f(1-f) is
    then each item's expected squared residual."""
    spread = np.clip(pred[pool] * (1 - pred[pool]), 0.0, None)
    return _mix_with_least_variance(np.clip(spread, 1e-4, None), np.sqrt(spread), budget)


def choose_labels(
    judgments: JudgmentSet,
    budget: int,
    *,
    calibrator: Any = "isotonic",
    threshold: int | None = None,
    mix: float | None = None,
    min_labels: int = 20,
    seed: int | None = 0,
    trust_score: bool = False,
) -> LabelChoice:
    r"""Which items to send to humans next, and each item's inclusion probability.

    Each unlabelled item is chosen independently (Poisson sampling) with
    probability :math:`\pi_i = b\,(m / M + (1 - m)\, u_i / \sum u)`, capped at 1,
    where :math:`u_i = \sqrt{f_i(1 - f_i)}` is the uncertainty of the calibrated
    judge, ``b`` the budget, ``M`` the pool of unlabelled items and ``m`` the
    weight of uniform sampling. The calibrator is fitted on *all* labels so
    far (without labels, or with fewer than ``min_labels``, ``f`` is the raw
    score rescaled to [0, 1]). With ``mix=None`` and enough labels, ``m`` is the
    value of :data:`MIX_GRID` with the smallest predicted variance. Without
    labels it is 1: a uniform first round, because nothing yet shows that the
    raw score is a probability (trusting a useless judge's score at ``mix=0.5``
    was measured 30% wider than uniform, with poor coverage). For a judge known
    to be confident and calibrated, pass ``trust_score=True``: the first round
    then reads the raw score as a probability and picks ``m`` by the variance
    it predicts (or pass ``mix`` to fix it).
    Record the returned probabilities with the labels
    (column ``inclusion_prob``, plus ``label_round`` when there are several
    rounds) and pass them to :func:`~judgecal.estimate_rate` as ``inclusion=``
    and ``rounds=``.

    Parameters
    ----------
    judgments : JudgmentSet
        All items, with the labels collected so far (possibly none).
    budget : int
        Expected number of items to label in this round.
    calibrator : {"isotonic", "logistic", "none"} or calibrator
        Turns the judge score into the predicted human target.
    threshold : int, optional
        Ordinal labels: the lowest positive level.
    mix : float, optional
        Weight of uniform sampling in [0, 1] (1: uniform); None chooses it.
    min_labels : int
        Labels needed before the calibrator (rather than the raw score) is used.
    seed : int or None
        Seed of the draw.
    trust_score : bool
        Without labels (or fewer than ``min_labels``), read the raw score as a
        calibrated probability and choose ``mix`` by its predicted variance.

    Returns
    -------
    LabelChoice

    Notes
    -----
    Zrnic and Candès, "Active statistical inference", ICML 2024
    (arXiv:2403.03208); Li, Zrnic and Candès (2025) on mixing with uniform
    sampling for robustness.

    Examples
    --------
    >>> import numpy as np
    >>> import judgecal
    >>> rng = np.random.default_rng(0)
    >>> items = [judgecal.Judgment(item_id=str(i), score=float(s))
    ...          for i, s in enumerate(rng.random(1000))]
    >>> js = judgecal.JudgmentSet(items, scale=judgecal.Scale.numeric(0, 1))
    >>> pick = choose_labels(js, 100, mix=0.5)
    >>> round(float(pick.inclusion.sum())), pick.predictor, len(pick)
    (100, 'raw score', 76)
    """
    where = "choose_labels"
    if not isinstance(judgments, JudgmentSet):
        raise InputTypeError("judgments", "a JudgmentSet", judgments, where=where)
    pool_size = sum(1 for j in judgments if j.n_ratings == 0)
    check_int(budget, "budget", low=1, high=max(pool_size, 1), where=where)
    check_int(min_labels, "min_labels", low=2, where=where)
    if mix is not None:
        mix = check_float(mix, "mix", low=0.0, high=1.0, where=where)
    data = _records_for_choice(judgments, threshold, where)
    model = make_calibrator(calibrator, where)
    return choose_from_data(data, budget, model, mix, min_labels, seed, trust_score)


def choose_from_data(
    data: PreparedData,
    budget: float,
    calibrator: Any,
    mix: float | None,
    min_labels: int,
    seed: int | None,
    trust_raw: bool = False,
) -> LabelChoice:
    """:func:`choose_labels` on prepared arrays (checked arguments; for simulations).

    ``trust_raw``: without labels, read the raw unit score as a calibrated probability
    and choose the mix by its predicted variance; otherwise the first round is uniform."""
    rng = _make_rng(seed)
    pred, oof, name = _uncertainty_predictor(data, calibrator, min_labels, rng)
    pool = ~data.labelled
    if mix is None and oof is not None:
        mix = _best_mix(data, pred, oof, pool, float(budget))
    elif mix is None:
        mix = _best_mix_trusted(pred, pool, float(budget)) if trust_raw else 1.0
    uncertainty = np.sqrt(np.clip(pred[pool] * (1 - pred[pool]), 0.0, None))
    prob = np.full(pred.size, np.nan)
    prob[pool] = poisson_probabilities(uncertainty, float(budget), mix)
    draws = rng.random(pred.size)
    chosen = np.flatnonzero(pool & (draws < np.nan_to_num(prob)))
    return LabelChoice(items=chosen, inclusion=prob, mix=float(mix), predictor=name)


def _records_for_choice(js: JudgmentSet, threshold: int | None, where: str) -> PreparedData:
    """Prepared arrays; a set without any labels yet gets empty targets."""
    if js.label_kind is not None:
        return prepare_records(js, None, threshold, "half", where)
    scored = np.array([j.score is not None for j in js], dtype=bool)
    score = np.array([0.0 if j.score is None else float(j.score) for j in js])
    return PreparedData(
        labelled=np.zeros(len(js), dtype=bool),
        scored=scored,
        score=score,
        unit_score=js.scale.to_unit(score),
        target=np.zeros(len(js)),
        nontie_share=None,
        tie_share=None,
        judge_says_tie=None,
        strata=np.full(len(js), "all"),
    )


def ipw_estimate(
    data: PreparedData,
    calibrator: Any,
    options: EstimateOptions,
    inclusion: FloatArray,
    rounds: np.ndarray,
    rng: np.random.Generator,
) -> RateEstimate:
    """:func:`~judgecal.estimate_rate` for labels with inclusion probabilities (one stratum)."""
    if options.ties == "drop":
        raise InputError(
            "ties",
            "'half', 'loss' or 'separate' with inclusion=",
            options.ties,
            where=options.where,
        )
    if options.method == "human":
        pred, label = np.zeros(data.target.size), "human (IPW)"
    else:
        pred = crossfit(data, data.target, calibrator, options.folds, rng, options.stagewise)
        name = "raw score" if calibrator is None else type(calibrator).__name__
        label = f"{options.method} (IPW, {name}, {options.folds}-fold cross-fit)"
    lam: float | None = {"ppi++": None, "ppi": 1.0, "human": 0.0}[options.method]
    core = ipw_core(data.target, pred, data.labelled, inclusion, rounds, lam)
    combined = StratifiedPpi(
        estimate=core.estimate,
        variance=core.variance,
        human_variance=core.human_variance,
        df=float(core.n_labelled - 1),
        lam_mean=core.lam,
        per_stratum={"all": (core, 1.0)},
    )
    judge = judge_baseline(data, stratum_weights(data), options.level, options.ties)
    result = assemble(
        data,
        combined,
        options,
        method=label,
        judge=judge,
        judge_of=lambda _: judge,
        lam_reported=options.method != "human",
    )
    return result.model_copy(update={"std_error": math.sqrt(core.variance)})
