"""Judge panels: several judges' scores per item, calibrated jointly."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from scipy.optimize import minimize

import judgecal
from judgecal import InputError, IsotonicCalibrator, LogisticCalibrator, PersistenceError, persist
from judgecal.calibration.base import sigmoid
from judgecal.calibration.logistic import fit_logistic_signed
from judgecal.estimate._prepared import PreparedData, data_from_arrays, prepare_records
from judgecal.estimate.rates import rate_from_data
from judgecal.metrics import brier_score


def _panel(
    n: int, seed: int, noise: tuple[float, ...] = (1.0, 1.0, 1.5)
) -> tuple[np.ndarray, np.ndarray]:
    """Judges that see the latent quality through independent noise; humans see it too."""
    rng = np.random.default_rng(seed)
    quality = rng.normal(size=n)
    y = (rng.random(n) < sigmoid(2.0 * quality)).astype(float)
    X = np.column_stack([3.0 + quality + rng.normal(0, sd, n) for sd in noise])
    return X, y


# -- the constrained solver ---------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_active_set_matches_a_bounded_quasi_newton_solve(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, k = 300, 4
    Z = np.column_stack([np.ones(n), rng.normal(size=(n, k))])
    truth = rng.normal(0, 1.5, k + 1)
    y = (rng.random(n) < sigmoid(Z @ truth)).astype(float)
    w = rng.uniform(0.5, 2.0, n)
    lam = 1.0 / 2.5**2

    def objective(t: np.ndarray) -> float:
        eta = Z @ t
        return float(np.dot(w, np.logaddexp(0.0, eta) - y * eta) + 0.5 * lam * np.dot(t, t))

    def gradient(t: np.ndarray) -> np.ndarray:
        out: np.ndarray = Z.T @ (w * (sigmoid(Z @ t) - y)) + lam * t
        return out

    bounds = [(None, None)] + [(0.0, None)] * k
    ref = minimize(
        objective,
        np.zeros(k + 1),
        jac=gradient,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000},
    )
    ours = fit_logistic_signed(Z, y, w, 2.5, 1.0)
    assert (ours[1:] >= 0).all()
    assert objective(ours) <= ref.fun + 1e-7
    np.testing.assert_allclose(ours, ref.x, atol=1e-4)
    # decreasing: the mirror image
    flipped = fit_logistic_signed(Z * np.r_[1.0, -np.ones(k)], y, w, 2.5, -1.0)
    np.testing.assert_allclose(flipped * np.r_[1.0, -np.ones(k)], ours, atol=1e-8)


def test_a_judge_that_runs_against_humans_gets_a_zero_slope() -> None:
    X, y = _panel(400, 0)
    X[:, 2] = 6.0 - X[:, 2]  # the third judge scores backwards
    cal = LogisticCalibrator().fit(X, y)
    slopes = cal.pooled_["b"]
    assert slopes[0] > 0.3 and slopes[1] > 0.3 and slopes[2] == 0.0
    free = LogisticCalibrator(increasing=None).fit(X, y)
    assert free.pooled_["b"][2] < 0


# -- statistical claim: a panel beats its best judge on held-out data ------------------------
def test_panel_beats_the_best_single_judge_on_held_out_brier() -> None:
    wins = 0
    for seed in range(20):
        X, y = _panel(1100, seed)
        train, test = slice(0, 100), slice(100, None)
        single = min(
            brier_score(
                y[test],
                LogisticCalibrator().fit(X[train, j], y[train]).predict_agreement(X[test, j]),
            )
            for j in range(3)
        )
        panel = brier_score(
            y[test], LogisticCalibrator().fit(X[train], y[train]).predict_agreement(X[test])
        )
        wins += panel < single
    assert wins >= 18


def test_a_judge_of_pure_noise_does_little_harm() -> None:
    """The slopes are shrunk and kept >= 0: a useless panel member costs < 2% held-out Brier."""
    ratios = []
    for seed in range(30):
        X, y = _panel(1100, seed, noise=(1.0,))
        noise = np.random.default_rng(seed + 99).normal(3.0, 1.0, (y.size, 1))
        train, test = slice(0, 100), slice(100, None)
        alone = LogisticCalibrator().fit(X[train], y[train]).predict_agreement(X[test])
        with_noise = np.hstack([X, noise])
        both = LogisticCalibrator().fit(with_noise[train], y[train])
        ratios.append(
            brier_score(y[test], both.predict_agreement(with_noise[test]))
            / brier_score(y[test], alone)
        )
    assert float(np.mean(ratios)) < 1.02


def test_isotonic_on_the_mean_of_judges_beats_each_judge() -> None:
    X, y = _panel(3000, 1, noise=(1.0, 1.0, 1.0))
    train, test = slice(0, 1000), slice(1000, None)
    panel = IsotonicCalibrator().fit(X[train], y[train]).predict_agreement(X[test])
    singles = [
        IsotonicCalibrator().fit(X[train, j], y[train]).predict_agreement(X[test, j])
        for j in range(3)
    ]
    assert brier_score(y[test], panel) < min(brier_score(y[test], p) for p in singles)


# -- one column is one judge -------------------------------------------------------------------
@pytest.mark.parametrize("cls", [IsotonicCalibrator, LogisticCalibrator])
def test_one_column_is_exactly_one_judge(cls: type) -> None:
    X, y = _panel(200, 2)
    one = cls().fit(X[:, 0], y)
    col = cls().fit(X[:, :1], y)
    assert col.n_features_in_ == 1
    np.testing.assert_array_equal(one.predict_proba(X[:, 0]), col.predict_proba(X[:, :1]))
    assert "n_judges" not in one._get_state()


def test_isotonic_combination_is_the_declared_one() -> None:
    X, y = _panel(300, 3)
    weights = np.array([3.0, 1.0, 0.0])
    cal = IsotonicCalibrator(combine=weights.tolist()).fit(X, y)
    combined = X @ weights / weights.sum()
    one = IsotonicCalibrator().fit(combined, y)
    np.testing.assert_allclose(cal.predict_agreement(X), one.predict_agreement(combined))
    np.testing.assert_allclose(cal.combined_score(X), combined)
    mean = IsotonicCalibrator().fit(X, y)
    np.testing.assert_allclose(
        mean.predict_agreement(X),
        IsotonicCalibrator().fit(X.mean(1), y).predict_agreement(X.mean(1)),
    )


@pytest.mark.parametrize(
    ("combine", "match"),
    [
        ("median", "combine"),
        ([1.0, -1.0, 1.0], "non-negative"),
        ([0, 0, 0], "not all zero"),
        ([1.0, 1.0], "3 weights"),
    ],
)
def test_bad_combinations_are_named(combine: Any, match: str) -> None:
    X, y = _panel(60, 4)
    with pytest.raises(InputError, match=match):
        IsotonicCalibrator(combine=combine).fit(X, y)


# -- inputs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [IsotonicCalibrator, LogisticCalibrator])
def test_prediction_needs_the_judges_of_fit(cls: type) -> None:
    X, y = _panel(100, 5)
    cal = cls().fit(X, y)
    with pytest.raises(InputError, match=r"X has 2 features, but .* expecting 3"):
        cal.predict_proba(X[:, :2])
    with pytest.raises(InputError, match="X has 1 features"):
        cal.predict_proba(X[:, 0])
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(InputError, match="row 3, column 1"):
        cls().fit(bad, y)


def test_stages_route_panels() -> None:
    X, y = _panel(240, 6)
    stages = np.repeat(["a", "b"], 120)
    cal = LogisticCalibrator(min_stage_labels=50).fit(X, y, stages=stages)
    assert set(cal.stage_states_) == {"a", "b"}
    p = cal.predict_agreement(X[:5], stages=["a"] * 5)
    np.testing.assert_allclose(p, cal._predict_one(cal.stage_states_["a"], X[:5]))


# -- persistence ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make", [LogisticCalibrator, IsotonicCalibrator, lambda: IsotonicCalibrator(combine=[1, 2, 0])]
)
def test_panel_calibrators_save_and_load(make: object, tmp_path: object) -> None:
    X, y = _panel(300, 7)
    stages = np.repeat(["a", "b"], 150)
    cal = make().fit(X, y, stages=stages)  # type: ignore[operator]
    back = persist.loads(persist.dumps(cal))
    assert back.n_features_in_ == 3
    np.testing.assert_array_equal(
        back.predict_proba(X, stages=stages), cal.predict_proba(X, stages=stages)
    )


def test_an_edited_panel_state_does_not_load() -> None:
    import json

    X, y = _panel(300, 8)
    doc = json.loads(persist.dumps(LogisticCalibrator().fit(X, y)))
    doc["state"]["pooled"]["b"][0] = -1.0  # a negative slope under increasing=True
    text = json.dumps({k: v for k, v in doc.items() if k != "sha256"})
    from judgecal.persist import _checksum

    doc["sha256"] = _checksum(json.loads(text))
    with pytest.raises(PersistenceError, match="increasing"):
        persist.loads(json.dumps(doc))


# -- estimates: the panel's calibrated prediction in PPI++ --------------------------------------
def _rate_data(
    seed: int, n: int = 1500, n_labels: int = 100, *, panel: bool
) -> tuple[PreparedData, float]:
    X, y = _panel(n, seed)
    labelled = np.zeros(n, dtype=bool)
    labelled[np.random.default_rng(seed + 1000).choice(n, n_labels, replace=False)] = True
    data = data_from_arrays(X[:, 0], 0.0, 6.0, y, labelled, panel=X if panel else None)
    return data, float(y.mean())


def test_a_panel_narrows_the_rate_interval_and_keeps_coverage() -> None:
    widths, covered = [], 0
    trials = 100
    for seed in range(trials):
        one, truth = _rate_data(seed, panel=False)
        many, _ = _rate_data(seed, panel=True)
        single = rate_from_data(one, calibrator=LogisticCalibrator(), seed=seed)  # type: ignore[arg-type]
        joint = rate_from_data(many, calibrator=LogisticCalibrator(), seed=seed)  # type: ignore[arg-type]
        widths.append(joint.width / single.width)
        covered += joint.low <= truth <= joint.high
    assert float(np.mean(widths)) < 0.98  # 0.961 measured
    assert covered / trials >= 0.84


def test_records_with_other_judges_give_the_panel_to_the_calibrator() -> None:
    js = judgecal.load_pandalm("gpt35", with_texts=False)
    other = judgecal.load_pandalm("pandalm7b", with_texts=False)
    data = prepare_records(js, None, None, "half", "estimate_rate", judges={"pandalm7b": other})
    assert data.panel is not None and data.panel.shape == (len(js), 2)
    both = np.array(
        [a.score is not None and b.score is not None for a, b in zip(js, other, strict=True)]
    )
    np.testing.assert_array_equal(data.scored, both)
    hidden = replace(data, labelled=data.labelled & (np.arange(len(js)) % 5 == 0))
    r = rate_from_data(hidden, calibrator=LogisticCalibrator())  # type: ignore[arg-type]
    assert r.n_labelled == int(hidden.labelled.sum()) and 0 < r.low < r.high < 1


def test_a_judge_missing_an_item_is_named() -> None:
    js = judgecal.load_pandalm("gpt35", with_texts=False)
    other = judgecal.load_pandalm("pandalm7b", with_texts=False)[:10]
    with pytest.raises(InputError, match=r"judges\['pandalm7b'\].*none for item"):
        prepare_records(js, None, None, "half", "estimate_rate", judges={"pandalm7b": other})
    with pytest.raises(InputError, match="judges"):
        prepare_records(js, None, None, "half", "estimate_rate", judges=["a", "b"])


def test_estimate_rate_takes_a_panel_of_other_judges_records() -> None:
    js = judgecal.load_pandalm("gpt35", with_texts=False)
    other = {"pandalm7b": judgecal.load_pandalm("pandalm7b", with_texts=False)}
    hidden = judgecal.keep_labels(js, 150, by=None, seed=0)
    one = judgecal.estimate_rate(hidden, strata=None, calibrator=LogisticCalibrator())
    two = judgecal.estimate_rate(hidden, strata=None, calibrator=LogisticCalibrator(), judges=other)
    assert two.n_labelled <= one.n_labelled and two.estimate != one.estimate
    assert 0 < two.low < two.high < 1
    with pytest.raises(InputError, match="with a judge panel"):
        judgecal.estimate_rate(hidden, strata=None, method="rogan-gladen", judges=other)


# -- records that carry a judge panel -------------------------------------------------------------
def _panel_records(tmp_path: Any, n: int = 600, seed: int = 11) -> tuple[Any, np.ndarray]:
    """A CSV with three judges' scores (one blank cell) and two named raters, read as a panel."""
    X, y = _panel(n, seed)
    rng = np.random.default_rng(seed)
    rated = rng.random(n) < 0.25
    lines = ["item_id,j1,j2,j3,ann,bob"]
    for i in range(n):
        cells = [f"{v:.4f}" for v in np.clip(X[i], 0.0, 6.0)]
        if i == 3:
            cells[2] = ""  # judge j3 gave no score on item 3
        ann = ("yes" if y[i] else "no") if rated[i] else ""
        bob = ("yes" if rng.random() < 0.8 * y[i] + 0.1 else "no") if rated[i] else ""
        lines.append(",".join([f"q{i}", *cells, ann, bob]))
    path = tmp_path / "panel.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    js = judgecal.read_csv(
        path,
        scale=judgecal.Scale.numeric(0, 6),
        judges={"j1": "j1", "j2": "j2", "j3": "j3"},
        label_kind="binary",
        label_cols=["ann", "bob"],
        labels={"yes": 1, "no": 0},
    )
    return js, y


def test_estimate_rate_uses_the_panel_the_records_carry(tmp_path: Any) -> None:
    js, _ = _panel_records(tmp_path)
    assert js.judges == ("j1", "j2", "j3")
    data = prepare_records(js, None, None, "half", "estimate_rate", panel_from_records=True)
    assert data.panel is not None and data.panel.shape == (len(js), 3)
    assert not data.scored[3] and data.scored.sum() == len(js) - 1
    two = prepare_records(js, None, None, "half", "estimate_rate", judges=["j1", "j3"])
    assert two.panel is not None
    np.testing.assert_allclose(two.panel[:, 1], np.nan_to_num(js.panel_scores()[:, 2]))
    joint = judgecal.estimate_rate(js, strata=None, calibrator=LogisticCalibrator())
    alone = judgecal.estimate_rate(js, strata=None, calibrator=LogisticCalibrator(), judges={})
    assert joint.estimate != alone.estimate and 0 < joint.low < joint.high < 1


def test_agreement_report_compares_every_judge_the_records_carry(tmp_path: Any) -> None:
    js, _ = _panel_records(tmp_path)
    rep = judgecal.agreement_report(js, n_resamples=0)
    st = rep.stages[js.stage_names()[0]]
    assert rep.judges == ["j1", "j2", "j3"]
    names = [c.comparison for c in st.comparisons]
    assert names[:4] == ["human-human", "judge-human (j1)", "judge-human (j2)", "judge-human (j3)"]
    assert "judge-judge (j1, j3)" in names
    labelled = js.labelled()
    X = labelled.panel_scores()
    for i, judge in enumerate(js.judges):
        says = X[:, i][~np.isnan(X[:, i])] >= 3.0
        assert st.yes_rates[judge] == pytest.approx(says.mean())
    assert set(st.selections) == {"j1", "j2", "j3"}
    assert {"human ann", "human bob"} <= set(st.yes_rates)
