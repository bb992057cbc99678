"""Isotonic calibration: the monotone step function closest to the human targets, per stage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression

from judgecal._exceptions import InputError
from judgecal._validation import FloatArray, check_choice
from judgecal.calibration.base import StagewiseCalibrator, State, check_finite_array

__all__ = ["IsotonicCalibrator"]


class IsotonicCalibrator(StagewiseCalibrator):
    """Monotone non-parametric calibration (isotonic regression, per stage).

    Fits the non-decreasing step function that minimises the weighted squared
    error to the targets (pool-adjacent-violators; ties in the score, as on a
    Likert scale, are averaged first), then interpolates linearly between the
    fitted points and clips outside the training range, so no score ever gives
    NaN. Probabilities are bounded away from 0 and 1 by ``1 / (n + 2)``
    (Laplace's rule of succession, with ``n`` the total weight), so one
    surprising label costs a finite log loss.

    A judge panel: ``X`` of shape (n, k) holds k judges' scores of each item.
    Isotonic regression in k dimensions is not identified from a few hundred
    labels, so the panel is first reduced to one score by a declared, fixed
    combination (``combine``): the mean of the k columns (judges on one
    scale), or a weighted sum with given non-negative weights. The step
    function is then fitted on that score. One column behaves exactly as one
    judge. For weights learnt from the labels use :class:`LogisticCalibrator`.

    Parameters
    ----------
    increasing : bool
        Whether the human agreement rises with the judge score (the usual case).
    combine : "mean" or sequence of float
        How a panel's k columns become one score: ``"mean"`` (default), or k
        non-negative weights, not all zero (``combined = X @ w / sum(w)``).
        Ignored for one column.
    min_stage_labels : int
        Stages with fewer labelled items use the pooled fit (with a warning).
    unknown_stage : {"pooled", "raise"}
        What a stage never seen in ``fit`` gets at prediction time.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.array([1, 2, 2, 3, 4, 5, 5])
    >>> agree = np.array([0, 0, 1, 0, 1, 1, 1])
    >>> cal = IsotonicCalibrator().fit(scores, agree)
    >>> cal.predict_proba([1, 2, 5, 9])[:, 1].round(3)
    array([0.111, 0.333, 0.889, 0.889])

    Two judges, the first counted twice as much as the second:

    >>> panel = np.column_stack([scores, [2, 1, 3, 3, 4, 5, 4]])
    >>> two = IsotonicCalibrator(combine=[2, 1]).fit(panel, agree)
    >>> two.combined_score([[1, 4], [5, 2]]).round(3)
    array([2., 4.])
    """

    _accepts_panel = True

    def __init__(
        self,
        *,
        increasing: bool = True,
        combine: str | Sequence[float] = "mean",
        min_stage_labels: int = 30,
        unknown_stage: str = "pooled",
    ) -> None:
        super().__init__(min_stage_labels=min_stage_labels, unknown_stage=unknown_stage)
        self.increasing = increasing
        self.combine = combine

    def _check_params(self) -> None:
        super()._check_params()
        check_choice(self.increasing, "increasing", (True, False), where="IsotonicCalibrator.fit")
        self._combine_weights(None, "IsotonicCalibrator.fit")

    def _combine_weights(self, k: int | None, where: str) -> FloatArray | None:
        """The normalized panel weights for k judges (None: the mean); checked."""
        combine = self.combine
        if isinstance(combine, str):
            check_choice(combine, "combine", ("mean",), where=where)
            return None
        expected = "'mean' or a sequence of non-negative weights, not all zero, one per judge"
        try:
            weights = np.asarray(combine, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError("combine", expected, combine, where=where) from None
        if (
            weights.ndim != 1
            or weights.size == 0
            or not np.isfinite(weights).all()
            or (weights < 0).any()
            or not weights.sum() > 0
        ):
            raise InputError("combine", expected, combine, where=where)
        if k is not None and weights.size != k:
            raise InputError(
                "combine", f"{k} weights, one per judge column of X", combine, where=where
            )
        out: FloatArray = weights / weights.sum()
        return out

    def combined_score(self, X: Any) -> FloatArray:
        """The one score a panel ``X`` (n, k) is reduced to before the step function."""
        where = "IsotonicCalibrator.combined_score"
        self._check_fitted("combined_score")
        x = self._inputs(X, where.replace("combined_score", "predict_proba"), allow_empty=True)
        return self._combined(x, where)

    def _combined(self, x: FloatArray, where: str) -> FloatArray:
        if x.ndim == 1:
            return x
        weights = self._combine_weights(x.shape[1], where)
        out: FloatArray = x.mean(axis=1) if weights is None else x @ weights
        return out

    def _fit_one(self, x: FloatArray, y: FloatArray, w: FloatArray) -> State:
        x = self._combined(x, "IsotonicCalibrator.fit")
        iso = IsotonicRegression(
            y_min=0.0, y_max=1.0, increasing=bool(self.increasing), out_of_bounds="clip"
        )
        iso.fit(x, y, sample_weight=w)
        eps = 1.0 / (float(w.sum()) + 2.0)
        return {
            "x": np.asarray(iso.X_thresholds_, dtype=np.float64),
            "y": np.clip(np.asarray(iso.y_thresholds_, dtype=np.float64), eps, 1.0 - eps),
        }

    def _predict_one(self, state: State, x: FloatArray) -> FloatArray:
        return np.interp(
            self._combined(x, "IsotonicCalibrator.predict_proba"), state["x"], state["y"]
        )

    def _check_state(self, state: State) -> None:
        if not isinstance(state.get("x"), np.ndarray) or not isinstance(state.get("y"), np.ndarray):
            raise ValueError("an isotonic state needs arrays 'x' and 'y'")
        x = check_finite_array(state["x"], "x", kind="isotonic", shape=(None,))
        y = check_finite_array(state["y"], "y", kind="isotonic", shape=(x.size,))
        if x.size == 0:
            raise ValueError("isotonic state 'x' must not be empty")
        if (np.diff(x) < 0).any():
            raise ValueError("isotonic state 'x' must be sorted in increasing order")
        if ((y < 0) | (y > 1)).any():
            raise ValueError("isotonic state 'y' must be probabilities in [0, 1]")
        steps = np.diff(y)
        if (steps < 0).any() and (steps > 0).any():
            raise ValueError("isotonic state 'y' must be monotone (all rising or all falling)")
