"""Logistic (Platt) calibration per stage, and the MAP logistic solver the calibrators share."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from judgecal._validation import FloatArray, check_choice, check_float
from judgecal.calibration.base import (
    StagewiseCalibrator,
    State,
    check_finite_array,
    check_finite_number,
    sigmoid,
)

__all__ = ["LogisticCalibrator", "fit_logistic_design", "fit_logistic_map", "fit_logistic_signed"]


class LogisticCalibrator(StagewiseCalibrator):
    r"""Logistic (Platt) calibration, per stage.

    Models :math:`P(\text{agree} \mid s) = \sigma(a + b z)` with
    :math:`z = (s - \bar s) / \mathrm{sd}(s)` the standardized judge score
    (Platt, 1999). Coefficients are maximum a posteriori under independent
    normal priors of scale ``prior_scale`` on ``a`` and ``b``; the default 2.5
    is weakly informative on the standardized scale (Gelman et al., 2008) and
    keeps separable data finite. Fitted by Newton's method with step halving;
    soft labels and weights enter the likelihood directly. Scores outside the
    training range are clipped to it, as in :class:`IsotonicCalibrator`, so
    probabilities never saturate to exactly 0 or 1.

    A judge panel: ``X`` of shape (n, k) holds k judges' scores of each item
    (one column per judge, each standardized on its own). The model is then
    :math:`\sigma(a + \sum_j b_j z_j)`, one slope per judge, every slope of
    the sign ``increasing`` asks for (an active-set Newton solve,
    :func:`fit_logistic_signed`): a judge that adds nothing given the others
    gets a slope of exactly 0 rather than a negative weight. Prediction needs
    the same k columns. One column behaves exactly as one judge.

    Parameters
    ----------
    prior_scale : float
        Standard deviation of the normal prior on both coefficients; ``inf``
        gives plain maximum likelihood.
    increasing : bool or None
        ``True`` (default) constrains the slope (each judge's, for a panel) to
        ``b >= 0``: agreement never falls as the judge score rises, as in
        :class:`IsotonicCalibrator`. On a small noisy stage the unconstrained
        fit can invert the judge; when the constrained optimum is at ``b = 0``
        the map is flat (the stage's base rate). ``False`` constrains
        ``b <= 0``; ``None`` leaves it free.
    min_stage_labels : int
        Stages with fewer labelled items use the pooled fit (with a warning).
    unknown_stage : {"pooled", "raise"}
        What a stage never seen in ``fit`` gets at prediction time.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> s = rng.integers(1, 6, 500)
    >>> y = rng.random(500) < 1 / (1 + np.exp(-(s - 3)))
    >>> cal = LogisticCalibrator().fit(s, y)
    >>> cal.predict_proba([1, 3, 5])[:, 1].round(2)
    array([0.08, 0.44, 0.88])

    Two judges of one item, the second a noisier copy of the first:

    >>> panel = np.column_stack([s, s + rng.normal(0, 2, 500)])
    >>> two = LogisticCalibrator().fit(panel, y)
    >>> two.n_features_in_, bool((two.pooled_["b"] >= 0).all())
    (2, True)
    """

    _accepts_panel = True

    def __init__(
        self,
        *,
        prior_scale: float = 2.5,
        increasing: bool | None = True,
        min_stage_labels: int = 30,
        unknown_stage: str = "pooled",
    ) -> None:
        super().__init__(min_stage_labels=min_stage_labels, unknown_stage=unknown_stage)
        self.prior_scale = prior_scale
        self.increasing = increasing

    def _check_params(self) -> None:
        super()._check_params()
        if not (isinstance(self.prior_scale, float) and self.prior_scale == float("inf")):
            check_float(
                self.prior_scale,
                "prior_scale",
                low=0.0,
                low_open=True,
                where="LogisticCalibrator.fit",
            )
        check_choice(
            self.increasing, "increasing", (True, False, None), where="LogisticCalibrator.fit"
        )

    def _fit_one(self, x: FloatArray, y: FloatArray, w: FloatArray) -> State:
        if x.ndim == 2:
            return self._fit_panel(x, y, w)
        wsum = float(w.sum())
        center = float(np.dot(w, x) / wsum)
        spread = float(np.sqrt(np.dot(w, (x - center) ** 2) / wsum))
        if not spread > 0:
            spread = 1.0
        z = (x - center) / spread
        coef = fit_logistic_map(z, y, w, float(self.prior_scale))
        if (self.increasing is True and coef[1] < 0) or (self.increasing is False and coef[1] > 0):
            # convex objective: the constrained optimum lies on b = 0, the intercept-only fit
            coef = fit_logistic_map(np.zeros_like(z), y, w, float(self.prior_scale))
            coef[1] = 0.0
        return {
            "center": center,
            "spread": spread,
            "a": float(coef[0]),
            "b": float(coef[1]),
            "x_min": float(x.min()),
            "x_max": float(x.max()),
        }

    def _fit_panel(self, X: FloatArray, y: FloatArray, w: FloatArray) -> State:
        """One standardized slope per judge, each of the sign ``increasing`` asks for."""
        wsum = float(w.sum())
        center = (w @ X) / wsum
        spread = np.sqrt((w @ (X - center) ** 2) / wsum)
        spread = np.where(spread > 0, spread, 1.0)
        Z = np.column_stack([np.ones(X.shape[0]), (X - center) / spread])
        sign = {True: 1.0, False: -1.0, None: None}[self.increasing]
        coef = fit_logistic_signed(Z, y, w, float(self.prior_scale), sign)
        return {
            "center": center,
            "spread": spread,
            "a": float(coef[0]),
            "b": coef[1:],
            "x_min": X.min(axis=0),
            "x_max": X.max(axis=0),
        }

    def _predict_one(self, state: State, x: FloatArray) -> FloatArray:
        z = (np.clip(x, state["x_min"], state["x_max"]) - state["center"]) / state["spread"]
        if x.ndim == 2:
            return np.asarray(sigmoid(state["a"] + z @ state["b"]), dtype=np.float64)
        return np.asarray(sigmoid(state["a"] + state["b"] * z), dtype=np.float64)

    def _check_state(self, state: State) -> None:
        k = getattr(self, "n_features_in_", 1)
        if k != 1:
            self._check_panel_state(state, k)
            return
        for key in ("center", "a", "b"):
            check_finite_number(state, key, kind="logistic")
        check_finite_number(state, "spread", kind="logistic", positive=True)
        low = check_finite_number(state, "x_min", kind="logistic")
        high = check_finite_number(state, "x_max", kind="logistic")
        if low > high:
            raise ValueError(f"logistic state needs x_min <= x_max, got {low} > {high}")

    def _check_panel_state(self, state: State, k: int) -> None:
        check_finite_number(state, "a", kind="logistic")
        arrays = {
            key: check_finite_array(state.get(key), key, kind="logistic", shape=(k,))
            for key in ("center", "spread", "b", "x_min", "x_max")
        }
        if not (arrays["spread"] > 0).all():
            raise ValueError("logistic state 'spread' must be positive")
        if (arrays["x_min"] > arrays["x_max"]).any():
            raise ValueError("logistic state needs x_min <= x_max for every judge")
        sign = {True: 1.0, False: -1.0, None: 0.0}[self.increasing]
        if (sign * arrays["b"] < 0).any():
            raise ValueError(f"logistic state 'b' breaks increasing={self.increasing}")
        state.update(arrays)


def fit_logistic_map(
    z: FloatArray, y: FloatArray, w: FloatArray, prior_scale: float, *, max_iter: int = 100
) -> FloatArray:
    """MAP intercept and slope of a weighted logistic regression with soft labels.

    Minimises ``sum w * BCE(y, sigma(a + b z)) + (a^2 + b^2) / (2 prior_scale^2)``
    by Newton's method with step halving. Returns ``array([a, b])``.
    """
    return fit_logistic_design(
        np.column_stack([np.ones_like(z), z]), y, w, prior_scale, max_iter=max_iter
    )


def fit_logistic_design(
    Z: FloatArray, y: FloatArray, w: FloatArray, prior_scale: float, *, max_iter: int = 100
) -> FloatArray:
    """MAP coefficients of a weighted logistic regression on a design matrix ``Z``.

    Column 0 of ``Z`` is the intercept. Every coefficient has an independent
    normal prior of scale ``prior_scale`` (``inf``: maximum likelihood). The
    objective is convex; Newton's method with step halving converges in a few
    steps. Soft labels ``y`` in [0, 1] enter the likelihood directly.
    """
    lam = 0.0 if not np.isfinite(prior_scale) or prior_scale > 1e150 else 1.0 / prior_scale**2
    k = Z.shape[1]
    theta = np.zeros(k)
    ybar = float(np.clip(np.dot(w, y) / w.sum(), 1e-6, 1 - 1e-6))
    theta[0] = np.log(ybar / (1 - ybar)) / (1.0 + lam)

    def objective(t: FloatArray) -> float:
        eta = Z @ t
        # log(1 + e^eta) - y * eta, computed stably
        return float(np.dot(w, np.logaddexp(0.0, eta) - y * eta) + 0.5 * lam * np.dot(t, t))

    f = objective(theta)
    for _ in range(max_iter):
        p = sigmoid(Z @ theta)
        g = Z.T @ (w * (p - y)) + lam * theta
        H = (Z * (w * p * (1 - p))[:, None]).T @ Z + (lam + 1e-10) * np.eye(k)
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:  # pragma: no cover - H is regularised
            step = g
        t = 1.0
        while t > 1e-8:
            cand = theta - t * step
            fc = objective(cand)
            if fc <= f + 1e-12:
                break
            t *= 0.5
        else:
            break
        converged = abs(f - fc) < 1e-12 * (1 + abs(f)) or float(np.max(np.abs(t * step))) < 1e-10
        theta, f = cand, fc
        if converged:
            break
    return theta


def fit_logistic_signed(
    Z: FloatArray, y: FloatArray, w: FloatArray, prior_scale: float, sign: float | None
) -> FloatArray:
    """MAP logistic coefficients with ``sign * theta[j] >= 0`` for every slope ``j >= 1``.

    ``sign=None`` leaves the slopes free (:func:`fit_logistic_design`). Otherwise
    an active-set method in the manner of Lawson and Hanson (1974), for a convex
    objective: slopes held at zero join the free set while the gradient says
    raising them lowers the objective; a free-set optimum with a slope of the
    wrong sign is approached only up to the boundary (which never raises the
    objective, by convexity), and the slopes that reach zero leave the free set.
    Each free-set optimum is a Newton solve of :func:`fit_logistic_design`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Z = np.column_stack([np.ones(400), rng.normal(size=(400, 2))])
    >>> y = (rng.random(400) < sigmoid(Z[:, 1] - 0.5 * Z[:, 2])).astype(float)
    >>> theta = fit_logistic_signed(Z, y, np.ones(400), 2.5, 1.0)
    >>> bool(theta[1] > 0.5), float(theta[2])
    (True, 0.0)
    """
    if sign is None:
        return fit_logistic_design(Z, y, w, prior_scale)
    Zs = Z.copy()
    Zs[:, 1:] *= sign
    lam = 0.0 if not np.isfinite(prior_scale) or prior_scale > 1e150 else 1.0 / prior_scale**2
    n_coef = Z.shape[1]

    def restricted(free: list[int]) -> FloatArray:
        cols = [0, *free]
        theta = np.zeros(n_coef)
        theta[cols] = fit_logistic_design(Zs[:, cols], y, w, prior_scale)
        return theta

    theta, free = restricted([]), []
    tol = 1e-9 * (1.0 + float(w.sum()))
    for _ in range(4 * n_coef + 10):
        grad = Zs.T @ (w * (sigmoid(Zs @ theta) - y)) + lam * theta
        held = [j for j in range(1, n_coef) if j not in free and grad[j] < -tol]
        if not held:
            break
        free.append(min(held, key=lambda j: grad[j]))
        theta, free = _free_set_optimum(restricted, theta, free)
    theta[1:] *= sign
    return theta


def _free_set_optimum(
    restricted: Callable[[list[int]], FloatArray], theta: FloatArray, free: list[int]
) -> tuple[FloatArray, list[int]]:
    """The optimum over ``free`` slopes kept >= 0: step back to the boundary while it is not."""
    while free:
        target = restricted(free)
        wrong = [j for j in free if target[j] < 0]
        if not wrong:
            return target, free
        step = min(theta[j] / (theta[j] - target[j]) for j in wrong)
        theta = theta + step * (target - theta)
        theta[[j for j in range(1, theta.size) if j not in free]] = 0.0
        free = [j for j in free if theta[j] > 1e-12]
        theta[[j for j in range(1, theta.size) if j not in free]] = 0.0
    return restricted([]), free
