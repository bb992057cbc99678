"""Assertions to call inside your own tests: probabilities, monotonicity, calibration, invariance.

Each raises :class:`~judgecal.testing.PropertyViolationError` (an
``AssertionError``) with a message that says which row, stage or bin broke the
property, so they work in plain tests and inside hypothesis ``@given`` tests.
A bad argument raises ``hypothesis.errors.InvalidArgument``; hypothesis is
imported only then.

Examples
--------
>>> from judgecal.testing import assert_monotone, assert_probabilities
>>> assert_probabilities([[0.3, 0.7], [1.0, 0.0]])
>>> assert_monotone([1, 2, 3, 1, 2], [0.1, 0.5, 0.9, 0.2, 0.3], stages=list("aaabb"))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from judgecal._validation import FloatArray, StrArray
from judgecal.testing.report import fail, invalid_argument, show_value

__all__ = [
    "assert_calibrated",
    "assert_monotone",
    "assert_permutation_invariant",
    "assert_probabilities",
    "assert_stage_renaming_invariant",
    "renamed_stages",
    "values_close",
]


def values_close(a: Any, b: Any, rtol: float, atol: float) -> bool:
    """Same shape and equal within tolerance, NaN equal to NaN.

    Examples
    --------
    >>> values_close([1.0, float("nan")], [1.0 + 1e-12, float("nan")], 1e-9, 0.0)
    True
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        return False
    both_nan = np.isnan(x) & np.isnan(y)
    return bool(np.all(both_nan | np.isclose(x, y, rtol=rtol, atol=atol)))


def assert_probabilities(probabilities: Any, *, name: str = "probabilities") -> None:
    """Assert finite probabilities in [0, 1]; a 2-column array's rows must also sum to 1.

    Examples
    --------
    >>> assert_probabilities([0.0, 0.5, 1.0])
    >>> assert_probabilities([0.2, float("nan")])
    Traceback (most recent call last):
    ...
    judgecal.testing.PropertyViolationError: probabilities[1] = nan is not a finite probability ...
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim not in (1, 2) or (p.ndim == 2 and p.shape[1] != 2):
        fail(f"{name} must have shape (n,) or (n, 2); got {p.shape}")
    bad = ~np.isfinite(p) | (p < 0) | (p > 1)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = idx[0] if p.ndim == 1 else idx
        fail(f"{name}[{where}] = {float(p[idx])!r} is not a finite probability in [0, 1]")
    if p.ndim == 2:
        dev = np.abs(p.sum(axis=1) - 1.0)
        if (dev > 1e-9).any():
            i = int(np.argmax(dev))
            fail(f"row {i} of {name} sums to {p[i].sum()!r}, not 1")


def _agreement_column(probabilities: Any) -> FloatArray:
    """One probability per row (the agreeing column of a 2-column ``predict_proba``)."""
    p = np.asarray(probabilities, dtype=np.float64)
    return np.asarray(p[:, -1] if p.ndim == 2 else p, dtype=np.float64)


def assert_monotone(
    scores: Any,
    probabilities: Any,
    *,
    stages: Any = None,
    increasing: bool = True,
    atol: float = 1e-12,
) -> None:
    """Assert probabilities never fall as the score rises (within each stage).

    Equal scores in a stage must get equal probabilities.

    Examples
    --------
    >>> assert_monotone([1, 2, 3], [0.1, 0.4, 0.4])
    >>> assert_monotone([1, 2, 3], [0.1, 0.5, 0.4])
    Traceback (most recent call last):
    ...
    judgecal.testing.PropertyViolationError: not monotone in the score: score 2.0 -> 0.5 ...
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    p = _agreement_column(probabilities)
    if s.shape != p.shape:
        fail(f"scores and probabilities differ in length: {s.size} vs {p.size}")
    if stages is None:
        stage_arr: StrArray = np.full(s.size, "")
    else:
        stage_arr = np.broadcast_to(np.asarray(stages, dtype=str), s.shape)
    sign = 1.0 if increasing else -1.0
    for name in np.unique(stage_arr).tolist():
        m = stage_arr == name
        _check_monotone_stage(s[m], sign * p[m], sign, atol, name)


def _check_monotone_stage(
    s: FloatArray, signed_p: FloatArray, sign: float, atol: float, stage: str
) -> None:
    order = np.lexsort((signed_p, s))
    ss, pp = s[order], signed_p[order]
    for i in range(ss.size - 1):
        low, high = sign * float(pp[i]), sign * float(pp[i + 1])
        if ss[i + 1] == ss[i] and abs(high - low) > atol:
            fail(
                f"equal scores {float(ss[i])!r} get different probabilities {low!r} "
                f"and {high!r} (stage {stage!r})"
            )
        if ss[i + 1] != ss[i] and pp[i + 1] - pp[i] < -atol:
            fail(
                f"not monotone in the score: score {float(ss[i])!r} -> {low!r} but score "
                f"{float(ss[i + 1])!r} -> {high!r} (stage {stage!r})"
            )


def _quantile_bins(x: FloatArray, n_bins: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Quantile bins of ``x``; tied values always share a bin."""
    edges = np.unique(np.quantile(x, np.linspace(0, 1, n_bins + 1)))
    if edges.size <= 2:
        uniq = np.unique(x)
        if uniq.size <= n_bins:
            return np.searchsorted(uniq, x).astype(np.int64)
        return np.zeros(x.size, dtype=np.int64)
    bins = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)
    return bins.astype(np.int64)


def assert_calibrated(
    probabilities: Any,
    labels: Any = None,
    *,
    truth: Any = None,
    n: int | None = None,
    sample_weight: Any = None,
    n_bins: int = 10,
    z: float = 4.0,
    atol: float = 0.0,
) -> None:
    r"""Assert predicted probabilities match observed or true agreement, bin by bin.

    Predictions are split into ``n_bins`` quantile bins. In each bin the mean
    prediction must be within a tolerance of

    * the mean observed label (``labels``): the tolerance is ``z`` standard
      errors of a binomial mean, :math:`z \sqrt{\sum_i w_i p_i(1-p_i)} / \sum_i w_i`,
      plus ``1 / W_b`` and ``atol``; or
    * the mean *true* agreement (``truth``, known on simulated data): the
      tolerance is :math:`z \sqrt{0.25 / n_b} + \text{atol}`, with :math:`n_b`
      the share of points in the bin times ``n`` (the size of the sample the
      predictions were fitted on; default: ``len(probabilities)``).

    Either way the tolerance shrinks like :math:`1/\sqrt{n}`: a calibrator that is
    consistent passes at every ``n``, a biased one fails once ``n`` is large.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(2000)
    >>> y = rng.random(2000) < p
    >>> assert_calibrated(p, y)
    >>> assert_calibrated(np.clip(p + 0.15, 0, 1), y)
    Traceback (most recent call last):
    ...
    judgecal.testing.PropertyViolationError: not calibrated: ...
    """
    p = _agreement_column(probabilities)
    assert_probabilities(p)
    if (labels is None) == (truth is None):
        raise invalid_argument(
            "pass exactly one of labels= (observed outcomes) and truth= (true probabilities)"
        )
    what = "labels" if truth is None else "truth"
    target = np.asarray(labels if truth is None else truth, dtype=np.float64).ravel()
    if target.shape != p.shape:
        fail(f"probabilities and {what} differ in length: {p.size} vs {target.size}")
    w = np.ones(p.size) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    size = p.size if n is None else int(n)
    worst: tuple[float, str] = (0.0, "")
    bins = _quantile_bins(p, n_bins)
    for b in np.unique(bins).tolist():
        excess, message = _bin_gap(p, target, w, bins == b, truth is not None, size, z, atol)
        if excess > worst[0]:
            worst = (excess, message)
    if worst[1]:
        fail(worst[1])


def _bin_gap(
    p: FloatArray,
    target: FloatArray,
    w: FloatArray,
    m: np.ndarray[Any, np.dtype[np.bool_]],
    is_truth: bool,
    size: int,
    z: float,
    atol: float,
) -> tuple[float, str]:
    """How far one bin's gap exceeds its tolerance (0 when within), and the message."""
    wb = float(w[m].sum())
    if wb <= 0:
        return 0.0, ""
    mean_p = float(np.dot(w[m], p[m]) / wb)
    mean_t = float(np.dot(w[m], target[m]) / wb)
    if is_truth:
        tol = z * math.sqrt(0.25 / max(size * float(m.mean()), 1.0)) + atol
    else:
        tol = z * math.sqrt(float(np.dot(w[m], p[m] * (1 - p[m])))) / wb + 1.0 / wb + atol
    gap = abs(mean_p - mean_t)
    if gap <= tol:
        return 0.0, ""
    what = "true agreement" if is_truth else "observed"
    return gap - tol, (
        f"not calibrated: in the bin of predictions {p[m].min():.3g}..{p[m].max():.3g} "
        f"(weight {wb:g}) the mean prediction is {mean_p:.4f} but the {what} is {mean_t:.4f} "
        f"(gap {gap:.4f} > tolerance {tol:.4f})"
    )


def assert_permutation_invariant(
    fn: Callable[..., Any],
    *arrays: Any,
    seed: int = 0,
    rtol: float = 1e-9,
    atol: float = 1e-12,
) -> None:
    """Assert that shuffling the rows of ``arrays`` does not change ``fn(*arrays)``.

    ``fn`` returns either one number (a metric) or one value per row (a
    calibrator's predictions), which is un-shuffled before comparing.

    Examples
    --------
    >>> import numpy as np
    >>> y, p = np.array([0, 1, 1]), np.array([0.2, 0.9, 0.4])
    >>> assert_permutation_invariant(lambda y, p: float(np.mean((y - p) ** 2)), y, p)
    >>> assert_permutation_invariant(lambda y, p: float(y[0]), y, p)
    Traceback (most recent call last):
    ...
    judgecal.testing.PropertyViolationError: result changed when rows were permuted: 0.0 ...
    """
    arrs = [np.asarray(a) for a in arrays]
    if not arrs:
        raise invalid_argument("pass at least one array")
    n = arrs[0].shape[0]
    perm = np.random.default_rng(seed).permutation(n)
    if n > 1 and (perm == np.arange(n)).all():
        perm = np.roll(np.arange(n), -1)
    base = np.asarray(fn(*arrs), dtype=np.float64)
    moved = np.asarray(fn(*(a[perm] for a in arrs)), dtype=np.float64)
    if base.ndim >= 1 and base.shape[:1] == (n,):
        back = np.empty_like(moved)
        back[perm] = moved
        moved = back
    if values_close(base, moved, rtol, atol):
        return
    head, where = "result changed when rows were permuted", f"(permutation {show_value(perm)})"
    if base.ndim == 0:
        fail(f"{head}: {float(base)!r} became {float(moved)!r} {where}")
    diff = np.abs(base - moved) if base.shape == moved.shape else np.array([np.inf])
    i = int(np.nanargmax(diff)) if diff.size else 0
    fail(
        f"{head}: row {i} was {float(base.ravel()[i])!r}, "
        f"became {float(moved.ravel()[i])!r} {where}"
    )


def renamed_stages(
    stages: np.ndarray[Any, Any], mapping: Mapping[str, str] | None = None
) -> tuple[StrArray, dict[str, str]]:
    """Stages under new names, and the renaming used.

    The default renaming gives every stage a new name and reverses their sorted
    order, so code that keys anything on a stage's name or position breaks.

    Examples
    --------
    >>> import numpy as np
    >>> new, used = renamed_stages(np.array(["a", "b", "a"]))
    >>> new.tolist(), used
    (['~renamed-002', '~renamed-001', '~renamed-002'], {'a': '~renamed-002', 'b': '~renamed-001'})
    """
    names = sorted(set(stages.tolist()))
    if mapping is None:
        mapping = {old: f"~renamed-{len(names) - i:03d}" for i, old in enumerate(names)}
    missing = [s for s in names if s not in mapping]
    if missing:
        raise invalid_argument(f"mapping has no new name for stages {missing}")
    if len({mapping[s] for s in names}) != len(names):
        raise invalid_argument("mapping must give distinct new names")
    return np.asarray([mapping[s] for s in stages.tolist()], dtype=str), dict(mapping)


def assert_stage_renaming_invariant(
    fn: Callable[..., Any],
    *arrays: Any,
    stages: Any,
    mapping: Mapping[str, str] | None = None,
    rtol: float = 1e-9,
    atol: float = 1e-12,
) -> None:
    """Assert that renaming stages does not change ``fn(*arrays, stages=stages)``.

    The default renaming gives every stage a new name and reverses their sorted
    order, which breaks code that keys anything on a stage's name or position.

    Examples
    --------
    >>> from judgecal import IsotonicCalibrator
    >>> x, y = [1, 2, 3, 4, 1, 2, 3, 4], [0, 0, 1, 1, 0, 1, 1, 1]
    >>> st = ["a"] * 4 + ["b"] * 4
    >>> def fit_predict(x, y, stages):
    ...     cal = IsotonicCalibrator(min_stage_labels=2).fit(x, y, stages=stages)
    ...     return cal.predict_agreement(x, stages=stages)
    >>> assert_stage_renaming_invariant(fit_predict, x, y, stages=st)
    """
    st_arr = np.asarray(stages)
    if st_arr.ndim == 0:
        st_arr = st_arr.reshape(1)
    st_arr = st_arr.astype(str)
    new, used = renamed_stages(st_arr, mapping)
    base = np.asarray(fn(*arrays, stages=st_arr), dtype=np.float64)
    moved = np.asarray(fn(*arrays, stages=new), dtype=np.float64)
    if values_close(base, moved, rtol, atol):
        return
    head = f"result changed when stages were renamed {used}"
    if base.shape != moved.shape or base.ndim == 0:
        fail(f"{head}: {show_value(base)} became {show_value(moved)}")
    i = int(np.nanargmax(np.abs(base - moved)))
    fail(
        f"{head}: row {i} (stage {str(st_arr.ravel()[i])!r}) "
        f"was {float(base.ravel()[i])!r}, became {float(moved.ravel()[i])!r}"
    )
