from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from judgecal import (
    InputError,
    bootstrap_ci,
    brier_score,
    cohen_kappa,
    expected_calibration_error,
    kendall_tau,
    log_loss,
    reliability_curve,
    reliability_diagram,
    spearman_rho,
)


def test_agree_with_sklearn_and_scipy() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    p = rng.random(500)
    w = rng.random(500)
    assert brier_score(y, p, sample_weight=w) == pytest.approx(
        skm.brier_score_loss(y, p, sample_weight=w)
    )
    assert log_loss(y, p, sample_weight=w) == pytest.approx(skm.log_loss(y, p, sample_weight=w))
    a = rng.integers(0, 4, 300)
    b = np.clip(a + rng.integers(-1, 2, 300), 0, 3)
    for wt in (None, "linear", "quadratic"):
        assert cohen_kappa(a, b, weights=wt) == pytest.approx(
            skm.cohen_kappa_score(a, b, weights=wt)
        )


def test_kappa_textbook_example() -> None:
    # Cohen (1960)-style 2x2 example: 50 items, a says yes 25, b 30; agree on 20 yes + 15 no
    a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    # po = 0.7, pe = 0.5*0.6 + 0.5*0.4 = 0.5, kappa = 0.4
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_degenerate_inputs_are_defined() -> None:
    assert cohen_kappa([1, 1, 1], [1, 1, 1]) == 1.0
    assert cohen_kappa([2, 2], [2, 2], weights="quadratic") == 1.0
    assert spearman_rho([1, 1, 1], [1, 1, 1]) == 0.0
    assert kendall_tau([3, 3, 3], [1, 2, 3]) == 0.0
    assert expected_calibration_error([1, 1, 1], [1.0, 1.0, 1.0]) == 0.0
    assert np.isfinite(log_loss([1, 0], [0.0, 1.0]))
    c = reliability_curve([0, 1], [0.5, 0.5], strategy="quantile")
    assert c.weight.tolist() == [2.0]


def test_ece_bins() -> None:
    y = [0, 0, 1, 1]
    p = [0.1, 0.3, 0.6, 0.9]
    # uniform 2 bins: [0.1,0.3] -> mean .2 vs 0; [.6,.9] -> .75 vs 1 ; ece = .5*.2+.5*.25
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.225)
    assert expected_calibration_error(y, p, n_bins=2, strategy="quantile") == pytest.approx(0.225)


def test_ece_detects_miscalibration_over_seeds() -> None:
    """A calibrated predictor has lower ECE than a compressed one in every seed."""
    for seed in range(50):
        rng = np.random.default_rng(seed)
        p = rng.random(2000)
        y = (rng.random(2000) < p).astype(float)
        squeezed = 0.5 + 0.3 * (p - 0.5)
        assert expected_calibration_error(y, p) < expected_calibration_error(y, squeezed)


@pytest.mark.parametrize(
    ("fn", "args", "match"),
    [
        (brier_score, ([0, 1], [0.5, 1.5]), r"\[0, 1\]"),
        (brier_score, ([0, 1], [0.5]), "length 2"),
        (log_loss, ([0, np.nan], [0.5, 0.5]), "finite"),
        (expected_calibration_error, ([0, 1], [0.2, 0.3]), None),
        (spearman_rho, ([1], [2]), "at least 2"),
        (cohen_kappa, ([1, None], [1, 1]), "None"),
        (cohen_kappa, (["a", "b"], ["a", "b"]), None),
    ],
)
def test_bad_input(fn, args, match) -> None:  # type: ignore[no-untyped-def]
    if match is None:
        assert np.isfinite(fn(*args))
    else:
        with pytest.raises(InputError, match=match):
            fn(*args)
    with pytest.raises(InputError, match="n_bins"):
        expected_calibration_error([0, 1], [0.2, 0.3], n_bins=0)
    with pytest.raises(InputError, match="numeric labels"):
        cohen_kappa(["a", "b"], ["a", "b"], weights="linear")


def test_bootstrap_interval_covers() -> None:
    """90% bootstrap intervals for the Brier score cover the population value in ~90% of seeds."""
    hits = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        p = rng.random(300)
        y = (rng.random(300) < p).astype(float)
        ci = bootstrap_ci(brier_score, y, p, n_resamples=200, seed=seed)
        hits += ci.low <= 1 / 6 <= ci.high  # E[(p - y)^2] = E[p(1-p)] = 1/6 for p ~ U(0, 1)
    assert 0.84 <= hits / 200 <= 0.96


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=50))
def test_metric_properties(pairs: list[tuple[float, float]]) -> None:
    y = np.array([a for a, _ in pairs])
    p = np.array([b for _, b in pairs])
    for value in (brier_score(y, p), expected_calibration_error(y, p), log_loss(y, p)):
        assert np.isfinite(value) and value >= 0
    assert brier_score(y, p) <= 1
    perm = np.random.default_rng(0).permutation(y.size)
    assert brier_score(y[perm], p[perm]) == pytest.approx(brier_score(y, p))
    assert expected_calibration_error(y[perm], p[perm]) == pytest.approx(
        expected_calibration_error(y, p)
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=40))
def test_kappa_properties(pairs: list[tuple[int, int]]) -> None:
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    k = cohen_kappa(a, b)
    assert np.isfinite(k) and -1 <= k <= 1
    assert k == pytest.approx(cohen_kappa(b, a))
    names = {0: "w", 1: "x", 2: "y", 3: "z"}
    assert k == pytest.approx(cohen_kappa([names[v] for v in a], [names[v] for v in b]))
    assert cohen_kappa(a, a) == 1.0


def test_reliability_diagram_writes_png(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r.png"
    reliability_diagram([0, 1, 1, 0], {"judge": [0.2, 0.7, 0.9, 0.4]}, path=out, title="t")
    assert out.stat().st_size > 1000
    with pytest.raises(InputError, match="predictions"):
        reliability_diagram([0, 1], {})


def test_huge_weights_give_the_unweighted_value_not_nan() -> None:
    """Issue 16: weights of 1e307 overflowed their sum and gave NaN."""
    y, p = [0, 1, 1, 0] * 10, [0.2, 0.7, 0.9, 0.4] * 10
    huge = [1e307] * 40
    assert brier_score(y, p, sample_weight=huge) == pytest.approx(brier_score(y, p))
    assert log_loss(y, p, sample_weight=huge) == pytest.approx(log_loss(y, p))
    assert expected_calibration_error(y, p, sample_weight=huge) == pytest.approx(
        expected_calibration_error(y, p)
    )
    curve = reliability_curve(y, p, sample_weight=huge, n_bins=2)
    assert np.isfinite(curve.weight).all() and np.isfinite(curve.observed).all()


def test_cohen_kappa_refuses_every_missing_marker() -> None:
    """Issue 16: pd.NA and NaT passed as labels; kappa needs both ratings of a pair."""
    pd = pytest.importorskip("pandas")
    for marker in (None, float("nan"), np.float32("nan"), pd.NA, pd.NaT):
        with pytest.raises(InputError, match=r"'b'.*missing"):
            cohen_kappa([1, 2, 1], [1, marker, 2])
