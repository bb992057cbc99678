"""Feature-adjusted calibration: judge score plus surface features, at reference values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from judgecal._exceptions import InputError, InputTypeError
from judgecal._validation import (
    FloatArray,
    as_float_1d,
    check_choice,
    check_float,
    check_same_length,
)
from judgecal.calibration.base import (
    StagewiseCalibrator,
    State,
    check_finite_array,
    route_stages,
    sigmoid,
)
from judgecal.calibration.logistic import fit_logistic_design
from judgecal.persist import register

__all__ = ["FeatureAdjustedCalibrator"]


@register
class FeatureAdjustedCalibrator(StagewiseCalibrator):
    r"""Calibrate on the judge score plus surface features, predicting at reference feature values.

    Fits, per stage (with a pooled fallback, as the other calibrators),

    .. math::
        P(\text{human agrees} \mid s, f) = \sigma\Big(a + b\,\frac{s - \mu_s}{\sigma_s}
            + \sum_k c_k\,\frac{f_k - \mu_k}{\sigma_k}\Big)

    by MAP logistic regression (normal priors of scale ``prior_scale`` on the
    standardized coefficients, soft labels and weights allowed). Rewritten,
    the probability is a logistic curve in the *feature-adjusted score*

    .. math::
        s^\ast = s - \sum_k \gamma_k\,(f_k - r_k), \qquad
        \gamma_k = -\frac{c_k\,\sigma_s}{b\,\sigma_k},

    the score the judge would have given the item at the reference feature
    values :math:`r_k`. :math:`\gamma_k` (``feature_bonus_``) is the judge's
    reward for one unit of feature ``k`` that humans do not give. When the
    judge adds a bonus for mentioning the user's attribute and humans do not
    care, :math:`\gamma \approx` that bonus and the calibrated probability no
    longer depends on the mention; where humans do reward a feature, the
    model keeps that part. The reference values only move ``s*`` (see
    :meth:`adjusted_score`), not the probabilities.

    How features are passed
    -----------------------
    ``X`` is 2-D: column 0 the judge score, then one column per name in
    ``features``, in that order. A pandas DataFrame (or a mapping of column
    name to array) is accepted too: the columns ``score_column`` and
    ``features`` are taken by name.

    Parameters
    ----------
    features : sequence of str
        Names of the surface-feature columns (e.g. ``("mentions", "length")``).
    reference : "mean" or mapping of str to float
        Reference feature values for :meth:`adjusted_score`: the weighted
        training means, or given values (e.g. ``{"mentions": 0}``).
    score_column : str
        Name of the score column when ``X`` is a DataFrame or mapping.
    prior_scale : float
        Normal prior scale of the standardized coefficients (``inf``: maximum likelihood).
    min_stage_labels : int
        Stages with fewer labelled items use the pooled fit (with a warning).
    unknown_stage : {"pooled", "raise"}
        What a stage never seen in ``fit`` gets at prediction.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> q = rng.normal(0, 1, 2000); m = rng.integers(0, 2, 2000)   # quality, mention
    >>> y = rng.random(2000) < 1 / (1 + np.exp(-2 * q))            # humans see quality only
    >>> s = q + 1.0 * m + rng.normal(0, 0.3, 2000)                 # judge adds a bonus of 1
    >>> cal = FeatureAdjustedCalibrator(features=["mentions"]).fit(np.column_stack([s, m]), y)
    >>> round(cal.feature_bonus_["mentions"], 1)
    1.0
    >>> p = cal.predict_proba([[0.0, 0], [1.0, 1]])[:, 1]  # same quality, with/without mention
    >>> bool(abs(p[0] - p[1]) < 0.05)
    True
    """

    def __init__(
        self,
        features: Sequence[str] = ("mentions",),
        *,
        reference: str | Mapping[str, float] = "mean",
        score_column: str = "score",
        prior_scale: float = 2.5,
        min_stage_labels: int = 30,
        unknown_stage: str = "pooled",
    ) -> None:
        super().__init__(min_stage_labels=min_stage_labels, unknown_stage=unknown_stage)
        self.features = features
        self.reference = reference
        self.score_column = score_column
        self.prior_scale = prior_scale

    # -- inputs ---------------------------------------------------------------
    def _names(self, where: str) -> list[str]:
        feats = self.features
        if isinstance(feats, str) or not isinstance(feats, Sequence):
            raise InputError(
                "features",
                "a sequence of feature names (empty: the score alone)",
                feats,
                where=where,
            )
        if not all(isinstance(f, str) and f for f in feats) or len(set(feats)) != len(feats):
            raise InputError("features", "distinct, non-empty feature names", feats, where=where)
        return list(feats)

    def _inputs(self, X: Any, where: str, *, allow_empty: bool = False) -> FloatArray:
        return self._matrix(X, where, allow_empty)

    def _matrix(self, X: Any, where: str, allow_empty: bool = False) -> FloatArray:
        names = self._names(where)
        if hasattr(X, "toarray") or hasattr(X, "tocsr"):
            raise InputTypeError(
                "X", "a dense 2-D array (sparse input is not supported)", X, where=where
            )
        if isinstance(X, Mapping) or hasattr(X, "columns"):
            cols = [self.score_column, *names]
            have = list(X.keys()) if isinstance(X, Mapping) else list(X.columns)
            missing = [c for c in cols if c not in have]
            if missing:
                raise InputError("X", f"columns {cols}", f"missing {missing}", where=where)
            arrs = [
                as_float_1d(np.asarray(X[c]), f"X[{c!r}]", where=where, allow_empty=allow_empty)
                for c in cols
            ]
            for c, a in zip(cols[1:], arrs[1:], strict=True):
                check_same_length(arrs[0].size, a.size, f"X[{c!r}]", where=where)
            return np.column_stack(arrs) if arrs[0].size else np.empty((0, len(cols)))
        if isinstance(X, str | bytes) or X is None:
            raise InputTypeError("X", "a 2-D array [score, features...]", X, where=where)
        try:
            arr = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InputTypeError(
                "X", "a 2-D numeric array [score, features...]", X, where=where
            ) from exc
        if arr.ndim == 1 and not names:  # the score alone
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2 or arr.shape[1] != 1 + len(names):
            raise InputError(
                "X",
                f"a 2-D array of shape (n, {1 + len(names)}): the score, then {names}",
                f"shape {arr.shape}",
                where=where,
            )
        if not allow_empty and arr.shape[0] == 0:
            raise InputError("X", "a non-empty array", "an empty array", where=where)
        if not np.isfinite(arr).all():
            raise InputError(
                "X", "finite numbers (no NaN or inf)", "non-finite values", where=where
            )
        return arr

    def _check_params(self) -> None:
        where = "FeatureAdjustedCalibrator.fit"
        super()._check_params()
        self._names(where)
        if self.prior_scale != float("inf"):
            check_float(self.prior_scale, "prior_scale", low=0.0, low_open=True, where=where)
        if not isinstance(self.score_column, str) or not self.score_column:
            raise InputError(
                "score_column", "a non-empty column name", self.score_column, where=where
            )
        if isinstance(self.reference, str):
            check_choice(self.reference, "reference", ("mean",), where=where)
        elif isinstance(self.reference, Mapping):
            for k in self._names(where):
                if k not in self.reference:
                    raise InputError(
                        "reference",
                        f"a value for every feature {self._names(where)}",
                        dict(self.reference),
                        where=where,
                    )
                check_float(self.reference[k], f"reference[{k!r}]", where=where)
        else:
            raise InputTypeError(
                "reference", "'mean' or a mapping feature -> value", self.reference, where=where
            )

    # -- fit --------------------------------------------------------------------
    def _fit_one(self, M: FloatArray, y: FloatArray, w: FloatArray) -> dict[str, Any]:
        wsum = float(w.sum())
        center = (w @ M) / wsum
        spread = np.sqrt((w @ (M - center) ** 2) / wsum)
        spread = np.where(spread > 0, spread, 1.0)
        Z = np.column_stack([np.ones(M.shape[0]), (M - center) / spread])
        coef = fit_logistic_design(Z, y, w, float(self.prior_scale))
        return {"center": center, "spread": spread, "coef": coef}

    def fit(
        self, X: Any, y: Any, sample_weight: Any = None, *, stages: Any = None
    ) -> FeatureAdjustedCalibrator:
        """Fit on ``X = [score, features...]`` and human targets ``y`` (0/1 or soft).

        Parameters
        ----------
        X : array-like of shape (n, 1 + len(features)), DataFrame or mapping
            Judge score, then the features in the order of ``features``.
        y : array-like of shape (n,)
            0/1 labels or soft labels in [0, 1].
        sample_weight : array-like of shape (n,), optional
            Non-negative weights (e.g. the number of raters).
        stages : str or array-like of shape (n,), optional
            One model per stage with at least ``min_stage_labels`` items.

        Returns
        -------
        self
        """
        x, yy, w = self._fit_inputs(X, y, sample_weight)
        names = self._names("FeatureAdjustedCalibrator.fit")
        self.feature_names_ = names
        if isinstance(self.reference, str):
            ref = (w @ x[:, 1:]) / float(w.sum())
        else:
            ref = np.array([float(self.reference[k]) for k in names])
        self.reference_ = np.asarray(ref, dtype=np.float64)
        self._fit_states(x, yy, w, stages)
        return self

    # -- predict ------------------------------------------------------------------
    def _route(
        self,
        M: FloatArray,
        stages: Any,
        where: str,
        fn: Any,
    ) -> FloatArray:
        return route_stages(self, M, stages, fn, where=where)

    def _predict_one(self, state: State, x: FloatArray) -> FloatArray:
        Z = (x - state["center"]) / state["spread"]
        coef = state["coef"]
        return np.asarray(sigmoid(coef[0] + Z @ coef[1:]), dtype=np.float64)

    def _adjust(self, state: dict[str, Any], M: FloatArray) -> FloatArray:
        return M[:, 0] - (M[:, 1:] - self.reference_) @ self._bonus(state)

    @staticmethod
    def _bonus(state: dict[str, Any]) -> FloatArray:
        coef, spread = state["coef"], state["spread"]
        b = coef[1]
        if abs(b) < 1e-8:
            return np.zeros(coef.size - 2)
        return np.asarray(-coef[2:] * spread[0] / (b * spread[1:]), dtype=np.float64)

    def adjusted_score(self, X: Any, *, stages: Any = None) -> FloatArray:
        """The score moved to the reference feature values: ``s - sum_k gamma_k (f_k - r_k)``."""
        where = "FeatureAdjustedCalibrator.adjusted_score"
        self._check_fitted("adjusted_score")
        M = self._matrix(X, where, allow_empty=True)
        return self._route(M, stages, where, self._adjust)

    @property
    def feature_bonus_(self) -> dict[str, float]:
        """Judge-score reward per unit of each feature that humans do not give (pooled fit)."""
        self._check_fitted("feature_bonus_")
        return {
            k: float(v) for k, v in zip(self.feature_names_, self._bonus(self.pooled_), strict=True)
        }

    # -- persistence -------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        self._check_fitted("save")
        return {
            "pooled": self.pooled_,
            "stages": self.stage_states_,
            "stage_counts": self.stage_counts_,
            "reference": self.reference_,
            "feature_names": self.feature_names_,
        }

    def _set_extra_state(self, state: State) -> None:
        names = state.get("feature_names")
        if not isinstance(names, list) or not all(isinstance(f, str) and f for f in names):
            raise ValueError(f"a feature-adjusted state needs 'feature_names', got {names!r}")
        self.feature_names_ = list(names)
        self.n_features_in_ = 1 + len(names)
        self.reference_ = check_finite_array(
            state.get("reference"), "reference", kind="feature-adjusted", shape=(len(names),)
        )

    def _decode_state(self, state: State) -> State:
        if not isinstance(state, dict):
            raise ValueError(f"a fitted state must be a mapping, got {type(state).__name__}")
        k = getattr(self, "n_features_in_", 0)
        kind = "feature-adjusted"
        out = {
            "center": check_finite_array(state.get("center"), "center", kind=kind, shape=(k,)),
            "spread": check_finite_array(state.get("spread"), "spread", kind=kind, shape=(k,)),
            "coef": check_finite_array(state.get("coef"), "coef", kind=kind, shape=(k + 1,)),
        }
        if not (out["spread"] > 0).all():
            raise ValueError("feature-adjusted state 'spread' must be positive")
        return out
