"""The Bayesian calibrator on a judge panel: X of shape (n, k), one monotone slope per judge."""

from __future__ import annotations

import json

import numpy as np
import pytest

import judgecal
from judgecal import BayesianCalibrator, InputError
from judgecal.persist import _checksum

TRUE_COEF = np.array([-0.3, 1.2, 0.8, 0.0])  # intercept, two informative judges, one noise judge


def _panel(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores of three judges on a 1-5 scale, labels and the true P(agree | scores)."""
    latent = rng.normal(size=n)
    informative = [np.clip(np.round(3 + latent + rng.normal(0, s, n)), 1, 5) for s in (0.8, 1.0)]
    X = np.column_stack([*informative, rng.integers(1, 6, n).astype(float)])
    eta = TRUE_COEF[0] + (X - 3.0) @ TRUE_COEF[1:] / 1.2
    truth = 1.0 / (1.0 + np.exp(-eta))
    y = (rng.random(n) < truth).astype(float)
    return X, y, truth


def _brier(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


@pytest.mark.filterwarnings("ignore::judgecal.ConvergenceWarning")  # single-judge fits
def test_panel_beats_best_single_judge_on_held_out_brier() -> None:
    wins = 0
    for seed in range(6):
        rng = np.random.default_rng(seed)
        X, y, _ = _panel(300, rng)
        X_test, y_test, _ = _panel(3000, rng)
        panel = BayesianCalibrator(method="laplace", draws=400, random_state=seed).fit(X, y)
        single = min(
            _brier(
                BayesianCalibrator(method="laplace", random_state=seed)
                .fit(X[:, j], y)
                .predict_agreement(X_test[:, j]),
                y_test,
            )
            for j in range(3)
        )
        wins += _brier(panel.predict_agreement(X_test), y_test) < single
    assert wins >= 5


def test_noise_judge_slope_concentrates_near_zero() -> None:
    X, y, _ = _panel(1000, np.random.default_rng(1))
    cal = BayesianCalibrator(method="laplace", random_state=0).fit(X, y)
    slopes = cal.draws_["default"]["b"]
    assert slopes.shape == (1000, 3) and (slopes >= 0).all()
    # 1000 labels: a slope of 0.1 per sd moves P(agree) by at most ~2.5 points
    assert slopes[:, 2].mean() < 0.15 and np.quantile(slopes[:, 2], 0.9) < 0.25
    assert slopes[:, 0].mean() > 0.6 and slopes[:, 1].mean() > 0.4


def test_credible_intervals_cover_the_truth() -> None:
    hits, total = 0, 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        X, y, _ = _panel(250, rng)
        X_test, _, truth = _panel(40, rng)
        cal = BayesianCalibrator(method="laplace", draws=500, random_state=seed).fit(X, y)
        interval = cal.predict_interval(X_test, level=0.9)
        hits += int(((interval[:, 0] <= truth) & (truth <= interval[:, 1])).sum())
        total += truth.size
    assert hits / total >= 0.85


def test_stages_pool_and_a_new_stage_is_wider() -> None:
    rng = np.random.default_rng(3)
    X, y, _ = _panel(400, rng)
    stages = np.where(np.arange(400) % 2 == 0, "selection", "generation")
    cal = BayesianCalibrator(method="laplace", random_state=0).fit(X, y, stages=stages)
    grid = np.array([[1.0, 1.0, 3.0], [5.0, 5.0, 3.0]])
    known = cal.predict_interval(grid, stages="selection")
    new = cal.predict_interval(grid, stages="extraction")
    assert (np.diff(new, axis=1) > np.diff(known, axis=1)).all()
    assert cal.predict_agreement(grid, stages=["selection", "generation"]).shape == (2,)


def test_save_and_load_predict_identically(tmp_path) -> None:  # type: ignore[no-untyped-def]
    X, y, _ = _panel(200, np.random.default_rng(4))
    cal = BayesianCalibrator(method="laplace", draws=200, random_state=0).fit(X, y)
    path = tmp_path / "panel.json"
    judgecal.save(cal, path)
    back = judgecal.load(path)
    assert back.n_features_in_ == 3
    np.testing.assert_array_equal(back.predict_agreement_draws(X), cal.predict_agreement_draws(X))
    doc = json.loads(path.read_text())
    doc["state"]["draws"]["default"]["b"][0][1] = -0.5
    doc["sha256"] = _checksum(doc)  # an edit that keeps the file's integrity
    path.write_text(json.dumps(doc))
    with pytest.raises(Exception, match="non-negative"):
        judgecal.load(path)


def test_one_column_is_the_single_judge() -> None:
    X, y, _ = _panel(200, np.random.default_rng(5))
    one = BayesianCalibrator(method="laplace", random_state=0).fit(X[:, 0], y)
    column = BayesianCalibrator(method="laplace", random_state=0).fit(X[:, :1], y)
    np.testing.assert_array_equal(one.predict_agreement(X[:, 0]), column.predict_agreement(X[:, 0]))
    assert "n_judges" not in one._get_state()


def test_wrong_column_counts_and_other_kinds_raise() -> None:
    X, y, _ = _panel(200, np.random.default_rng(6))
    cal = BayesianCalibrator(method="laplace", draws=100, random_state=0).fit(X, y)
    for bad in (X[:, :2], X[:, 0], np.column_stack([X, X[:, :1]])):
        with pytest.raises(InputError, match="X"):
            cal.predict_agreement(bad)
    single = BayesianCalibrator(method="laplace", draws=100, random_state=0).fit(X[:, 0], y)
    with pytest.raises(InputError, match="X"):
        single.predict_proba(X)
    with pytest.raises(InputError, match="p_identity"):
        BayesianCalibrator(score_range=(1, 5), prior={"p_identity": 0.5}).fit(X, y)
    for kind in ("monotone", "ordinal", "pairwise"):
        with pytest.raises(InputError, match="only kind='binary' takes a judge panel"):
            BayesianCalibrator(kind=kind).fit(X, y)


@pytest.mark.filterwarnings("ignore::judgecal.ConvergenceWarning")  # short chains: ESS ~ 150
def test_nuts_agrees_with_the_fast_path() -> None:
    pytest.importorskip("pymc")
    rng = np.random.default_rng(7)
    X, y, _ = _panel(300, rng)
    X = X[:, :2]
    fast = BayesianCalibrator(method="laplace", random_state=0).fit(X, y)
    nuts = BayesianCalibrator(method="nuts", draws=400, tune=400, chains=2, random_state=0)
    nuts.fit(X, y)
    grid = np.array([[a, b] for a in (1.0, 3.0, 5.0) for b in (1.0, 3.0, 5.0)])
    gap = np.abs(fast.predict_agreement(grid) - nuts.predict_agreement(grid))
    assert gap.max() < 0.03
    assert nuts.diagnostics_["method"] == "nuts" and nuts.draws_["default"]["b"].shape[1] == 2


def test_estimate_rate_bayes_uses_the_panel(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(8)
    X, y, truth = _panel(600, rng)
    lines = ["item_id,j1,j2,human"]
    for i in range(600):
        label = ("yes" if y[i] else "no") if i < 200 else ""
        lines.append(f"i{i},{X[i, 0]:.0f},{X[i, 1]:.0f},{label}")
    (tmp_path / "panel.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    records = judgecal.read_csv(
        tmp_path / "panel.csv",
        scale=judgecal.Scale.numeric(1, 5),
        judges={"j1": "j1", "j2": "j2"},
        label_kind="binary",
        label_cols="human",
        labels={"yes": 1, "no": 0},
    )
    rate = judgecal.estimate_rate(records, strata=None, method="bayes")
    assert rate.low <= float(y.mean()) <= rate.high
    assert rate.width < rate.human_only.width
