r"""Human-preference rates from a few human labels and many judge outputs.

What people report at the end of an evaluation is a rate: how often humans
prefer system A, the share of extracted attributes a human accepts. The judge's
own rate is biased and its naive interval almost never covers the human value;
the human labels alone give a valid but wide interval. The estimators here use
both and keep the interval valid.

Prediction-powered inference (PPI++)
------------------------------------
With ``n`` labelled items (human target :math:`y_i`, judge prediction
:math:`f_i`) and ``N`` unlabelled items (prediction :math:`\tilde f_j`), the
power-tuned PPI estimate of the mean human target is (Angelopoulos et al.,
*Science* 2023; Angelopoulos, Duchi and Zrnic, 2023)

.. math::

    \hat\theta_\lambda = \lambda \frac1N \sum_j \tilde f_j
        + \frac1n \sum_i (y_i - \lambda f_i),
    \qquad
    \widehat{\mathrm{Var}} = \lambda^2 \frac{\hat\sigma^2_{\tilde f}}{N}
        + \frac{\hat\sigma^2_{y - \lambda f}}{n},

with :math:`\hat\lambda = \widehat{\mathrm{Cov}}(y, f) / ((1 + n/N)
\widehat{\mathrm{Var}}(f))` clipped to [0, 1]: :math:`\lambda = 0` is the
human-only mean, :math:`\lambda = 1` plain PPI, and power tuning never does much
worse than the better of the two. The predictor is the judge score *calibrated*
on the labelled items (isotonic or logistic). Fitting it on the same labels
that rectify it makes the interval too narrow, so the calibrator is
**cross-fitted** (Zrnic and Candès, 2024): the labelled items are split into
``folds``; each labelled item gets the prediction of the calibrator fitted
without its fold, each unlabelled item the average of the fold calibrators.

Strata (stages, model pairings) are estimated separately and combined with
weights :math:`W_h = N_h / N` equal to each stratum's share of *all* items
(labelled or not), so an over-labelled stage does not tilt the total; the
variance is :math:`\sum_h W_h^2 \widehat{\mathrm{Var}}_h`. Items the judge
failed on stay in the population; their prediction is the labelled mean of
the training folds (any fixed predictor keeps PPI valid).

Rogan-Gladen
------------
For a yes/no judge, the judge-positive rate :math:`q` is corrected with the
judge's sensitivity and specificity measured on the labelled items (Rogan and
Gladen, 1978): :math:`\hat\theta = (q + \mathrm{Sp} - 1)/(\mathrm{Se} +
\mathrm{Sp} - 1)`, with a delta-method variance. It is the classical
correction; PPI++ is usually as narrow and needs no yes/no judge.

Ties in pairwise labels
-----------------------
Human pairwise labels are ``first``, ``second`` or ``tie``; the policy is always
explicit (``ties=``):

``"half"``
    a tie counts as half a preference for the first response; the estimand is
    :math:`P(\text{first}) + \tfrac12 P(\text{tie})`.
``"drop"``
    ties are left out; the estimand is :math:`P(\text{first}) /
    (P(\text{first}) + P(\text{second}))`, estimated as a ratio of two PPI means
    with a delta-method (linearised) interval.
``"separate"``
    the estimate is the strict win rate :math:`P(\text{first})` (a tie is not a
    win) and the human tie rate :math:`P(\text{tie})` comes alongside as its own
    estimate (``result.tie_rate``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy import stats
from sklearn.base import clone

from judgecal._exceptions import InputError, InputTypeError, SmallSampleWarning
from judgecal._validation import (
    FloatArray,
    Verbatim,
    as_float_1d,
    check_choice,
    check_float,
    check_int,
    check_same_length,
    check_stages,
    make_rng,
)
from judgecal.calibration.base import StagewiseCalibrator
from judgecal.calibration.isotonic import IsotonicCalibrator
from judgecal.calibration.logistic import LogisticCalibrator
from judgecal.metrics import Interval
from judgecal.records.core import JudgmentSet

__all__ = [
    "Baseline",
    "LabelPlan",
    "RateEstimate",
    "StratumEstimate",
    "estimate_difference",
    "estimate_rate",
    "keep_labels",
    "plan_labels",
    "ppi_mean",
    "rogan_gladen",
]

Method = Literal["ppi++", "ppi", "rogan-gladen", "human", "judge", "bayes"]
Ties = Literal["half", "drop", "separate"]
IntervalKind = Literal["t", "normal"]
_METHODS = ("ppi++", "ppi", "rogan-gladen", "human", "judge", "bayes")
_FROZEN = ConfigDict(frozen=True, extra="forbid")


# ---------------------------------------------------------------------------
# result objects
# ---------------------------------------------------------------------------
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
    """Weight of the stratum in the overall estimate (its share of all items, signed for differences)."""
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
    """How: ``ppi++``, ``ppi``, ``rogan-gladen``, ``human``, ``judge`` or ``bayes``, plus the predictor."""
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
            f"({self.level:.0%}, {self.method}; {self.n_labelled} labelled + {self.n_unlabelled} judged, "
            f"worth {self.effective_labels:.0f} labels; human-only width {self.human_only.width:.3f}, "
            f"judge-only {self.judge_only.estimate:.3f})"
        )

    def to_markdown(self) -> str:
        """A markdown table: overall row, then one row per stratum."""
        lines = [
            f"**{self.estimand}** — method `{self.method}`, {self.level:.0%} intervals",
            "",
            "| stratum | n lab | n unlab | estimate | interval | human-only | judge-only |",
            "| --- | ---: | ---: | ---: | --- | --- | ---: |",
        ]

        def row(name: str, e: Any, nl: int, nu: int) -> str:
            return (
                f"| {name} | {nl} | {nu} | {e.estimate:.3f} | [{e.low:.3f}, {e.high:.3f}] | "
                f"{e.human_only.estimate:.3f} [{e.human_only.low:.3f}, {e.human_only.high:.3f}] | "
                f"{e.judge_only.estimate:.3f} |"
            )

        lines.append(row("**all**", self, self.n_labelled, self.n_unlabelled))
        for name, s in self.strata.items():
            lines.append(row(name, s, s.n_labelled, s.n_unlabelled))
        return "\n".join(lines)


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

    @property
    def saving(self) -> float:
        """Share of human labels saved by using the judge."""
        return 1.0 - self.n_ppi / self.n_human_only


# ---------------------------------------------------------------------------
# array-level PPI
# ---------------------------------------------------------------------------
@dataclass
class _Core:
    theta: float
    var: float
    lam: float
    var_human: float
    n: int
    N: int
    human_mean: float


def _var0(a: FloatArray) -> float:
    return float(a.var()) if a.size else 0.0


def _ppi_core(
    y: FloatArray, fl: FloatArray, fu: FloatArray, lam: float | None, *, floor: bool = False
) -> _Core:
    """PPI(++) for one stratum; ``lam=None`` tunes it (ppi_py's estimator).

    ``floor`` (rates only): per-item variances are at least ``n / (n + 1)^2``, the
    variance of a sample with one pseudo-disagreement, so a stratum whose labels
    all agree still gets a non-zero interval.
    """
    n, N = y.size, fu.size
    vfloor = n / (n + 1.0) ** 2 if floor else 0.0
    var_human = (max(float(y.var(ddof=1)), vfloor) if floor else _var0(y)) / n
    if N == 0:
        return _Core(float(y.mean()), var_human, 0.0, var_human, n, N, float(y.mean()))
    if lam is None:
        fall = np.concatenate([fl, fu])
        vf = float(fall.var(ddof=1))
        cov = float(np.mean((y - y.mean()) * (fl - fl.mean())))
        lam = 0.0 if vf <= 1e-15 else float(np.clip(cov / ((1.0 + n / N) * vf), 0.0, 1.0))
    theta = float(lam * fu.mean() + np.mean(y - lam * fl))
    resid = y - lam * fl
    vres = max(float(resid.var(ddof=1)), vfloor) if floor else _var0(resid)
    var = lam**2 * _var0(fu) / N + vres / n
    return _Core(theta, var, lam, var_human, n, N, float(y.mean()))


@lru_cache(maxsize=4096)
def _crit(level: float, df: float, kind: str) -> float:
    if kind == "normal" or not np.isfinite(df):
        return float(stats.norm.ppf(0.5 + level / 2))
    return float(stats.t.ppf(0.5 + level / 2, max(df, 1.0)))


def ppi_mean(
    y: Any,
    pred_labelled: Any,
    pred_unlabelled: Any,
    *,
    level: float = 0.9,
    lam: float | None = None,
    interval: IntervalKind = "normal",
) -> Interval:
    """Prediction-powered mean of ``y`` with power tuning (PPI++), on arrays.

    Parameters
    ----------
    y : array-like of shape (n,)
        Human targets of the labelled items (0/1 or shares in [0, 1], or any reals).
    pred_labelled : array-like of shape (n,)
        Predictions for the labelled items. They must not have been fitted on
        these labels (cross-fit them, as :func:`estimate_rate` does).
    pred_unlabelled : array-like of shape (N,)
        Predictions for the unlabelled items (``N`` may be 0: human-only mean).
    level : float
        Nominal coverage.
    lam : float, optional
        Weight on the predictions; ``None`` tunes it (PPI++), ``1`` is plain PPI,
        ``0`` the classical mean.
    interval : {"normal", "t"}
        Normal quantile (as ppi_py) or Student t with ``n - 1`` degrees of freedom.

    Returns
    -------
    Interval

    Notes
    -----
    Angelopoulos, Bates, Fannjiang, Jordan and Zrnic, "Prediction-powered
    inference", *Science* 382 (2023); Angelopoulos, Duchi and Zrnic, "PPI++:
    efficient prediction-powered inference", arXiv:2311.01453 (2023). Matches
    ``ppi_py.ppi_mean_ci`` on the same inputs.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.random(2000) < 0.3
    >>> pred = np.clip(truth * 0.6 + 0.2 + rng.normal(0, 0.1, 2000), 0, 1)
    >>> ci = ppi_mean(truth[:200], pred[:200], pred[200:])
    >>> round(ci.estimate, 3), round(ci.high - ci.low, 3)
    (0.291, 0.051)
    """
    where = "ppi_mean"
    yy = as_float_1d(y, "y", where=where)
    fl = as_float_1d(pred_labelled, "pred_labelled", where=where)
    check_same_length(yy.size, fl.size, "pred_labelled", where=where)
    fu = as_float_1d(pred_unlabelled, "pred_unlabelled", where=where, allow_empty=True)
    check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    check_choice(interval, "interval", ("normal", "t"), where=where)
    if lam is not None:
        lam = check_float(lam, "lam", low=0.0, high=1.0, where=where)
    if yy.size < 2:
        raise InputError("y", "at least 2 labelled items", Verbatim(str(yy.size)), where=where)
    for name, arr in (("y", yy), ("pred_labelled", fl), ("pred_unlabelled", fu)):
        if arr.size and float(np.max(np.abs(arr))) > 1e150:
            raise InputError(
                name,
                "values of magnitude below 1e150 (their squares must stay finite)",
                Verbatim(f"maximum magnitude {float(np.max(np.abs(arr))):g}"),
                where=where,
            )
    c = _ppi_core(yy, fl, fu, lam)
    half = _crit(level, yy.size - 1, interval) * math.sqrt(c.var)
    return Interval(c.theta, c.theta - half, c.theta + half, level)


def rogan_gladen(
    y: Any,
    judge_labelled: Any,
    judge_all: Any,
    *,
    level: float = 0.9,
) -> Interval:
    r"""Rogan-Gladen corrected rate for a yes/no judge, with a delta-method interval.

    Sensitivity :math:`\mathrm{Se}` and specificity :math:`\mathrm{Sp}` are
    measured on the labelled items (soft targets count fractionally, with half
    a pseudo-count each way so they are never exactly 0 or 1); the judge's
    positive rate :math:`q` on all items. The estimate is
    :math:`(q + \mathrm{Sp} - 1)/(\mathrm{Se} + \mathrm{Sp} - 1)` clipped to
    [0, 1]. When :math:`\mathrm{Se} + \mathrm{Sp} - 1 \le 0.05` the judge carries
    no usable signal and the interval is [0, 1].

    Parameters
    ----------
    y : array-like of shape (n,)
        Human targets (0/1 or shares) of the labelled items.
    judge_labelled : array-like of shape (n,)
        The judge's yes (1) / no (0) on the labelled items.
    judge_all : array-like of shape (M,)
        The judge's yes/no on every item of the population (labelled included).
    level : float
        Nominal coverage.

    Notes
    -----
    Rogan and Gladen, "Estimating prevalence from the results of a screening
    test", *Am. J. Epidemiol.* 107 (1978); variance as in Reiczigel, Földi and
    Ózsvári, *Epidemiol. Infect.* 138 (2010).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> h = rng.random(3000) < 0.2
    >>> j = np.where(h, rng.random(3000) < 0.9, rng.random(3000) < 0.3)
    >>> ci = rogan_gladen(h[:300], j[:300], j)
    >>> round(float(j.mean()), 3), round(ci.estimate, 3), round(float(h.mean()), 3)
    (0.417, 0.181, 0.204)
    """
    where = "rogan_gladen"
    yy = as_float_1d(y, "y", where=where)
    jl = as_float_1d(judge_labelled, "judge_labelled", where=where)
    check_same_length(yy.size, jl.size, "judge_labelled", where=where)
    ja = as_float_1d(judge_all, "judge_all", where=where)
    check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    for name, arr in (("y", yy), ("judge_labelled", jl), ("judge_all", ja)):
        if ((arr < 0) | (arr > 1)).any():
            raise InputError(
                name, "values in [0, 1]", Verbatim(f"min {arr.min()}, max {arr.max()}"), where=where
            )
    if ((jl != 0) & (jl != 1)).any() or ((ja != 0) & (ja != 1)).any():
        raise InputError(
            "judge_all", "yes/no judge outputs coded 0 or 1", Verbatim("other values"), where=where
        )
    theta, var = _rg_core(yy, jl, ja)
    z = _crit(level, math.inf, "normal")
    if var is None:
        return Interval(theta, 0.0, 1.0, level)
    half = z * math.sqrt(var)
    return Interval(theta, max(0.0, theta - half), min(1.0, theta + half), level)


def _rg_core(y: FloatArray, jl: FloatArray, ja: FloatArray) -> tuple[float, float | None]:
    npos = float(y.sum()) + 1.0
    nneg = float((1 - y).sum()) + 1.0
    se = (float(np.dot(y, jl)) + 0.5) / npos
    sp = (float(np.dot(1 - y, 1 - jl)) + 0.5) / nneg
    q = float(ja.mean())
    J = se + sp - 1.0
    if J <= 0.05:
        return float(np.clip(y.mean(), 0, 1)), None
    theta = float(np.clip((q + sp - 1.0) / J, 0.0, 1.0))
    var = (
        q * (1 - q) / ja.size
        + theta**2 * se * (1 - se) / npos
        + (1 - theta) ** 2 * sp * (1 - sp) / nneg
    ) / J**2
    return theta, var


# ---------------------------------------------------------------------------
# preparing records
# ---------------------------------------------------------------------------
@dataclass
class _Data:
    lab: np.ndarray  # bool: labelled (usable ratings)
    scored: np.ndarray  # bool: judge gave a score
    x: FloatArray  # judge score (0 where unscored)
    unit: FloatArray  # judge score on [0, 1]
    ya: FloatArray  # main target (labelled rows only meaningful)
    yb: FloatArray | None  # ratio denominator (ties="drop")
    ytie: FloatArray | None  # tie share (ties="separate")
    jtie: FloatArray | None  # judge says tie (pairwise verdict scale with a "tie")
    strata: np.ndarray  # str per item


def _targets(
    js: JudgmentSet, threshold: int | None, ties: str
) -> tuple[FloatArray, FloatArray, FloatArray, Any]:
    """Per-item (positive share, non-tie share, tie share, usable) for every item (0 where unlabelled)."""
    n = len(js)
    pos = np.zeros(n)
    nontie = np.ones(n)
    tie = np.zeros(n)
    usable = np.zeros(n, dtype=bool)
    kind = js.label_kind
    if kind == "pairwise":
        idx, val, _ = js.ratings_long()
        cnt = np.bincount(idx, minlength=n).astype(float)
        first = np.bincount(idx, weights=(val == 1).astype(float), minlength=n)
        ties_c = np.bincount(idx, weights=(val == 0).astype(float), minlength=n)
        usable = cnt > 0
        c = np.where(usable, cnt, 1.0)
        tie = ties_c / c
        nontie = 1.0 - tie
        pos = (first + 0.5 * ties_c) / c if ties == "half" else first / c
        return pos, nontie, tie, usable
    if kind is None:
        return pos, nontie, tie, usable
    # binary and ordinal: the share of raters rating positively (as JudgmentSet.targets(how="soft"))
    idx, val, _ = js.ratings_long()
    cnt = np.bincount(idx, minlength=n).astype(float)
    positive = (val >= threshold) if kind == "ordinal" else (val == 1)
    usable = cnt > 0
    pos = np.bincount(idx, weights=positive.astype(float), minlength=n) / np.where(usable, cnt, 1.0)
    return pos, nontie, tie, usable


def _prepare(js: JudgmentSet, strata: Any, threshold: int | None, ties: str, where: str) -> _Data:
    if not isinstance(js, JudgmentSet):
        raise InputTypeError("judgments", "a JudgmentSet", js, where=where)
    if len(js) == 0:
        raise InputError("judgments", "a non-empty JudgmentSet", "an empty set", where=where)
    if js.label_kind is None:
        raise InputError(
            "judgments", "a set with some human ratings", "no ratings at all", where=where
        )
    if js.label_kind == "ordinal" and threshold is None:
        raise InputError(
            "threshold",
            f"the lowest level (2..{js.levels}) that counts as positive for ordinal labels",
            None,
            where=where,
        )
    if js.label_kind != "ordinal" and threshold is not None:
        raise InputError("threshold", "None unless labels are ordinal", threshold, where=where)
    if ties != "half" and js.label_kind != "pairwise":
        raise InputError(
            "ties", "'half' (the default) unless labels are pairwise", ties, where=where
        )
    pos, nontie, tie, usable = _targets(js, threshold, ties)
    scored = np.array([j.score is not None for j in js], dtype=bool)
    x = np.array([0.0 if j.score is None else float(j.score) for j in js])
    unit = js.scale.to_unit(x)
    if strata is None:
        st = np.full(len(js), "all")
    elif isinstance(strata, str) and strata == "stage":
        st = js.stages()
    elif isinstance(strata, str):
        st = js.meta(strata)
    else:
        st = check_stages(strata, len(js), "strata", where=where)
    jtie = None
    if js.scale.kind == "verdict" and "tie" in [v.lower() for v in js.scale.verdicts]:
        code = [v.lower() for v in js.scale.verdicts].index("tie")
        jtie = (scored & (x == code)).astype(float)
    return _Data(
        lab=usable,
        scored=scored,
        x=x,
        unit=unit,
        ya=pos,
        yb=nontie if ties == "drop" else None,
        ytie=tie if ties == "separate" else None,
        jtie=jtie,
        strata=np.asarray(st, dtype=str),
    )


def _data_from_arrays(
    scores: FloatArray,
    scale_low: float,
    scale_high: float,
    y: FloatArray,
    labelled: np.ndarray,
    strata: np.ndarray | None = None,
) -> _Data:
    """Fast path for simulations: every item scored, binary-style targets (private)."""
    n = scores.size
    return _Data(
        lab=labelled.astype(bool),
        scored=np.ones(n, dtype=bool),
        x=scores.astype(float),
        unit=np.clip((scores - scale_low) / (scale_high - scale_low), 0.0, 1.0),
        ya=y.astype(float),
        yb=None,
        ytie=None,
        jtie=None,
        strata=np.full(n, "all") if strata is None else np.asarray(strata, dtype=str),
    )


def _rate_from_data(
    d: _Data,
    *,
    calibrator: str = "isotonic",
    strata: bool = False,
    level: float = 0.9,
    folds: int = 5,
    seed: int = 0,
) -> RateEstimate:
    """Run :func:`estimate_rate`'s PPI++ path on prepared data (private, for simulations)."""
    weights = _stratum_weights(d)
    return _estimate(
        d,
        weights,
        "ppi++",
        _make_calibrator(calibrator, "estimate_rate"),
        "half",
        level,
        folds,
        False,
        "t",
        make_rng(seed),
        "estimate_rate",
        "rate",
        bounded=True,
    )


def _make_calibrator(calibrator: Any, where: str) -> Any:
    if calibrator is None or (isinstance(calibrator, str) and calibrator == "none"):
        return None
    if isinstance(calibrator, str):
        check_choice(calibrator, "calibrator", ("isotonic", "logistic", "none"), where=where)
        return IsotonicCalibrator() if calibrator == "isotonic" else LogisticCalibrator()
    if isinstance(calibrator, StagewiseCalibrator) or all(
        callable(getattr(calibrator, m, None)) for m in ("fit", "predict_agreement", "get_params")
    ):
        return calibrator
    raise InputTypeError(
        "calibrator",
        "'isotonic', 'logistic', 'none' or an unfitted calibrator (fit, predict_agreement, get_params)",
        calibrator,
        where=where,
    )


def _crossfit(
    d: _Data,
    target: FloatArray,
    cal: StagewiseCalibrator | None,
    folds: int,
    rng: np.random.Generator,
    stagewise: bool,
) -> FloatArray:
    """Cross-fitted predictions of ``target`` for every item (labelled: out-of-fold)."""
    n_items = d.x.size
    lab = np.flatnonzero(d.lab)
    unl = np.flatnonzero(~d.lab)
    pred = np.empty(n_items)
    if cal is None:
        fill = float(target[lab].mean())
        pred[:] = np.where(d.scored, d.unit, fill)
        return pred
    k = int(min(folds, lab.size // 2))
    if k < 2:
        fill = float(target[lab].mean())
        pred[:] = np.where(d.scored, d.unit, fill)
        return pred
    perm = rng.permutation(lab)
    parts = np.array_split(perm, k)
    unl_sum = np.zeros(unl.size)
    for part in parts:
        train = np.setdiff1d(lab, part, assume_unique=True)
        tr = train[d.scored[train]]
        fill = float(target[train].mean())
        if tr.size >= 2 and np.ptp(d.x[tr]) > 0:
            model = clone(cal)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SmallSampleWarning)
                model.fit(d.x[tr], target[tr], stages=d.strata[tr] if stagewise else None)

        else:
            model = None
        pred[part] = _predict_or_fill(d, model, part, fill, stagewise)
        if unl.size:
            unl_sum += _predict_or_fill(d, model, unl, fill, stagewise)
    if unl.size:
        pred[unl] = unl_sum / k
    return pred


def _predict_or_fill(
    d: _Data, model: StagewiseCalibrator | None, idx: np.ndarray, fill: float, stagewise: bool
) -> FloatArray:
    out = np.full(idx.size, fill)
    s = d.scored[idx]
    if model is not None and s.any():
        out[s] = model.predict_agreement(
            d.x[idx][s], stages=d.strata[idx][s] if stagewise else None
        )
    return out


@dataclass
class _Strat:
    theta: float
    var: float
    var_human: float
    df: float
    lam_mean: float
    per: dict[str, tuple[_Core, float]]


def _stratified(
    y: FloatArray,
    f: FloatArray,
    d: _Data,
    weights: Mapping[str, float],
    lam: float | None,
    where: str,
) -> _Strat:
    theta = var = var_h = 0.0
    per: dict[str, tuple[_Core, float]] = {}
    lam_num = lam_den = 0.0
    dfs = 0.0
    masks = {}
    for name in weights:
        m = d.strata == name
        ml, mu = m & d.lab, m & ~d.lab
        nl = int(ml.sum())
        if nl < 2:
            raise InputError(
                "judgments",
                f"at least 2 human-labelled items in every stratum (stratum {name!r})",
                Verbatim(str(nl)),
                where=where,
            )
        masks[name] = (ml, mu)
    for name, w in weights.items():
        ml, mu = masks[name]
        nl = int(ml.sum())
        c = _ppi_core(y[ml], f[ml], f[mu], lam, floor=True)
        per[name] = (c, w)
        theta += w * c.theta
        var += w**2 * c.var
        var_h += w**2 * c.var_human
        lam_num += nl * c.lam
        lam_den += nl
        dfs += nl - 1
    return _Strat(theta, var, var_h, dfs, lam_num / lam_den, per)


def _stratum_weights(
    d: _Data, group_mask: np.ndarray | None = None, sign: float = 1.0
) -> dict[str, float]:
    m = np.ones(d.x.size, dtype=bool) if group_mask is None else group_mask
    names, counts = np.unique(d.strata[m], return_counts=True)
    total = counts.sum()
    return {str(k): sign * float(c) / float(total) for k, c in zip(names, counts, strict=True)}


def _judge_baseline(d: _Data, weights: Mapping[str, float], level: float, ties: str) -> Baseline:
    """The raw judge as the rate: stratum means of the unit score, naive normal interval."""
    theta = var = 0.0
    for name, w in weights.items():
        m = (d.strata == name) & d.scored
        if ties == "drop" and d.jtie is not None:
            m = m & (d.jtie == 0)
        if ties == "separate" and d.jtie is not None:
            v = (d.unit[m] == 1.0).astype(float)
        else:
            v = d.unit[m]
        if v.size == 0:
            continue
        theta += w * float(v.mean())
        var += w**2 * (float(v.var(ddof=1)) if v.size > 1 else 0.0) / v.size
    half = _crit(level, math.inf, "normal") * math.sqrt(var)
    return Baseline(estimate=theta, low=theta - half, high=theta + half)


def _clip_interval(est: float, half: float, bounded: bool) -> tuple[float, float]:
    lo, hi = est - half, est + half
    if bounded:
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    return lo, hi


def _estimand(js: JudgmentSet, threshold: int | None, ties: str) -> str:
    kind = js.label_kind
    if kind == "pairwise":
        return {
            "half": "P(human prefers first), ties count half",
            "drop": "P(human prefers first | not a tie)",
            "separate": "P(human prefers first), ties are not wins",
        }[ties]
    if kind == "ordinal":
        return f"P(human rating >= {threshold})"
    return "P(human says yes)"


# ---------------------------------------------------------------------------
# the one-call API
# ---------------------------------------------------------------------------
def estimate_rate(
    judgments: JudgmentSet,
    *,
    method: Method = "ppi++",
    calibrator: str | StagewiseCalibrator | None = "isotonic",
    strata: str | Sequence[str] | None = "stage",
    threshold: int | None = None,
    ties: Ties = "half",
    level: float = 0.9,
    folds: int = 5,
    stagewise: bool = False,
    interval: IntervalKind = "t",
    seed: int | None = 0,
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
        :class:`~judgecal.calibration.bayes.calibrator.BayesianCalibrator` on the judge's scale; or pass
        one, or any object with ``predict_agreement_draws``). Model-based:
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
    ties : {"half", "drop", "separate"}
        Pairwise labels only (see the module notes).
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

    Returns
    -------
    RateEstimate

    Examples
    --------
    >>> import judgecal
    >>> hidden = keep_labels(judgecal.load_pandalm(with_texts=False), 150, by=None, seed=0)
    >>> r = estimate_rate(hidden, strata=None)
    >>> r.method, r.n_labelled, r.width < r.human_only.width
    ('ppi++ (isotonic, 5-fold cross-fit)', 150, True)
    """
    where = "estimate_rate"
    check_choice(method, "method", _METHODS, where=where)
    check_choice(ties, "ties", ("half", "drop", "separate"), where=where)
    check_choice(interval, "interval", ("t", "normal"), where=where)
    check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    check_int(folds, "folds", low=2, where=where)
    check_choice(stagewise, "stagewise", (True, False), where=where)
    if (
        method == "bayes"
        and isinstance(calibrator, str)
        and calibrator in ("isotonic", "logistic", "none")
    ):
        calibrator = _default_bayes(judgments, where) if calibrator == "isotonic" else calibrator
    cal = _make_calibrator(calibrator, where)
    if method == "bayes" and not _has_posterior(cal):
        raise InputError(
            "calibrator",
            "with method='bayes', a BayesianCalibrator or an unfitted calibrator with "
            "fit(X, y, sample_weight, stages=) and predict_agreement_draws(X, stages=) -> (draws, n)",
            calibrator,
            where=where,
        )
    if method == "bayes" and ties == "drop":
        raise InputError("ties", "'half' or 'separate' with method='bayes'", ties, where=where)
    d = _prepare(judgments, strata, threshold, ties, where)
    weights = _stratum_weights(d)
    rng = make_rng(seed)
    res = _estimate(
        d,
        weights,
        method,
        cal,
        ties,
        level,
        folds,
        stagewise,
        interval,
        rng,
        where,
        _estimand(judgments, threshold, ties),
        bounded=True,
    )
    if ties == "separate":
        assert d.ytie is not None
        tie_res = _estimate_plain(
            d,
            d.ytie,
            d.jtie,
            weights,
            "ppi++" if method not in ("human", "judge") else method,
            level,
            interval,
            "P(human says tie)",
            where,
            bounded=True,
            ties="separate-tie",
        )
        res = res.model_copy(update={"tie_rate": tie_res})
    return res


def _default_bayes(judgments: Any, where: str) -> Any:
    """The default posterior for ``method="bayes"``: a binary BayesianCalibrator centred on the raw judge."""
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
    rng = None if scale is None else (float(scale.low), float(scale.high))
    return BayesianCalibrator(kind="binary", score_range=rng, random_state=0)


def _has_posterior(cal: Any) -> bool:
    if callable(getattr(cal, "predict_agreement_draws", None)):
        return True
    try:
        from judgecal.calibration.bayes.calibrator import BayesianCalibrator
    except ImportError:  # pragma: no cover
        return False
    return isinstance(cal, BayesianCalibrator) and cal.kind in ("binary", "monotone")


def _posterior_draws(model: Any, X: FloatArray, stages: Any) -> FloatArray:
    """Posterior draws of P(agree | score), shape (draws, n).

    Uses ``predict_agreement_draws`` when the calibrator has it; for
    :class:`judgecal.calibration.bayes.calibrator.BayesianCalibrator` it reads the stored draws through
    the same per-score summariser its ``predict_*`` methods use (same package).
    """
    fn = getattr(model, "predict_agreement_draws", None)
    if callable(fn):
        return np.asarray(fn(X, stages=stages), dtype=np.float64)
    state = next(iter(model.draws_.values()))
    n_draws = int(next(iter(state.values())).shape[0])
    table = model._summarise(
        X, stages, "estimate_rate", "agree", lambda q: np.asarray(q).T, n_draws
    )
    return np.asarray(table, dtype=np.float64).T


def _bayes_estimate(
    d: _Data,
    weights: Mapping[str, float],
    cal: Any,
    level: float,
    estimand: str,
    judge: Baseline,
    human: Baseline,
    stagewise: bool,
    rng: np.random.Generator,
) -> RateEstimate:
    r"""Posterior of the finite-population rate from a Bayesian calibrator's draws.

    For posterior draw :math:`d`, stratum :math:`h` with labelled set :math:`L_h` and
    unlabelled set :math:`U_h`: :math:`\theta_{h,d} = (\sum_{L_h} y_i + \sum_{U_h}
    \tilde y_{j,d}) / N_h` with :math:`\tilde y_{j,d} \sim \text{Bernoulli}(p_d(s_j))`
    (drawn through its normal approximation; an upper bound on the spread of
    soft targets). The calibrator sees the strata as its stages, so they pool
    partially. Items the judge failed on get the stratum's labelled mean. The
    interval is equal-tailed. Unlike PPI, validity rests on the calibration
    model being right.
    """
    lab = d.lab & d.scored
    model = clone(cal)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        model.fit(
            d.x[lab], d.ya[lab], stages=d.strata[lab]
        )  # strata pool partially in a Bayesian model
    unl = ~d.lab
    draws = _posterior_draws(model, d.x[unl & d.scored], d.strata[unl & d.scored])
    n_draws = draws.shape[0]
    theta = np.zeros(n_draws)
    st_unl = d.strata[unl & d.scored]
    per: dict[str, StratumEstimate] = {}
    alpha = (1.0 - level) / 2.0
    for name, w in weights.items():
        m = d.strata == name
        ml = m & d.lab
        N_h = int(m.sum())
        ybar = float(d.ya[ml].mean()) if ml.any() else float(d.ya[d.lab].mean())
        n_fail = int((m & unl & ~d.scored).sum())
        p = draws[:, st_unl == name]
        mean_u = p.sum(1) + n_fail * ybar
        var_u = (p * (1 - p)).sum(1) + n_fail * ybar * (1 - ybar)
        t_h = (float(d.ya[ml].sum()) + mean_u + rng.standard_normal(n_draws) * np.sqrt(var_u)) / N_h
        theta += w * t_h
        if len(weights) > 1:
            lo_h, hi_h = np.quantile(t_h, [alpha, 1 - alpha])
            per[name] = StratumEstimate(
                estimate=float(np.clip(t_h.mean(), 0, 1)),
                low=float(max(lo_h, 0.0)),
                high=float(min(hi_h, 1.0)),
                weight=w,
                n_labelled=int(ml.sum()),
                n_unlabelled=int((m & unl).sum()),
                lam=1.0,
                human_only=_human_stratum_baseline(d.ya[ml], level) if ml.sum() >= 2 else human,
                judge_only=_judge_baseline(d, {name: 1.0}, level, "half"),
            )
    lo, hi = np.quantile(theta, [alpha, 1 - alpha])
    n = int(d.lab.sum())
    width = float(hi - lo)
    eff = n * (human.width / width) ** 2 if width > 0 else float(n)
    return RateEstimate(
        estimand=estimand,
        method=f"bayes ({type(cal).__name__} posterior, {n_draws} draws)",
        estimate=float(np.clip(theta.mean(), 0, 1)),
        low=float(max(lo, 0.0)),
        high=float(min(hi, 1.0)),
        level=level,
        n_labelled=n,
        n_unlabelled=int(unl.sum()),
        n_unscored=int((~d.scored).sum()),
        effective_labels=float(eff),
        human_only=human,
        judge_only=judge,
        strata=per,
    )


def _estimate_plain(
    d: _Data,
    y: FloatArray,
    f: FloatArray | None,
    weights: Mapping[str, float],
    method: str,
    level: float,
    interval: str,
    estimand: str,
    where: str,
    *,
    bounded: bool,
    ties: str,
) -> RateEstimate:
    """PPI++ with a fixed (uncalibrated) predictor ``f`` (the tie rate)."""
    ff = np.full(y.size, float(y[d.lab].mean())) if f is None else f
    lam = 0.0 if method == "human" else None
    s = _stratified(y, ff, d, weights, lam, where)
    return _assemble(
        d,
        s,
        weights,
        method + (" (judge says tie)" if f is not None else ""),
        level,
        interval,
        estimand,
        bounded,
        judge=_tie_judge_baseline(d, weights, level),
        judge_of=lambda name: _tie_judge_baseline(d, {name: 1.0}, level),
    )


def _tie_judge_baseline(d: _Data, weights: Mapping[str, float], level: float) -> Baseline:
    if d.jtie is None:
        return Baseline(estimate=0.0, low=0.0, high=0.0)
    theta = var = 0.0
    for name, w in weights.items():
        m = (d.strata == name) & d.scored
        v = d.jtie[m]
        if v.size:
            theta += w * float(v.mean())
            var += w**2 * (float(v.var(ddof=1)) if v.size > 1 else 0.0) / v.size
    half = _crit(level, math.inf, "normal") * math.sqrt(var)
    return Baseline(estimate=theta, low=theta - half, high=theta + half)


def _assemble(
    d: _Data,
    s: _Strat,
    weights: Mapping[str, float],
    method: str,
    level: float,
    interval: str,
    estimand: str,
    bounded: bool,
    judge: Baseline,
    *,
    human_theta: float | None = None,
    lam_reported: bool = True,
    judge_of: Callable[[str], Baseline] | None = None,
) -> RateEstimate:
    crit = _crit(level, s.df, interval)
    est = s.theta
    half = crit * math.sqrt(s.var)
    lo, hi = _clip_interval(est, half, bounded)
    h_est = _weighted_human(s) if human_theta is None else human_theta
    h_half = crit * math.sqrt(s.var_human)
    hl, hh = _clip_interval(h_est, h_half, bounded)
    per = {}
    if len(weights) > 1:
        for name, (c, w) in s.per.items():
            cc = _crit(level, c.n - 1, interval)
            e = c.theta
            pl, ph = _clip_interval(e, cc * math.sqrt(c.var), bounded)
            hmean = c.human_mean
            hl2, hh2 = _clip_interval(hmean, cc * math.sqrt(c.var_human), bounded)
            jb = (
                _judge_baseline(d, {name: 1.0}, level, "half")
                if judge_of is None
                else judge_of(name)
            )
            per[name] = StratumEstimate(
                estimate=e,
                low=pl,
                high=ph,
                weight=w,
                n_labelled=c.n,
                n_unlabelled=c.N,
                lam=c.lam,
                human_only=Baseline(estimate=hmean, low=hl2, high=hh2),
                judge_only=jb,
            )
    n = int(d.lab.sum())
    eff = n * s.var_human / s.var if s.var > 0 else float(n)
    return RateEstimate(
        estimand=estimand,
        method=method,
        estimate=est,
        low=lo,
        high=hi,
        level=level,
        n_labelled=n,
        n_unlabelled=int((~d.lab).sum()),
        n_unscored=int((~d.scored).sum()),
        effective_labels=float(eff),
        human_only=Baseline(estimate=h_est, low=hl, high=hh),
        judge_only=judge,
        lam=s.lam_mean if lam_reported else None,
        strata=per,
    )


def _estimate(
    d: _Data,
    weights: Mapping[str, float],
    method: str,
    cal: StagewiseCalibrator | None,
    ties: str,
    level: float,
    folds: int,
    stagewise: bool,
    interval: str,
    rng: np.random.Generator,
    where: str,
    estimand: str,
    *,
    bounded: bool,
) -> RateEstimate:
    judge = _judge_baseline(d, weights, level, ties)
    if method == "judge":
        n = int(d.lab.sum())
        return RateEstimate(
            estimand=estimand,
            method="judge (raw score, naive interval)",
            estimate=judge.estimate,
            low=judge.low,
            high=judge.high,
            level=level,
            n_labelled=n,
            n_unlabelled=int((~d.lab).sum()),
            n_unscored=int((~d.scored).sum()),
            effective_labels=0.0,
            human_only=_human_baseline(d, weights, level, interval, ties, bounded, where),
            judge_only=judge,
        )
    if method == "rogan-gladen":
        return _rogan_gladen_records(
            d, weights, level, estimand, judge, where, interval, ties, bounded
        )
    if method == "bayes":
        human = _human_baseline(d, weights, level, interval, ties, bounded, where)
        return _bayes_estimate(d, weights, cal, level, estimand, judge, human, stagewise, rng)
    cal_name = "raw score" if cal is None else type(cal).__name__.replace("Calibrator", "").lower()
    lam: float | None = {"ppi++": None, "ppi": 1.0, "human": 0.0}[method]
    if method == "human":
        label = "human (labelled items only)"
    else:
        label = f"{method} ({cal_name}{'' if cal is None else f', {folds}-fold cross-fit'})"
    fa = _crossfit(d, d.ya, cal, folds, rng, stagewise) if method != "human" else d.ya * 0
    if ties != "drop":
        s = _stratified(d.ya, fa, d, weights, lam, where)
        return _assemble(
            d,
            s,
            weights,
            label,
            level,
            interval,
            estimand,
            bounded,
            judge,
            human_theta=_weighted_human(s),
            lam_reported=method != "human",
            judge_of=lambda name: _judge_baseline(d, {name: 1.0}, level, ties),
        )
    # ratio P(first) / P(not tie), linearised around the human-only ratio
    assert d.yb is not None
    yb = d.yb
    fb = d.jtie if d.jtie is not None else None
    fb_pred = (
        (1.0 - fb)
        if fb is not None and method != "human"
        else np.full(yb.size, float(yb[d.lab].mean()))
    )
    r0 = _ratio_human(d, weights)
    z = d.ya - r0 * yb
    g = fa - r0 * fb_pred
    sz = _stratified(z, g, d, weights, lam, where)
    sb = _stratified(yb, fb_pred, d, weights, lam, where)
    bhat = max(sb.theta, 1e-9)
    # per-stratum ratios: linearised per stratum around the stratum's human ratio
    per_ratio: dict[str, tuple[_Core, float]] = {}
    for name, (_, w) in sz.per.items():
        m = d.strata == name
        ml, mu = m & d.lab, m & ~d.lab
        rh = float(d.ya[ml].sum() / max(yb[ml].sum(), 1e-9))
        zc = _ppi_core(
            d.ya[ml] - rh * yb[ml],
            fa[ml] - rh * fb_pred[ml],
            fa[mu] - rh * fb_pred[mu],
            lam,
            floor=True,
        )
        bc = _ppi_core(yb[ml], fb_pred[ml], fb_pred[mu], lam, floor=True)
        b = max(bc.theta, 1e-9)
        bh = max(float(yb[ml].mean()), 1e-9)
        core = _Core(rh + zc.theta / b, zc.var / b**2, zc.lam, zc.var_human / bh**2, zc.n, zc.N, rh)
        per_ratio[name] = (core, w)
    ratio = _Strat(
        r0 + sz.theta / bhat,
        sz.var / bhat**2,
        sz.var_human / _human_b(d, weights) ** 2,
        sz.df,
        sz.lam_mean,
        per_ratio,
    )
    return _assemble(
        d,
        ratio,
        weights,
        label,
        level,
        interval,
        estimand,
        bounded,
        judge,
        human_theta=r0,
        lam_reported=method != "human",
        judge_of=lambda name: _judge_baseline(d, {name: 1.0}, level, ties),
    )


def _human_b(d: _Data, weights: Mapping[str, float]) -> float:
    assert d.yb is not None
    return max(
        sum(w * float(d.yb[(d.strata == k) & d.lab].mean()) for k, w in weights.items()), 1e-9
    )


def _ratio_human(d: _Data, weights: Mapping[str, float]) -> float:
    assert d.yb is not None
    a = sum(w * float(d.ya[(d.strata == k) & d.lab].mean()) for k, w in weights.items())
    return a / _human_b(d, weights)


def _weighted_human(s: _Strat) -> float:
    return float(sum(w * c.human_mean for c, w in s.per.values()))


def _human_baseline(
    d: _Data,
    weights: Mapping[str, float],
    level: float,
    interval: str,
    ties: str,
    bounded: bool,
    where: str,
) -> Baseline:
    if ties == "drop":
        r = _estimate(
            d,
            weights,
            "human",
            None,
            ties,
            level,
            2,
            False,
            interval,
            np.random.default_rng(0),
            where,
            "",
            bounded=bounded,
        )
        return r.human_only
    s = _stratified(d.ya, d.ya * 0, d, weights, 0.0, where)
    half = _crit(level, s.df, interval) * math.sqrt(s.var_human)
    lo, hi = _clip_interval(s.theta, half, bounded)
    return Baseline(estimate=s.theta, low=lo, high=hi)


def _rogan_gladen_records(
    d: _Data,
    weights: Mapping[str, float],
    level: float,
    estimand: str,
    judge: Baseline,
    where: str,
    interval: str,
    ties: str,
    bounded: bool,
) -> RateEstimate:
    if ties != "half" or d.jtie is not None:
        raise InputError(
            "method",
            "'rogan-gladen' only with a yes/no judge (a two-word verdict scale) "
            "and binary or ordinal labels",
            "rogan-gladen",
            where=where,
        )
    jy = d.unit >= 0.5
    theta = var = 0.0
    per: dict[str, StratumEstimate] = {}
    z = _crit(level, math.inf, "normal")
    uninformative = False
    for name, w in weights.items():
        m = (d.strata == name) & d.scored
        ml = m & d.lab
        if ml.sum() < 2:
            raise InputError(
                "judgments",
                f"at least 2 labelled items with a judge verdict in stratum {name!r}",
                Verbatim(str(int(ml.sum()))),
                where=where,
            )
        t, v = _rg_core(d.ya[ml], jy[ml].astype(float), jy[m].astype(float))
        theta += w * t
        if v is None:
            uninformative = True
            v = 0.25
        var += w**2 * v
        if len(weights) > 1:
            hb = _human_stratum_baseline(d.ya[ml], level)
            ju = jy[m].astype(float)
            jh = z * math.sqrt(float(ju.var()) / ju.size)
            lo, hi = (0.0, 1.0) if v == 0.25 else _clip_interval(t, z * math.sqrt(v), True)
            per[name] = StratumEstimate(
                estimate=t,
                low=lo,
                high=hi,
                weight=w,
                n_labelled=int(ml.sum()),
                n_unlabelled=int((m & ~d.lab).sum()),
                lam=1.0,
                human_only=hb,
                judge_only=Baseline(
                    estimate=float(ju.mean()), low=float(ju.mean()) - jh, high=float(ju.mean()) + jh
                ),
            )
    human = _human_baseline(d, weights, level, interval, ties, bounded, where)
    lo, hi = (0.0, 1.0) if uninformative else _clip_interval(theta, z * math.sqrt(var), True)
    n = int(d.lab.sum())
    hv = (human.width / (2 * _crit(level, max(n - 1, 1), interval))) ** 2
    eff = n * hv / var if var > 0 and not uninformative else float(n)
    return RateEstimate(
        estimand=estimand,
        method="rogan-gladen (yes/no judge, delta-method interval)",
        estimate=theta,
        low=lo,
        high=hi,
        level=level,
        n_labelled=n,
        n_unlabelled=int((~d.lab).sum()),
        n_unscored=int((~d.scored).sum()),
        effective_labels=float(eff),
        human_only=human,
        judge_only=judge,
        strata=per,
    )


def _human_stratum_baseline(y: FloatArray, level: float) -> Baseline:
    m = float(y.mean())
    half = _crit(level, y.size - 1, "t") * math.sqrt(
        max(float(y.var(ddof=1)), y.size / (y.size + 1.0) ** 2) / y.size
    )
    lo, hi = _clip_interval(m, half, True)
    return Baseline(estimate=m, low=lo, high=hi)


def estimate_difference(
    judgments: JudgmentSet,
    *,
    group: str,
    first: str,
    second: str,
    method: Literal["ppi++", "ppi", "human"] = "ppi++",
    calibrator: str | StagewiseCalibrator | None = "isotonic",
    strata: str | None = "stage",
    threshold: int | None = None,
    level: float = 0.9,
    folds: int = 5,
    interval: IntervalKind = "t",
    seed: int | None = 0,
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
    method, calibrator, strata, threshold, level, folds, interval, seed
        As in :func:`estimate_rate` (``strata`` may only be ``"stage"``, a meta field or None).

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
    ...     [j if i in keep else j.model_copy(update={"ratings": ()}) for i, j in enumerate(js)], scale=js.scale)
    >>> r = estimate_difference(part, group="system", first="Human", second="GPT-2", threshold=4, strata=None)
    >>> r.estimate > 0, r.width < r.human_only.width
    (True, True)
    """
    where = "estimate_difference"
    check_choice(method, "method", ("ppi++", "ppi", "human"), where=where)
    check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    check_int(folds, "folds", low=2, where=where)
    check_choice(interval, "interval", ("t", "normal"), where=where)
    if not isinstance(group, str):
        raise InputTypeError("group", "the name of a meta field", group, where=where)
    cal = _make_calibrator(calibrator, where)
    d = _prepare(judgments, strata, threshold, "half", where)
    sys_of = judgments.meta(group)
    for name, val in (("first", first), ("second", second)):
        if val not in set(sys_of.tolist()):
            raise InputError(
                name,
                f"a value of meta field {group!r} ({sorted(set(sys_of.tolist()))[:6]})",
                val,
                where=where,
            )
    keep = (sys_of == first) | (sys_of == second)
    idx = np.flatnonzero(keep)
    d = _Data(
        lab=d.lab[idx],
        scored=d.scored[idx],
        x=d.x[idx],
        unit=d.unit[idx],
        ya=d.ya[idx],
        yb=None,
        ytie=None,
        jtie=None,
        strata=np.char.add(np.char.add(sys_of[idx], " | "), d.strata[idx]),
    )
    grp = sys_of[idx]
    weights = {**_stratum_weights(d, grp == first, 1.0), **_stratum_weights(d, grp == second, -1.0)}
    rng = make_rng(seed)
    res = _estimate(
        d,
        weights,
        method,
        cal,
        "half",
        level,
        folds,
        False,
        interval,
        rng,
        where,
        f"{_estimand(judgments, threshold, 'half')}: {first} - {second}",
        bounded=False,
    )
    lo, hi = max(res.low, -1.0), min(res.high, 1.0)
    return res.model_copy(update={"low": lo, "high": hi})


# ---------------------------------------------------------------------------
# planning
# ---------------------------------------------------------------------------
def plan_labels(
    half_width: float,
    *,
    correlation: float | None = None,
    sd: float = 0.5,
    pilot: JudgmentSet | None = None,
    threshold: int | None = None,
    n_total: int | None = None,
    level: float = 0.9,
    calibrator: str = "isotonic",
    seed: int | None = 0,
) -> LabelPlan:
    r"""How many human labels give a target interval half-width, with and without the judge.

    With the human target's standard deviation :math:`\sigma` and the
    correlation :math:`\rho` between the calibrated judge and the target, the
    PPI++ variance with ``n`` labels out of ``M`` items is
    :math:`\sigma^2 (1 - \rho^2 (M - n)/M) / n` (optimal power tuning), and the
    human-only variance :math:`\sigma^2 / n`. The plan is the smallest ``n``
    whose normal interval half-width is at most ``half_width``.

    Parameters
    ----------
    half_width : float
        Target half-width (e.g. 0.03 for +/- 3 points).
    correlation : float, optional
        Judge quality :math:`\rho`; measured from ``pilot`` when not given.
    sd : float
        Standard deviation of the human target (0.5 is the worst case for a rate);
        measured from ``pilot`` when given.
    pilot : JudgmentSet, optional
        A labelled pilot sample: :math:`\rho` is the correlation of the
        cross-fitted calibrated judge with the human targets.
    threshold : int, optional
        Ordinal labels of the pilot: lowest positive level.
    n_total : int, optional
        Items available (labelled + unlabelled); ``None`` means unlimited.
    level : float
        Nominal coverage.
    calibrator : {"isotonic", "logistic", "none"}
        Calibrator for the pilot.
    seed : int or None
        Seed of the pilot's fold split.

    Examples
    --------
    >>> p = plan_labels(0.03, correlation=0.7, n_total=20000)
    >>> p.n_human_only, p.n_ppi, round(p.saving, 2)
    (752, 391, 0.48)
    """
    where = "plan_labels"
    check_float(half_width, "half_width", low=0.0, high=1.0, low_open=True, where=where)
    check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    if n_total is not None:
        check_int(n_total, "n_total", low=2, where=where)
    if pilot is not None:
        d = _prepare(pilot, None, threshold, "half", where)
        if d.lab.sum() < 10:
            raise InputError(
                "pilot", "at least 10 labelled items", Verbatim(str(int(d.lab.sum()))), where=where
            )
        f = _crossfit(d, d.ya, _make_calibrator(calibrator, where), 5, make_rng(seed), False)
        y, fl = d.ya[d.lab], f[d.lab]
        sd = float(y.std(ddof=1))
        if correlation is None:
            correlation = 0.0 if fl.std() == 0 or y.std() == 0 else float(np.corrcoef(y, fl)[0, 1])
    if correlation is None:
        raise InputError(
            "correlation", "a number in [-1, 1] (or a labelled pilot)", None, where=where
        )
    rho = check_float(correlation, "correlation", low=-1.0, high=1.0, where=where)
    sd = check_float(sd, "sd", low=0.0, high=1.0, low_open=True, where=where)
    z = _crit(level, math.inf, "normal")
    n_h = max(2, math.ceil((z * sd / half_width) ** 2))

    def hw(n: int) -> float:
        frac = 1.0 if n_total is None else max(n_total - n, 0) / n_total
        return z * sd * math.sqrt(max(1.0 - rho**2 * frac, 0.0) / n)

    lo, hi = 1, n_h
    while lo < hi:
        mid = (lo + hi) // 2
        if hw(mid) <= half_width:
            hi = mid
        else:
            lo = mid + 1
    n_p = max(2, lo)
    if n_total is not None:
        n_h = min(n_h, n_total)
        n_p = min(n_p, n_total)
    return LabelPlan(
        half_width=half_width,
        level=level,
        n_ppi=n_p,
        n_human_only=n_h,
        correlation=rho,
        sd=sd,
        n_total=n_total,
    )


def keep_labels(
    judgments: JudgmentSet,
    n: int,
    *,
    by: str | None = "stage",
    seed: int | None = 0,
) -> JudgmentSet:
    """Keep the human ratings of ``n`` random items and drop the others (simulate a label budget).

    With ``by`` (``"stage"`` or a meta field) the ``n`` items are spread as
    evenly as possible over its values (at least 2 each, when they have that
    many labelled items), which is how one would plan the labelling; the
    estimators weight strata by their size, so this does not bias them.

    Parameters
    ----------
    judgments : JudgmentSet
        A fully (or partly) labelled set.
    n : int
        Items that keep their ratings (among those that have some).
    by : str or None
        Spread the budget over stages (``"stage"``), a meta field, or not at all (None).
    seed : int or None
        Seed of the draw.

    Examples
    --------
    >>> import judgecal
    >>> js = keep_labels(judgecal.load_pandalm(with_texts=False), 100, seed=1)
    >>> len(js.labelled()), len(js.labelled().stage_names())
    (100, 10)
    """
    where = "keep_labels"
    if not isinstance(judgments, JudgmentSet):
        raise InputTypeError("judgments", "a JudgmentSet", judgments, where=where)
    lab = np.flatnonzero([j.n_ratings > 0 for j in judgments])
    check_int(n, "n", low=1, high=max(int(lab.size), 1), where=where)
    rng = make_rng(seed)
    if by is not None and not isinstance(by, str):
        raise InputTypeError(
            "by", "None, 'stage' or the name of a meta field", by, where="keep_labels"
        )
    if by is None:
        chosen = rng.choice(lab, n, replace=False)
    else:
        groups = judgments.stages() if by == "stage" else judgments.meta(by)
        names = list(dict.fromkeys(groups[lab].tolist()))
        pools = {g: rng.permutation(lab[groups[lab] == g]) for g in names}
        quota = {g: 0 for g in names}
        left = n
        while left > 0:  # round-robin over strata that still have items
            progressed = False
            for g in names:
                if left and quota[g] < pools[g].size:
                    quota[g] += 1
                    left -= 1
                    progressed = True
            if not progressed:  # pragma: no cover - n <= lab.size
                break
        chosen = np.concatenate([pools[g][: quota[g]] for g in names])
    keep = np.zeros(len(judgments), dtype=bool)
    keep[chosen] = True
    return JudgmentSet(
        [
            j if keep[i] or not j.ratings else j.model_copy(update={"ratings": ()})
            for i, j in enumerate(judgments)
        ],
        scale=judgments.scale,
    )
