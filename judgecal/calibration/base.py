"""The base of every calibrator: parameters, the fitted check, stage routing and state.

Every calibrator maps a judge score (and its stage) to the probability that a
human agrees. :class:`CalibratorBase` gives all of them the scikit-learn
estimator protocol (``get_params``, ``set_params``, a parameter ``repr``,
estimator tags, ``score``) without importing scikit-learn, so that the
Bayesian fast path never pays for it; the fitted check; and the persistence
protocol (``_get_state`` / ``_set_state``, the latter validating what it
loads). :func:`route_stages` and :func:`fit_stages` are the one place where
rows are grouped by stage, and :func:`sigmoid` is the one logistic function.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from judgecal._exceptions import InputError, NotFittedError, SmallSampleWarning
from judgecal._validation import FloatArray, check_stages, check_weights

__all__ = [
    "CalibratorBase",
    "State",
    "StagewiseCalibrator",
    "check_finite_array",
    "check_finite_number",
    "check_panel",
    "fit_stages",
    "is_panel",
    "route_stages",
    "scale_weights",
    "sigmoid",
    "stage_groups",
]

State = dict[str, Any]


def sigmoid(t: Any) -> Any:
    """The logistic function ``1 / (1 + exp(-t))``, without overflow (via ``tanh``).

    Examples
    --------
    >>> float(sigmoid(0.0)), float(sigmoid(-800.0))
    (0.5, 0.0)
    """
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(t)))


# Total weight above which fit rescales the weights (by a power of two, so exactly): sums,
# weighted squares and Newton steps then stay far from overflow.
WEIGHT_CEILING = 2.0**800


def scale_weights(w: FloatArray) -> FloatArray:
    """Finite non-negative weights rescaled by a power of two when their total nears overflow.

    Weights of 1e307 sum to ``inf`` (and then NaN) in every weighted mean. Any
    calibrator's fit is unchanged by a common factor in the weights except for
    the prior, whose pull is already nil at such totals; a power of two keeps
    the rescaling exact.

    Examples
    --------
    >>> w = scale_weights(np.full(3, 1e307))
    >>> bool(np.isfinite(w.sum())), bool(w[0] == w[2])
    (True, True)
    >>> scale_weights(np.array([1.0, 2.0])).tolist()
    [1.0, 2.0]
    """
    top = float(np.max(w)) if w.size else 0.0
    if not top * w.size > WEIGHT_CEILING:
        return w
    shift = math.ceil(math.log2(top) + math.log2(w.size) - math.log2(WEIGHT_CEILING))
    return np.ldexp(w, -shift)


class CalibratorBase:
    """The estimator protocol shared by every judgecal calibrator.

    Subclasses store their constructor arguments unchanged in ``__init__``
    (scikit-learn's rule), set ``_fitted_attribute`` to an attribute that
    ``fit`` creates, and implement ``_get_state`` / ``_set_state``.
    ``_set_state`` must validate the state it is given (finite numbers, shapes,
    orderings) and raise ``ValueError`` or :class:`~judgecal.InputError` with
    the reason, so that an edited file cannot load and predict NaN.
    """

    _estimator_type: ClassVar[str] = "classifier"
    _fitted_attribute: ClassVar[str] = "pooled_"

    # -- parameters ------------------------------------------------------------
    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind is not p.VAR_KEYWORD
        )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this estimator (scikit-learn protocol)."""
        return {k: getattr(self, k) for k in self._get_param_names()}

    def set_params(self, **params: Any) -> Any:
        """Set parameters (scikit-learn protocol); returns ``self``."""
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise InputError(
                    "params",
                    f"parameters among {valid}",
                    key,
                    where=f"{type(self).__name__}.set_params",
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        parts = []
        for name in self._get_param_names():
            default = sig.parameters[name].default
            value = getattr(self, name)
            if not _same(value, default):
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(
            estimator_type="classifier",
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags(multi_class=False),
            input_tags=InputTags(two_d_array=True),
            non_deterministic=bool(getattr(self, "_non_deterministic", False)),
        )

    # -- fitted check and prediction -----------------------------------------------
    def _check_fitted(self, where: str) -> None:
        if not hasattr(self, self._fitted_attribute):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet: call fit(X, y) before {where}."
            )

    def predict_agreement(self, X: Any, *, stages: Any = None) -> FloatArray:
        """P(a human rates positively | score) as a 1-D array."""
        raise NotImplementedError  # pragma: no cover

    def predict_proba(self, X: Any, *, stages: Any = None) -> FloatArray:
        """Probabilities of each class, shape (n, 2); column 1 is P(a human rates positively)."""
        p = self.predict_agreement(X, stages=stages)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any, *, stages: Any = None) -> Any:
        """1 where P(agree) >= 0.5, else 0."""
        return (self.predict_agreement(X, stages=stages) >= 0.5).astype(np.int64)

    def score(self, X: Any, y: Any, sample_weight: Any = None, *, stages: Any = None) -> float:
        """Weighted accuracy of :meth:`predict` against ``y >= 0.5`` (scikit-learn's ``score``)."""
        from judgecal._validation import check_probability_targets

        where = f"{type(self).__name__}.score"
        pred = np.asarray(self.predict(X, stages=stages))
        truth = check_probability_targets(y, "y", where=where) >= 0.5
        hit = (pred == truth).astype(np.float64)
        w = check_weights(sample_weight, hit.size, where=where)
        return float(np.dot(w, hit) / w.sum())

    # -- persistence -------------------------------------------------------------------
    def _get_state(self) -> State:  # pragma: no cover - every subclass implements it
        raise NotImplementedError

    def _set_state(self, state: State) -> None:  # pragma: no cover
        raise NotImplementedError


def _same(value: Any, default: Any) -> bool:
    if value is default:
        return True
    try:
        return bool(value == default)
    except (TypeError, ValueError):  # arrays and other values without a plain equality
        return False


# --------------------------------------------------------------------------------------
# State validation helpers
# --------------------------------------------------------------------------------------
def check_finite_number(state: State, key: str, *, kind: str, positive: bool = False) -> float:
    """``state[key]`` as a float; ``ValueError`` unless it is a finite (positive) number."""
    value = state.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise ValueError(f"a {kind} state needs a number {key!r}, got {value!r}")
    if not np.isfinite(value) or (positive and not value > 0):
        need = "a finite positive" if positive else "a finite"
        raise ValueError(f"a {kind} state needs {need} number {key!r}, got {value!r}")
    return float(value)


def check_finite_array(
    value: Any, key: str, *, kind: str, shape: tuple[int | None, ...] | None = None
) -> FloatArray:
    """``value`` as a float array; ``ValueError`` unless finite and of ``shape`` (None: any)."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"a {kind} state needs a numeric array {key!r}: {exc}") from None
    if shape is not None and (
        arr.ndim != len(shape)
        or any(want is not None and got != want for got, want in zip(arr.shape, shape, strict=True))
    ):
        raise ValueError(f"{kind} state {key!r} must have shape {shape}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{kind} state {key!r} must be finite, got NaN or inf")
    return arr


# --------------------------------------------------------------------------------------
# Stages
# --------------------------------------------------------------------------------------
def route_stages(
    est: Any,
    X: Any,
    stages: Any,
    predict: Callable[[State, Any], FloatArray],
    *,
    where: str,
) -> FloatArray:
    """``predict(state, X[m])`` for each stage's rows, with the stage's own state.

    ``est`` is a fitted per-stage estimator (``pooled_``, ``stage_states_``,
    ``stage_counts_``, ``unknown_stage``). A stage without its own state uses
    the pooled one; a stage never seen in ``fit`` raises when
    ``unknown_stage="raise"`` (also when no stage had enough labels for a state
    of its own). ``stages=None`` predicts with the pooled state.
    """
    n = X.shape[0]
    if stages is None:
        return np.asarray(predict(est.pooled_, X), dtype=np.float64)
    names = check_stages(stages, n, where=where)
    out = np.empty(n)
    for name, mask in stage_groups(names):
        state = est.stage_states_.get(name)
        if state is None:
            if name not in est.stage_counts_ and est.unknown_stage == "raise":
                raise InputError(
                    "stages", f"stages seen in fit {sorted(est.stage_counts_)}", name, where=where
                )
            state = est.pooled_
        out[mask] = predict(state, X[mask])
    return out


def fit_stages(
    fit_one: Callable[[Any, FloatArray, FloatArray], State],
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
    names = check_stages(stages, y.size, where=where)
    small = []
    for name, mask in stage_groups(names):
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


def stage_groups(stages: Any) -> list[tuple[str, Any]]:
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


# --------------------------------------------------------------------------------------
# Judge panels: several judges' scores per item
# --------------------------------------------------------------------------------------
def is_panel(X: Any) -> bool:
    """Whether ``X`` is 2-D with more than one column (several judges' scores)."""
    shape = getattr(X, "shape", None)
    if shape is None and isinstance(X, list | tuple):
        try:
            shape = np.shape(X)
        except ValueError:  # ragged nested sequences: as_float_1d names them
            return False
    return shape is not None and len(shape) == 2 and int(shape[1]) > 1


def check_panel(X: Any, where: str, *, allow_empty: bool = False) -> FloatArray:
    """Several judges' scores as a finite float array of shape (n, k).

    Examples
    --------
    >>> check_panel([[1, 2], [3, 4]], "demo").shape
    (2, 2)
    """
    from judgecal._exceptions import InputTypeError

    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        raise InputTypeError(
            "X", "a dense 2-D array (sparse input is not supported)", X, where=where
        )
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InputTypeError(
            "X", "a 2-D numeric array, one column per judge", X, where=where
        ) from exc
    if arr.ndim != 2:
        raise InputError(
            "X", "a 2-D array, one column per judge", f"shape {arr.shape}", where=where
        )
    if not allow_empty and arr.shape[0] == 0:
        raise InputError("X", "a non-empty array", "an empty array", where=where)
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            "X",
            "finite numbers (no NaN or inf); drop or impute items a judge failed on",
            f"{int(bad.sum())} non-finite value(s), first at row {row}, column {col}",
            where=where,
        )
    return np.ascontiguousarray(arr)


# --------------------------------------------------------------------------------------
# One model per stage with a pooled fallback
# --------------------------------------------------------------------------------------
class StagewiseCalibrator(CalibratorBase):
    """Base class: one model per stage with a pooled fallback.

    ``fit(X, y, stages=...)`` fits one model per stage plus a pooled model on
    all stages. A stage with fewer than ``min_stage_labels`` labelled items
    uses the pooled model and a :class:`~judgecal.SmallSampleWarning` says so.
    At prediction, pass ``stages=`` again; a stage never seen in ``fit`` uses
    the pooled model (``unknown_stage="pooled"``) or raises (``"raise"``).

    Subclasses implement ``_fit_one(x, y, w) -> state``,
    ``_predict_one(state, x) -> p`` on plain numpy arrays and
    ``_check_state(state)``; states are dicts of JSON-friendly values, which is
    what :func:`judgecal.save` writes. ``_inputs`` turns ``X`` into the array
    those receive (the score column by default).
    """

    _chunk: ClassVar[int] = 1 << 18
    #: Whether ``X`` may hold several judges' scores, shape (n, k) (a judge panel).
    _accepts_panel: ClassVar[bool] = False

    def __init__(self, *, min_stage_labels: int = 30, unknown_stage: str = "pooled") -> None:
        self.min_stage_labels = min_stage_labels
        self.unknown_stage = unknown_stage

    # -- to implement ----------------------------------------------------------------
    def _fit_one(self, x: Any, y: FloatArray, w: FloatArray) -> State:  # pragma: no cover
        raise NotImplementedError

    def _predict_one(self, state: State, x: Any) -> FloatArray:  # pragma: no cover
        raise NotImplementedError

    def _check_state(self, state: State) -> None:
        """Raise ``ValueError`` when a loaded state could not have come from ``fit``."""

    def _inputs(self, X: Any, where: str, *, allow_empty: bool = False) -> Any:
        from judgecal._validation import as_float_1d

        if self._accepts_panel and is_panel(X):
            return self._panel_inputs(X, where, allow_empty=allow_empty)
        x = as_float_1d(X, "X", where=where, allow_empty=allow_empty)
        fitted = getattr(self, "n_features_in_", 1)
        if self._accepts_panel and where.endswith(".predict_proba") and fitted != 1:
            raise self._width_error(1, fitted, where)
        return x

    def _width_error(self, width: int, fitted: int, where: str) -> InputError:
        from judgecal._validation import Verbatim

        return InputError(
            "X",
            f"a 2-D array of shape (n, {fitted}), one column per judge as in fit",
            Verbatim(
                f"X has {width} features, but {type(self).__name__} is expecting "
                f"{fitted} features as input"
            ),
            where=where,
        )

    def _panel_inputs(self, X: Any, where: str, *, allow_empty: bool) -> FloatArray:
        """``X`` of shape (n, k >= 2), one column per judge; k must match fit at prediction."""
        arr = check_panel(X, where, allow_empty=allow_empty)
        fitted = getattr(self, "n_features_in_", None)
        if not where.endswith(".fit") and fitted is not None and arr.shape[1] != fitted:
            raise self._width_error(arr.shape[1], fitted, where)
        return arr

    def _check_params(self) -> None:
        from judgecal._validation import check_choice, check_int

        where = f"{type(self).__name__}.fit"
        check_int(self.min_stage_labels, "min_stage_labels", low=1, where=where)
        check_choice(self.unknown_stage, "unknown_stage", ("pooled", "raise"), where=where)

    # -- fit and predict -----------------------------------------------------------------
    def fit(self, X: Any, y: Any, sample_weight: Any = None, *, stages: Any = None) -> Any:
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
        x, yy, w = self._fit_inputs(X, y, sample_weight)
        self._fit_states(x, yy, w, stages)
        return self

    def _fit_inputs(self, X: Any, y: Any, sample_weight: Any) -> tuple[Any, FloatArray, Any]:
        """Checked parameters, inputs, targets and weights of ``fit``."""
        from judgecal._exceptions import InputTypeError
        from judgecal._validation import check_probability_targets, check_same_length

        where = f"{type(self).__name__}.fit"
        self._check_params()
        x = self._inputs(X, where)
        if y is None:
            raise InputTypeError(
                "y",
                "human targets (fit requires y to be passed, but the target y is None)",
                None,
                where=where,
            )
        yy = check_probability_targets(y, "y", where=where)
        check_same_length(x.shape[0], yy.size, "y", where=where)
        w = scale_weights(check_weights(sample_weight, x.shape[0], where=where))
        return x, yy, w

    def _fit_states(self, x: Any, y: FloatArray, w: FloatArray, stages: Any) -> None:
        """The pooled state and one state per stage with enough labels."""
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = 1 if x.ndim == 1 else int(x.shape[1])
        self.pooled_ = self._fit_one(x, y, w)
        self.stage_states_, self.stage_counts_ = fit_stages(
            self._fit_one,
            x,
            y,
            w,
            stages,
            int(self.min_stage_labels),
            where=f"{type(self).__name__}.fit",
        )

    def predict_agreement(self, X: Any, *, stages: Any = None) -> FloatArray:
        """P(a human rates positively | score) as a 1-D array (``predict_proba(X)[:, 1]``)."""
        where = f"{type(self).__name__}.predict_proba"
        self._check_fitted("predict_proba")
        x = self._inputs(X, where, allow_empty=True)
        return route_stages(self, x, stages, self._predict_chunked, where=where)

    def _predict_chunked(self, state: State, x: Any) -> FloatArray:
        if x.shape[0] <= self._chunk:
            return self._predict_one(state, x)
        out = np.empty(x.shape[0])
        for start in range(0, x.shape[0], self._chunk):
            out[start : start + self._chunk] = self._predict_one(
                state, x[start : start + self._chunk]
            )
        return out

    # -- persistence -------------------------------------------------------------------
    def _get_state(self) -> State:
        self._check_fitted("save")
        state: State = {
            "pooled": self.pooled_,
            "stages": self.stage_states_,
            "stage_counts": self.stage_counts_,
        }
        if getattr(self, "n_features_in_", 1) != 1:  # a panel; one judge keeps 0.1's state
            state["n_judges"] = int(self.n_features_in_)
        return state

    def _set_state(self, state: State) -> None:
        if not isinstance(state, dict):
            raise ValueError(f"a fitted state must be a mapping, got {type(state).__name__}")
        for key, kind in (("pooled", dict), ("stages", dict), ("stage_counts", dict)):
            if not isinstance(state.get(key), kind):
                raise ValueError(f"a {type(self).__name__} state needs a mapping {key!r}")
        self._set_extra_state(state)
        self.classes_ = np.array([0, 1])
        self.pooled_ = self._decode_state(state["pooled"])
        self.stage_states_ = {str(k): self._decode_state(v) for k, v in state["stages"].items()}
        self.stage_counts_ = _decode_counts(state["stage_counts"])
        missing = sorted(set(self.stage_states_) - set(self.stage_counts_))
        if missing:
            raise ValueError(f"stages {missing} have a state but no count in 'stage_counts'")

    def _set_extra_state(self, state: State) -> None:
        """Attributes besides the per-stage states (``n_features_in_``: the number of judges)."""
        n_judges = state.get("n_judges", 1)
        if n_judges != 1 and not self._accepts_panel:
            raise ValueError(f"a {type(self).__name__} takes one judge, got n_judges={n_judges!r}")
        if isinstance(n_judges, bool) or not isinstance(n_judges, int) or n_judges < 1:
            raise ValueError(f"'n_judges' must be a positive integer, got {n_judges!r}")
        self.n_features_in_ = n_judges

    def _decode_state(self, state: State) -> State:
        if not isinstance(state, dict):
            raise ValueError(f"a fitted state must be a mapping, got {type(state).__name__}")
        out = {
            k: np.asarray(v, dtype=np.float64) if isinstance(v, list) else v
            for k, v in state.items()
        }
        self._check_state(out)
        return out


def _decode_counts(counts: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(
                f"stage count of {key!r} must be a non-negative integer, got {value!r}"
            )
        out[str(key)] = value
    return out
