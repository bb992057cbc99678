"""Assertions and property batteries for testing metrics, calibrators and judges.

Three layers, from small to large:

* **Assertions** to call inside your own tests (hypothesis ``@given`` tests or
  plain ones): :func:`assert_probabilities`, :func:`assert_monotone`,
  :func:`assert_calibrated`, :func:`assert_permutation_invariant` and
  :func:`assert_stage_renaming_invariant`. They raise
  :class:`PropertyViolationError` (an ``AssertionError``) with a message that says
  which row or bin broke the property.
* **Batteries** that run hypothesis themselves and return a
  :class:`PropertyReport`: :func:`check_metric` for any metric
  ``f(labels, predictions)``, :func:`check_calibrator` for any calibrator
  factory, :func:`check_judge` for metamorphic tests of a judge. Each property
  is searched separately, so the report names every property that failed with
  the *shrunk* example hypothesis found. Call them from a plain test function
  (not from inside ``@given``) and finish with ``report.raise_if_failed()``.

Runs are derandomized by default (the same examples every run), so a report is
reproducible; pass ``derandomize=False`` to explore more.

Examples
--------
>>> import numpy as np
>>> from judgecal.testing.batteries import check_metric
>>> def accuracy(a, b):
...     return float(np.mean(np.asarray(a) == np.asarray(b)))
>>> report = check_metric(accuracy, kind="nominal", bounds=(0, 1), perfect=1.0, max_examples=30)
>>> report.ok
True
"""

from __future__ import annotations

import math
import numbers
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from judgecal._validation import FloatArray
from judgecal.records.core import Scale
from judgecal.testing.strategies import (
    _MENTION_TEMPLATES,
    ATTRIBUTES,
    CalibrationDataset,
    _insert_mention,
    _mentions,
    calibration_datasets,
    texts,
)

__all__ = [
    "PropertyReport",
    "PropertyResult",
    "PropertyViolationError",
    "assert_calibrated",
    "assert_monotone",
    "assert_permutation_invariant",
    "assert_probabilities",
    "assert_stage_renaming_invariant",
    "check_calibrator",
    "check_judge",
    "check_metric",
]


class PropertyViolationError(AssertionError):
    """A property that should hold does not; the message names it and shows the example."""


# ----------------------------------------------------------------------------------------
# Reports
# ----------------------------------------------------------------------------------------


def _show(value: Any, limit: int = 400) -> str:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, Mapping):
        text = "{" + ", ".join(f"{k}={_show(v, limit)}" for k, v in value.items()) + "}"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class PropertyResult:
    """The outcome of one property of a battery."""

    name: str
    """Property name, e.g. ``"permutation"``."""
    status: Literal["passed", "failed", "skipped"]
    """What happened."""
    message: str = ""
    """Why it failed (the assertion or exception message) or why it was skipped."""
    example: Mapping[str, Any] | None = None
    """The shrunk counterexample hypothesis found (failed properties only)."""

    def __str__(self) -> str:
        head = f"{self.name}: {self.status}"
        if self.status == "passed":
            return head
        lines = [head]
        if self.message:
            lines.append(textwrap.indent(self.message, "    "))
        if self.example is not None:
            lines.append(f"    example: {_show(self.example)}")
        return "\n".join(lines)


@dataclass(frozen=True)
class PropertyReport:
    """The results of a property battery (:func:`check_metric`, :func:`check_calibrator`, :func:`check_judge`).

    Examples
    --------
    >>> r = PropertyReport("f", (PropertyResult("range", "passed"),
    ...                          PropertyResult("symmetry", "failed", "f(a, b) != f(b, a)", {"a": [0, 1]})))
    >>> r.ok, r.failed
    (False, ['symmetry'])
    >>> print(r)
    Properties of f: 1 passed, 1 failed, 0 skipped
    range: passed
    symmetry: failed
        f(a, b) != f(b, a)
        example: {a=[0, 1]}
    """

    subject: str
    """What was tested."""
    results: tuple[PropertyResult, ...] = field(default_factory=tuple)
    """One result per property, in the order they ran."""

    @property
    def ok(self) -> bool:
        """True when no property failed."""
        return not self.failed

    @property
    def failed(self) -> list[str]:
        """Names of the properties that failed."""
        return [r.name for r in self.results if r.status == "failed"]

    @property
    def passed(self) -> list[str]:
        """Names of the properties that held."""
        return [r.name for r in self.results if r.status == "passed"]

    def __getitem__(self, name: str) -> PropertyResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def __str__(self) -> str:
        counts = {
            s: sum(r.status == s for r in self.results) for s in ("passed", "failed", "skipped")
        }
        head = (
            f"Properties of {self.subject}: {counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['skipped']} skipped"
        )
        return "\n".join([head, *(str(r) for r in self.results)])

    def raise_if_failed(self) -> PropertyReport:
        """Raise :class:`PropertyViolationError` with the whole report when a property failed."""
        if not self.ok:
            raise PropertyViolationError(str(self))
        return self


def _run_property(
    name: str,
    strategy: SearchStrategy[dict[str, Any]],
    check: Callable[[dict[str, Any]], None],
    *,
    max_examples: int,
    derandomize: bool,
    shrink: bool = True,
) -> PropertyResult:
    """Search for an example that breaks ``check``; keep the shrunk one."""
    last: dict[str, Any] = {}
    phases = list(Phase) if shrink else [p for p in Phase if p not in (Phase.shrink, Phase.explain)]

    @settings(
        phases=phases,
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        verbosity=Verbosity.quiet,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(strategy)
    def prop(example: dict[str, Any]) -> None:
        try:
            check(example)
        except BaseException as exc:
            last["example"], last["error"] = example, exc
            raise

    try:
        prop()
    except Exception as exc:
        err = last.get("error", exc)
        msg = str(err) if isinstance(err, AssertionError) else f"raised {type(err).__name__}: {err}"
        return PropertyResult(name, "failed", msg, _public(last.get("example")))
    return PropertyResult(name, "passed")


def _public(example: dict[str, Any] | None) -> dict[str, Any] | None:
    if example is None:
        return None
    return {k: v for k, v in example.items() if not k.startswith("_")}


def _check_settings(max_examples: Any, derandomize: Any) -> None:
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise InvalidArgument(f"max_examples={max_examples!r} must be an integer >= 1")
    if not isinstance(derandomize, bool):
        raise InvalidArgument(f"derandomize={derandomize!r} must be a bool")


# ----------------------------------------------------------------------------------------
# Assertions
# ----------------------------------------------------------------------------------------


def _fail(message: str) -> None:
    raise PropertyViolationError(message)


def assert_probabilities(probabilities: Any, *, name: str = "probabilities") -> None:
    """Assert finite probabilities in [0, 1]; a 2-column array's rows must also sum to 1.

    Examples
    --------
    >>> assert_probabilities([0.0, 0.5, 1.0])
    >>> assert_probabilities([0.2, float("nan")])
    Traceback (most recent call last):
    ...
    judgecal.testing.batteries.PropertyViolationError: probabilities[1] = nan is not a finite probability in [0, 1]
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim not in (1, 2) or (p.ndim == 2 and p.shape[1] != 2):
        _fail(f"{name} must have shape (n,) or (n, 2); got {p.shape}")
    bad = ~np.isfinite(p) | (p < 0) | (p > 1)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = idx[0] if p.ndim == 1 else idx
        _fail(f"{name}[{where}] = {float(p[idx])!r} is not a finite probability in [0, 1]")
    if p.ndim == 2:
        dev = np.abs(p.sum(axis=1) - 1.0)
        if (dev > 1e-9).any():
            i = int(np.argmax(dev))
            _fail(f"row {i} of {name} sums to {p[i].sum()!r}, not 1")


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
    judgecal.testing.batteries.PropertyViolationError: not monotone in the score: score 2.0 -> 0.5 but score 3.0 -> 0.4 (stage '')
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim == 2:
        p = p[:, -1]
    if s.shape != p.shape:
        _fail(f"scores and probabilities differ in length: {s.size} vs {p.size}")
    st_arr = (
        np.full(s.size, "")
        if stages is None
        else np.broadcast_to(np.asarray(stages, dtype=str), s.shape)
    )
    sign = 1.0 if increasing else -1.0
    for name in np.unique(st_arr).tolist():
        m = st_arr == name
        order = np.lexsort((p[m], s[m]))
        ss, pp = s[m][order], p[m][order]
        for i in range(ss.size - 1):
            if ss[i + 1] == ss[i]:
                if abs(pp[i + 1] - pp[i]) > atol:
                    _fail(
                        f"equal scores {float(ss[i])!r} get different probabilities {float(pp[i])!r} "
                        f"and {float(pp[i + 1])!r} (stage {name!r})"
                    )
            elif sign * (pp[i + 1] - pp[i]) < -atol:
                _fail(
                    f"not monotone in the score: score {float(ss[i])!r} -> {float(pp[i])!r} but score "
                    f"{float(ss[i + 1])!r} -> {float(pp[i + 1])!r} (stage {name!r})"
                )


def _bins(x: FloatArray, n_bins: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Quantile bins of ``x``; tied values always share a bin."""
    edges = np.unique(np.quantile(x, np.linspace(0, 1, n_bins + 1)))
    if edges.size <= 2:
        uniq = np.unique(x)
        if uniq.size <= n_bins:
            return np.searchsorted(uniq, x).astype(np.int64)
        return np.zeros(x.size, dtype=np.int64)
    return np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2).astype(np.int64)


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
    judgecal.testing.batteries.PropertyViolationError: not calibrated: ...
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim == 2:
        p = p[:, -1]
    assert_probabilities(p)
    if (labels is None) == (truth is None):
        raise InvalidArgument(
            "pass exactly one of labels= (observed outcomes) and truth= (true probabilities)"
        )
    target = np.asarray(labels if truth is None else truth, dtype=np.float64).ravel()
    if target.shape != p.shape:
        _fail(
            f"probabilities and {'labels' if truth is None else 'truth'} differ in length: {p.size} vs {target.size}"
        )
    w = np.ones(p.size) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    size = p.size if n is None else int(n)
    idx = _bins(p, n_bins)
    worst: tuple[float, str] = (0.0, "")
    for b in np.unique(idx).tolist():
        m = idx == b
        wb = float(w[m].sum())
        if wb <= 0:
            continue
        mean_p = float(np.dot(w[m], p[m]) / wb)
        mean_t = float(np.dot(w[m], target[m]) / wb)
        if truth is None:
            tol = z * math.sqrt(float(np.dot(w[m], p[m] * (1 - p[m])))) / wb + 1.0 / wb + atol
        else:
            nb = max(size * float(m.mean()), 1.0)
            tol = z * math.sqrt(0.25 / nb) + atol
        gap = abs(mean_p - mean_t)
        if gap > tol and gap - tol > worst[0]:
            what = "observed" if truth is None else "true agreement"
            worst = (
                gap - tol,
                f"not calibrated: in the bin of predictions {p[m].min():.3g}..{p[m].max():.3g} "
                f"(weight {wb:g}) the mean prediction is {mean_p:.4f} but the {what} is {mean_t:.4f} "
                f"(gap {gap:.4f} > tolerance {tol:.4f})",
            )
    if worst[1]:
        _fail(worst[1])


def _close(a: Any, b: Any, rtol: float, atol: float) -> bool:
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        return False
    both_nan = np.isnan(x) & np.isnan(y)
    return bool(np.all(both_nan | np.isclose(x, y, rtol=rtol, atol=atol)))


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
    >>> assert_permutation_invariant(lambda y, p: float(np.mean((y - p) ** 2)),
    ...                              np.array([0, 1, 1]), np.array([0.2, 0.9, 0.4]))
    >>> assert_permutation_invariant(lambda y, p: float(y[0]), np.array([0, 1, 1]), np.array([0.1, 0.2, 0.3]))
    Traceback (most recent call last):
    ...
    judgecal.testing.batteries.PropertyViolationError: result changed when rows were permuted: 0.0 became 1.0 (permutation [...])
    """
    arrs = [np.asarray(a) for a in arrays]
    if not arrs:
        raise InvalidArgument("pass at least one array")
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
    if not _close(base, moved, rtol, atol):
        if base.ndim == 0:
            _fail(
                f"result changed when rows were permuted: {float(base)!r} became {float(moved)!r} (permutation {_show(perm)})"
            )
        diff = np.abs(base - moved) if base.shape == moved.shape else np.array([np.inf])
        i = int(np.nanargmax(diff)) if diff.size else 0
        _fail(
            f"result changed when rows were permuted: row {i} was {float(base.ravel()[i])!r}, became "
            f"{float(moved.ravel()[i])!r} (permutation {_show(perm)})"
        )


def _renamed(
    stages: np.ndarray[Any, Any], mapping: Mapping[str, str] | None
) -> tuple[np.ndarray[Any, Any], dict[str, str]]:
    names = sorted(set(stages.tolist()))
    if mapping is None:
        # reverse the sort order and change every name, so order- or name-dependent code breaks
        mapping = {old: f"~renamed-{len(names) - i:03d}" for i, old in enumerate(names)}
    missing = [s for s in names if s not in mapping]
    if missing:
        raise InvalidArgument(f"mapping has no new name for stages {missing}")
    if len(set(mapping[s] for s in names)) != len(names):
        raise InvalidArgument("mapping must give distinct new names")
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
    new, used = _renamed(st_arr, mapping)
    base = np.asarray(fn(*arrays, stages=st_arr), dtype=np.float64)
    moved = np.asarray(fn(*arrays, stages=new), dtype=np.float64)
    if not _close(base, moved, rtol, atol):
        if base.shape != moved.shape or base.ndim == 0:
            _fail(
                f"result changed when stages were renamed {used}: {_show(base)} became {_show(moved)}"
            )
        i = int(np.nanargmax(np.abs(base - moved)))
        _fail(
            f"result changed when stages were renamed {used}: row {i} (stage {str(st_arr.ravel()[i])!r}) "
            f"was {float(base.ravel()[i])!r}, became {float(moved.ravel()[i])!r}"
        )


# ----------------------------------------------------------------------------------------
# Metric battery
# ----------------------------------------------------------------------------------------

MetricKind = Literal["probability", "nominal", "ordinal"]


def _as_value(out: Any) -> float:
    if isinstance(out, bool) or not isinstance(out, numbers.Real | np.ndarray | np.generic):
        _fail(f"returned {type(out).__name__} {out!r}, not a real number")
    arr = np.asarray(out, dtype=np.float64)
    if arr.size != 1:
        _fail(f"returned an array of shape {arr.shape}, not one number")
    return float(arr.reshape(()))


def _metric_inputs(
    kind: str, min_size: int, max_size: int, soft_labels: bool, max_categories: int
) -> SearchStrategy[dict[str, Any]]:
    @st.composite
    def draw_inputs(draw: st.DrawFn) -> dict[str, Any]:
        n = draw(st.integers(min_size, max_size))
        if kind == "probability":
            lab = st.floats(0, 1) if soft_labels else st.sampled_from([0.0, 1.0])
            y = np.asarray(draw(st.lists(lab, min_size=n, max_size=n)), dtype=np.float64)
            p = np.asarray(
                draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)), dtype=np.float64
            )
            return {"labels": y, "predictions": p}
        k = draw(st.integers(2, max_categories))
        low = 0 if kind == "nominal" else 1
        vals = st.integers(low, low + k - 1)
        a = np.asarray(draw(st.lists(vals, min_size=n, max_size=n)), dtype=np.int64)
        b = np.asarray(draw(st.lists(vals, min_size=n, max_size=n)), dtype=np.int64)
        return {"labels": a, "predictions": b, "_k": k}

    return draw_inputs()


def check_metric(
    metric: Callable[[Any, Any], Any],
    *,
    kind: MetricKind = "probability",
    bounds: tuple[float, float] | None = None,
    symmetric: bool | None = None,
    perfect: float | None = None,
    soft_labels: bool = False,
    min_size: int = 1,
    max_size: int = 30,
    max_categories: int = 4,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    skip: Sequence[str] = (),
    max_examples: int = 100,
    derandomize: bool = True,
) -> PropertyReport:
    """Run a property battery on a metric ``metric(labels, predictions) -> float``.

    Properties (each searched separately with hypothesis):

    ``range``
        the value is a finite real number within ``bounds``.
    ``symmetry``
        ``metric(a, b) == metric(b, a)`` (agreement metrics; skipped when ``symmetric=False``).
    ``permutation``
        shuffling the rows (jointly) does not change the value.
    ``label_renaming``
        renaming the labels does not change the value: for ``probability``
        metrics, swapping the classes (``1 - y``, ``1 - p``); for ``nominal``
        labels, any one-to-one relabelling (to other integers); for ``ordinal``
        labels, an increasing affine map ``v -> c v + d``.
    ``degenerate``
        constant labels, constant predictions and both constant give a finite
        value within ``bounds`` (no NaN, no exception).
    ``perfect``
        predictions equal to the (hard, non-constant) labels give ``perfect``
        (skipped when ``perfect`` is None).

    Parameters
    ----------
    metric : callable
        Called with two numpy arrays.
    kind : {"probability", "nominal", "ordinal"}
        ``probability``: labels are 0/1 (or soft shares with ``soft_labels``),
        predictions are probabilities. ``nominal``: two raters' category
        labels ``0..k-1``. ``ordinal``: two raters' Likert levels ``1..k``.
    bounds : (low, high), optional
        Allowed values; default ``(0, inf)`` for probability metrics and
        ``(-1, 1)`` otherwise.
    symmetric : bool, optional
        Whether to test symmetry; default False for probability metrics, True otherwise.
    perfect : float, optional
        The value expected when predictions equal the labels.
    soft_labels : bool
        Probability metrics: draw soft labels in [0, 1] instead of 0/1.
    min_size, max_size : int
        Number of rows.
    max_categories : int
        Most categories (levels) for nominal and ordinal metrics.
    rtol, atol : float
        Tolerance for "unchanged".
    skip : sequence of str
        Properties not to run (reported as skipped), e.g. ``["label_renaming"]``
        for a binned metric whose bin edges are not symmetric under ``p -> 1 - p``.
    max_examples : int
        Hypothesis examples per property.
    derandomize : bool
        Use a fixed, reproducible sequence of examples.

    Returns
    -------
    PropertyReport

    Examples
    --------
    >>> import numpy as np
    >>> def signed_error(y, p):          # not a proper score: sign flips with the labels
    ...     return float(np.mean(p - y))
    >>> report = check_metric(signed_error, kind="probability", max_examples=30)
    >>> {"range", "label_renaming"} <= set(report.failed)
    True
    """
    if not callable(metric):
        raise InvalidArgument(f"metric={metric!r} must be callable")
    if kind not in ("probability", "nominal", "ordinal"):
        raise InvalidArgument(f"kind={kind!r} must be one of 'probability', 'nominal', 'ordinal'")
    _check_settings(max_examples, derandomize)
    if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 1:
        raise InvalidArgument(f"min_size={min_size!r} must be an integer >= 1")
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < min_size:
        raise InvalidArgument(f"max_size={max_size!r} must be an integer >= min_size={min_size}")
    if (
        isinstance(max_categories, bool)
        or not isinstance(max_categories, int)
        or max_categories < 2
    ):
        raise InvalidArgument(f"max_categories={max_categories!r} must be an integer >= 2")
    lo, hi = (
        bounds
        if bounds is not None
        else ((0.0, math.inf) if kind == "probability" else (-1.0, 1.0))
    )
    if not lo <= hi:
        raise InvalidArgument(f"bounds={bounds!r} must be (low, high) with low <= high")
    sym = (kind != "probability") if symmetric is None else bool(symmetric)
    if sym and kind == "probability":
        raise InvalidArgument(
            "symmetric=True needs labels and predictions of one kind (nominal or ordinal)"
        )
    name = getattr(metric, "__name__", type(metric).__name__)
    inputs = _metric_inputs(kind, min_size, max_size, soft_labels, max_categories)

    def value(a: Any, b: Any) -> float:
        v = _as_value(metric(a, b))
        return v

    def in_range(v: float, what: str) -> None:
        if not math.isfinite(v):
            _fail(f"{what} is {v!r}, not a finite number")
        if not lo - atol <= v <= hi + atol:
            _fail(f"{what} = {v!r} is outside the bounds [{lo}, {hi}]")

    def same(v0: float, v1: float, what: str) -> None:
        if not _close(v0, v1, rtol, atol):
            _fail(f"{what}: {v0!r} became {v1!r}")

    def check_range(ex: dict[str, Any]) -> None:
        in_range(value(ex["labels"], ex["predictions"]), f"{name}(labels, predictions)")

    def check_symmetry(ex: dict[str, Any]) -> None:
        a, b = ex["labels"], ex["predictions"]
        same(value(a, b), value(b, a), f"{name}(a, b) != {name}(b, a)")

    perm_inputs = st.tuples(inputs, st.integers(0, 2**16)).map(
        lambda t: {
            **t[0],
            "permutation": np.random.default_rng(t[1]).permutation(t[0]["labels"].size),
        }
    )

    def check_permutation(ex: dict[str, Any]) -> None:
        a, b, pm = ex["labels"], ex["predictions"], ex["permutation"]
        same(value(a, b), value(a[pm], b[pm]), "value changed when rows were permuted")

    if kind == "probability":
        # snap to multiples of 2**-30 so that 1 - (1 - v) == v exactly: only the metric may change the value
        rename_inputs = inputs.map(
            lambda ex: {
                **ex,
                "labels": np.round(ex["labels"] * 2.0**30) / 2.0**30,
                "predictions": np.round(ex["predictions"] * 2.0**30) / 2.0**30,
                "renaming": "1 - labels, 1 - predictions",
            }
        )
    elif kind == "nominal":
        rename_inputs = inputs.flatmap(
            lambda ex: st.lists(
                st.integers(-50, 50), min_size=ex["_k"], max_size=ex["_k"], unique=True
            ).map(lambda new: {**ex, "renaming": {i: v for i, v in enumerate(new)}})
        )
    else:
        rename_inputs = inputs.flatmap(
            lambda ex: st.tuples(st.integers(2, 10), st.integers(-5, 20)).map(
                lambda cd: {**ex, "renaming": f"v -> {cd[0]} * v + {cd[1]}", "_cd": cd}
            )
        )

    def check_renaming(ex: dict[str, Any]) -> None:
        a, b = ex["labels"], ex["predictions"]
        if kind == "probability":
            a2, b2 = 1.0 - a, 1.0 - b
        elif kind == "nominal":
            table = ex["renaming"]
            a2 = np.asarray([table[int(v)] for v in a], dtype=np.int64)
            b2 = np.asarray([table[int(v)] for v in b], dtype=np.int64)
        else:
            c, d = ex["_cd"]
            a2, b2 = c * a + d, c * b + d
        same(
            value(a, b),
            value(a2, b2),
            f"value changed when labels were renamed ({_show(ex['renaming'])})",
        )

    @st.composite
    def degenerate_inputs(draw: st.DrawFn) -> dict[str, Any]:
        ex = draw(inputs)
        a, b = ex["labels"], ex["predictions"]
        case = draw(
            st.sampled_from(
                ["constant labels", "constant predictions", "both constant", "identical"]
            )
        )
        if case in ("constant labels", "both constant"):
            a = np.full_like(a, a[0])
        if case in ("constant predictions", "both constant"):
            b = np.full_like(b, b[0])
        if case == "identical":
            b = a.astype(b.dtype) if kind != "probability" else np.round(a).astype(np.float64)
            if kind == "probability":
                a = b.copy()
        return {"case": case, "labels": a, "predictions": b}

    def check_degenerate(ex: dict[str, Any]) -> None:
        in_range(value(ex["labels"], ex["predictions"]), f"{name} on {ex['case']}")

    @st.composite
    def perfect_inputs(draw: st.DrawFn) -> dict[str, Any]:
        ex = draw(inputs)
        a = ex["labels"]
        if kind == "probability":
            a = np.round(a).astype(np.float64)
        if a.size < 2:
            a = np.concatenate([a, a])
        if np.ptp(a) == 0:
            a = a.copy()
            a[-1] = (1.0 - a[0]) if kind == "probability" else a[0] + 1
        return {"labels": a, "predictions": a.copy()}

    def check_perfect(ex: dict[str, Any]) -> None:
        v = value(ex["labels"], ex["predictions"])
        if not _close(v, perfect, rtol, max(atol, 1e-9)):
            _fail(f"{name}(y, y) = {v!r}, expected the perfect value {perfect!r}")

    if isinstance(skip, str):
        raise InvalidArgument(f"skip={skip!r} must be a sequence of property names")

    def run(
        prop: str, strategy: SearchStrategy[dict[str, Any]], check: Callable[[dict[str, Any]], None]
    ) -> PropertyResult:
        if prop in skip:
            return PropertyResult(prop, "skipped", "skipped by the caller")
        return _run_property(
            prop, strategy, check, max_examples=max_examples, derandomize=derandomize
        )

    results = [
        run("range", inputs, check_range),
        (
            run("symmetry", inputs, check_symmetry)
            if sym
            else PropertyResult("symmetry", "skipped", "not applicable (symmetric=False)")
        ),
        run("permutation", perm_inputs, check_permutation),
        run("label_renaming", rename_inputs, check_renaming),
        run("degenerate", degenerate_inputs(), check_degenerate),
        (
            run("perfect", perfect_inputs(), check_perfect)
            if perfect is not None
            else PropertyResult("perfect", "skipped", "no perfect value given")
        ),
    ]
    unknown = set(skip) - {r.name for r in results}
    if unknown:
        raise InvalidArgument(f"skip={list(skip)!r} names unknown properties {sorted(unknown)}")
    return PropertyReport(f"metric {name}", tuple(results))


# ----------------------------------------------------------------------------------------
# Calibrator battery
# ----------------------------------------------------------------------------------------


def _agreement(cal: Any, x: FloatArray, stages: Any) -> FloatArray:
    kw = {} if stages is None else {"stages": stages}
    out = np.asarray(cal.predict_proba(x, **kw), dtype=np.float64)
    if out.ndim == 2:
        assert_probabilities(out, name="predict_proba(X)")
        return np.asarray(out[:, 1], dtype=np.float64)
    return out


def _fit(make: Callable[[], Any], ds: CalibrationDataset, stages: Any, perm: Any = None) -> Any:
    x, y, w = ds.scores, ds.labels, ds.weights
    st_arr = stages
    if perm is not None:
        x, y, w = x[perm], y[perm], w[perm]
        st_arr = None if stages is None else np.asarray(stages)[perm]
    cal = make()
    kw = {} if st_arr is None else {"stages": st_arr}
    cal.fit(x, y, w, **kw)
    return cal


def _grid(ds: CalibrationDataset) -> tuple[FloatArray, np.ndarray[Any, Any]]:
    sc = ds.scale
    if sc.kind == "numeric":
        pts = np.linspace(sc.low, sc.high, 41)
    else:
        pts = np.arange(sc.low, sc.high + 1.0)
    names = sorted(set(ds.stages.tolist())) or ["default"]
    x = np.tile(pts, len(names))
    s = np.repeat(np.asarray(names, dtype=str), pts.size)
    return x, s


def check_calibrator(
    make: Callable[[], Any],
    *,
    scale: Scale | None = None,
    stages: Sequence[str] | None = ("extraction", "selection"),
    raters: int = 1,
    min_size: int = 300,
    max_size: int = 1000,
    monotone: bool = True,
    calibrated: bool = True,
    z: float = 4.0,
    atol: float = 0.06,
    round_trip: bool = True,
    max_examples: int = 20,
    derandomize: bool = True,
) -> PropertyReport:
    """Run a property battery on a calibrator made by ``make()``.

    Each example draws a known-truth dataset from
    :func:`judgecal.testing.strategies.calibration_datasets`, fits a fresh calibrator
    (``fit(X, y, sample_weight, stages=...)``) and checks the properties below.
    A failing dataset is reported as drawn, not shrunk (every shrinking step
    would refit, and a smaller simulated dataset is rarely clearer).

    ``probabilities``
        predictions are finite and in [0, 1] (rows of ``predict_proba`` sum to 1).
    ``monotone``
        predictions never fall as the score rises, per stage (skipped with ``monotone=False``).
    ``permutation``
        fitting on shuffled rows gives the same predictions.
    ``stage_renaming``
        fitting and predicting with renamed stages gives the same predictions
        (skipped with ``stages=None``).
    ``calibrated``
        on fresh items from the same truth, predictions match the true
        P(human agrees | score) bin by bin within ``z`` standard errors (which
        shrink with the training size) plus ``atol`` (see :func:`assert_calibrated`).
    ``round_trip``
        ``judgecal.persist.loads(dumps(cal))`` predicts bit-identically (skipped
        for classes not registered with :func:`judgecal.persist.register`).

    Parameters
    ----------
    make : callable
        Returns a new, unfitted calibrator.
    scale : Scale, optional
        Judge scale of the simulated data (default Likert 1-5).
    stages : sequence of str or None
        Stage names; None fits without stages.
    raters : int
        Raters per item (soft labels weighted by the rater count when > 1).
    min_size, max_size : int
        Training items per example.
    monotone, calibrated, round_trip : bool
        Whether to run these properties.
    z, atol : float
        Tolerance of the ``calibrated`` property.
    max_examples, derandomize
        Hypothesis settings.

    Returns
    -------
    PropertyReport

    Examples
    --------
    >>> from judgecal import IsotonicCalibrator
    >>> report = check_calibrator(IsotonicCalibrator, max_examples=5)
    >>> report.ok
    True
    """
    if not callable(make):
        raise InvalidArgument(f"make={make!r} must be a callable returning an unfitted calibrator")
    _check_settings(max_examples, derandomize)
    stage_names = None if stages is None else tuple(stages)
    data = calibration_datasets(
        scale=scale,
        stages=stage_names or ("default",),
        min_size=min_size,
        max_size=max_size,
        raters=raters,
    ).map(lambda ds: {"dataset": ds})
    probe = make()
    subject = f"calibrator {type(probe).__name__}"

    def stage_arg(ds: CalibrationDataset) -> Any:
        return None if stage_names is None else ds.stages

    def check_probs(ex: dict[str, Any]) -> None:
        ds = ex["dataset"]
        cal = _fit(make, ds, stage_arg(ds))
        x, s = _grid(ds)
        assert_probabilities(
            _agreement(cal, x, None if stage_names is None else s), name="predictions"
        )

    def check_mono(ex: dict[str, Any]) -> None:
        ds = ex["dataset"]
        cal = _fit(make, ds, stage_arg(ds))
        x, s = _grid(ds)
        s_arg = None if stage_names is None else s
        assert_monotone(x, _agreement(cal, x, s_arg), stages=s_arg)

    perm_data = data.flatmap(
        lambda ex: st.integers(0, 2**32 - 1).map(lambda seed: {**ex, "permutation_seed": seed})
    )

    def check_perm(ex: dict[str, Any]) -> None:
        ds = ex["dataset"]
        perm = np.random.default_rng(ex["permutation_seed"]).permutation(len(ds))
        x, s = _grid(ds)
        s_arg = None if stage_names is None else s
        p0 = _agreement(_fit(make, ds, stage_arg(ds)), x, s_arg)
        p1 = _agreement(_fit(make, ds, stage_arg(ds), perm), x, s_arg)
        if not _close(p0, p1, 1e-9, 1e-12):
            i = int(np.argmax(np.abs(p0 - p1)))
            _fail(
                f"predictions changed when the training rows were permuted: at score {float(x[i])!r} {float(p0[i])!r} became {float(p1[i])!r}"
            )

    def check_rename(ex: dict[str, Any]) -> None:
        ds = ex["dataset"]
        x, s = _grid(ds)
        base_st = np.asarray(ds.stages, dtype=str)
        new, table = _renamed(base_st, None)
        p0 = _agreement(_fit(make, ds, base_st), x, s)
        p1 = _agreement(
            _fit(make, ds, new), x, np.asarray([table[v] for v in s.tolist()], dtype=str)
        )
        if not _close(p0, p1, 1e-9, 1e-12):
            i = int(np.argmax(np.abs(p0 - p1)))
            _fail(
                f"predictions changed when stages were renamed {table}: at score {float(x[i])!r} of stage "
                f"{str(s[i])!r} {float(p0[i])!r} became {float(p1[i])!r}"
            )

    def check_cal(ex: dict[str, Any]) -> None:
        ds = ex["dataset"]
        cal = _fit(make, ds, stage_arg(ds))
        test = ds.resample(n=2000, seed=1)
        for name in sorted(set(test.stages.tolist())):
            m = test.stages == name
            n_train = int((ds.stages == name).sum())
            p = _agreement(cal, test.scores[m], None if stage_names is None else test.stages[m])
            truth = ds.agreement_given_score(test.scores[m], test.stages[m])
            try:
                assert_calibrated(p, truth=truth, n=n_train, z=z, atol=atol)
            except PropertyViolationError as exc:
                raise PropertyViolationError(
                    f"stage {name!r} ({n_train} training items): {exc}"
                ) from None

    def check_trip(ex: dict[str, Any]) -> None:
        from judgecal import persist

        ds = ex["dataset"]
        cal = _fit(make, ds, stage_arg(ds))
        again = persist.loads(persist.dumps(cal))
        x, s = _grid(ds)
        s_arg = None if stage_names is None else s
        p0, p1 = _agreement(cal, x, s_arg), _agreement(again, x, s_arg)
        if not np.array_equal(p0, p1):
            i = int(np.argmax(np.abs(p0 - p1)))
            _fail(
                f"save/load changed a prediction: at score {float(x[i])!r} {float(p0[i])!r} became {float(p1[i])!r}"
            )

    def run(
        name: str, strategy: SearchStrategy[dict[str, Any]], check: Callable[[dict[str, Any]], None]
    ) -> PropertyResult:
        # a simulated dataset shrinks slowly (every step refits) and rarely gets clearer: report it as drawn
        return _run_property(
            name, strategy, check, max_examples=max_examples, derandomize=derandomize, shrink=False
        )

    from judgecal.persist import registered_class

    registered = registered_class(type(probe).__name__) is type(probe) and hasattr(probe, "_get_state")
    results = [
        run("probabilities", data, check_probs),
        run("monotone", data, check_mono)
        if monotone
        else PropertyResult("monotone", "skipped", "monotone=False"),
        run("permutation", perm_data, check_perm),
        run("stage_renaming", data, check_rename)
        if stage_names is not None
        else PropertyResult("stage_renaming", "skipped", "stages=None"),
        run("calibrated", data, check_cal)
        if calibrated
        else PropertyResult("calibrated", "skipped", "calibrated=False"),
        run("round_trip", data, check_trip)
        if round_trip and registered
        else PropertyResult(
            "round_trip",
            "skipped",
            "round_trip=False"
            if not round_trip
            else "class not registered with judgecal.persist.register",
        ),
    ]
    return PropertyReport(subject, tuple(results))


# ----------------------------------------------------------------------------------------
# Metamorphic judge checks
# ----------------------------------------------------------------------------------------

_FORMAT_OPS = (
    "double_spaces",
    "line_breaks",
    "bullets",
    "bold",
    "surrounding_whitespace",
    "trailing_period",
)


def _reformat(text: str, ops: Sequence[str], word_index: int) -> str:
    out = text
    for op in ops:
        if op == "double_spaces":
            out = out.replace(" ", "  ")
        elif op == "line_breaks":
            out = out.replace(". ", ".\n")
        elif op == "bullets":
            out = "\n".join(
                "- " + s.strip() for s in out.replace(". ", ".\n").splitlines() if s.strip()
            )
        elif op == "bold":
            words = out.split(" ")
            k = word_index % len(words)
            if words[k].strip():
                words[k] = f"**{words[k]}**"
            out = " ".join(words)
        elif op == "surrounding_whitespace":
            out = "\n  " + out + "  \n"
        elif op == "trailing_period":
            out = out.rstrip(".")
    return out


def _formatting_variants(text: str) -> SearchStrategy[str]:
    return st.builds(
        lambda ops, k: _reformat(text, ops, k),
        st.lists(st.sampled_from(_FORMAT_OPS), min_size=1, max_size=3, unique=True),
        st.integers(0, 50),
    )


def _mention_variants(attributes: tuple[str, ...]) -> Callable[[str], SearchStrategy[str]]:
    def variants(text: str) -> SearchStrategy[str]:
        return st.builds(
            _insert_mention,
            st.just(text),
            st.sampled_from(attributes),
            st.sampled_from(_MENTION_TEMPLATES),
            st.integers(0, 8),
        )

    return variants


def _score(output: Any, scale: Scale | None) -> float | None:
    if scale is None:
        if isinstance(output, bool) or not isinstance(output, numbers.Real):
            _fail(f"the judge returned {output!r}; pass scale= to parse non-numeric outputs")
        v = float(output)
        return v if math.isfinite(v) else None
    from judgecal.judging.judge import parse_score

    return parse_score(output, scale)


def check_judge(
    judge: Callable[..., Any],
    *,
    changes: Sequence[str | Callable[[str], SearchStrategy[str]]] = ("mention", "formatting"),
    scale: Scale | None = None,
    texts_strategy: SearchStrategy[str] | None = None,
    attributes: Sequence[str] = ATTRIBUTES,
    tolerance: float = 0.0,
    max_examples: int = 50,
    derandomize: bool = True,
) -> PropertyReport:
    """Metamorphic tests: does the judge's verdict move when only a surface feature changes?

    For each change, hypothesis draws texts (without attribute mentions) and a
    changed version that a human would judge the same, calls the judge on both
    and compares the parsed scores. A difference above ``tolerance`` fails the
    property, and the report shows the shrunk pair of texts and both scores.

    Changes
    -------
    ``"mention"``
        insert a sentence that mentions a user attribute ("As a vegetarian, ...").
    ``"formatting"``
        double spaces, line breaks, bullets, bold, surrounding whitespace, a
        dropped final period.
    ``"order"``
        for a pairwise judge ``judge(first, second)``: swapping the two answers
        must mirror the verdict (score ``s`` becomes ``low + high - s``, so on
        the scale ``("second", "tie", "first")`` first and second swap and a tie stays).
    a callable
        ``change(text) -> strategy of changed texts``, for your own surface feature.

    Parameters
    ----------
    judge : callable
        ``judge(text)`` (or ``judge(first, second)`` for ``"order"``); returns a
        number, or a text that :func:`judgecal.parse_score` reads on ``scale``.
    changes : sequence
        Which changes to test (each is one property of the report).
    scale : Scale, optional
        The judge's scale; needed for text outputs and for ``"order"``.
    texts_strategy : strategy of str, optional
        Texts to judge (default :func:`judgecal.testing.strategies.texts` without mentions).
    attributes : sequence of str
        User attributes for the ``"mention"`` change.
    tolerance : float
        Largest score change still counted as "unchanged".
    max_examples, derandomize
        Hypothesis settings.

    Returns
    -------
    PropertyReport

    Examples
    --------
    >>> def flattered_judge(text):        # rewards mentioning the user
    ...     return 3 + ("vegetarian" in text.lower())
    >>> report = check_judge(flattered_judge, changes=["mention"], attributes=["vegetarian"],
    ...                      max_examples=20)
    >>> report.failed
    ['mention']
    >>> report["mention"].example["changed_score"]
    4.0
    """
    if not callable(judge):
        raise InvalidArgument(f"judge={judge!r} must be callable")
    _check_settings(max_examples, derandomize)
    if scale is not None and not isinstance(scale, Scale):
        raise InvalidArgument(f"scale={scale!r} must be a judgecal.Scale")
    if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Real) or not tolerance >= 0:
        raise InvalidArgument(f"tolerance={tolerance!r} must be a number >= 0")
    if isinstance(changes, str) or not isinstance(changes, Sequence) or not changes:
        raise InvalidArgument(f"changes={changes!r} must be a non-empty sequence")
    attrs = tuple(attributes)
    base = texts(mention=False, attributes=attrs) if texts_strategy is None else texts_strategy
    if not isinstance(base, SearchStrategy):
        raise InvalidArgument(f"texts_strategy={texts_strategy!r} must be a hypothesis strategy")
    name = getattr(judge, "__name__", type(judge).__name__)

    def differ(a: float | None, b: float | None) -> bool:
        if a is None or b is None:
            return (a is None) != (b is None)
        return abs(a - b) > tolerance

    results: list[PropertyResult] = []
    for change in changes:
        if change == "order":
            if scale is None:
                raise InvalidArgument('the "order" change needs scale= (to mirror a verdict)')
            sc = scale
            pairs = st.tuples(base, base).map(lambda ab: {"first": ab[0], "second": ab[1]})

            def check_order(ex: dict[str, Any], sc: Scale = sc) -> None:
                s0 = _score(judge(ex["first"], ex["second"]), sc)
                s1 = _score(judge(ex["second"], ex["first"]), sc)
                ex["score"], ex["swapped_score"] = s0, s1
                mirrored = None if s1 is None else sc.low + sc.high - s1
                if differ(s0, mirrored):
                    _fail(
                        f"{name} changed its verdict when the answers were swapped: {s0!r} for "
                        f"(first, second) but {s1!r} for (second, first); expected {None if s0 is None else sc.low + sc.high - s0!r}"
                    )

            results.append(
                _run_property(
                    "order", pairs, check_order, max_examples=max_examples, derandomize=derandomize
                )
            )
            continue
        if change == "mention":
            variants = _mention_variants(attrs)
            label = "mention"
        elif change == "formatting":
            variants = _formatting_variants
            label = "formatting"
        elif callable(change):
            variants = change
            label = getattr(change, "__name__", "custom")
        else:
            raise InvalidArgument(
                f"unknown change {change!r}; use 'mention', 'formatting', 'order' or a callable"
            )
        pairs = base.flatmap(
            lambda t, v=variants: v(t).map(lambda c, t=t: {"text": t, "changed": c})
        )

        def check_change(ex: dict[str, Any], label: str = label) -> None:
            if label == "mention" and _mentions(ex["text"], attrs):
                return
            s0 = _score(judge(ex["text"]), scale)
            s1 = _score(judge(ex["changed"]), scale)
            ex["score"], ex["changed_score"] = s0, s1
            if differ(s0, s1):
                _fail(f"{name} changed its verdict under a {label} change: {s0!r} became {s1!r}")

        results.append(
            _run_property(
                label, pairs, check_change, max_examples=max_examples, derandomize=derandomize
            )
        )
    return PropertyReport(f"judge {name}", tuple(results))
