"""The properties :func:`~judgecal.testing.check_metric` searches, one small function each.

A property builder takes the metric under test and the strategy of inputs and
returns ``(strategy of examples, check)``; :func:`metric_report` runs them in
order. See :func:`judgecal.testing.check_metric` for what each property means.

Examples
--------
>>> import numpy as np
>>> from judgecal.testing.engine import RunSettings
>>> options = MetricOptions(kind="nominal", bounds=(0, 1), perfect=1.0)
>>> def accuracy(a, b):
...     return float(np.mean(a == b))
>>> metric_report(accuracy, options, RunSettings(max_examples=20)).ok
True
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from judgecal.testing.assertions import values_close
from judgecal.testing.engine import Check, Example, RunSettings, run_property
from judgecal.testing.report import (
    PropertyReport,
    PropertyResult,
    fail,
    invalid_argument,
    show_value,
)

__all__ = ["METRIC_PROPERTIES", "MetricKind", "MetricOptions", "metric_report"]

MetricKind = Literal["probability", "nominal", "ordinal"]
_KINDS: tuple[str, ...] = ("probability", "nominal", "ordinal")
#: The properties of a metric battery, in the order they run.
METRIC_PROPERTIES: tuple[str, ...] = (
    "range",
    "symmetry",
    "permutation",
    "label_renaming",
    "degenerate",
    "perfect",
)
_SNAP = 2.0**30  # probabilities on multiples of 2**-30: 1 - (1 - v) == v exactly


def _is_int(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


@dataclass(frozen=True)
class MetricOptions:
    """What a metric battery draws and expects (validated on creation; see ``check_metric``)."""

    kind: MetricKind = "probability"
    bounds: tuple[float, float] | None = None
    """Allowed values; None gives ``(0, inf)`` for probability metrics, else ``(-1, 1)``."""
    symmetric: bool | None = None
    """None gives False for probability metrics, True otherwise."""
    perfect: float | None = None
    soft_labels: bool = False
    min_size: int = 1
    max_size: int = 30
    max_categories: int = 4
    rtol: float = 1e-9
    atol: float = 1e-12
    skip: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise invalid_argument(f"kind={self.kind!r} must be one of {_KINDS}")
        if not _is_int(self.min_size, 1):
            raise invalid_argument(f"min_size={self.min_size!r} must be an integer >= 1")
        if not _is_int(self.max_size, self.min_size):
            raise invalid_argument(
                f"max_size={self.max_size!r} must be an integer >= min_size={self.min_size}"
            )
        if not _is_int(self.max_categories, 2):
            raise invalid_argument(
                f"max_categories={self.max_categories!r} must be an integer >= 2"
            )
        low, high = self.value_bounds
        if not low <= high:
            raise invalid_argument(f"bounds={self.bounds!r} must be (low, high) with low <= high")
        if self.is_symmetric and self.kind == "probability":
            raise invalid_argument(
                "symmetric=True needs labels and predictions of one kind (nominal or ordinal)"
            )
        if isinstance(self.skip, str):
            raise invalid_argument(f"skip={self.skip!r} must be a sequence of property names")
        unknown = sorted(set(self.skip) - set(METRIC_PROPERTIES))
        if unknown:
            raise invalid_argument(f"skip={list(self.skip)!r} names unknown properties {unknown}")

    @property
    def value_bounds(self) -> tuple[float, float]:
        """The bounds in force."""
        if self.bounds is not None:
            return self.bounds
        return (0.0, math.inf) if self.kind == "probability" else (-1.0, 1.0)

    @property
    def is_symmetric(self) -> bool:
        """Whether the symmetry property applies."""
        return (self.kind != "probability") if self.symmetric is None else bool(self.symmetric)


@dataclass(frozen=True)
class _Metric:
    """The metric under test, with the comparisons its properties share."""

    fn: Callable[[Any, Any], Any]
    name: str
    options: MetricOptions

    def value(self, a: Any, b: Any) -> float:
        out = self.fn(a, b)
        if isinstance(out, bool) or not isinstance(out, numbers.Real | np.ndarray | np.generic):
            fail(f"returned {type(out).__name__} {out!r}, not a real number")
        arr = np.asarray(out, dtype=np.float64)
        if arr.size != 1:
            fail(f"returned an array of shape {arr.shape}, not one number")
        return float(arr.reshape(()))

    def in_range(self, v: float, what: str) -> None:
        low, high = self.options.value_bounds
        atol = self.options.atol
        if not math.isfinite(v):
            fail(f"{what} is {v!r}, not a finite number")
        if not low - atol <= v <= high + atol:
            fail(f"{what} = {v!r} is outside the bounds [{low}, {high}]")

    def same(self, v0: float, v1: float, what: str) -> None:
        if not values_close(v0, v1, self.options.rtol, self.options.atol):
            fail(f"{what}: {v0!r} became {v1!r}")


Built = tuple[SearchStrategy[Example], Check]


def metric_inputs(options: MetricOptions) -> SearchStrategy[Example]:
    """Labels and predictions of the metric's kind (``_k``: the number of categories)."""
    kind, soft = options.kind, options.soft_labels

    @st.composite
    def draw_inputs(draw: st.DrawFn) -> Example:
        n = draw(st.integers(options.min_size, options.max_size))
        if kind == "probability":
            lab = st.floats(0, 1) if soft else st.sampled_from([0.0, 1.0])
            y = np.asarray(draw(st.lists(lab, min_size=n, max_size=n)), dtype=np.float64)
            probs = st.lists(st.floats(0, 1), min_size=n, max_size=n)
            return {"labels": y, "predictions": np.asarray(draw(probs), dtype=np.float64)}
        k = draw(st.integers(2, options.max_categories))
        low = 0 if kind == "nominal" else 1
        vals = st.integers(low, low + k - 1)
        a = np.asarray(draw(st.lists(vals, min_size=n, max_size=n)), dtype=np.int64)
        b = np.asarray(draw(st.lists(vals, min_size=n, max_size=n)), dtype=np.int64)
        return {"labels": a, "predictions": b, "_k": k}

    return draw_inputs()


def _range(metric: _Metric, inputs: SearchStrategy[Example]) -> Built:
    def check(ex: Example) -> None:
        value = metric.value(ex["labels"], ex["predictions"])
        metric.in_range(value, f"{metric.name}(labels, predictions)")

    return inputs, check


def _symmetry(metric: _Metric, inputs: SearchStrategy[Example]) -> Built:
    def check(ex: Example) -> None:
        a, b = ex["labels"], ex["predictions"]
        metric.same(
            metric.value(a, b), metric.value(b, a), f"{metric.name}(a, b) != {metric.name}(b, a)"
        )

    return inputs, check


def _permutation(metric: _Metric, inputs: SearchStrategy[Example]) -> Built:
    def with_permutation(drawn: tuple[Example, int]) -> Example:
        ex, seed = drawn
        return {**ex, "permutation": np.random.default_rng(seed).permutation(ex["labels"].size)}

    def check(ex: Example) -> None:
        a, b, pm = ex["labels"], ex["predictions"], ex["permutation"]
        before, after = metric.value(a, b), metric.value(a[pm], b[pm])
        metric.same(before, after, "value changed when rows were permuted")

    return st.tuples(inputs, st.integers(0, 2**16)).map(with_permutation), check


def _renaming_inputs(kind: str, inputs: SearchStrategy[Example]) -> SearchStrategy[Example]:
    """Inputs with a renaming of the labels that must not change the value."""
    if kind == "probability":
        return inputs.map(
            lambda ex: {
                **ex,
                "labels": np.round(ex["labels"] * _SNAP) / _SNAP,
                "predictions": np.round(ex["predictions"] * _SNAP) / _SNAP,
                "renaming": "1 - labels, 1 - predictions",
            }
        )
    if kind == "nominal":
        return inputs.flatmap(
            lambda ex: st.lists(
                st.integers(-50, 50), min_size=ex["_k"], max_size=ex["_k"], unique=True
            ).map(lambda new: {**ex, "renaming": dict(enumerate(new))})
        )
    return inputs.flatmap(
        lambda ex: st.tuples(st.integers(2, 10), st.integers(-5, 20)).map(
            lambda cd: {**ex, "renaming": f"v -> {cd[0]} * v + {cd[1]}", "_cd": cd}
        )
    )


def _renamed_labels(kind: str, ex: Example) -> tuple[Any, Any]:
    a, b = ex["labels"], ex["predictions"]
    if kind == "probability":
        return 1.0 - a, 1.0 - b
    if kind == "nominal":
        table = ex["renaming"]
        rename = np.vectorize(lambda v: table[int(v)], otypes=[np.int64])
        return rename(a), rename(b)
    c, d = ex["_cd"]
    return c * a + d, c * b + d


def _label_renaming(metric: _Metric, inputs: SearchStrategy[Example]) -> Built:
    kind = metric.options.kind

    def check(ex: Example) -> None:
        before = metric.value(ex["labels"], ex["predictions"])
        after = metric.value(*_renamed_labels(kind, ex))
        metric.same(
            before, after, f"value changed when labels were renamed ({show_value(ex['renaming'])})"
        )

    return _renaming_inputs(kind, inputs), check


_DEGENERATE_CASES = ("constant labels", "constant predictions", "both constant", "identical")


def _degenerate(metric: _Metric, inputs: SearchStrategy[Example]) -> Built:
    kind = metric.options.kind

    @st.composite
    def degenerate_inputs(draw: st.DrawFn) -> Example:
        ex = draw(inputs)
        a, b = ex["labels"], ex["predictions"]
        case = draw(st.sampled_from(_DEGENERATE_CASES))
        if case in ("constant labels", "both constant"):
            a = np.full_like(a, a[0])
        if case in ("constant predictions", "both constant"):
            b = np.full_like(b, b[0])
        if case == "identical" and kind == "probability":
            a = b = np.round(a).astype(np.float64)
            b = b.copy()
        elif case == "identical":
            b = a.astype(b.dtype)
        return {"case": case, "labels": a, "predictions": b}

    def check(ex: Example) -> None:
        value = metric.value(ex["labels"], ex["predictions"])
        metric.in_range(value, f"{metric.name} on {ex['case']}")

    return degenerate_inputs(), check


def _perfect(metric: _Metric, inputs: SearchStrategy[Example]) -> Built:
    kind, perfect = metric.options.kind, metric.options.perfect

    @st.composite
    def perfect_inputs(draw: st.DrawFn) -> Example:
        a = draw(inputs)["labels"]
        if kind == "probability":
            a = np.round(a).astype(np.float64)
        if a.size < 2:
            a = np.concatenate([a, a])
        if np.ptp(a) == 0:
            a = a.copy()
            a[-1] = (1.0 - a[0]) if kind == "probability" else a[0] + 1
        return {"labels": a, "predictions": a.copy()}

    def check(ex: Example) -> None:
        v = metric.value(ex["labels"], ex["predictions"])
        if not values_close(v, perfect, metric.options.rtol, max(metric.options.atol, 1e-9)):
            fail(f"{metric.name}(y, y) = {v!r}, expected the perfect value {perfect!r}")

    return perfect_inputs(), check


_BUILDERS: dict[str, Callable[[_Metric, SearchStrategy[Example]], Built]] = {
    "range": _range,
    "symmetry": _symmetry,
    "permutation": _permutation,
    "label_renaming": _label_renaming,
    "degenerate": _degenerate,
    "perfect": _perfect,
}


def _not_applicable(name: str, options: MetricOptions) -> str:
    if name == "symmetry" and not options.is_symmetric:
        return "not applicable (symmetric=False)"
    if name == "perfect" and options.perfect is None:
        return "no perfect value given"
    if name in options.skip:
        return "skipped by the caller"
    return ""


def metric_report(
    fn: Callable[[Any, Any], Any], options: MetricOptions, run: RunSettings
) -> PropertyReport:
    """Run every property of the metric battery on ``fn``."""
    name = getattr(fn, "__name__", type(fn).__name__)
    metric = _Metric(fn, name, options)
    inputs = metric_inputs(options)
    results = []
    for prop in METRIC_PROPERTIES:
        reason = _not_applicable(prop, options)
        if reason:
            results.append(PropertyResult(prop, "skipped", reason))
            continue
        strategy, check = _BUILDERS[prop](metric, inputs)
        results.append(run_property(prop, strategy, check, run))
    return PropertyReport(f"metric {name}", tuple(results))
