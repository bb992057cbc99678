r"""A calibration default that does no harm: the raw judge unless the labels show otherwise.

With 50 labels every fitted calibrator adds variance; on a judge that is
already calibrated, isotonic, Platt and Bayesian calibrators lose to the raw
judge in most splits. :class:`ShrinkageCalibrator` keeps the raw judge (its
score rescaled to [0, 1], :math:`r(s)`) unless a test on the labels shows it
is miscalibrated, and otherwise recalibrates it within a family that contains
it:

.. math::

    \hat p(s) = \sigma\big(a + b \operatorname{logit} r(s)\big),

:math:`(a, b) = (0, 1)` being the raw judge. The fitted :math:`(\hat a, \hat b)`
(maximum likelihood with a weak prior) is shrunk toward :math:`(0, 1)` by the
positive-part rule :math:`\omega = \max(0, 1 - c / T)`, where :math:`T` is the
likelihood-ratio statistic of :math:`(a, b) = (0, 1)` (Cox, "Two further
applications of a model for binary regression", *Biometrika* 1958: the
calibration intercept and slope) and :math:`c` its :math:`\chi^2_2` critical
value at ``test_level``. When the test does not reject, the raw judge is kept
exactly; the stronger the evidence of miscalibration, the closer the map is to
the fitted recalibration. Measured at 50 labels (``benchmarks/bench_labels.py``):
on a calibrated judge it is at least as good as raw in about two thirds of
samples; on compressed or shifted judges it beats raw in 95-99%.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from judgecal._validation import FloatArray, check_float
from judgecal.calibration.base import (
    StagewiseCalibrator,
    State,
    check_finite_number,
    sigmoid,
)
from judgecal.calibration.logistic import fit_logistic_design

__all__ = ["ShrinkageCalibrator"]

_EPS = 1e-3
#: Weak normal prior on (a, b), so separable labels keep finite coefficients.
_PRIOR_SCALE = 10.0
_IDENTITY = np.array([0.0, 1.0])


class ShrinkageCalibrator(StagewiseCalibrator):
    """The raw judge, recalibrated only as far as a test on the labels shows miscalibration.

    Parameters
    ----------
    score_range : tuple of float, optional
        ``(low, high)`` of the judge's scale, for the raw probability
        ``(s - low) / (high - low)``. By default ``(0, 1)`` when every training
        score lies there, else the training minimum and maximum.
    test_level : float
        Level of the calibration test: the raw judge is kept exactly when the
        test's p-value exceeds it (and shrunk toward otherwise).
    min_stage_labels : int
        Stages with fewer labelled items use the pooled fit (with a warning).
    unknown_stage : {"pooled", "raise"}
        What a stage never seen in ``fit`` gets at prediction time.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> p = rng.beta(2, 2, 50)
    >>> y = rng.random(50) < p  # a judge that is already calibrated
    >>> cal = ShrinkageCalibrator().fit(p, y)
    >>> cal.pooled_["a"], cal.pooled_["b"]
    (0.0, 1.0)
    >>> squeezed = 0.5 + 0.3 * (p - 0.5)  # a compressed judge
    >>> ShrinkageCalibrator().fit(squeezed, y).pooled_["b"] > 1
    True
    >>> cal.predict_agreement([0.2, 0.8]).round(3)  # the raw judge, as a probability
    array([0.2, 0.8])
    """

    def __init__(
        self,
        *,
        score_range: tuple[float, float] | None = None,
        test_level: float = 0.4,
        min_stage_labels: int = 30,
        unknown_stage: str = "pooled",
    ) -> None:
        super().__init__(min_stage_labels=min_stage_labels, unknown_stage=unknown_stage)
        self.score_range = score_range
        self.test_level = test_level

    def _check_params(self) -> None:
        super()._check_params()
        where = "ShrinkageCalibrator.fit"
        check_float(self.test_level, "test_level", low=0.0, high=1.0, where=where)
        if self.score_range is not None:
            from judgecal._exceptions import InputError

            try:
                low, high = _pair(self.score_range)
            except (TypeError, ValueError):
                low, high = math.nan, math.nan
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise InputError(
                    "score_range",
                    "None or (low, high) with low < high",
                    self.score_range,
                    where=where,
                )

    def _range(self, x: FloatArray) -> tuple[float, float]:
        if self.score_range is not None:
            return _pair(self.score_range)
        low, high = float(x.min()), float(x.max())
        if low >= 0.0 and high <= 1.0:
            return 0.0, 1.0
        return (low, high) if high > low else (low - 0.5, low + 0.5)

    def _fit_one(self, x: FloatArray, y: FloatArray, w: FloatArray) -> State:
        low, high = self._range(x)
        logit = _logit(_raw(x, low, high))
        design = np.column_stack([np.ones_like(logit), logit])
        coef = fit_logistic_design(design, y, w, _PRIOR_SCALE)
        statistic = 2.0 * (_log_lik(design, y, w, coef) - _log_lik(design, y, w, _IDENTITY))
        statistic = max(statistic, 0.0)
        p_value = float(stats.chi2.sf(statistic, 2))
        critical = float(stats.chi2.isf(float(self.test_level), 2)) if self.test_level > 0 else 0.0
        weight = max(0.0, 1.0 - critical / statistic) if statistic > 0 else 0.0
        a, b = _IDENTITY + weight * (coef - _IDENTITY)
        return {"low": low, "high": high, "a": float(a), "b": float(b), "p_value": p_value}

    def _predict_one(self, state: State, x: FloatArray) -> FloatArray:
        logit = _logit(_raw(x, state["low"], state["high"]))
        return np.asarray(sigmoid(state["a"] + state["b"] * logit), dtype=np.float64)

    def _check_state(self, state: State) -> None:
        low = check_finite_number(state, "low", kind="shrinkage")
        high = check_finite_number(state, "high", kind="shrinkage")
        check_finite_number(state, "a", kind="shrinkage")
        check_finite_number(state, "b", kind="shrinkage")
        p_value = check_finite_number(state, "p_value", kind="shrinkage")
        if not low < high or not 0.0 <= p_value <= 1.0:
            raise ValueError("a shrinkage state needs low < high and p_value in [0, 1]")


def _logit(p: FloatArray) -> FloatArray:
    out: FloatArray = np.log(p / (1.0 - p))
    return out


def _log_lik(design: FloatArray, y: FloatArray, w: FloatArray, coef: FloatArray) -> float:
    eta = design @ coef
    return -float(np.dot(w, np.logaddexp(0.0, eta) - y * eta))


def _pair(value: Any) -> tuple[float, float]:
    low, high = value
    return float(low), float(high)


def _raw(x: FloatArray, low: float, high: float) -> FloatArray:
    out: FloatArray = np.clip((x - low) / (high - low), _EPS, 1 - _EPS)
    return out
