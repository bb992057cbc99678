"""Property tests for every public metric and calibrator, built from judgecal.testing.strategies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from judgecal import IsotonicCalibrator, JudgmentSet, LogisticCalibrator, Scale, metrics, persist
from judgecal import strategies as jst
from judgecal.testing import (
    assert_monotone,
    assert_permutation_invariant,
    assert_probabilities,
    assert_stage_renaming_invariant,
    check_calibrator,
    check_metric,
)

PROPS = settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

# ----------------------------------------------------------------------------------------
# Metrics: the battery (range, symmetry, permutation, label renaming, degenerate, perfect)
# ----------------------------------------------------------------------------------------


def ece_quantile(y: Any, p: Any) -> float:
    return metrics.expected_calibration_error(y, p, strategy="quantile")


def kappa_linear(a: Any, b: Any) -> float:
    return metrics.cohen_kappa(a, b, weights="linear")


def kappa_quadratic(a: Any, b: Any) -> float:
    return metrics.cohen_kappa(a, b, weights="quadratic")


def kendall_c(a: Any, b: Any) -> float:
    return metrics.kendall_tau(a, b, variant="c")


def ece_via_curve(y: Any, p: Any) -> float:
    return metrics.reliability_curve(y, p, n_bins=5).ece


# Equal-width and quantile bins put a prediction that sits exactly on a bin edge into the
# upper bin, so swapping the classes (p -> 1 - p) can move it to another bin: binned ECE is
# not exactly invariant under renaming. That is checked off the edges below instead.
METRIC_CASES = [
    (
        metrics.brier_score,
        {"kind": "probability", "bounds": (0, 1), "perfect": 0.0, "soft_labels": True},
    ),
    (metrics.log_loss, {"kind": "probability", "perfect": 0.0, "soft_labels": True}),
    (
        metrics.expected_calibration_error,
        {"kind": "probability", "bounds": (0, 1), "perfect": 0.0, "skip": ["label_renaming"]},
    ),
    (
        ece_quantile,
        {"kind": "probability", "bounds": (0, 1), "perfect": 0.0, "skip": ["label_renaming"]},
    ),
    (
        ece_via_curve,
        {"kind": "probability", "bounds": (0, 1), "perfect": 0.0, "skip": ["label_renaming"]},
    ),
    (metrics.cohen_kappa, {"kind": "nominal", "perfect": 1.0}),
    (kappa_linear, {"kind": "ordinal", "perfect": 1.0}),
    (kappa_quadratic, {"kind": "ordinal", "perfect": 1.0}),
    (metrics.spearman_rho, {"kind": "ordinal", "min_size": 2, "perfect": 1.0}),
    (metrics.kendall_tau, {"kind": "ordinal", "min_size": 2, "perfect": 1.0}),
    (kendall_c, {"kind": "ordinal", "min_size": 2}),
]


@pytest.mark.parametrize(
    ("metric", "kwargs"), METRIC_CASES, ids=[m[0].__name__ for m in METRIC_CASES]
)
def test_metric_battery(metric: Any, kwargs: dict[str, Any]) -> None:
    check_metric(metric, max_examples=30, max_size=15, **kwargs).raise_if_failed()


off_edge = st.floats(0, 1).filter(lambda v: not float(v * 10).is_integer())


@PROPS
@given(st.lists(st.tuples(st.sampled_from([0.0, 1.0]), off_edge), min_size=1, max_size=30))
def test_ece_invariant_under_class_swap_off_bin_edges(rows: list[tuple[float, float]]) -> None:
    y = np.array([r[0] for r in rows])
    p = np.round(np.array([r[1] for r in rows]) * 2.0**30) / 2.0**30
    p = np.where((p * 10) % 1 == 0, p + 2.0**-30, p)
    a = metrics.expected_calibration_error(y, p)
    b = metrics.expected_calibration_error(1 - y, 1 - p)
    assert a == pytest.approx(b, rel=1e-9, abs=1e-12)


@PROPS
@given(
    st.integers(1, 40).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(0, 1), min_size=n, max_size=n),
            st.lists(st.floats(0, 1), min_size=n, max_size=n),
            st.lists(st.floats(0.01, 5), min_size=n, max_size=n),
        )
    ),
    st.integers(1, 12),
    st.sampled_from(["uniform", "quantile"]),
)
def test_reliability_curve_properties(
    data: tuple[list[float], ...], n_bins: int, strategy: str
) -> None:
    y, p, w = (np.asarray(v) for v in data)
    c = metrics.reliability_curve(y, p, n_bins=n_bins, strategy=strategy, sample_weight=w)  # type: ignore[arg-type]
    assert c.weight.sum() == pytest.approx(w.sum())
    for arr in (c.observed, c.mean_predicted, c.bin_low, c.bin_high):
        assert np.isfinite(arr).all() and ((arr >= -1e-12) & (arr <= 1 + 1e-12)).all()
    assert (c.bin_low <= c.mean_predicted + 1e-12).all() and (
        c.mean_predicted <= c.bin_high + 1e-12
    ).all()
    ece = metrics.expected_calibration_error(
        y,
        p,
        n_bins=n_bins,
        strategy=strategy,  # type: ignore[arg-type]
        sample_weight=w,
    )
    assert ece == pytest.approx(c.ece, abs=1e-12)


@PROPS
@given(jst.calibration_datasets(min_size=10, max_size=60), st.sampled_from([0.5, 0.8, 0.95]))
def test_bootstrap_ci_contains_estimate(ds: jst.CalibrationDataset, level: float) -> None:
    p = ds.scale.to_unit(ds.scores)
    ci = metrics.bootstrap_ci(
        metrics.brier_score, ds.labels, p, n_resamples=50, level=level, seed=1
    )
    assert ci.low <= ci.estimate <= ci.high and ci.level == level
    assert ci == metrics.bootstrap_ci(
        metrics.brier_score, ds.labels, p, n_resamples=50, level=level, seed=1
    )


# ----------------------------------------------------------------------------------------
# Calibrators
# ----------------------------------------------------------------------------------------

CALIBRATORS: list[Callable[[], Any]] = [
    lambda: IsotonicCalibrator(min_stage_labels=5),
    lambda: LogisticCalibrator(min_stage_labels=5),
    lambda: LogisticCalibrator(prior_scale=float("inf"), min_stage_labels=5),
]
CAL_IDS = ["isotonic", "logistic", "logistic-mle"]
STAGES = ("extraction", "selection", "generation")


def _grid(scale: Scale) -> np.ndarray[Any, Any]:
    if scale.kind == "numeric":
        inside = np.linspace(scale.low, scale.high, 33)
        return np.concatenate([inside, [scale.low - 1e6, scale.high + 1e6]])  # off-scale scores too
    return np.arange(scale.low, scale.high + 1.0)


datasets = st.one_of(
    jst.calibration_datasets(stages=STAGES, min_size=20, max_size=150, raters=1),
    jst.calibration_datasets(
        scale=Scale.numeric(0, 100), stages=STAGES, min_size=20, max_size=150, raters=3
    ),
    jst.calibration_datasets(
        scale=Scale.verdict("no", "yes"), stages=STAGES[:2], min_size=20, max_size=80
    ),
)


@pytest.mark.parametrize("make", CALIBRATORS, ids=CAL_IDS)
def test_calibrator_properties(make: Any) -> None:
    @PROPS
    @given(datasets, st.integers(0, 2**16))
    def prop(ds: jst.CalibrationDataset, seed: int) -> None:
        cal = make().fit(ds.scores, ds.labels, ds.weights, stages=ds.stages)
        grid = _grid(ds.scale)
        names = [*sorted(set(ds.stages.tolist())), "never-seen"]
        xs = np.tile(grid, len(names))
        ss = np.repeat(names, grid.size)
        proba = cal.predict_proba(xs, stages=ss)
        assert_probabilities(proba)
        if isinstance(cal, IsotonicCalibrator):
            assert_monotone(xs, proba[:, 1], stages=ss)
        else:  # Platt's slope is unconstrained: monotone, in one direction per stage
            for name in names:
                m = ss == name
                try:
                    assert_monotone(xs[m], proba[m, 1])
                except AssertionError:
                    assert_monotone(xs[m], proba[m, 1], increasing=False)
        # same predictions through predict_agreement, and pooled for a stage never seen
        np.testing.assert_array_equal(cal.predict_agreement(xs, stages=ss), proba[:, 1])
        np.testing.assert_array_equal(proba[ss == "never-seen", 1], cal.predict_agreement(grid))

        def fit_predict(x: Any, y: Any, w: Any, stages: Any) -> Any:
            return make().fit(x, y, w, stages=stages).predict_agreement(x, stages=stages)

        assert_permutation_invariant(
            fit_predict, ds.scores, ds.labels, ds.weights, ds.stages, seed=seed
        )
        assert_stage_renaming_invariant(
            lambda x, y, w, stages: fit_predict(x, y, w, stages),
            ds.scores,
            ds.labels,
            ds.weights,
            stages=ds.stages,
        )
        # bit-identical round trip through JSON
        again = persist.loads(persist.dumps(cal))
        np.testing.assert_array_equal(again.predict_proba(xs, stages=ss), proba)
        assert again.get_params() == cal.get_params()

    prop()


@pytest.mark.parametrize("cls", [IsotonicCalibrator, LogisticCalibrator])
def test_calibrator_battery_on_known_truth(cls: Any) -> None:
    """Calibrated against the true P(agree | score) within tolerances that shrink with n."""
    check_calibrator(cls, max_examples=5, min_size=300, max_size=800, raters=2).raise_if_failed()


def test_save_load_file_round_trip_bit_identical(tmp_path: Path) -> None:
    @settings(max_examples=10, deadline=None, derandomize=True)
    @given(
        jst.calibration_datasets(stages=STAGES, min_size=40, max_size=120), st.sampled_from(CAL_IDS)
    )
    def prop(ds: jst.CalibrationDataset, which: str) -> None:
        cal = CALIBRATORS[CAL_IDS.index(which)]().fit(ds.scores, ds.labels, stages=ds.stages)
        path = persist.save(cal, tmp_path / "cal.json")
        again = persist.load(path)
        x = np.linspace(ds.scale.low, ds.scale.high, 101)
        for name in STAGES:
            np.testing.assert_array_equal(
                again.predict_agreement(x, stages=name), cal.predict_agreement(x, stages=name)
            )

    prop()


@PROPS
@given(
    jst.judgment_sets(
        label_kind="binary",
        min_size=3,
        max_size=30,
        min_raters=1,
        judge_failures=True,
        scale=Scale.likert(5),
    )
)
def test_fit_from_judgment_sets(js: Any) -> None:
    use = js.scored().labelled()
    if len(use) == 0:
        return
    y, w = use.targets()
    cal = IsotonicCalibrator(min_stage_labels=1).fit(use.scores(), y, w, stages=use.stages())
    assert_probabilities(cal.predict_proba(use.scores(), stages=use.stages()))


def test_logistic_is_increasing_in_the_score() -> None:
    """Found by the battery: an unconstrained slope inverted the judge on a 20-item stage."""
    from judgecal.testing.strategies import AgreementCurve, CalibrationDataset, Distortion

    ds = CalibrationDataset.simulate(
        Scale.verdict("no", "yes"),
        n=20,
        seed=87,
        curves={"extraction": AgreementCurve(0.0, 2.0), "selection": AgreementCurve(0.0, 2.0)},
        distortion=Distortion(compression=1.0),
    )
    cal = LogisticCalibrator(min_stage_labels=5).fit(ds.scores, ds.labels, stages=ds.stages)
    x = np.array([0.0, 1.0])
    for name in ("extraction", "selection"):
        assert_monotone(x, cal.predict_agreement(x, stages=name))


def _bayes() -> Any:
    from judgecal import BayesianCalibrator

    return BayesianCalibrator(score_range=(1, 5), random_state=0)


def test_bayesian_calibrator_battery() -> None:
    """BayesianCalibrator: probabilities, monotone, permutation, calibrated, round trip."""
    report = check_calibrator(_bayes, max_examples=4, min_size=200, max_size=400)
    assert not report.failed, str(report)


def test_bayesian_calibrator_stage_renaming() -> None:
    """Found by the battery: draws followed the sorted stage names; now ordered by their data."""
    report = check_calibrator(_bayes, max_examples=4, min_size=200, max_size=400)
    assert "stage_renaming" not in report.failed, str(report)


# ----------------------------------------------------------------------------------------
# Estimators (judgecal.estimate), from known-truth datasets
# ----------------------------------------------------------------------------------------


@PROPS
@given(
    jst.calibration_datasets(min_size=40, max_size=300), st.integers(10, 35), st.integers(0, 2**16)
)
def test_ppi_mean_properties(ds: jst.CalibrationDataset, n_lab: int, seed: int) -> None:
    from judgecal import ppi_mean

    y, p = ds.labels[:n_lab], ds.scale.to_unit(ds.scores)
    pl, pu = p[:n_lab], p[n_lab:]
    ci = ppi_mean(y, pl, pu, level=0.9)
    assert ci.low <= ci.estimate <= ci.high and np.isfinite([ci.low, ci.high]).all()
    wide = ppi_mean(y, pl, pu, level=0.99)
    assert wide.low <= ci.low + 1e-12 and ci.high <= wide.high + 1e-12
    rng = np.random.default_rng(seed)
    pm, pu_m = rng.permutation(n_lab), rng.permutation(pu.size)
    again = ppi_mean(y[pm], pl[pm], pu[pu_m], level=0.9)
    assert again.estimate == pytest.approx(ci.estimate, abs=1e-12)
    assert again.low == pytest.approx(ci.low, abs=1e-12) and again.high == pytest.approx(
        ci.high, abs=1e-12
    )


def _hide_labels(ds: jst.CalibrationDataset, keep: int) -> JudgmentSet:
    js = ds.to_judgments()
    items = [
        j if i < keep else j.model_copy(update={"ratings": (), "label_kind": None})
        for i, j in enumerate(js)
    ]
    return JudgmentSet(items, scale=js.scale)


@settings(
    max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    jst.calibration_datasets(stages=("a", "b"), min_size=150, max_size=300), st.integers(0, 2**16)
)
def test_estimate_rate_properties(ds: jst.CalibrationDataset, seed: int) -> None:
    from judgecal import estimate_rate

    js = _hide_labels(ds, 60)
    r = estimate_rate(js)
    assert 0 <= r.low <= r.estimate <= r.high <= 1
    renamed = JudgmentSet(
        [j.model_copy(update={"stage": {"a": "zz", "b": "aa"}[j.stage]}) for j in js],
        scale=js.scale,
    )
    r2 = estimate_rate(renamed)
    assert (r2.estimate, r2.low, r2.high) == pytest.approx((r.estimate, r.low, r.high), abs=1e-12)
    # cross-fitting folds follow row order, so shuffling rows moves the estimate by fold noise only
    r3 = estimate_rate(js.take(np.random.default_rng(seed).permutation(len(js))))
    assert abs(r3.estimate - r.estimate) < 0.25 * (r.high - r.low) + 1e-9
