"""The numpy fast path of the monotone, ordinal and pairwise kinds, against PyMC's NUTS.

``monotone`` is the flexible link's posterior projected onto non-decreasing curves; NUTS
samples the same flexible model and the same projection is applied to its draws.

Most tests avoid NUTS (or mock it); the ``slow`` ones run one small, seeded, real
NUTS fit per kind and compare the posteriors: posterior means of P(agree) within
0.02 and 90% interval ends within 0.04 (the issue's tolerances).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from typing import Any

import numpy as np
import pytest

import judgecal
from judgecal._exceptions import ConvergenceWarning
from judgecal.calibration.bayes.calibrator import BayesianCalibrator
from judgecal.calibration.bayes.fast_models import ordinal_model
from judgecal.calibration.bayes.grid_laplace import DenseModel, grid_posterior

STAGES = np.array(["extraction", "selection", "generation"])


def _simulate(kind: str, n: int, seed: int) -> tuple[Any, Any, Any]:
    """Scores, stages and labels of ``kind`` from a model whose stages truly differ."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 3, n)
    offset = np.array([0.0, 0.6, -0.6])[g]
    slope = np.array([0.9, 0.6, 1.2])[g]
    if kind == "pairwise":
        s = rng.integers(0, 3, n).astype(float)
        latent = (s - 1.0) * slope + offset + rng.logistic(size=n)
        y: Any = np.where(latent > 0.7, "first", np.where(latent < -0.7, "second", "tie"))
        return s, STAGES[g], y
    if kind == "monotone":  # a 10-point scale: the monotone kind's old model needed NUTS there
        s = rng.integers(1, 11, n).astype(float)
        eta = (s - 5.5) * slope * 0.5 + offset
        return s, STAGES[g], (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    s = rng.integers(1, 6, n).astype(float)
    eta = (s - 3.0) * slope + offset
    if kind == "flexible":
        return s, STAGES[g], (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    cut = np.array([-2.0, -0.5, 0.5, 2.0])
    y = 1 + np.sum(eta[:, None] + rng.logistic(size=n)[:, None] > cut, axis=1)
    return s, STAGES[g], y


def _params(kind: str) -> dict[str, Any]:
    if kind == "pairwise":
        return {"kind": kind, "score_range": (0, 2)}
    if kind == "ordinal":
        return {"kind": kind, "score_range": (1, 5), "threshold": 4}
    if kind == "flexible":  # binary with the flexible link (the default on a 1-5 scale)
        return {"kind": "binary", "score_range": (1, 5), "link": "flexible"}
    return {"kind": kind}


@pytest.mark.parametrize("kind", ["monotone", "ordinal", "pairwise"])
def test_auto_uses_the_fast_path_with_good_diagnostics(kind: str) -> None:
    s, st, y = _simulate(kind, 500, 1)
    cal = BayesianCalibrator(**_params(kind), random_state=0).fit(s, y, stages=st)
    d = cal.diagnostics_
    assert d["method"] == "laplace"
    assert d["k_hat"] < 0.7 and d["ess"] > 200
    grid = np.unique(s)
    for stage in [*cal.stages_, "unseen"]:
        p = cal.predict_agreement(grid, stages=stage)
        iv = cal.predict_interval(grid, stages=stage)
        assert np.all(np.diff(p) > 0)
        assert np.all((iv[:, 0] <= p) & (p <= iv[:, 1]))
    again = judgecal.persist.loads(judgecal.persist.dumps(cal))
    np.testing.assert_array_equal(again.predict_interval(grid), cal.predict_interval(grid))


def test_fast_path_recovers_a_known_ordinal_truth() -> None:
    # 2000 ratings: the posterior mean of P(level >= 4 | score, stage) is near the truth
    s, st, y = _simulate("ordinal", 2000, 2)
    cal = BayesianCalibrator(kind="ordinal", score_range=(1, 5), threshold=4, random_state=0)
    cal.fit(s, y, stages=st)
    grid = np.arange(1.0, 6.0)
    for k, name in enumerate(STAGES):
        slope, offset = [0.9, 0.6, 1.2][k], [0.0, 0.6, -0.6][k]
        truth = 1 / (1 + np.exp(-((grid - 3.0) * slope + offset - 0.5)))
        # the model's link (logit of the rescaled score) is not the truth's: 0.08 is its bias
        np.testing.assert_allclose(cal.predict_agreement(grid, stages=name), truth, atol=0.08)


def test_ordinal_gradient_and_hessian_match_finite_differences() -> None:
    rng = np.random.default_rng(0)
    f = rng.normal(size=80)
    y = rng.integers(1, 5, 80).astype(float)
    g = rng.integers(0, 2, 80)
    prior = {"mu_b": 0.0, "sd_b": 1.0, "tau_a": 0.5, "tau_b": 0.25, "sd_cut": 3.0, "tau_cut": 1.0}
    model, _ = ordinal_model(f, y, np.ones(80), g, 2, 4, prior)
    theta = model.start[None] + 0.3 * rng.normal(size=(1, model.n_params))
    value, grad, hess = model.derivatives(theta)
    assert np.isclose(value[0], model.loglik(theta)[0])
    eps = 1e-6
    for p in range(model.n_params):
        step = np.zeros_like(theta)
        step[0, p] = eps
        up, down = model.derivatives(theta + step), model.derivatives(theta - step)
        np.testing.assert_allclose((up[0] - down[0]) / (2 * eps), grad[0, p], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            (up[1] - down[1])[0] / (2 * eps), hess[0, p], rtol=1e-4, atol=1e-5
        )


def test_fast_path_never_imports_pymc() -> None:
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        from judgecal import BayesianCalibrator
        rng = np.random.default_rng(0)
        s = rng.integers(1, 6, 300).astype(float)
        y = np.clip(np.round(s + rng.normal(0, 1, 300)), 1, 5)
        BayesianCalibrator(kind="ordinal", random_state=0).fit(s, y)
        BayesianCalibrator(kind="monotone", random_state=0).fit(s, (y >= 4).astype(float))
        print(any(m.split(".")[0] in ("pymc", "pytensor", "arviz") for m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_grid_posterior_of_a_conjugate_normal_model_is_exact() -> None:
    # y_i ~ N(theta, 1), theta ~ N(0, tau^2): posterior of theta given tau is known; with tau
    # integrated over the half-normal prior, the draws' mean and sd match quadrature.
    y = np.random.default_rng(1).normal(0.8, 1.0, 20)
    n, total = y.size, y.sum()

    def loglik(t: Any) -> Any:
        return -0.5 * (n * t[:, 0] ** 2 - 2 * total * t[:, 0])

    def derivs(t: Any) -> Any:
        return loglik(t), (total - n * t), np.full((t.shape[0], 1, 1), -float(n))

    model = DenseModel(
        np.zeros(1), np.zeros((1, 1)), np.ones((1, 1, 1)), np.ones(1), loglik, derivs, np.zeros(1)
    )
    post = grid_posterior(model, draws=4000, rng=np.random.default_rng(0))
    taus = np.linspace(1e-3, 5, 4000)
    prec = n + taus**-2
    log_w = -0.5 * taus**2 - 0.5 * np.log(taus**2 * prec) + 0.5 * total**2 / prec
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    mean = np.sum(w * total / prec)
    sd = np.sqrt(np.sum(w * (1 / prec + (total / prec) ** 2)) - mean**2)
    assert abs(post["theta"][:, 0].mean() - mean) < 0.01
    assert abs(post["theta"][:, 0].std() - sd) < 0.01


def _fake_nuts(kind: str, data: dict[str, Any], prior: dict[str, float], **kw: Any) -> Any:
    D, S = int(kw["draws"]), int(data["n_stages"])
    rng = np.random.default_rng(0)
    draws = {"a": rng.normal(size=(D, S)), "b": 1 + 0.1 * rng.normal(size=(D, S))}
    K = int(data["n_levels"])
    draws["cut"] = np.sort(rng.normal(size=(D, S, K - 1)), axis=2)
    hyper = {k: np.abs(rng.normal(size=D)) for k in ("mu_b", "tau_a", "tau_b", "tau_cut")}
    hyper["d1"], hyper["gap_mean"] = draws["cut"][:, 0, 0], np.zeros((D, K - 2))
    diag = {"max_rhat": 1.0, "min_ess_bulk": 1000.0, "divergences": 0}
    return {"idata": None, "draws": draws, "hyper": hyper, "diagnostics": diag}


def test_poor_diagnostics_fall_back_to_nuts_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from judgecal.calibration.bayes import _pymc_backend, calibrator

    monkeypatch.setattr(_pymc_backend, "sample", _fake_nuts)
    monkeypatch.setattr(calibrator, "K_HAT_MAX", -1.0)  # no fast fit passes
    s, st, y = _simulate("ordinal", 200, 3)
    with pytest.warns(ConvergenceWarning, match="falling back to NUTS"):
        cal = BayesianCalibrator(kind="ordinal", random_state=0, draws=100).fit(s, y, stages=st)
    assert cal.diagnostics_["method"] == "nuts"
    assert cal.diagnostics_["fallback_from"] == "laplace"
    # an explicit method="laplace" keeps the fast draws and only warns
    with pytest.warns(ConvergenceWarning, match="k-hat"):
        BayesianCalibrator(kind="ordinal", method="laplace", random_state=0).fit(s, y, stages=st)


# ------------------------------------------------------------------------------ real NUTS
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["monotone", "ordinal", "pairwise", "flexible"])
def test_fast_path_agrees_with_nuts(kind: str) -> None:
    s, st, y = _simulate(kind, 300, 4)
    fast = BayesianCalibrator(**_params(kind), random_state=0, draws=2000).fit(s, y, stages=st)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a few divergences are tolerated
        nuts = BayesianCalibrator(
            **_params(kind), method="nuts", random_state=0, draws=2000, tune=600
        ).fit(s, y, stages=st)
    grid = np.unique(s)
    for name in fast.stages_:
        np.testing.assert_allclose(
            fast.predict_agreement(grid, stages=name),
            nuts.predict_agreement(grid, stages=name),
            atol=0.02,
        )
        np.testing.assert_allclose(
            fast.predict_interval(grid, stages=name),
            nuts.predict_interval(grid, stages=name),
            atol=0.04,
        )


@pytest.mark.parametrize(
    ("params", "X", "y"),
    [
        ({"kind": "monotone"}, [3.0] * 20, [0, 1] * 10),  # one score level
        ({"kind": "ordinal", "levels": 5}, [1.0, 2, 3, 4, 5] * 4, [1, 2, 3, 3, 3] * 4),
        ({"kind": "pairwise"}, [0.0, 1, 2, 2, 0], ["first", "tie", "second", "first", "tie"]),
    ],
)
def test_degenerate_data_still_fit_on_the_fast_path(params: Any, X: Any, y: Any) -> None:
    cal = BayesianCalibrator(**params, method="laplace", random_state=0).fit(X, y)
    grid = np.unique(X)
    assert np.isfinite(cal.predict_agreement(grid)).all()
    assert np.isfinite(cal.predict_interval(grid)).all()
