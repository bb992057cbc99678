"""The testing kit catches real bugs: broken metrics, calibrators and judges are flagged,
correct ones pass."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from hypothesis.errors import InvalidArgument

from judgecal import IsotonicCalibrator, LogisticCalibrator, Scale, metrics
from judgecal import strategies as jst
from judgecal.calibration.base import StagewiseCalibrator
from judgecal.persist import register
from judgecal.testing import (
    PropertyReport,
    PropertyResult,
    PropertyViolationError,
    assert_calibrated,
    assert_monotone,
    assert_permutation_invariant,
    assert_probabilities,
    assert_stage_renaming_invariant,
    check_calibrator,
    check_judge,
    check_metric,
)

# ----------------------------------------------------------------------------------------
# Assertions
# ----------------------------------------------------------------------------------------


def test_assert_probabilities() -> None:
    assert_probabilities(np.array([[0.2, 0.8], [1.0, 0.0]]))
    for bad, needle in (
        ([0.1, 1.2], "[1] = 1.2"),
        ([np.inf], "inf"),
        ([[0.5, 0.6]], "sums to"),
        ([[0.1, 0.2, 0.7]], "shape"),
    ):
        with pytest.raises(PropertyViolationError, match=re.escape(needle)):
            assert_probabilities(bad)


def test_assert_monotone_per_stage() -> None:
    assert_monotone([1, 2, 1, 2], [0.1, 0.2, 0.9, 0.95], stages=["a", "a", "b", "b"])
    with pytest.raises(PropertyViolationError, match="equal scores"):
        assert_monotone([1, 1], [0.1, 0.2])
    assert_monotone([1, 2], [0.9, 0.1], increasing=False)


def test_assert_calibrated_false_alarm_rate_and_power() -> None:
    """Calibrated predictions pass (<= 1 false alarm in 200 seeds); a 0.05 bias fails at large n."""
    false_alarms = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        p = rng.random(500)
        y = (rng.random(500) < p).astype(float)
        try:
            assert_calibrated(p, y)
        except PropertyViolationError:
            false_alarms += 1
    assert false_alarms <= 1
    rng = np.random.default_rng(0)
    p = rng.uniform(0.2, 0.8, 100_000)
    y = (rng.random(p.size) < p).astype(float)
    assert_calibrated(p, y)
    with pytest.raises(PropertyViolationError, match="not calibrated"):
        assert_calibrated(p + 0.05, y)
    # small n: the same bias is within the tolerance (it scales with 1/sqrt(n))
    assert_calibrated(p[:200] + 0.05, y[:200])
    # against the truth
    assert_calibrated(p, truth=p, n=50)
    with pytest.raises(PropertyViolationError):
        assert_calibrated(p + 0.05, truth=p, n=100_000)
    with pytest.raises(InvalidArgument):
        assert_calibrated(p, y, truth=p)


def test_permutation_and_stage_renaming_assertions() -> None:
    x = np.array([1.0, 2, 3, 4, 1, 2, 3, 4])
    y = np.array([0.0, 0, 1, 1, 0, 1, 1, 1])
    st = np.array(["a"] * 4 + ["b"] * 4)

    def fit_predict(x: Any, y: Any, stages: Any) -> Any:
        return (
            IsotonicCalibrator(min_stage_labels=2)
            .fit(x, y, stages=stages)
            .predict_agreement(x, stages=stages)
        )

    assert_permutation_invariant(lambda x, y, s: fit_predict(x, y, s), x, y, st)
    assert_stage_renaming_invariant(fit_predict, x, y, stages=st)

    def by_position(x: Any, y: Any, stages: Any) -> Any:  # keys stage models by sorted position
        names = sorted(set(stages.tolist()))
        return np.where(stages == names[0], 0.25, 0.75)

    with pytest.raises(PropertyViolationError, match="renamed"):
        assert_stage_renaming_invariant(by_position, x, y, stages=st, mapping={"a": "z", "b": "c"})
    with pytest.raises(PropertyViolationError, match="permuted"):
        assert_permutation_invariant(lambda x, y: np.cumsum(y) / np.arange(1, y.size + 1), x, y)


def test_assertions_inside_a_users_property_test() -> None:
    @settings(max_examples=15, deadline=None, derandomize=True)
    @given(jst.calibration_datasets(min_size=100, max_size=200))
    def prop(ds: jst.CalibrationDataset) -> None:
        cal = LogisticCalibrator().fit(ds.scores, ds.labels)
        p = cal.predict_proba(ds.scores)
        assert_probabilities(p)
        assert_monotone(ds.scores, p)

    prop()


def test_report_rendering_and_raise() -> None:
    r = PropertyReport("f", (PropertyResult("a", "passed"), PropertyResult("b", "skipped", "n/a")))
    assert r.ok and r.passed == ["a"] and r["b"].status == "skipped"
    assert r.raise_if_failed() is r
    with pytest.raises(KeyError):
        r["zzz"]
    bad = PropertyReport("f", (PropertyResult("c", "failed", "boom", {"x": np.arange(3)}),))
    with pytest.raises(
        PropertyViolationError, match=r"c: failed\n    boom\n    example: \{x=\[0, 1, 2\]\}"
    ):
        bad.raise_if_failed()


# ----------------------------------------------------------------------------------------
# Metrics: broken ones are flagged with the right property, correct ones pass
# ----------------------------------------------------------------------------------------


def signed_error(y: Any, p: Any) -> float:
    """Bug: not a loss; negative, and flips sign when the classes are swapped."""
    return float(np.mean(p - y))


def inverted_log_loss(y: Any, p: Any) -> float:
    """Bug: y and 1 - y swapped (like an inverted correction term)."""
    pc = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log1p(-pc) + (1 - y) * np.log(pc)))


def first_row_brier(y: Any, p: Any) -> float:
    """Bug: looks at the first row only (depends on row order)."""
    return float((p[0] - y[0]) ** 2)


def separation(y: Any, p: Any) -> float:
    """Bug: NaN when only one class is present."""
    with np.errstate(all="ignore"):
        return (
            float(np.mean(p[y == 1]) - np.mean(p[y == 0]))
            if (y == 1).any() and (y == 0).any()
            else float("nan")
        )


def naive_kappa(a: Any, b: Any) -> float:
    """Bug: (po - pe) / (1 - pe) is 0/0 = NaN on perfect agreement with one category."""
    cats = np.union1d(a, b)
    po = np.mean(a == b)
    pe = sum(np.mean(a == c) * np.mean(b == c) for c in cats)
    with np.errstate(all="ignore"):
        return float((po - pe) / (1 - pe))


def index_agreement(a: Any, b: Any) -> float:
    """Bug: assumes labels are 0..k-1 (uses them as indices; negative labels are dropped)."""
    k = int(max(a.max(), b.max())) + 1
    hits = sum(int(np.sum((a == c) & (b == c))) for c in range(max(k, 0)))
    return float(hits / a.size)


def category_overlap(a: Any, b: Any) -> float:
    """Bug: asymmetric (share of a's categories that b also uses)."""
    return len(set(a.tolist()) & set(b.tolist())) / len(set(a.tolist()))


def argsort_spearman(a: Any, b: Any) -> float:
    """Bug: ranks ties by position (argsort) instead of averaging them."""
    ra = np.argsort(np.argsort(a, kind="stable"), kind="stable").astype(float)
    rb = np.argsort(np.argsort(b, kind="stable"), kind="stable").astype(float)
    if a.size < 2:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def pearson(a: Any, b: Any) -> float:
    """Bug: NaN when either rater is constant."""
    with np.errstate(all="ignore"):
        return (
            float(np.corrcoef(a.astype(float), b.astype(float))[0, 1])
            if a.size > 1
            else float("nan")
        )


BROKEN_METRICS = [
    (signed_error, {"kind": "probability"}, {"range", "label_renaming"}),
    (inverted_log_loss, {"kind": "probability", "perfect": 0.0}, {"perfect"}),
    (first_row_brier, {"kind": "probability", "bounds": (0, 1), "min_size": 2}, {"permutation"}),
    (separation, {"kind": "probability", "bounds": (-1, 1)}, {"degenerate"}),
    (naive_kappa, {"kind": "nominal", "perfect": 1.0}, {"degenerate"}),
    (index_agreement, {"kind": "nominal", "bounds": (0, 1), "perfect": 1.0}, {"label_renaming"}),
    (category_overlap, {"kind": "nominal", "bounds": (0, 1)}, {"symmetry"}),
    (argsort_spearman, {"kind": "ordinal", "min_size": 2}, {"permutation"}),
    (pearson, {"kind": "ordinal", "min_size": 2, "perfect": 1.0}, {"degenerate"}),
]


@pytest.mark.parametrize(
    ("metric", "kwargs", "expected"), BROKEN_METRICS, ids=[m[0].__name__ for m in BROKEN_METRICS]
)
def test_broken_metrics_are_flagged(
    metric: Any, kwargs: dict[str, Any], expected: set[str]
) -> None:
    report = check_metric(metric, max_examples=25, max_size=10, **kwargs)
    assert expected <= set(report.failed), str(report)
    with pytest.raises(PropertyViolationError, match=f"metric {metric.__name__}"):
        report.raise_if_failed()
    for name in expected:  # the report carries the shrunk counterexample
        assert report[name].example is not None and report[name].message


def test_shrunk_example_is_minimal() -> None:
    report = check_metric(naive_kappa, kind="nominal", max_examples=40)
    ex = report["degenerate"].example
    assert ex is not None and len(ex["labels"]) == 1, ex  # hypothesis shrank to a single row
    assert "nan" in report["degenerate"].message


def accuracy(a: Any, b: Any) -> float:
    return float(np.mean(a == b))


CORRECT_METRICS = [
    (metrics.brier_score, {"kind": "probability", "bounds": (0, 1), "perfect": 0.0}),
    (metrics.log_loss, {"kind": "probability", "perfect": 0.0, "soft_labels": True}),
    (accuracy, {"kind": "nominal", "bounds": (0, 1), "perfect": 1.0}),
    (metrics.spearman_rho, {"kind": "ordinal", "min_size": 2, "perfect": 1.0}),
]  # every other judgecal metric runs the battery in test_properties.py


@pytest.mark.parametrize(
    ("metric", "kwargs"), CORRECT_METRICS, ids=[m[0].__name__ for m in CORRECT_METRICS]
)
def test_correct_metrics_pass(metric: Any, kwargs: dict[str, Any]) -> None:
    check_metric(metric, max_examples=25, max_size=12, **kwargs).raise_if_failed()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "interval"},
        {"kind": "probability", "symmetric": True},
        {"bounds": (1, 0)},
        {"min_size": 0},
        {"max_size": 0},
        {"max_categories": 1},
        {"max_examples": 0},
        {"derandomize": "yes"},
    ],
)
def test_check_metric_bad_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        check_metric(accuracy, **kwargs)


def test_check_metric_rejects_non_callable() -> None:
    with pytest.raises(InvalidArgument):
        check_metric("brier")  # type: ignore[arg-type]


def test_metric_returning_non_number_is_flagged() -> None:
    report = check_metric(lambda y, p: "0.5", kind="probability", max_examples=5, max_size=3)
    assert "range" in report.failed and "not a real number" in report["range"].message


# ----------------------------------------------------------------------------------------
# Calibrators
# ----------------------------------------------------------------------------------------


class RawScore(StagewiseCalibrator):
    """Bug: reads the raw judge score as a probability (ignores the labels)."""

    def _fit_one(self, x: Any, y: Any, w: Any) -> dict[str, Any]:
        return {"low": 1.0, "high": 5.0}

    def _predict_one(self, state: dict[str, Any], x: Any) -> Any:
        return np.clip((x - state["low"]) / (state["high"] - state["low"]), 0, 1)


class LinearProbability(StagewiseCalibrator):
    """Bug: least-squares line, not clipped to [0, 1]."""

    def _fit_one(self, x: Any, y: Any, w: Any) -> dict[str, Any]:
        b, a = (
            np.polyfit(x, y, 1, w=np.sqrt(w))
            if np.ptp(x) > 0
            else (0.0, float(np.average(y, weights=w)))
        )
        return {"a": float(a), "b": float(b)}

    def _predict_one(self, state: dict[str, Any], x: Any) -> Any:
        return state["a"] + state["b"] * x


class Flipped(IsotonicCalibrator):
    """Bug: returns P(disagree) instead of P(agree)."""

    def _predict_one(self, state: dict[str, Any], x: Any) -> Any:
        return 1.0 - super()._predict_one(state, x)


class FirstRows(IsotonicCalibrator):
    """Bug: fits on the first 60 rows only (depends on row order)."""

    def _fit_one(self, x: Any, y: Any, w: Any) -> dict[str, Any]:
        return super()._fit_one(x[:60], y[:60], w[:60])


class StagePositional(IsotonicCalibrator):
    """Bug: stage models remembered in order of first appearance, looked up by sorted position."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None, *, stages: Any = None) -> Any:
        super().fit(X, y, sample_weight, stages=stages)
        self.appearance_ = list(dict.fromkeys(np.asarray(stages, dtype=str).tolist()))
        return self

    def predict_agreement(self, X: Any, *, stages: Any = None) -> Any:
        if stages is None:
            return super().predict_agreement(X)
        by_sorted = dict(zip(sorted(self.appearance_), self.appearance_, strict=True))
        st = [by_sorted.get(s, s) for s in np.asarray(stages, dtype=str).tolist()]
        return super().predict_agreement(X, stages=np.asarray(st))


@register
class LossyIsotonic(IsotonicCalibrator):
    """Bug: saves its state rounded to 6 decimals."""

    def _get_state(self) -> dict[str, Any]:
        state = super()._get_state()

        def rnd(s: dict[str, Any]) -> dict[str, Any]:
            return {k: np.round(v, 6) for k, v in s.items()}

        return {
            **state,
            "pooled": rnd(state["pooled"]),
            "stages": {k: rnd(v) for k, v in state["stages"].items()},
        }


BROKEN_CALIBRATORS = [
    (RawScore, {"calibrated"}),
    (LinearProbability, {"probabilities"}),
    (Flipped, {"monotone", "calibrated"}),
    (FirstRows, {"permutation"}),
    (StagePositional, {"stage_renaming"}),
    (LossyIsotonic, {"round_trip"}),
]


@pytest.mark.parametrize(
    ("cls", "expected"), BROKEN_CALIBRATORS, ids=[c[0].__name__ for c in BROKEN_CALIBRATORS]
)
def test_broken_calibrators_are_flagged(cls: Any, expected: set[str]) -> None:
    report = check_calibrator(cls, max_examples=5, min_size=200, max_size=400)
    assert expected <= set(report.failed), str(report)


@pytest.mark.parametrize("cls", [IsotonicCalibrator, LogisticCalibrator])
def test_correct_calibrators_pass(cls: Any) -> None:
    check_calibrator(cls, max_examples=5, min_size=200, max_size=400).raise_if_failed()


def test_calibrator_without_stages_and_unregistered() -> None:
    report = check_calibrator(
        RawScore, stages=None, calibrated=False, max_examples=3, min_size=50, max_size=80
    )
    assert report.ok
    assert report["stage_renaming"].status == "skipped" and report["round_trip"].status == "skipped"
    with pytest.raises(InvalidArgument):
        check_calibrator("isotonic")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------
# Judges (metamorphic)
# ----------------------------------------------------------------------------------------

_CONTENT = {"detailed", "steps", "tips", "example", "clear"}


def fair_judge(text: str) -> str:
    words = re.findall(r"[a-z]+", text.lower())
    return f"Score: {1 + min(4, sum(w in _CONTENT for w in words))}"


def flattered_judge(text: str) -> str:
    base = 1 + min(3, sum(w in _CONTENT for w in re.findall(r"[a-z]+", text.lower())))
    return f"Score: {base + any(a in text.lower() for a in jst.ATTRIBUTES)}"


def length_judge(text: str) -> float:
    return min(10.0, len(text) / 30)


def first_pick_judge(first: str, second: str) -> str:
    return "first" if len(first) >= len(second) - 10 else "second"


def fair_pair_judge(first: str, second: str) -> str:
    a = float(fair_judge(first).split()[-1])
    b = float(fair_judge(second).split()[-1])
    return "first" if a > b else "second" if a < b else "tie"


LIKERT = Scale.likert(5)
PAIR = Scale.verdict("second", "tie", "first")


def test_fair_judge_passes_every_change() -> None:
    check_judge(
        fair_judge, scale=LIKERT, changes=["mention", "formatting"], max_examples=30
    ).raise_if_failed()
    check_judge(fair_pair_judge, scale=PAIR, changes=["order"], max_examples=30).raise_if_failed()


def test_mention_bias_is_caught_with_counterexample() -> None:
    report = check_judge(
        flattered_judge, scale=LIKERT, changes=["mention", "formatting"], max_examples=30
    )
    assert report.failed == ["mention"]
    ex = report["mention"].example
    assert ex is not None and ex["changed_score"] == ex["score"] + 1
    assert any(a in ex["changed"].lower() for a in jst.ATTRIBUTES)
    assert "mention change" in report["mention"].message


def test_formatting_and_order_bias_are_caught() -> None:
    assert check_judge(length_judge, changes=["formatting"], max_examples=30).failed == [
        "formatting"
    ]
    report = check_judge(first_pick_judge, scale=PAIR, changes=["order"], max_examples=30)
    assert report.failed == ["order"] and "swapped" in report["order"].message


def test_custom_change_and_tolerance() -> None:
    def shout(text: str) -> Any:
        return hst.just(text.upper())

    def case_sensitive(text: str) -> float:
        return float(sum(c.isupper() for c in text) > 3)

    assert check_judge(case_sensitive, changes=[shout], max_examples=20).failed == ["shout"]
    assert check_judge(length_judge, changes=["formatting"], tolerance=10, max_examples=20).ok


@pytest.mark.parametrize(
    "kwargs",
    [
        {"changes": []},
        {"changes": "mention"},
        {"changes": ["colour"]},
        {"changes": ["order"]},
        {"tolerance": -1},
        {"scale": "likert"},
        {"texts_strategy": ["a", "b"]},
        {"max_examples": 0},
    ],
)
def test_check_judge_bad_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        check_judge(fair_judge, **kwargs)


def test_judge_with_non_numeric_output_needs_a_scale() -> None:
    report = check_judge(fair_judge, changes=["formatting"], max_examples=3)
    assert report.failed == ["formatting"] and "pass scale=" in report["formatting"].message


def test_bad_change_or_skip_is_refused_before_anything_runs() -> None:
    """Before: an unknown change raised only after the earlier properties had run the judge."""
    calls: list[str] = []

    def counting_judge(text: str) -> float:
        calls.append(text)
        return 1.0

    with pytest.raises(InvalidArgument, match="colour"):
        check_judge(counting_judge, changes=["formatting", "colour"], max_examples=5)
    assert calls == []

    def counting_metric(y: Any, p: Any) -> float:
        calls.append("metric")
        return 0.0

    with pytest.raises(InvalidArgument, match="unknown properties"):
        check_metric(counting_metric, skip=["range", "speed"], max_examples=5)
    assert calls == []


def test_properties_run_as_small_functions_with_options() -> None:
    """The batteries' parts are usable on their own: options dataclasses validate on creation."""
    from judgecal.testing.engine import RunSettings
    from judgecal.testing.metric_battery import MetricOptions, metric_report

    with pytest.raises(InvalidArgument):
        MetricOptions(kind="probability", symmetric=True)
    with pytest.raises(InvalidArgument):
        RunSettings(max_examples=0)
    report = metric_report(accuracy, MetricOptions(kind="nominal"), RunSettings(max_examples=5))
    assert report.subject == "metric accuracy" and report["perfect"].status == "skipped"
