r"""Human rates and differences of rates from records: the one-call API.

``estimate_rate`` and ``estimate_difference`` check their arguments, prepare
the records (:mod:`judgecal.estimate._prepared`), and run one estimator: PPI++
with a cross-fitted calibrator (:mod:`judgecal.estimate.ppi`), a ratio for
``ties="drop"``, Rogan-Gladen, the baselines, or the Bayesian posterior
(:mod:`judgecal.estimate.bayes`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

import numpy as np

from judgecal._exceptions import InputError, InputTypeError
from judgecal._validation import (
    FloatArray,
    Verbatim,
    as_float_1d,
    check_choice,
    check_float,
    check_int,
    make_rng,
)
from judgecal.estimate._prepared import (
    PreparedData,
    crossfit,
    make_calibrator,
    prepare_records,
    stratum_weights,
)
from judgecal.estimate._strata import (
    EstimateOptions,
    StratifiedPpi,
    assemble,
    clip_interval,
    human_stratum_baseline,
    judge_baseline,
    stratified_ppi,
    tie_judge_baseline,
)
from judgecal.estimate.active import inclusion_weights, ipw_estimate
from judgecal.estimate.bayes import bayes_estimate, check_offered, default_bayes, has_posterior
from judgecal.estimate.ppi import PpiCore, critical_value, ppi_core, rogan_gladen_core
from judgecal.estimate.results import Baseline, RateEstimate, StratumEstimate
from judgecal.records.core import JudgmentSet
from judgecal.vocabulary import DEFAULT_LEVEL, TiePolicy, check_ties

__all__ = ["estimate_difference", "estimate_rate", "run_estimate"]

Method = Literal["ppi++", "ppi", "rogan-gladen", "human", "judge", "bayes"]
IntervalKind = Literal["t", "normal"]
_METHODS = ("ppi++", "ppi", "rogan-gladen", "human", "judge", "bayes")
_ESTIMANDS = {
    "half": "P(human prefers first), ties count half",
    "drop": "P(human prefers first | not a tie)",
    "loss": "P(human prefers first), a tie counts as not preferring it",
    "separate": "P(human prefers first), ties are not wins",
}


def _check_common(level: Any, folds: Any, interval: Any, where: str) -> None:
    check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    check_int(folds, "folds", low=2, where=where)
    check_choice(interval, "interval", ("t", "normal"), where=where)


def estimand_words(js: JudgmentSet, threshold: int | None, ties: str) -> str:
    """What is estimated, in words."""
    if js.label_kind == "pairwise":
        return _ESTIMANDS[ties]
    if js.label_kind == "ordinal":
        return f"P(human rating >= {threshold})"
    return "P(human says yes)"


def _check_panel_methods(data: PreparedData, method: str, inclusion: Any, where: str) -> None:
    """A judge panel cannot go through Rogan-Gladen or the chosen-labels estimator."""
    if data.panel is None:
        return
    if method == "rogan-gladen":
        raise InputError(
            "method",
            "'ppi++', 'ppi', 'bayes', 'human' or 'judge' with a judge panel",
            method,
            where=where,
        )
    if inclusion is not None:
        raise InputError("inclusion", "None with a judge panel", "probabilities", where=where)


def estimate_rate(
    judgments: JudgmentSet,
    *,
    method: Method = "ppi++",
    calibrator: Any = "isotonic",
    strata: str | Sequence[str] | None = "stage",
    threshold: int | None = None,
    ties: TiePolicy = "half",
    level: float = DEFAULT_LEVEL,
    folds: int = 5,
    stagewise: bool = False,
    interval: IntervalKind = "t",
    seed: int | None = 0,
    inclusion: Any = None,
    rounds: Any = None,
    judges: Any = None,
) -> RateEstimate:
    """Estimate the human rate from records: some labelled by humans, most only by the judge.

    Parameters
    ----------
    judgments : JudgmentSet
        Items with a judge score (or a judge failure) and zero or more human
        ratings. Items with ratings are the labelled sample; they should be a
        random sample of the items (within each stratum).
    method : {"ppi++", "ppi", "rogan-gladen", "human", "judge", "bayes"}
        ``ppi++`` (default): power-tuned prediction-powered inference;
        ``ppi``: without power tuning (``lam=1``); ``rogan-gladen``: the
        classical correction of a yes/no judge (verdict scale with two words);
        ``human`` / ``judge``: the baselines as the main estimate; ``bayes``:
        the posterior of the finite-population rate from a Bayesian
        calibrator fitted on all labels (default: a binary
        :class:`~judgecal.BayesianCalibrator` on the judge's scale; or pass one,
        or any object with ``predict_agreement_draws``). Model-based:
        valid when the calibration model is.
    calibrator : {"isotonic", "logistic", "none"} or calibrator
        Turns the judge score into a predicted human target; cross-fitted.
        Any unfitted estimator with ``fit(X, y, sample_weight, stages=)``,
        ``predict_agreement(X, stages=)`` and ``get_params`` works (it is cloned
        per fold), e.g. a Bayesian calibrator.
        ``"none"`` uses the raw score rescaled to [0, 1] (PPI stays valid).
    strata : "stage", a meta field name, an array of labels, or None
        Estimate per stratum and combine with weights ``N_h / N``.
    threshold : int, optional
        Ordinal labels: the lowest level that counts as positive.
    ties : {"half", "drop", "loss", "separate"}
        Pairwise labels only: the tie policy of :mod:`judgecal.vocabulary` (see
        the notes of :mod:`judgecal.estimate`). ``"negative"`` (0.1's name for
        ``"loss"``) is accepted with a ``DeprecationWarning``.
    level : float
        Nominal coverage.
    folds : int
        Cross-fitting folds for the calibrator.
    stagewise : bool
        Fit the calibrator per stratum (pooled fallback for small strata).
    interval : {"t", "normal"}
        Student t (``n_h - 1`` degrees of freedom, summed over strata) or normal quantiles.
    seed : int or None
        Seed of the fold split.
    judges : sequence of str or mapping of str to JudgmentSet, optional
        A judge panel (docs/panels.md): names of judges the records carry, or
        other judges' records of the same items (matched by stage and item id).
        The calibrator sees every judge's score; items some judge failed on get
        the labelled mean. None: every judge the records carry. Methods
        ``ppi++``, ``ppi``, ``bayes``, ``human``, ``judge``.
    inclusion : array-like of shape (n_items,), optional
        Each item's probability of having been chosen for labelling (NaN or
        anything on unlabelled items), e.g. from :func:`~judgecal.choose_labels`
        or a label file's ``inclusion_prob`` column. With it the estimate is the
        inverse-probability-weighted, power-tuned one of
        :mod:`judgecal.estimate.active` (over all items; ``strata`` then only
        groups a ``stagewise`` calibrator). Methods ``ppi++``, ``ppi``, ``human``.
    rounds : array-like of shape (n_items,), optional
        With ``inclusion``: the labelling round of each labelled item
        (``label_round``); each round's probabilities may depend on earlier labels.

    Returns
    -------
    RateEstimate

    Examples
    --------
    >>> import judgecal
    >>> pandalm = judgecal.load_pandalm(with_texts=False)
    >>> hidden = judgecal.keep_labels(pandalm, 150, by=None, seed=0)
    >>> r = estimate_rate(hidden, strata=None)
    >>> r.method, r.n_labelled, r.width < r.human_only.width
    ('ppi++ (isotonic, 5-fold cross-fit)', 150, True)
    """
    where = "estimate_rate"
    check_choice(method, "method", _METHODS, where=where)
    tie_policy = check_ties(ties, where=where)
    _check_common(level, folds, interval, where)
    check_choice(stagewise, "stagewise", (True, False), where=where)
    calibrator = _rate_calibrator(judgments, method, calibrator, tie_policy, where)
    data = prepare_records(
        judgments, strata, threshold, tie_policy, where, judges, panel_from_records=True
    )
    _check_panel_methods(data, method, inclusion, where)
    weights = stratum_weights(data)
    if method == "bayes":
        check_offered(data, weights, calibrator, where)
    options = EstimateOptions(
        method=method,
        ties=tie_policy,
        level=level,
        interval=interval,
        bounded=True,
        where=where,
        estimand=estimand_words(judgments, threshold, tie_policy),
        folds=folds,
        stagewise=stagewise,
    )
    if inclusion is not None:
        return _chosen_labels_estimate(data, calibrator, options, inclusion, rounds, seed)
    result = run_estimate(data, weights, calibrator, options, make_rng(seed))
    if tie_policy == "separate":
        result = result.model_copy(update={"tie_rate": _tie_rate(data, weights, options)})
    return result


def _chosen_labels_estimate(
    data: PreparedData,
    calibrator: Any,
    options: EstimateOptions,
    inclusion: Any,
    rounds: Any,
    seed: int | None,
) -> RateEstimate:
    """The IPW estimate for labels chosen with known inclusion probabilities."""
    if options.method not in ("ppi++", "ppi", "human"):
        raise InputError(
            "method",
            "'ppi++', 'ppi' or 'human' with inclusion=",
            options.method,
            where=options.where,
        )
    probs, round_numbers = inclusion_weights(inclusion, data.labelled, rounds, options.where)
    return ipw_estimate(data, calibrator, options, probs, round_numbers, make_rng(seed))


def _rate_calibrator(judgments: Any, method: str, calibrator: Any, ties: str, where: str) -> Any:
    """The calibrator object for ``method`` (for ``bayes``: one with posterior draws)."""
    if method == "bayes" and isinstance(calibrator, str) and calibrator in ("isotonic", "logistic"):
        calibrator = default_bayes(judgments, where) if calibrator == "isotonic" else calibrator
    calibrator = make_calibrator(calibrator, where)
    if method == "bayes" and not has_posterior(calibrator):
        raise InputError(
            "calibrator",
            "with method='bayes', a BayesianCalibrator or an unfitted calibrator with "
            "fit(X, y, sample_weight, stages=) and predict_agreement_draws(X, stages=) "
            "-> (draws, n)",
            calibrator,
            where=where,
        )
    if method == "bayes" and ties == "drop":
        raise InputError(
            "ties", "'half', 'loss' or 'separate' with method='bayes'", ties, where=where
        )
    return calibrator


def _tie_rate(
    data: PreparedData, weights: Mapping[str, float], options: EstimateOptions
) -> RateEstimate:
    """The human tie rate (``ties="separate"``), with the judge's tie verdict as predictor."""
    assert data.tie_share is not None
    tie_share = data.tie_share
    predictor = data.judge_says_tie
    if predictor is None:
        predictor = np.full(tie_share.size, float(tie_share[data.labelled].mean()))
    human_only = options.method == "human"
    combined = stratified_ppi(
        tie_share, predictor, data, weights, 0.0 if human_only else None, options.where
    )
    method = options.method if options.method in ("human", "judge") else "ppi++"
    if data.judge_says_tie is not None:
        method += " (judge says tie)"
    return assemble(
        data,
        combined,
        replace(options, estimand="P(human says tie)"),
        method=method,
        judge=tie_judge_baseline(data, weights, options.level),
        judge_of=lambda name: tie_judge_baseline(data, {name: 1.0}, options.level),
    )


def estimate_difference(
    judgments: JudgmentSet,
    *,
    group: str,
    first: str,
    second: str,
    method: Literal["ppi++", "ppi", "human"] = "ppi++",
    calibrator: Any = "isotonic",
    strata: str | None = "stage",
    threshold: int | None = None,
    level: float = DEFAULT_LEVEL,
    folds: int = 5,
    interval: IntervalKind = "t",
    seed: int | None = 0,
    inclusion: Any = None,
    rounds: Any = None,
) -> RateEstimate:
    """Difference of the human rate between two systems: ``rate(first) - rate(second)``.

    The items of the two systems are independent samples (different outputs,
    each judged and partly labelled). The calibrator is cross-fitted on the
    labelled items of both; each system is estimated within its strata and the
    variances add. For two responses to the *same* prompt compared directly,
    record pairwise labels and use :func:`estimate_rate` instead.

    Parameters
    ----------
    judgments : JudgmentSet
        Items of both systems.
    group : str
        The meta field naming the system of each item (e.g. ``"system"``).
    first, second : str
        The two values of ``group`` to compare.
    method, calibrator, strata, threshold, level, folds, interval, seed, inclusion, rounds
        As in :func:`estimate_rate` (``strata`` may only be ``"stage"``, a meta field or None).
        With ``inclusion`` each system is estimated with the IPW estimator and the
        variances add.

    Returns
    -------
    RateEstimate
        ``strata`` holds one entry per (system, stratum), with signed weights.

    Examples
    --------
    >>> import judgecal
    >>> js = judgecal.load_hanna(criteria=("Coherence",)).scored()
    >>> keep = set(range(0, len(js), 4))
    >>> part = judgecal.JudgmentSet(
    ...     [j if i in keep else j.model_copy(update={"ratings": ()}) for i, j in enumerate(js)],
    ...     scale=js.scale)
    >>> r = estimate_difference(part, group="system", first="Human", second="GPT-2",
    ...                         threshold=4, strata=None)
    >>> r.estimate > 0, r.width < r.human_only.width
    (True, True)
    """
    where = "estimate_difference"
    check_choice(method, "method", ("ppi++", "ppi", "human"), where=where)
    _check_common(level, folds, interval, where)
    if not isinstance(group, str):
        raise InputTypeError("group", "the name of a meta field", group, where=where)
    calibrator = make_calibrator(calibrator, where)
    data = prepare_records(judgments, strata, threshold, "half", where)
    system = np.asarray(judgments.meta(group))
    _check_systems(system, group, first, second, where)
    rows = np.flatnonzero((system == first) | (system == second))
    data = data.subset(
        rows, np.char.add(np.char.add(system[rows].astype(str), " | "), data.strata[rows])
    )
    weights = {
        **stratum_weights(data, system[rows] == first, 1.0),
        **stratum_weights(data, system[rows] == second, -1.0),
    }
    options = EstimateOptions(
        method=method,
        ties="half",
        level=level,
        interval=interval,
        bounded=False,
        where=where,
        estimand=f"{estimand_words(judgments, threshold, 'half')}: {first} - {second}",
        folds=folds,
    )
    if inclusion is not None:
        result = _chosen_difference(
            data,
            system[rows],
            (first, second),
            calibrator,
            options,
            (inclusion, rounds, rows),
            seed,
        )
    else:
        result = run_estimate(data, weights, calibrator, options, make_rng(seed))
    return result.model_copy(update={"low": max(result.low, -1.0), "high": min(result.high, 1.0)})


def _chosen_difference(
    data: PreparedData,
    system: np.ndarray,
    pair: tuple[Any, Any],
    calibrator: Any,
    options: EstimateOptions,
    design: tuple[Any, Any, np.ndarray],
    seed: int | None,
) -> RateEstimate:
    """IPW estimates of the two systems, subtracted (independent samples: variances add)."""
    inclusion, rounds, rows = design
    probs = as_float_1d(inclusion, "inclusion", where=options.where, finite=False)
    if probs.size <= int(rows.max()):
        raise InputError(
            "inclusion",
            "one inclusion probability per item of judgments",
            Verbatim(f"{probs.size} values"),
            where=options.where,
        )
    round_numbers = None if rounds is None else np.asarray(rounds)[rows]
    picked = (probs[rows], round_numbers)
    parts = []
    for value in pair:
        keep = np.flatnonzero(system == value)
        part = data.subset(keep, np.full(keep.size, str(value)))
        part_rounds = None if picked[1] is None else picked[1][keep]
        parts.append(
            _chosen_labels_estimate(part, calibrator, options, picked[0][keep], part_rounds, seed)
        )
    high, low = parts
    estimate = high.estimate - low.estimate
    std_error = math.hypot(high.std_error or 0.0, low.std_error or 0.0)
    human_se = math.hypot(high.human_only.width, low.human_only.width) / 2
    crit = critical_value(options.level, high.n_labelled + low.n_labelled - 2, options.interval)
    human = high.human_only.estimate - low.human_only.estimate
    judge = high.judge_only.estimate - low.judge_only.estimate
    n_labelled = high.n_labelled + low.n_labelled
    return high.model_copy(
        update={
            "estimate": estimate,
            "low": estimate - crit * std_error,
            "high": estimate + crit * std_error,
            "n_labelled": n_labelled,
            "n_unlabelled": high.n_unlabelled + low.n_unlabelled,
            "n_unscored": high.n_unscored + low.n_unscored,
            "effective_labels": n_labelled * (human_se / max(crit * std_error, 1e-300)) ** 2,
            "human_only": Baseline(estimate=human, low=human - human_se, high=human + human_se),
            "judge_only": Baseline(estimate=judge, low=judge, high=judge),
            "std_error": std_error,
            "lam": None,
        }
    )


def _check_systems(system: np.ndarray, group: str, first: Any, second: Any, where: str) -> None:
    present = sorted(set(system.tolist()), key=str)
    for name, value in (("first", first), ("second", second)):
        if value not in set(present):
            raise InputError(
                name, f"a value of meta field {group!r} ({present[:6]})", value, where=where
            )
    if first == second:
        raise InputError(
            "second",
            f"a value of meta field {group!r} other than first={first!r} "
            "(a system compared with itself)",
            second,
            where=where,
        )


def run_estimate(
    data: PreparedData,
    weights: Mapping[str, float],
    calibrator: Any,
    options: EstimateOptions,
    rng: np.random.Generator,
) -> RateEstimate:
    """Run the estimator ``options.method`` on prepared data with stratum ``weights``.

    ``calibrator`` is an unfitted calibrator object or None (the raw unit
    score); ``rng`` draws the fold split (or the Bayesian noise).
    """
    judge = judge_baseline(data, weights, options.level, options.ties)
    if options.method == "judge":
        return _judge_as_estimate(data, weights, options, judge)
    if options.method == "rogan-gladen":
        return _rogan_gladen_records(data, weights, options, judge)
    if options.method == "bayes":
        human = human_baseline(data, weights, options)
        return bayes_estimate(data, weights, calibrator, options, judge, human, rng)
    if options.method == "human":
        predictions = np.zeros(data.target.size)
        label = "human (labelled items only)"
    else:
        predictions = crossfit(data, data.target, calibrator, options.folds, rng, options.stagewise)
        label = _ppi_label(options.method, calibrator, options.folds)
    lam: float | None = {"ppi++": None, "ppi": 1.0, "human": 0.0}[options.method]
    if options.ties == "drop":
        combined, human_estimate = _ratio_ppi(data, weights, predictions, lam, options)
    else:
        combined = stratified_ppi(data.target, predictions, data, weights, lam, options.where)
        human_estimate = combined.human_estimate
    result = assemble(
        data,
        combined,
        options,
        method=label,
        judge=judge,
        judge_of=lambda name: judge_baseline(data, {name: 1.0}, options.level, options.ties),
        human_estimate=human_estimate,
        lam_reported=options.method != "human",
    )
    return result.model_copy(update={"std_error": math.sqrt(combined.variance)})


def _ppi_label(method: str, calibrator: Any, folds: int) -> str:
    if calibrator is None:
        return f"{method} (raw score)"
    name = type(calibrator).__name__.replace("Calibrator", "").lower()
    return f"{method} ({name}, {folds}-fold cross-fit)"


def _judge_as_estimate(
    data: PreparedData, weights: Mapping[str, float], options: EstimateOptions, judge: Baseline
) -> RateEstimate:
    return RateEstimate(
        estimand=options.estimand,
        method="judge (raw score, naive interval)",
        estimate=judge.estimate,
        low=judge.low,
        high=judge.high,
        level=options.level,
        **data.sample_sizes(),
        effective_labels=0.0,
        human_only=human_baseline(data, weights, options),
        judge_only=judge,
    )


def _human_ratio(data: PreparedData, rows: np.ndarray) -> float:
    assert data.nontie_share is not None
    return float(data.target[rows].sum() / max(data.nontie_share[rows].sum(), 1e-9))


def _weighted_labelled_mean(
    values: FloatArray, data: PreparedData, weights: Mapping[str, float]
) -> float:
    return sum(
        w * float(values[(data.strata == name) & data.labelled].mean())
        for name, w in weights.items()
    )


def _ratio_ppi(
    data: PreparedData,
    weights: Mapping[str, float],
    predictions: FloatArray,
    lam: float | None,
    options: EstimateOptions,
) -> tuple[StratifiedPpi, float]:
    r"""``ties="drop"``: :math:`P(\text{first}) / P(\text{not tie})`, linearised.

    The numerator and the denominator are PPI means; the ratio is linearised
    around the human-only ratio :math:`r_0` (overall, and per stratum around
    the stratum's own), which gives the delta-method interval. Returns the
    combined estimate and :math:`r_0`.
    """
    assert data.nontie_share is not None
    nontie = data.nontie_share
    if data.judge_says_tie is not None and options.method != "human":
        nontie_pred = 1.0 - data.judge_says_tie
    else:
        nontie_pred = np.full(nontie.size, float(nontie[data.labelled].mean()))
    human_denominator = max(_weighted_labelled_mean(nontie, data, weights), 1e-9)
    ratio0 = _weighted_labelled_mean(data.target, data, weights) / human_denominator
    residual = stratified_ppi(
        data.target - ratio0 * nontie,
        predictions - ratio0 * nontie_pred,
        data,
        weights,
        lam,
        options.where,
    )
    denominator = stratified_ppi(nontie, nontie_pred, data, weights, lam, options.where)
    scale = max(denominator.estimate, 1e-9)
    per_stratum = {
        name: (_ratio_stratum(data, name, predictions, nontie_pred, lam), w)
        for name, (_, w) in residual.per_stratum.items()
    }
    combined = StratifiedPpi(
        estimate=ratio0 + residual.estimate / scale,
        variance=residual.variance / scale**2,
        human_variance=residual.human_variance / human_denominator**2,
        df=residual.df,
        lam_mean=residual.lam_mean,
        per_stratum=per_stratum,
    )
    return combined, ratio0


def _ratio_stratum(
    data: PreparedData,
    name: str,
    predictions: FloatArray,
    nontie_pred: FloatArray,
    lam: float | None,
) -> PpiCore:
    """One stratum's ratio, linearised around the stratum's human ratio."""
    assert data.nontie_share is not None
    nontie = data.nontie_share
    in_stratum = data.strata == name
    lab, unl = in_stratum & data.labelled, in_stratum & ~data.labelled
    ratio_h = _human_ratio(data, lab)
    residual = ppi_core(
        data.target[lab] - ratio_h * nontie[lab],
        predictions[lab] - ratio_h * nontie_pred[lab],
        predictions[unl] - ratio_h * nontie_pred[unl],
        lam,
        floor=True,
    )
    denominator = ppi_core(nontie[lab], nontie_pred[lab], nontie_pred[unl], lam, floor=True)
    scale = max(denominator.estimate, 1e-9)
    human_scale = max(float(nontie[lab].mean()), 1e-9)
    return PpiCore(
        estimate=ratio_h + residual.estimate / scale,
        variance=residual.variance / scale**2,
        lam=residual.lam,
        human_variance=residual.human_variance / human_scale**2,
        n_labelled=residual.n_labelled,
        n_unlabelled=residual.n_unlabelled,
        human_mean=ratio_h,
    )


def human_baseline(
    data: PreparedData, weights: Mapping[str, float], options: EstimateOptions
) -> Baseline:
    """The human labels alone, under the same strata and tie policy."""
    if options.ties == "drop":
        human_options = replace(options, method="human", folds=2, stagewise=False)
        result = run_estimate(data, weights, None, human_options, np.random.default_rng(0))
        return result.human_only
    combined = stratified_ppi(
        data.target, np.zeros(data.target.size), data, weights, 0.0, options.where
    )
    half = critical_value(options.level, combined.df, options.interval) * math.sqrt(
        combined.human_variance
    )
    low, high = clip_interval(combined.estimate, half, options.bounded)
    return Baseline(estimate=combined.estimate, low=low, high=high)


def _rogan_gladen_records(
    data: PreparedData, weights: Mapping[str, float], options: EstimateOptions, judge: Baseline
) -> RateEstimate:
    """Rogan-Gladen per stratum for a yes/no judge, combined with the stratum weights."""
    if options.ties != "half" or data.judge_says_tie is not None:
        raise InputError(
            "method",
            "'rogan-gladen' only with a yes/no judge (a two-word verdict scale) "
            "and binary or ordinal labels",
            "rogan-gladen",
            where=options.where,
        )
    estimate = variance = 0.0
    uninformative = False
    strata: dict[str, StratumEstimate] = {}
    for name, w in weights.items():
        stratum_estimate, stratum_variance = _rogan_gladen_stratum(data, name, options.where)
        uninformative = uninformative or stratum_variance is None
        stratum_variance = 0.25 if stratum_variance is None else stratum_variance
        estimate += w * stratum_estimate
        variance += w**2 * stratum_variance
        if len(weights) > 1:
            strata[name] = _rogan_gladen_stratum_result(
                data, name, w, stratum_estimate, stratum_variance, options.level
            )
    human = human_baseline(data, weights, options)
    z = critical_value(options.level, math.inf, "normal")
    low, high = (
        (0.0, 1.0) if uninformative else clip_interval(estimate, z * math.sqrt(variance), True)
    )
    n_labelled = int(data.labelled.sum())
    crit = critical_value(options.level, max(n_labelled - 1, 1), options.interval)
    human_variance = (human.width / (2 * crit)) ** 2
    informative = variance > 0 and not uninformative
    effective = n_labelled * human_variance / variance if informative else float(n_labelled)
    return RateEstimate(
        estimand=options.estimand,
        method="rogan-gladen (yes/no judge, delta-method interval)",
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


def _rogan_gladen_stratum(data: PreparedData, name: str, where: str) -> tuple[float, float | None]:
    judged = (data.strata == name) & data.scored
    labelled = judged & data.labelled
    if labelled.sum() < 2:
        raise InputError(
            "judgments",
            f"at least 2 labelled items with a judge verdict in stratum {name!r}",
            Verbatim(str(int(labelled.sum()))),
            where=where,
        )
    says_yes = (data.unit_score >= 0.5).astype(float)
    return rogan_gladen_core(data.target[labelled], says_yes[labelled], says_yes[judged])


def _rogan_gladen_stratum_result(
    data: PreparedData, name: str, weight: float, estimate: float, variance: float, level: float
) -> StratumEstimate:
    judged = (data.strata == name) & data.scored
    labelled = judged & data.labelled
    says_yes = (data.unit_score[judged] >= 0.5).astype(float)
    z = critical_value(level, math.inf, "normal")
    judge_half = z * math.sqrt(float(says_yes.var()) / says_yes.size)
    judge_rate = float(says_yes.mean())
    low, high = (
        (0.0, 1.0) if variance == 0.25 else clip_interval(estimate, z * math.sqrt(variance), True)
    )
    return StratumEstimate(
        estimate=estimate,
        low=low,
        high=high,
        weight=weight,
        n_labelled=int(labelled.sum()),
        n_unlabelled=int((judged & ~data.labelled).sum()),
        lam=1.0,
        human_only=human_stratum_baseline(data.target[labelled], level),
        judge_only=Baseline(
            estimate=judge_rate, low=judge_rate - judge_half, high=judge_rate + judge_half
        ),
    )


def rate_from_data(
    data: PreparedData,
    *,
    calibrator: str = "isotonic",
    strata: bool = False,
    level: float = DEFAULT_LEVEL,
    folds: int = 5,
    seed: int = 0,
) -> RateEstimate:
    """:func:`estimate_rate`'s PPI++ path on prepared arrays (for simulations and benchmarks)."""
    options = EstimateOptions(
        method="ppi++",
        ties="half",
        level=level,
        interval="t",
        bounded=True,
        where="estimate_rate",
        estimand="rate",
        folds=folds,
    )
    return run_estimate(
        data,
        stratum_weights(data),
        make_calibrator(calibrator, "estimate_rate"),
        options,
        make_rng(seed),
    )
