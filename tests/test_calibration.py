from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simjudges import simulate
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline

from judgecal import (
    InputError,
    IsotonicCalibrator,
    LogisticCalibrator,
    NotFittedError,
    Scale,
    SmallSampleWarning,
    brier_score,
    expected_calibration_error,
)

CALIBRATORS = [IsotonicCalibrator, LogisticCalibrator]


@pytest.mark.parametrize("cls", CALIBRATORS)
@pytest.mark.parametrize("kind", ["compressed", "shifted"])
@pytest.mark.parametrize("discrete", [True, False])
def test_calibration_beats_raw_judge_over_seeds(cls: type, kind: str, discrete: bool) -> None:
    """With 200 labels, calibrated Brier and ECE beat the raw judge in >= 95% of 100 seeds."""
    scale = Scale.likert(5)
    wins_brier = wins_ece = 0
    gaps = []
    for seed in range(100):
        rng = np.random.default_rng(seed)
        s, y, _ = simulate(kind, 200, rng, discrete=discrete)
        st_, yt, pt = simulate(kind, 3000, rng, discrete=discrete)
        cal = cls().fit(s, y)
        p = cal.predict_proba(st_)[:, 1]
        raw = scale.to_unit(st_)
        wins_brier += brier_score(yt, p) < brier_score(yt, raw)
        wins_ece += expected_calibration_error(yt, p) < expected_calibration_error(yt, raw)
        gaps.append(brier_score(yt, p) - brier_score(yt, pt))
    assert wins_brier >= 95
    assert wins_ece >= 95
    # and it gets close to the oracle that knows the true curve
    assert float(np.mean(gaps)) < 0.01


@pytest.mark.parametrize("cls", CALIBRATORS)
def test_probabilities_track_truth(cls: type) -> None:
    rng = np.random.default_rng(7)
    s, y, _ = simulate("compressed", 5000, rng)
    cal = cls().fit(s, y)
    grid = np.arange(1, 6, dtype=float)
    truth = 1 / (1 + np.exp(-2.5 * (grid - 3)))
    tol = (
        0.05 if cls is IsotonicCalibrator else 0.08
    )  # the logistic family is not the true link here
    assert np.max(np.abs(cal.predict_proba(grid)[:, 1] - truth)) < tol


def test_per_stage_fit_beats_pooled_when_stages_differ() -> None:
    wins = 0
    for seed in range(50):
        rng = np.random.default_rng(seed)
        s1, y1, _ = simulate("compressed", 300, rng)
        s2, y2, _ = simulate("shifted", 300, rng)
        s = np.r_[s1, s2]
        y = np.r_[y1, y2]
        stages = np.r_[["a"] * 300, ["b"] * 300]
        t1, u1, _ = simulate("compressed", 2000, rng)
        t2, u2, _ = simulate("shifted", 2000, rng)
        t = np.r_[t1, t2]
        u = np.r_[u1, u2]
        tst = np.r_[["a"] * 2000, ["b"] * 2000]
        staged = IsotonicCalibrator().fit(s, y, stages=stages).predict_proba(t, stages=tst)[:, 1]
        pooled = IsotonicCalibrator().fit(s, y).predict_proba(t)[:, 1]
        wins += brier_score(u, staged) < brier_score(u, pooled)
    assert wins >= 48


def test_small_stage_uses_pooled_fit_with_warning() -> None:
    rng = np.random.default_rng(0)
    s, y, _ = simulate("compressed", 220, rng)
    stages = np.array(["big"] * 200 + ["tiny"] * 20)
    with pytest.warns(SmallSampleWarning, match=r"tiny \(20\)"):
        cal = IsotonicCalibrator(min_stage_labels=30).fit(s, y, stages=stages)
    assert set(cal.stage_states_) == {"big"}
    grid = np.arange(1.0, 6.0)
    np.testing.assert_array_equal(
        cal.predict_proba(grid, stages=["tiny"] * 5), cal.predict_proba(grid)
    )


def test_unknown_stage_policy() -> None:
    rng = np.random.default_rng(1)
    s, y, _ = simulate("compressed", 200, rng)
    stages = np.array(["a", "b"] * 100)
    cal = LogisticCalibrator().fit(s, y, stages=stages)
    pooled = cal.predict_proba([3.0])
    np.testing.assert_array_equal(cal.predict_proba([3.0], stages=["zzz"]), pooled)
    strict = LogisticCalibrator(unknown_stage="raise").fit(s, y, stages=stages)
    with pytest.raises(InputError, match="stages seen in fit"):
        strict.predict_proba([3.0], stages=["zzz"])


@pytest.mark.parametrize("cls", CALIBRATORS)
def test_soft_labels_equal_expanded_ratings(cls: type) -> None:
    """A soft label with weight k equals k separate 0/1 ratings."""
    rng = np.random.default_rng(3)
    s = rng.integers(1, 6, 80).astype(float)
    k = rng.integers(1, 4, 80)
    pos = np.array([rng.integers(0, kk + 1) for kk in k])
    soft = cls().fit(s, pos / k, sample_weight=k)
    xs = np.repeat(s, k)
    ys = np.concatenate([[1.0] * a + [0.0] * (b - a) for a, b in zip(pos, k, strict=True)])
    xs_sorted = np.concatenate([[v] * b for v, b in zip(s, k, strict=True)])
    assert np.array_equal(xs, xs_sorted)
    hard = cls().fit(xs, ys)
    grid = np.linspace(0.5, 5.5, 23)
    np.testing.assert_allclose(soft.predict_proba(grid), hard.predict_proba(grid), atol=1e-9)


@pytest.mark.parametrize("cls", CALIBRATORS)
def test_out_of_range_scores_are_clipped_not_nan(cls: type) -> None:
    cal = cls().fit([1, 2, 3, 4, 5], [0, 0, 1, 1, 1])
    p = cal.predict_proba([-100.0, 0.0, 6.0, 1e9])[:, 1]
    assert np.isfinite(p).all() and ((p > 0) & (p < 1)).all()


def test_isotonic_bounds_keep_log_loss_finite() -> None:
    cal = IsotonicCalibrator().fit([1, 1, 5, 5], [0, 0, 1, 1])
    p = cal.predict_proba([1, 5])[:, 1]
    assert p[0] == pytest.approx(1 / 6) and p[1] == pytest.approx(5 / 6)


@pytest.mark.parametrize("cls", CALIBRATORS)
def test_sklearn_contract(cls: type) -> None:
    rng = np.random.default_rng(0)
    s, y, _ = simulate("compressed", 300, rng)
    est = cls()
    with pytest.raises(NotFittedError, match="not fitted"):
        est.predict_proba([1.0])
    assert est.fit(s, y) is est
    c = clone(est)
    assert not hasattr(c, "pooled_") and c.get_params() == est.get_params()
    p1 = est.predict_proba(s)
    p2 = cls().fit(s, y).fit(s, y).predict_proba(s)  # idempotent
    np.testing.assert_array_equal(p1, p2)
    perm = rng.permutation(s.size)
    p3 = cls().fit(s[perm], y[perm]).predict_proba(s)
    np.testing.assert_allclose(p1, p3, atol=1e-12)
    pipe = Pipeline([("cal", cls())]).fit(s.reshape(-1, 1), y)
    np.testing.assert_allclose(pipe.predict_proba(s.reshape(-1, 1)), p1, atol=1e-12)
    scores = cross_val_score(
        cls(), s.reshape(-1, 1), y.astype(int), cv=5, scoring="neg_brier_score"
    )
    assert scores.shape == (5,) and np.isfinite(scores).all()


def test_grid_search_over_prior_scale() -> None:
    rng = np.random.default_rng(0)
    s, y, _ = simulate("shifted", 300, rng)
    gs = GridSearchCV(
        LogisticCalibrator(), {"prior_scale": [0.01, 2.5]}, cv=3, scoring="neg_log_loss"
    )
    gs.fit(s.reshape(-1, 1), y.astype(int))
    assert gs.best_params_ == {"prior_scale": 2.5}


@pytest.mark.parametrize("cls", CALIBRATORS)
@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        ([1.0, np.nan], [0, 1], "finite"),
        ([1.0, 2.0], [0, 2], r"\[0, 1\]"),
        ([1.0, 2.0], [0], "length 2"),
        ("abc", [0], "array-like"),
        ([[[1, 2]], [[3, 4]]], [0, 1], "1-D"),  # 2-D is a judge panel; 3-D is nothing
        ([], [], "non-empty"),
    ],
)
def test_bad_input_is_named(cls: type, X: object, y: object, match: str) -> None:
    with pytest.raises(InputError, match=match):
        cls().fit(X, y)


def test_bad_params_are_named() -> None:
    with pytest.raises(
        InputError, match=r"'min_stage_labels' parameter of IsotonicCalibrator\.fit"
    ):
        IsotonicCalibrator(min_stage_labels=0).fit([1, 2], [0, 1])
    with pytest.raises(InputError, match="unknown_stage"):
        LogisticCalibrator(unknown_stage="nope").fit([1, 2], [0, 1])
    with pytest.raises(InputError, match="prior_scale"):
        LogisticCalibrator(prior_scale=-1).fit([1, 2], [0, 1])


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.integers(1, 5), st.floats(0, 1), st.sampled_from(["x", "y"])),
        min_size=4,
        max_size=60,
    ),
    cls=st.sampled_from(CALIBRATORS),
)
def test_properties_range_monotone_rename_permute(
    data: list[tuple[int, float, str]], cls: type
) -> None:
    s = np.array([d[0] for d in data], dtype=float)
    y = np.array([d[1] for d in data])
    stg = np.array([d[2] for d in data])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        cal = cls(min_stage_labels=2).fit(s, y, stages=stg)
        renamed = cls(min_stage_labels=2).fit(
            s, y, stages=np.where(stg == "x", "renamed-x", "renamed-y")
        )
        perm = np.random.default_rng(0).permutation(s.size)
        permuted = cls(min_stage_labels=2).fit(s[perm], y[perm], stages=stg[perm])
    grid = np.linspace(0, 6, 25)
    for name in ("x", "y"):
        p = cal.predict_proba(grid, stages=[name] * grid.size)[:, 1]
        assert ((p >= 0) & (p <= 1)).all()
        if cls is IsotonicCalibrator:
            assert (np.diff(p) >= -1e-12).all()
        q = renamed.predict_proba(grid, stages=[f"renamed-{name}"] * grid.size)[:, 1]
        np.testing.assert_allclose(p, q, atol=1e-12)
        r = permuted.predict_proba(grid, stages=[name] * grid.size)[:, 1]
        np.testing.assert_allclose(p, r, atol=1e-9)


def test_large_input_is_chunked_and_matches() -> None:
    cal = IsotonicCalibrator().fit([1, 2, 3, 4, 5], [0, 0, 1, 1, 1])
    x = np.random.default_rng(0).uniform(0, 6, 600_000)
    p = cal.predict_proba(x)[:, 1]
    np.testing.assert_array_equal(p, np.interp(x, cal.pooled_["x"], cal.pooled_["y"]))


@pytest.mark.parametrize("k", [1, 3, 70, 500])
def test_stage_grouping_covers_every_row_once(k: int) -> None:
    from judgecal.calibration.base import stage_groups as _groups

    rng = np.random.default_rng(k)
    st_ = np.array([f"s{i}" for i in rng.integers(0, k, 5000)])
    groups = _groups(st_)
    assert [n for n, _ in groups] == sorted(set(st_.tolist()))
    assert sum(int(m.sum()) for _, m in groups) == st_.size
    assert all((st_[m] == n).all() for n, m in groups)


def test_logistic_slope_direction_is_a_parameter() -> None:
    rng = np.random.default_rng(0)
    s = rng.uniform(1, 5, 300)
    y = (rng.random(300) < 1 / (1 + np.exp(s - 3))).astype(
        float
    )  # humans disagree more as the score rises
    grid = np.linspace(1, 5, 9)
    up = LogisticCalibrator().fit(s, y).predict_agreement(grid)
    assert np.ptp(up) < 1e-12 and abs(up[0] - y.mean()) < 0.02  # constrained: flat at the base rate
    down = LogisticCalibrator(increasing=None).fit(s, y).predict_agreement(grid)
    assert (np.diff(down) < 0).all()
    np.testing.assert_allclose(
        LogisticCalibrator(increasing=False).fit(s, y).predict_agreement(grid), down
    )
