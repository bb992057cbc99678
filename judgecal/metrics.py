r"""Calibration and agreement metrics with defined values on degenerate input.

Targets ``y`` may be 0/1 labels or soft labels in [0, 1] (the share of raters
who agreed); ``p`` is a predicted probability. No function here returns NaN:
degenerate inputs (one class, constant scores, perfect agreement) get the
value documented on each function.

* Brier score :math:`\sum_i w_i (p_i - y_i)^2 / \sum_i w_i` (Brier, 1950).
* Log loss :math:`-\sum_i w_i [y_i \log p_i + (1-y_i) \log(1-p_i)] / \sum_i w_i`.
* Expected calibration error :math:`\sum_b \frac{W_b}{W} |\bar y_b - \bar p_b|`
  over equal-width or equal-mass bins of ``p`` (Naeini et al., 2015).
* Cohen's kappa :math:`\kappa = 1 - \sum_{jk} v_{jk} O_{jk} / \sum_{jk} v_{jk} E_{jk}`
  with disagreement weights ``v`` (0/1 plain, :math:`|j-k|` linear,
  :math:`(j-k)^2` quadratic; Cohen, 1960, 1968).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from judgecal._exceptions import InputError, InputTypeError
from judgecal._validation import (
    FloatArray,
    Verbatim,
    as_float_1d,
    check_choice,
    check_float,
    check_int,
    check_probability_targets,
    check_same_length,
    check_weights,
    make_rng,
)

__all__ = [
    "Interval",
    "ReliabilityCurve",
    "bootstrap_ci",
    "brier_score",
    "cohen_kappa",
    "expected_calibration_error",
    "kendall_tau",
    "log_loss",
    "reliability_curve",
    "spearman_rho",
]


_HUGE_TOTAL = 1e300  # weights summing beyond this are rescaled before any sum


def _yp(
    y: Any, p: Any, sample_weight: Any, where: str
) -> tuple[FloatArray, FloatArray, FloatArray]:
    yy = check_probability_targets(y, "y", where=where)
    pp = as_float_1d(p, "p", where=where)
    check_same_length(yy.size, pp.size, "p", where=where)
    if ((pp < 0) | (pp > 1)).any():
        bad = pp[(pp < 0) | (pp > 1)][0]
        raise InputError("p", "probabilities in [0, 1]", Verbatim(repr(float(bad))), where=where)
    w = check_weights(sample_weight, yy.size, where=where)
    # every metric here is a ratio of weighted sums: dividing by the largest weight leaves it
    # unchanged and keeps sums of huge weights (1e307 each) from overflowing to inf / inf = NaN.
    # Only then: otherwise the weights a reliability curve reports stay in the caller's units.
    with np.errstate(over="ignore"):
        total = float(w.sum())
    return yy, pp, (w / float(w.max()) if not total < _HUGE_TOTAL else w)


def brier_score(y: Any, p: Any, *, sample_weight: Any = None) -> float:
    """Mean squared difference between probabilities and (soft) labels; lower is better.

    Examples
    --------
    >>> brier_score([0, 1, 1], [0.1, 0.8, 0.6])
    0.07
    """
    yy, pp, w = _yp(y, p, sample_weight, "brier_score")
    return float(np.round(np.dot(w, (pp - yy) ** 2) / w.sum(), 15))


def log_loss(y: Any, p: Any, *, sample_weight: Any = None, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood; probabilities are clipped to ``[eps, 1 - eps]``.

    Examples
    --------
    >>> round(log_loss([0, 1], [0.2, 0.9]), 4)
    0.1643
    """
    yy, pp, w = _yp(y, p, sample_weight, "log_loss")
    check_float(eps, "eps", low=0.0, high=0.5, low_open=True, high_open=True, where="log_loss")
    # clip p and 1 - p separately, so that swapping the classes (1 - y, 1 - p) gives the same loss
    ll = -(yy * np.log(np.clip(pp, eps, 1.0)) + (1 - yy) * np.log(np.clip(1.0 - pp, eps, 1.0)))
    return float(np.dot(w, ll) / w.sum())


@dataclass(frozen=True)
class ReliabilityCurve:
    """Binned calibration data: one entry per non-empty bin."""

    bin_low: FloatArray
    """Lower edge of each bin."""
    bin_high: FloatArray
    """Upper edge of each bin."""
    mean_predicted: FloatArray
    """Weighted mean predicted probability in the bin."""
    observed: FloatArray
    """Weighted mean (soft) label in the bin: how often humans agreed."""
    weight: FloatArray
    """Total weight (count) in the bin (relative to the largest weight when they sum past 1e300)."""

    @property
    def ece(self) -> float:
        """Expected calibration error of these bins."""
        return float(
            np.dot(self.weight, np.abs(self.observed - self.mean_predicted)) / self.weight.sum()
        )


def reliability_curve(
    y: Any,
    p: Any,
    *,
    n_bins: int = 10,
    strategy: Literal["uniform", "quantile"] = "uniform",
    sample_weight: Any = None,
) -> ReliabilityCurve:
    """Bin predictions and compare mean prediction with the observed agreement rate.

    ``strategy="uniform"`` uses equal-width bins on [0, 1]; ``"quantile"`` uses
    equal-mass bins (edges at quantiles of ``p``; tied predictions share a bin).

    Examples
    --------
    >>> c = reliability_curve([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], n_bins=2)
    >>> c.mean_predicted.tolist(), c.observed.tolist()
    ([0.15000000000000002, 0.8], [0.0, 1.0])
    """
    where = "reliability_curve"
    yy, pp, w = _yp(y, p, sample_weight, where)
    check_int(n_bins, "n_bins", low=1, high=1_000_000, where=where)
    check_choice(strategy, "strategy", ("uniform", "quantile"), where=where)
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        edges = np.unique(np.quantile(pp, np.linspace(0.0, 1.0, n_bins + 1)))
        if edges.size == 1:
            edges = np.array([edges[0], edges[0]])
    idx = np.clip(np.searchsorted(edges, pp, side="right") - 1, 0, edges.size - 2)
    nb = edges.size - 1
    wb = np.bincount(idx, weights=w, minlength=nb)
    pb = np.bincount(idx, weights=w * pp, minlength=nb)
    yb = np.bincount(idx, weights=w * yy, minlength=nb)
    keep = wb > 0
    return ReliabilityCurve(
        bin_low=edges[:-1][keep],
        bin_high=edges[1:][keep],
        mean_predicted=pb[keep] / wb[keep],
        observed=yb[keep] / wb[keep],
        weight=np.asarray(wb[keep], dtype=np.float64),
    )


def expected_calibration_error(
    y: Any,
    p: Any,
    *,
    n_bins: int = 10,
    strategy: Literal["uniform", "quantile"] = "uniform",
    sample_weight: Any = None,
) -> float:
    """Weighted mean gap between predicted and observed agreement over bins; lower is better.

    Examples
    --------
    >>> expected_calibration_error([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], n_bins=2)
    0.175
    """
    c = reliability_curve(y, p, n_bins=n_bins, strategy=strategy, sample_weight=sample_weight)
    return round(c.ece, 15)


def _pair(a: Any, b: Any, where: str) -> tuple[FloatArray, FloatArray]:
    x = as_float_1d(a, "a", where=where)
    y = as_float_1d(b, "b", where=where)
    check_same_length(x.size, y.size, "b", where=where)
    if x.size < 2:
        raise InputError("a", "at least 2 paired values", Verbatim(f"{x.size}"), where=where)
    return x, y


def spearman_rho(a: Any, b: Any) -> float:
    """Spearman rank correlation; 0.0 when either input is constant (no ranking to compare).

    Examples
    --------
    >>> spearman_rho([1, 2, 3, 4], [1, 3, 2, 4])
    0.8
    >>> spearman_rho([1, 1, 1], [1, 2, 3])
    0.0
    """
    x, y = _pair(a, b, "spearman_rho")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    return float(np.round(stats.spearmanr(x, y).statistic, 15))


def kendall_tau(a: Any, b: Any, *, variant: Literal["b", "c"] = "b") -> float:
    """Kendall's tau (tau-b by default, tie-corrected); 0.0 when either input is constant.

    Examples
    --------
    >>> round(kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]), 4)
    0.6667
    """
    check_choice(variant, "variant", ("b", "c"), where="kendall_tau")
    x, y = _pair(a, b, "kendall_tau")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    return float(stats.kendalltau(x, y, variant=variant).statistic)


def is_missing(value: Any) -> bool:
    """Whether a label is missing: ``None``, a NaN of any float type, ``pd.NA`` or a NaT.

    Examples
    --------
    >>> is_missing(None), is_missing(float("nan")), is_missing(0), is_missing("")
    (True, True, False, False)
    """
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    try:
        return bool(value != value)  # a NaN (and a NaT) is not equal to itself
    except (TypeError, ValueError):
        return False


def cohen_kappa(
    a: Any,
    b: Any,
    *,
    weights: Literal["linear", "quadratic"] | None = None,
    labels: Any = None,
) -> float:
    r"""Cohen's kappa between two raters (plain, or weighted for ordered labels).

    Labels may be any hashable values. Weighted kappa charges a disagreement
    between labels :math:`j` and :math:`k` by their *distance*:
    :math:`|x_j - x_k|` (linear) or :math:`(x_j - x_k)^2` (quadratic), where
    :math:`x` is the label's **value** when labels are numbers (labels 1, 2, 3, 5:
    5 is twice as far from 3 as 2 is), or its **position** in ``labels=`` when
    that is given. scikit-learn's ``cohen_kappa_score`` uses the positions
    of the labels present; the two agree when scikit-learn is given every
    integer between the lowest and highest label (or when ``labels=`` is given
    to both).

    Returns
    -------
    float
        When expected disagreement is zero (both raters use one and the same
        label) agreement is perfect and kappa is 1.0 (not 0/0). Never NaN.

    Raises
    ------
    InputError
        For a missing label (``None``, NaN, ``pd.NA``, NaT): kappa needs both
        ratings of every pair; drop incomplete pairs first. Also for ``inf``.

    Examples
    --------
    >>> round(cohen_kappa([1, 1, 0, 0], [1, 0, 0, 0]), 3)
    0.5
    >>> cohen_kappa(["yes", "yes"], ["yes", "yes"])
    1.0
    >>> round(cohen_kappa([1, 2, 3, 4], [1, 2, 4, 3], weights="quadratic"), 3)
    0.8
    """
    where = "cohen_kappa"
    check_choice(weights, "weights", (None, "linear", "quadratic"), where=where)
    rater_a, rater_b = _rater_labels(a, b, where)
    categories = _kappa_categories(rater_a, rater_b, labels, where)
    index = {c: i for i, c in enumerate(categories)}
    k = len(categories)
    codes_a = np.fromiter((index[v] for v in rater_a), dtype=np.int64, count=rater_a.size)
    codes_b = np.fromiter((index[v] for v in rater_b), dtype=np.int64, count=rater_b.size)
    observed = np.bincount(codes_a * k + codes_b, minlength=k * k).reshape(k, k) / rater_a.size
    expected = np.outer(observed.sum(1), observed.sum(0))
    if weights is None:
        disagreement = 1.0 - np.eye(k)
    else:
        at = _label_positions(categories, given=labels is not None, where=where)
        distance = np.abs(at[:, None] - at[None, :])
        disagreement = distance if weights == "linear" else distance**2
    denom = float((disagreement * expected).sum())
    if denom <= 1e-15:
        return 1.0
    return float(np.round(1.0 - float((disagreement * observed).sum()) / denom, 15))


def _rater_labels(a: Any, b: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Both raters' labels as 1-D object arrays of equal, non-zero length, none missing."""
    arrays = []
    for name, value in (("a", a), ("b", b)):
        if isinstance(value, str | bytes) or value is None:
            raise InputError(name, "a sequence of labels", value, where=where)
        arrays.append(np.asarray(value, dtype=object).ravel())
    rater_a, rater_b = arrays
    check_same_length(rater_a.size, rater_b.size, "b", where=where)
    if rater_a.size == 0:
        raise InputError("a", "a non-empty sequence of labels", "an empty sequence", where=where)
    for name, labels in (("a", rater_a), ("b", rater_b)):
        for i, v in enumerate(labels.tolist()):
            if is_missing(v) or (isinstance(v, float | np.floating) and not np.isfinite(v)):
                raise InputError(
                    name,
                    "labels without missing values (None, NaN, pd.NA, NaT) or inf",
                    Verbatim(f"{v!r} at index {i}"),
                    where=where,
                )
    return rater_a, rater_b


def _kappa_categories(
    rater_a: np.ndarray, rater_b: np.ndarray, labels: Any, where: str
) -> list[Any]:
    """The categories in order: ``labels`` when given (checked), else the sorted labels seen."""
    try:
        seen = set(rater_a.tolist()) | set(rater_b.tolist())
    except TypeError:
        raise InputTypeError(
            "a",
            "hashable labels (numbers or strings)",
            Verbatim("an unhashable label"),
            where=where,
        ) from None
    if labels is None:
        try:
            return sorted(seen)
        except TypeError:
            return list(dict.fromkeys([*rater_a.tolist(), *rater_b.tolist()]))
    if isinstance(labels, str | bytes) or not isinstance(labels, Iterable):
        raise InputTypeError("labels", "a sequence of labels", labels, where=where)
    categories = list(labels)
    try:
        absent = seen - set(categories)
    except TypeError:
        raise InputTypeError(
            "labels", "a sequence of hashable labels", labels, where=where
        ) from None
    if absent:
        raise InputError(
            "labels",
            "every label that occurs",
            Verbatim(f"missing {sorted(map(str, absent))}"),
            where=where,
        )
    return categories


def _label_positions(categories: list[Any], *, given: bool, where: str) -> FloatArray:
    """Where each category sits for weighted kappa: its value, or its position in ``labels=``."""
    if given:
        return np.arange(len(categories), dtype=np.float64)
    try:
        at = np.asarray(categories, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(
            "labels",
            "numeric labels (or labels= giving their order) for weighted kappa",
            categories,
            where=where,
        ) from None
    # a ratio of weighted sums: rescaling leaves kappa unchanged and keeps squares finite
    top = float(np.max(np.abs(at)))
    return at / top if top > 0 else at


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided interval."""

    estimate: float
    low: float
    high: float
    level: float

    def __str__(self) -> str:
        return f"{self.estimate:.4g} [{self.low:.4g}, {self.high:.4g}] ({self.level:.0%})"


def bootstrap_ci(
    metric: Callable[..., float],
    *arrays: Any,
    n_resamples: int = 1000,
    level: float = 0.9,
    seed: int | None = 0,
) -> Interval:
    """Percentile bootstrap interval for ``metric(*arrays)``, resampling rows jointly.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> y = rng.integers(0, 2, 300); p = np.clip(y * 0.6 + 0.2 + rng.normal(0, .1, 300), 0, 1)
    >>> ci = bootstrap_ci(brier_score, y, p, n_resamples=200)
    >>> ci.low < ci.estimate < ci.high
    True
    """
    where = "bootstrap_ci"
    if not callable(metric):
        raise InputError("metric", "a callable metric(*arrays) -> float", metric, where=where)
    if not arrays:
        raise InputError("arrays", "at least one array", "none", where=where)
    check_int(n_resamples, "n_resamples", low=10, high=10_000_000, where=where)
    check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    if seed is not None:
        check_int(seed, "seed", low=0, where=where)
    arrs = []
    for i, a in enumerate(arrays):
        try:
            arrs.append(np.asarray(a))
        except (TypeError, ValueError):
            raise InputTypeError(f"arrays[{i}]", "an array-like", a, where=where) from None
    n = arrs[0].shape[0] if arrs[0].ndim else 0
    for i, a in enumerate(arrs):
        if a.ndim == 0 or a.shape[0] != n:
            raise InputError(
                f"arrays[{i}]", f"an array of length {n}", Verbatim(f"shape {a.shape}"), where=where
            )
    if n < 2:
        raise InputError("arrays", "at least 2 rows to resample", Verbatim(str(n)), where=where)
    est = float(metric(*arrs))
    if not np.isfinite(est):
        raise InputError("metric", "a metric that returns a finite value", est, where=where)
    rng = make_rng(seed)
    reps = np.empty(n_resamples)
    for r in range(n_resamples):
        idx = rng.integers(0, n, n)
        reps[r] = metric(*(a[idx] for a in arrs))
    if not np.isfinite(reps).all():
        raise InputError(
            "metric",
            "a metric that returns finite values on resamples",
            Verbatim("a non-finite value"),
            where=where,
        )
    alpha = 1.0 - level
    lo, hi = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
    return Interval(estimate=est, low=float(min(lo, est)), high=float(max(hi, est)), level=level)
