"""Isotonic calibration: the monotone step function closest to the human targets, per stage."""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression

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

    Parameters
    ----------
    increasing : bool
        Whether the human agreement rises with the judge score (the usual case).
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
    """

    def __init__(
        self, *, increasing: bool = True, min_stage_labels: int = 30, unknown_stage: str = "pooled"
    ) -> None:
        super().__init__(min_stage_labels=min_stage_labels, unknown_stage=unknown_stage)
        self.increasing = increasing

    def _check_params(self) -> None:
        super()._check_params()
        check_choice(self.increasing, "increasing", (True, False), where="IsotonicCalibrator.fit")

    def _fit_one(self, x: FloatArray, y: FloatArray, w: FloatArray) -> State:
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
        return np.interp(x, state["x"], state["y"])

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
