"""Calibrators: map a judge's score to the probability that a human agrees.

Every calibrator is a scikit-learn classifier over one feature, the judge
score. ``predict_proba(X)[:, 1]`` is the probability that a human rates the
item positively (agrees with an accepted extraction, finds an attribute
relevant, prefers the first response, ...), whatever the targets meant when
the calibrator was fitted. Targets may be hard 0/1 labels or *soft* labels in
[0, 1] (the share of raters who agreed), weighted by ``sample_weight`` (for
example the number of raters), so several raters per item are used, not thrown
away.

Stages
------
``fit(X, y, stages=...)`` fits one model per stage plus a pooled model on all
stages. A stage with fewer than ``min_stage_labels`` labelled items uses the
pooled model and a :class:`~judgecal.SmallSampleWarning` says so. At
prediction, pass ``stages=`` again; a stage never seen in ``fit`` uses the
pooled model (``unknown_stage="pooled"``) or raises (``"raise"``).
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression

from judgecal._exceptions import InputError, InputTypeError, NotFittedError, SmallSampleWarning
from judgecal._validation import (
    FloatArray,
    as_float_1d,
    check_choice,
    check_float,
    check_int,
    check_probability_targets,
    check_same_length,
    check_stages,
    check_weights,
)

__all__ = ["IsotonicCalibrator", "LogisticCalibrator", "StagewiseCalibrator"]

State = dict[str, Any]
_CHUNK = 1 << 18


class StagewiseCalibrator(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Base class: one model per stage with a pooled fallback.

    Subclasses implement ``_fit_one(x, y, w) -> state`` and
    ``_predict_one(state, x) -> p`` on plain numpy arrays; states are dicts of
    JSON-friendly values, which is what :func:`judgecal.save` writes.
    """

    _estimator_name: ClassVar[str] = "calibrator"

    def __init__(self, *, min_stage_labels: int = 30, unknown_stage: str = "pooled") -> None:
        self.min_stage_labels = min_stage_labels
        self.unknown_stage = unknown_stage

    # -- to implement --------------------------------------------------------
    def _fit_one(self, x: FloatArray, y: FloatArray, w: FloatArray) -> State:  # pragma: no cover
        raise NotImplementedError

    def _predict_one(self, state: State, x: FloatArray) -> FloatArray:  # pragma: no cover
        raise NotImplementedError

    def _check_params(self) -> None:
        where = f"{type(self).__name__}.fit"
        check_int(self.min_stage_labels, "min_stage_labels", low=1, where=where)
        check_choice(self.unknown_stage, "unknown_stage", ("pooled", "raise"), where=where)

    # -- scikit-learn API ----------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        stages: Any = None,
    ) -> StagewiseCalibrator:
        """Fit on judge scores ``X`` and human targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n,) or (n, 1)
            Judge scores.
        y : array-like of shape (n,)
            0/1 labels or soft labels in [0, 1].
        sample_weight : array-like of shape (n,), optional
            Non-negative weights, e.g. the number of raters behind a soft label.
        stages : str or array-like of shape (n,), optional
            Stage of each score; one model is fitted per stage with enough labels.

        Returns
        -------
        self
        """
        where = f"{type(self).__name__}.fit"
        self._check_params()
        x = as_float_1d(X, "X", where=where)
        if y is None:
            raise InputTypeError(
                "y",
                "human targets (fit requires y to be passed, but the target y is None)",
                None,
                where=where,
            )
        yy = check_probability_targets(y, "y", where=where)
        check_same_length(x.size, yy.size, "y", where=where)
        w = check_weights(sample_weight, x.size, where=where)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = 1
        self.pooled_ = self._fit_one(x, yy, w)
        self.stage_states_, self.stage_counts_ = fit_stages(
            self._fit_one, x, yy, w, stages, int(self.min_stage_labels), where=where
        )
        return self

    def _check_fitted(self, where: str) -> None:
        if not hasattr(self, "pooled_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet: call fit(X, y) before {where}."
            )

    def predict_proba(self, X: Any, *, stages: Any = None) -> FloatArray:
        """Probabilities of each class; column 1 is P(a human rates positively | score).

        Parameters
        ----------
        X : array-like of shape (n,) or (n, 1)
            Judge scores.
        stages : str or array-like of shape (n,), optional
            Stage of each score (as in ``fit``); ``None`` uses the pooled model.

        Returns
        -------
        ndarray of shape (n, 2)
        """
        p = self.predict_agreement(X, stages=stages)
        return np.column_stack([1.0 - p, p])

    def predict_agreement(self, X: Any, *, stages: Any = None) -> FloatArray:
        """P(a human rates positively | score) as a 1-D array (``predict_proba(X)[:, 1]``)."""
        where = f"{type(self).__name__}.predict_proba"
        self._check_fitted("predict_proba")
        x = as_float_1d(X, "X", where=where, allow_empty=True)
        return route_stages(self, x, stages, self._predict_chunked, where=where)

    def _predict_chunked(self, state: State, x: FloatArray) -> FloatArray:
        if x.size <= _CHUNK:
            return self._predict_one(state, x)
        out = np.empty(x.size)
        for start in range(0, x.size, _CHUNK):
            out[start : start + _CHUNK] = self._predict_one(state, x[start : start + _CHUNK])
        return out

    def predict(self, X: Any, *, stages: Any = None) -> Any:
        """1 where P(agree) >= 0.5, else 0."""
        return (self.predict_agreement(X, stages=stages) >= 0.5).astype(np.int64)

    # -- persistence ------------------------------------------------------------
    def _get_state(self) -> State:
        self._check_fitted("save")
        return {
            "pooled": self.pooled_,
            "stages": self.stage_states_,
            "stage_counts": self.stage_counts_,
        }

    def _set_state(self, state: State) -> None:
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = 1
        self.pooled_ = self._decode_state(state["pooled"])
        self.stage_states_ = {k: self._decode_state(v) for k, v in state["stages"].items()}
        self.stage_counts_ = {str(k): int(v) for k, v in state["stage_counts"].items()}

    def _decode_state(self, state: State) -> State:
        if not isinstance(state, dict):
            raise ValueError(f"a fitted state must be a mapping, got {type(state).__name__}")
        out = {
            k: np.asarray(v, dtype=np.float64) if isinstance(v, list) else v
            for k, v in state.items()
        }
        self._check_state(out)
        return out

    def _check_state(self, state: State) -> None:
        """Raise ``ValueError`` when a loaded state could not have come from ``fit``."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


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
        x, y = state.get("x"), state.get("y")
        if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):
            raise ValueError("an isotonic state needs arrays 'x' and 'y'")
        if x.ndim != 1 or x.shape != y.shape or x.size == 0:
            raise ValueError(
                f"'x' and 'y' must be non-empty 1-D arrays of one length, got {x.shape} and {y.shape}"
            )
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise ValueError("'x' and 'y' must be finite")
        if (np.diff(x) < 0).any() or ((y < 0) | (y > 1)).any():
            raise ValueError("'x' must be sorted and 'y' must be probabilities in [0, 1]")


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

    Parameters
    ----------
    prior_scale : float
        Standard deviation of the normal prior on both coefficients; ``inf``
        gives plain maximum likelihood.
    increasing : bool or None
        ``True`` (default) constrains the slope to ``b >= 0``: agreement never
        falls as the judge score rises, as in :class:`IsotonicCalibrator`. On a
        small noisy stage the unconstrained fit can invert the judge; when the
        constrained optimum is at ``b = 0`` the map is flat (the stage's base
        rate). ``False`` constrains ``b <= 0``; ``None`` leaves it free.
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
    """

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

    def _predict_one(self, state: State, x: FloatArray) -> FloatArray:
        z = (np.clip(x, state["x_min"], state["x_max"]) - state["center"]) / state["spread"]
        return np.asarray(_sigmoid(state["a"] + state["b"] * z), dtype=np.float64)

    def _check_state(self, state: State) -> None:
        for key in ("center", "spread", "a", "b"):
            v = state.get(key)
            if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
                raise ValueError(f"a logistic state needs a finite number {key!r}, got {v!r}")
        if not state["spread"] > 0:
            raise ValueError(f"'spread' must be positive, got {state['spread']!r}")


def route_stages(est: Any, X: Any, stages: Any, predict: Any, *, where: str) -> FloatArray:
    """``predict(state, X[m])`` for each stage's rows, with the stage's own state.

    ``est`` is a fitted per-stage estimator (``pooled_``, ``stage_states_``,
    ``stage_counts_``, ``unknown_stage``). A stage without its own state uses
    the pooled one; a stage never seen in ``fit`` raises when
    ``unknown_stage="raise"``. ``stages=None`` predicts with the pooled state.
    """
    n = X.shape[0]
    if stages is None or not est.stage_states_:
        if stages is not None:
            check_stages(stages, n, where=where)
        return np.asarray(predict(est.pooled_, X), dtype=np.float64)
    st = check_stages(stages, n, where=where)
    out = np.empty(n)
    for name, m in _groups(st):
        state = est.stage_states_.get(name)
        if state is None:
            if name not in est.stage_counts_ and est.unknown_stage == "raise":
                raise InputError(
                    "stages", f"stages seen in fit {sorted(est.stage_counts_)}", name, where=where
                )
            state = est.pooled_
        out[m] = predict(state, X[m])
    return out


def fit_stages(
    fit_one: Any,
    X: Any,
    y: FloatArray,
    w: FloatArray,
    stages: Any,
    min_stage_labels: int,
    *,
    where: str,
) -> tuple[dict[str, State], dict[str, int]]:
    """Fit ``fit_one(X[m], y[m], w[m])`` for every stage with enough labelled rows.

    Returns ``(states, counts)``: a state per stage with at least
    ``min_stage_labels`` rows of positive weight, and the count of every stage.
    Smaller stages get no state (their predictions use the pooled fit), and one
    :class:`~judgecal.SmallSampleWarning` names them all.
    """
    states: dict[str, State] = {}
    counts: dict[str, int] = {}
    if stages is None:
        return states, counts
    st = check_stages(stages, y.size, where=where)
    small = []
    for name, mask in _groups(st):
        m = mask & (w > 0)
        n = int(m.sum())
        counts[name] = n
        if n >= min_stage_labels:
            states[name] = fit_one(X[m], y[m], w[m])
        else:
            small.append(f"{name} ({n})")
    if small:
        warnings.warn(
            f"{len(small)} stage(s) have fewer than min_stage_labels={min_stage_labels} labelled "
            "items and use the pooled fit: " + ", ".join(small) + ". Label more items for them, "
            "lower min_stage_labels, or use a Bayesian calibrator that pools partially.",
            SmallSampleWarning,
            stacklevel=3,
        )
    return states, counts


def _groups(stages: Any) -> list[tuple[str, Any]]:
    """``(name, mask)`` per distinct stage, in sorted order.

    With few stages (the usual case) it finds the names from small samples of
    the rows not yet covered and compares whole arrays, which is several times
    faster than ``np.unique`` (a string sort) on 10^6 rows.
    """
    found: dict[str, Any] = {}
    todo = np.ones(stages.size, dtype=bool)
    rest = stages
    while rest.size and len(found) <= 64:
        for name in dict.fromkeys(rest[:256].tolist()):
            m = stages == name
            found[name] = m
            todo &= ~m
        rest = stages[todo]
    if rest.size:
        uniq, inv = np.unique(rest, return_inverse=True)
        idx = np.flatnonzero(todo)
        for k, name in enumerate(uniq.tolist()):
            m = np.zeros(stages.size, dtype=bool)
            m[idx[inv == k]] = True
            found[str(name)] = m
    return sorted(found.items())


def _sigmoid(t: Any) -> Any:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(t)))


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
        p = _sigmoid(Z @ theta)
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
