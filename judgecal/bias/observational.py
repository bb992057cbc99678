r"""Observational bias measurements: the judge against humans, without making variants.

:func:`human_judge_gap`
    Where humans rated both versions (or two groups of items, with and without
    the feature): the judge's gap, the human gap, and the difference of the
    two with an interval -- the measure of "Re-Centering Humans in LLM
    Personalization" (humans: gap 0.03; several judges: much larger).
:func:`preference_gap`
    On pairwise data: how much more often the judge than the humans picks the
    response with more of a feature (the longer one, by default).
:func:`feature_regression`
    When no variants can be made: an OLS regression of the judge score on the
    human score plus surface features, with heteroskedasticity-robust (HC3)
    intervals. A feature coefficient is the judge's reward for the feature
    *beyond* what humans give it; the idea behind length-controlled AlpacaEval
    (Dubois et al., 2024) and Chatbot Arena's style control (LMSYS, 2024).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from judgecal._exceptions import InputError, InputTypeError, JudgecalWarning
from judgecal._validation import (
    FloatArray,
    as_float_1d,
    check_choice,
    check_float,
    check_int,
    check_same_length,
    make_rng,
)
from judgecal.bias.report import BiasEffect, BiasReport
from judgecal.bias.resampling import (
    bootstrap_means,
    chunks,
    cluster_bootstrap_means,
    group_permutation_p_value,
    percentile_interval,
    sign_flip_p_value,
)
from judgecal.records.core import JudgmentSet, Scale
from judgecal.vocabulary import DEFAULT_LEVEL, check_ties, pairwise_code

__all__ = ["feature_regression", "human_judge_gap", "preference_gap"]


def _check_level(level: float, where: str) -> None:
    check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True, where=where)


# ---------------------------------------------------------------------------
# gaps against humans
# ---------------------------------------------------------------------------
def _on_unit_scale(
    values: Any, name: str, scale: Scale | None, scale_name: str, where: str
) -> FloatArray:
    """``values`` as floats, mapped to [0, 1] by ``scale`` when one is given."""
    array = as_float_1d(values, name, where=where)
    if scale is None:
        return array
    if not isinstance(scale, Scale):
        raise InputTypeError(scale_name, "a judgecal.Scale or None", scale, where=where)
    if (array < scale.low).any() or (array > scale.high).any():
        raise InputError(
            name,
            f"values on {scale_name} [{scale.low:g}, {scale.high:g}]",
            f"range [{array.min():g}, {array.max():g}]",
            where=where,
        )
    return scale.to_unit(array)


@dataclass(frozen=True)
class _GapResamples:
    """Bootstrap replicates of the gap difference, its p-value and the units used."""

    replicates: FloatArray
    p_value: float
    n: int
    units: int
    """Independent units resampled (items, clusters, or the smaller group): sets the expansion."""


def _paired_gap(
    difference: FloatArray,
    groups: Any,
    n_resamples: int,
    n_permutations: int,
    rng: np.random.Generator,
    where: str,
) -> _GapResamples:
    """Resample the per-item difference of gaps: over items, or over whole clusters."""
    size = difference.size
    if groups is None:
        replicates = bootstrap_means(difference, n_resamples, rng)
        p_value = sign_flip_p_value(difference, n_permutations, rng)
        return _GapResamples(replicates, p_value, size, size)
    labels = np.asarray(groups)
    if labels.ndim != 1 or labels.size != size:
        raise InputError(
            "groups", f"one cluster label per item ({size})", f"shape {labels.shape}", where=where
        )
    _, cluster = np.unique(labels, return_inverse=True)
    sums = np.asarray(np.bincount(cluster, weights=difference), dtype=np.float64)
    sizes = np.bincount(cluster).astype(np.float64)
    if sums.size < 2:
        raise InputError("groups", "at least 2 clusters", sums.size, where=where)
    replicates = cluster_bootstrap_means(sums, sizes, n_resamples, rng)
    # sign flips of whole clusters: the mean is sum(cluster sums) / n
    p_value = sign_flip_p_value(sums * (sums.size / size), n_permutations, rng)
    return _GapResamples(replicates, p_value, size, int(sums.size))


def _two_group_gap(
    with_feature: FloatArray,
    without_feature: FloatArray,
    n_resamples: int,
    n_permutations: int,
    rng: np.random.Generator,
) -> _GapResamples:
    """Resample judge-minus-human within each group; permute the group labels for p."""
    replicates = bootstrap_means(with_feature, n_resamples, rng) - bootstrap_means(
        without_feature, n_resamples, rng
    )
    p_value = group_permutation_p_value(with_feature, without_feature, n_permutations, rng)
    total = int(with_feature.size + without_feature.size)
    return _GapResamples(
        replicates, p_value, total, int(min(with_feature.size, without_feature.size))
    )


def _gap_inputs(
    arrays: tuple[Any, Any, Any, Any],
    judge_scale: Scale | None,
    human_scale: Scale | None,
    where: str,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The four rating arrays (judge with/without, human with/without), each on its scale."""
    names = ("judge_with", "judge_without", "human_with", "human_without")
    scales = ((judge_scale, "judge_scale"),) * 2 + ((human_scale, "human_scale"),) * 2
    jw, jo, hw, ho = (
        _on_unit_scale(values, name, scale, scale_name, where)
        for values, name, (scale, scale_name) in zip(arrays, names, scales, strict=True)
    )
    check_same_length(jw.size, hw.size, "human_with", where=where)
    check_same_length(jo.size, ho.size, "human_without", where=where)
    return jw, jo, hw, ho


def human_judge_gap(
    judge_with: Any,
    judge_without: Any,
    human_with: Any,
    human_without: Any,
    *,
    paired: bool = True,
    judge_scale: Scale | None = None,
    human_scale: Scale | None = None,
    name: str = "mention",
    stage: str = "all",
    groups: Any = None,
    level: float = DEFAULT_LEVEL,
    n_resamples: int = 2000,
    n_permutations: int = 4999,
    seed: int | None = 0,
) -> BiasEffect:
    r"""The judge's gap, the human gap, and their difference with an interval.

    The *gap* is the mean rating of responses with the feature (e.g. a
    mention of the user's attribute) minus the mean rating without it. A
    judge is biased when its gap exceeds the humans': the estimate is
    :math:`\text{gap}_\text{judge} - \text{gap}_\text{human}`. Pass the
    scales to compare both on [0, 1] (a 1-10 judge against 1-5 humans).

    Parameters
    ----------
    judge_with, judge_without, human_with, human_without : array-like
        Ratings (a human value may be the mean of several raters).
        ``paired=True``: four arrays of one length, row ``i`` being both
        versions of item ``i``. ``paired=False``: two groups of items;
        ``judge_with`` and ``human_with`` rate the same items, and so do the
        two ``without`` arrays.
    paired : bool
        Paired design (bootstrap over items, sign-flip p-value on the
        per-item difference of gaps) or two groups (bootstrap within groups,
        permutation of group labels on judge-minus-human).
    judge_scale, human_scale : Scale, optional
        Map each side to [0, 1] first.
    name, stage : str
        Labels of the row.
    groups : array-like of shape (n,), optional
        Paired design only: cluster labels (e.g. the conversation several
        items come from). The bootstrap then resamples clusters and the
        sign flips act on whole clusters, so items of one cluster are not
        treated as independent.
    level : float
        Interval level.
    n_resamples, n_permutations : int
        Bootstrap resamples (interval); permutations (p-value).
    seed : int, optional
        Seed of the resampling.

    Returns
    -------
    BiasEffect
        ``judge_value`` and ``human_value`` are the two gaps.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> q = rng.normal(3, 0.7, 150)                     # quality of 150 items
    >>> h_wo, h_w = q + rng.normal(0, .5, 150), q + 0.03 + rng.normal(0, .5, 150)
    >>> j_wo, j_w = q + rng.normal(0, .3, 150), q + 0.6 + rng.normal(0, .3, 150)
    >>> e = human_judge_gap(j_w, j_wo, h_w, h_wo)
    >>> round(e.judge_value, 2), round(e.human_value, 2), e.low > 0
    (0.6, 0.12, True)
    """
    where = "human_judge_gap"
    _check_level(level, where)
    check_int(n_resamples, "n_resamples", low=10, where=where)
    check_int(n_permutations, "n_permutations", low=10, where=where)
    check_choice(paired, "paired", (True, False), where=where)
    jw, jo, hw, ho = _gap_inputs(
        (judge_with, judge_without, human_with, human_without), judge_scale, human_scale, where
    )
    judge_gap = float(jw.mean() - jo.mean())
    human_gap = float(hw.mean() - ho.mean())
    rng = make_rng(seed)
    if paired:
        check_same_length(jw.size, jo.size, "judge_without", where=where)
        if jw.size < 2:
            raise InputError("judge_with", "at least 2 paired items", jw.size, where=where)
        difference = (jw - jo) - (hw - ho)
        resamples = _paired_gap(difference, groups, n_resamples, n_permutations, rng, where)
    else:
        if groups is not None:
            raise InputError("groups", "None unless paired=True", "cluster labels", where=where)
        if jw.size < 2 or jo.size < 2:
            raise InputError(
                "judge_with", "at least 2 items in each group", (jw.size, jo.size), where=where
            )
        resamples = _two_group_gap(jw - hw, jo - ho, n_resamples, n_permutations, rng)
    estimate = judge_gap - human_gap
    low, high = percentile_interval(resamples.replicates, level, estimate, n=resamples.units)
    on_unit = " (0-1 scale)" if judge_scale or human_scale else ""
    return BiasEffect(
        kind="human_gap",
        name=name,
        stage=stage,
        estimate=estimate,
        low=low,
        high=high,
        level=level,
        p_value=float(resamples.p_value),
        n=resamples.n,
        judge_value=judge_gap,
        human_value=human_gap,
        unit="judge gap minus human gap" + on_unit,
    )


# ---------------------------------------------------------------------------
# pairwise preferences against humans
# ---------------------------------------------------------------------------
def _pairwise_judgments(
    judgments: Any, stage: str | None, first: Any, second: Any, where: str
) -> JudgmentSet:
    if not isinstance(judgments, JudgmentSet):
        raise InputTypeError(
            "judgments", "a judgecal.JudgmentSet", type(judgments).__name__, where=where
        )
    if judgments.label_kind != "pairwise":
        raise InputError(
            "judgments", "pairwise-labelled judgments", judgments.label_kind, where=where
        )
    selected = judgments if stage is None else judgments.stage(stage)
    if stage is not None and len(selected) == 0:
        raise InputError(
            "stage", f"a stage of the judgments {judgments.stage_names()}", stage, where=where
        )
    if stage is not None and not (isinstance(first, str) and isinstance(second, str)):
        raise InputError(
            "first",
            "feature names (not arrays) when stage is given",
            type(first).__name__,
            where=where,
        )
    return selected


def _feature_values(judgments: JudgmentSet, feature: Any, name: str, where: str) -> FloatArray:
    values = (
        judgments.feature(feature)
        if isinstance(feature, str)
        else as_float_1d(feature, name, where=where)
    )
    check_same_length(len(judgments), values.size, name, where=where)
    return values


def _tie_share(ties: str) -> float | None:
    """How much a tie counts as picking the larger response; ``None``: ties do not count."""
    return {"half": 0.5, "loss": 0.0, "drop": None}[ties]


@dataclass
class _Picks:
    """Per item: the judge's and the raters' picks of the larger response, with weights."""

    judge: FloatArray
    judge_weight: FloatArray
    human: FloatArray
    human_weight: FloatArray
    n_failed: int = 0

    def rates(self, rows: Any) -> tuple[Any, Any]:
        """Judge and human pick rates over the items ``rows`` (last axis)."""
        judge = self.judge[rows].sum(-1) / np.maximum(self.judge_weight[rows].sum(-1), 1e-300)
        human = self.human[rows].sum(-1) / np.maximum(self.human_weight[rows].sum(-1), 1e-300)
        return judge, human


def _pick(share_of_first: float, direction: float, tie: float | None) -> tuple[float, float]:
    """(pick of the larger response, weight) from a share of preference for the first one."""
    pick = share_of_first if direction > 0 else 1.0 - share_of_first
    if pick == 0.5:
        return (0.0, 0.0) if tie is None else (tie, 1.0)
    return pick, 1.0


def _picks(judgments: JudgmentSet, direction: FloatArray, tie: float | None) -> _Picks:
    """Picks on the items both sides can be compared on.

    An item is used when its responses differ in the feature, the judge
    scored it and humans rated it. Under ``drop`` (``tie is None``) it must
    also have a decisive judge verdict and at least one decisive rating, so
    the judge's rate and the humans' rate cover the same items.
    """
    size = len(judgments)
    picks = _Picks(np.zeros(size), np.zeros(size), np.zeros(size), np.zeros(size))
    used = []
    for i, judgment in enumerate(judgments):
        if direction[i] == 0 or not judgment.ratings:
            continue
        if judgment.score is None:
            picks.n_failed += 1
            continue
        share_of_first = float(judgments.scale.to_unit(judgment.score))
        picks.judge[i], picks.judge_weight[i] = _pick(share_of_first, direction[i], tie)
        for rating in judgment.ratings:
            human, weight = _pick(pairwise_code(rating.value) / 2.0, direction[i], tie)
            picks.human[i] += human
            picks.human_weight[i] += weight
        if picks.judge_weight[i] > 0 and picks.human_weight[i] > 0:
            used.append(i)
    keep = np.asarray(used, dtype=np.int64)
    return _Picks(
        picks.judge[keep],
        picks.judge_weight[keep],
        picks.human[keep],
        picks.human_weight[keep],
        picks.n_failed,
    )


def _rate_difference_replicates(
    picks: _Picks, n_resamples: int, rng: np.random.Generator
) -> FloatArray:
    size = picks.judge.size
    replicates = np.empty(n_resamples)
    for first, count in chunks(n_resamples, size):
        judge_rate, human_rate = picks.rates(rng.integers(0, size, (count, size)))
        replicates[first : first + count] = judge_rate - human_rate
    return replicates


def preference_gap(
    judgments: JudgmentSet,
    first: str | Any = "len_response1",
    second: str | Any = "len_response2",
    *,
    ties: str = "half",
    name: str = "picks longer",
    stage: str | None = None,
    level: float = DEFAULT_LEVEL,
    n_resamples: int = 2000,
    seed: int | None = 0,
) -> BiasEffect:
    """How much more often the judge than the humans picks the response with more of a feature.

    For pairwise judgments (judge verdicts on a scale whose top favours the
    first response, human ratings first/second/tie), keep the items whose two
    responses differ in the feature (by default: length in characters), and
    compare the judge's rate of picking the larger one with the human raters'
    rate on the same items. The interval is a bootstrap over items. Items the
    judge failed on are left out and counted in ``n_failed``.

    Both rates always cover the same items, and ``n`` counts them. Under
    ``ties="drop"`` an item enters only when the judge's verdict is decisive
    and at least one rater's is; the human rate is then the share of
    decisive ratings picking the larger response on those items.

    Parameters
    ----------
    judgments : JudgmentSet
        Pairwise-labelled judgments (e.g. :func:`judgecal.load_pandalm`).
    first, second : str or array-like
        Feature names in ``Judgment.features`` (or arrays, one value per judgment)
        of the first and second responses.
    ties : {"half", "drop", "loss"}
        The tie policy (:mod:`judgecal.vocabulary`): a tie, the judge's or a
        rater's, counts as half a pick of the larger response (``half``), is
        left out (``drop``: rates among decisive verdicts), or counts as not
        picking it (``loss``).
    name : str
        Label of the row.
    stage : str, optional
        Only judgments of this stage.
    level, n_resamples, seed
        Interval level and bootstrap.

    Returns
    -------
    BiasEffect
        ``estimate`` = judge rate - human rate; ``judge_value`` and
        ``human_value`` are the two rates.

    Examples
    --------
    >>> from judgecal import load_pandalm
    >>> e = preference_gap(load_pandalm("gpt35"))
    >>> round(e.judge_value, 3), round(e.human_value, 3), e.n
    (0.615, 0.652, 956)
    """
    where = "preference_gap"
    ties = check_ties(ties, where=where, allowed=("half", "drop", "loss"))
    _check_level(level, where)
    check_int(n_resamples, "n_resamples", low=10, where=where)
    selected = _pairwise_judgments(judgments, stage, first, second, where)
    direction = np.sign(
        _feature_values(selected, first, "first", where)
        - _feature_values(selected, second, "second", where)
    )
    picks = _picks(selected, direction, _tie_share(ties))
    row = {"kind": "preference", "name": name, "stage": stage or "all", "level": level}
    size = picks.judge.size
    if size < 2 or picks.judge_weight.sum() == 0 or picks.human_weight.sum() == 0:
        return BiasEffect(estimate=None, n=size, n_failed=picks.n_failed, **row)
    judge_rate, human_rate = (float(rate) for rate in picks.rates(slice(None)))
    replicates = _rate_difference_replicates(picks, n_resamples, make_rng(seed))
    estimate = judge_rate - human_rate
    low, high = percentile_interval(replicates, level, estimate, n=size)
    tie_note = {"half": " (tie = half)", "drop": " (decisive only)", "loss": " (tie = not picked)"}
    return BiasEffect(
        estimate=estimate,
        low=low,
        high=high,
        n=size,
        n_failed=picks.n_failed,
        judge_value=judge_rate,
        human_value=human_rate,
        unit="judge rate minus human rate" + tie_note[ties],
        **row,
    )


# ---------------------------------------------------------------------------
# observational regression
# ---------------------------------------------------------------------------
def _design_matrix(
    judge_scores: Any, human_scores: Any, features: Any, where: str
) -> tuple[FloatArray, FloatArray, list[str]]:
    """The judge scores, the columns [1, human, features...] and the feature names."""
    judge = as_float_1d(judge_scores, "judge_scores", where=where)
    human = as_float_1d(human_scores, "human_scores", where=where)
    check_same_length(judge.size, human.size, "human_scores", where=where)
    if not isinstance(features, Mapping) or not features:
        raise InputTypeError("features", "a non-empty mapping name -> array", features, where=where)
    names = [str(key) for key in features]
    columns = [np.ones_like(judge), human]
    for key, label in zip(features, names, strict=True):
        column = as_float_1d(features[key], f"features[{label!r}]", where=where)
        check_same_length(judge.size, column.size, f"features[{label!r}]", where=where)
        columns.append(column)
    design = np.column_stack(columns)
    _check_full_rank(design, names, where)
    return judge, design, names


def _check_full_rank(design: FloatArray, names: list[str], where: str) -> None:
    rows, n_coef = design.shape
    if rows <= n_coef + 1:
        raise InputError(
            "judge_scores",
            f"more than {n_coef + 1} rows for {n_coef} coefficients",
            rows,
            where=where,
        )
    rank = np.linalg.matrix_rank(design)
    if rank == n_coef:
        return
    for j in reversed(range(2, n_coef)):
        if np.linalg.matrix_rank(np.delete(design, j, axis=1)) == rank:
            raise InputError(
                "features",
                "features that vary and are not collinear with the others or the human score",
                f"{names[j - 2]!r} (constant or collinear)",
                where=where,
            )
    raise InputError("human_scores", "a human score that varies", "a constant", where=where)


def _robust_covariance(
    design: FloatArray, residuals: FloatArray, bread: FloatArray, cov: str
) -> FloatArray:
    """HC0, HC1 or HC3 sandwich covariance of the OLS coefficients."""
    rows, n_coef = design.shape
    if cov == "HC3":
        leverage = np.einsum("ij,jk,ik->i", design, bread, design)
        weights = residuals**2 / np.clip(1.0 - leverage, 1e-8, None) ** 2
    elif cov == "HC1":
        weights = residuals**2 * rows / (rows - n_coef)
    else:
        weights = residuals**2
    return np.asarray(bread @ (design.T * weights) @ design @ bread)


def _cluster_covariance(
    design: FloatArray, residuals: FloatArray, bread: FloatArray, groups: Any, where: str
) -> tuple[FloatArray, int]:
    """CR1 cluster-robust covariance and the number of clusters."""
    rows, n_coef = design.shape
    labels = np.asarray(groups)
    if labels.ndim != 1 or labels.size != rows:
        raise InputError(
            "groups", f"one cluster label per row ({rows})", f"shape {labels.shape}", where=where
        )
    _, cluster = np.unique(labels, return_inverse=True)
    n_clusters = int(cluster.max()) + 1
    if n_clusters < 2:
        raise InputError("groups", "at least 2 clusters", n_clusters, where=where)
    scores = np.zeros((n_clusters, n_coef))
    np.add.at(scores, cluster, design * residuals[:, None])
    factor = n_clusters / (n_clusters - 1) * (rows - 1) / (rows - n_coef)
    return np.asarray(factor * bread @ (scores.T @ scores) @ bread), n_clusters


@dataclass(frozen=True)
class _Fit:
    """An OLS fit with its standard errors and the t quantile of the interval."""

    coefficients: FloatArray
    errors: FloatArray
    df: int
    t_quantile: float
    r_squared: float
    label: str


def _fit_ols(
    judge: FloatArray, design: FloatArray, cov: str, groups: Any, level: float, where: str
) -> _Fit:
    from scipy import stats

    rows, n_coef = design.shape
    bread = np.asarray(np.linalg.inv(design.T @ design), dtype=np.float64)
    coefficients = bread @ (design.T @ judge)
    residuals = judge - design @ coefficients
    if groups is None:
        covariance, df, label = (
            _robust_covariance(design, residuals, bread, cov),
            rows - n_coef,
            cov,
        )
    else:
        covariance, n_clusters = _cluster_covariance(design, residuals, bread, groups, where)
        df, label = n_clusters - 1, f"cluster-robust, {n_clusters} clusters"
    errors = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    total = max(float(((judge - judge.mean()) ** 2).sum()), 1e-300)
    return _Fit(
        coefficients=coefficients,
        errors=errors,
        df=df,
        t_quantile=float(stats.t.ppf(1 - (1 - level) / 2, df)),
        r_squared=1 - float(residuals @ residuals) / total,
        label=label,
    )


def _coefficient_effect(fit: _Fit, j: int, name: str, level: float, n: int) -> BiasEffect:
    from scipy import stats

    beta, error = float(fit.coefficients[j]), float(fit.errors[j])
    t_value = beta / error if error > 0 else (0.0 if beta == 0 else math.inf)
    p_value = float(2 * stats.t.sf(abs(t_value), fit.df)) if math.isfinite(t_value) else 0.0
    return BiasEffect(
        kind="regression",
        name=name,
        estimate=beta,
        low=beta - fit.t_quantile * error,
        high=beta + fit.t_quantile * error,
        level=level,
        p_value=p_value,
        n=n,
        unit="judge score per unit of feature, at fixed human score",
    )


def feature_regression(
    judge_scores: Any,
    human_scores: Any,
    features: Mapping[str, Any],
    *,
    cov: str = "HC3",
    groups: Any = None,
    level: float = DEFAULT_LEVEL,
    alpha: float = 0.05,
    title: str = "Feature regression",
) -> BiasReport:
    r"""Regress the judge score on the human score plus surface features (OLS, robust intervals).

    Fits :math:`s_i = \beta_0 + \beta_h h_i + \sum_k \gamma_k f_{ik} + \varepsilon_i`
    by least squares. Holding the human score fixed, :math:`\gamma_k` is how
    much the judge's score moves per unit of feature ``k`` *beyond* what the
    humans reward: 0 for an unbiased judge. Intervals use
    heteroskedasticity-consistent standard errors (``HC3`` by default, the
    small-sample choice of Long and Ervin, 2000; ``HC0``, ``HC1`` available)
    with Student-t quantiles on ``n - p`` degrees of freedom. This is the idea
    behind length-controlled AlpacaEval (Dubois et al., 2024), which regresses
    the judge's preference on a length term and reads the result at zero
    length difference, and Chatbot Arena's style control (LMSYS, 2024), which
    adds length and markdown differences to its Bradley-Terry model. For
    pairwise data pass *differences* (first minus second) as features.

    The human score is measured with noise (few raters per item), so
    :math:`\beta_h` is attenuated and a feature correlated with quality can
    pick up part of it: read small coefficients with care, and prefer an
    ablation probe when variants can be made.

    Parameters
    ----------
    judge_scores, human_scores : array-like of shape (n,)
        The judge's score and the (mean) human score of each item.
    features : mapping of str to array-like of shape (n,)
        Surface features (mention count, length, markdown count, ...).
    cov : {"HC3", "HC1", "HC0"}
        Robust covariance estimator (ignored when ``groups`` is given).
    groups : array-like of shape (n,), optional
        Cluster labels (e.g. the story or conversation several rows share).
        Then the covariance is cluster-robust (CR1: Liang and Zeger, 1986,
        with the small-sample factor ``G/(G-1) (n-1)/(n-p)``) and the
        t quantiles use ``G - 1`` degrees of freedom.
    level, alpha : float
        Interval level; significance level for ``flagged``.
    title : str
        Title of the report.

    Returns
    -------
    BiasReport
        One ``regression`` row per feature (the human coefficient is in ``notes``).

    Warns
    -----
    JudgecalWarning
        When the human coefficient's interval is not above 0. The regression
        reads a feature coefficient as a reward *beyond* humans only if the
        judge's score rises with the human score; on pairs where humans and
        the judge both prefer longer answers, a negative human coefficient
        makes the length term meaningless (a note in the report says so too).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> h = rng.normal(3, 1, 400); m = rng.integers(0, 3, 400)
    >>> s = 1 + 0.8 * h + 0.5 * m + rng.normal(0, 0.5, 400)
    >>> r = feature_regression(s, h, {"mentions": m})
    >>> e = r.effects[0]
    >>> e.name, round(e.estimate, 2), e.low < 0.5 < e.high
    ('mentions', 0.5, True)
    """
    where = "feature_regression"
    check_choice(cov, "cov", ("HC0", "HC1", "HC3"), where=where)
    _check_level(level, where)
    check_float(alpha, "alpha", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    judge, design, names = _design_matrix(judge_scores, human_scores, features, where)
    fit = _fit_ols(judge, design, cov, groups, level, where)
    rows = design.shape[0]
    effects = [
        _coefficient_effect(fit, j, name, level, rows) for j, name in enumerate(names, start=2)
    ]
    human, half_width = fit.coefficients[1], fit.t_quantile * fit.errors[1]
    note = (
        f"OLS of the judge score on the human score and features ({fit.label} SEs, "
        f"df={fit.df}): human coefficient {human:.3f} "
        f"[{human - half_width:.3f}, {human + half_width:.3f}], R^2 = {fit.r_squared:.3f}."
    )
    notes: tuple[str, ...] = (note,)
    if not human - half_width > 0:
        premise = (
            f"The human coefficient ({human:.3f}, interval from {human - half_width:.3f}) is not "
            "clearly positive: the judge does not track the human score here, so a feature "
            "coefficient is not the judge's reward beyond humans. Compare rates instead "
            "(preference_gap for pairwise data) or make variants (probe_bias)."
        )
        warnings.warn(premise, JudgecalWarning, stacklevel=2)
        notes = (note, "Warning: " + premise)
    return BiasReport(effects=tuple(effects), title=title, alpha=alpha, notes=notes)
