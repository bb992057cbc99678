"""The monotone kind on long judge scales: vectorized HMC (numpy) instead of NUTS.

The nested Laplace approximation is never trusted on a 10-point scale (Pareto
k-hat > 0.7), so ``method="auto"`` used to run NUTS for 18-40 s. These tests pin
the HMC fast path: its gradient, its sampler and diagnostics on known targets,
its use by the calibrator (with a NUTS fallback when its diagnostics are poor),
and, ``slow``, one seeded comparison with PyMC's NUTS.
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
from judgecal.calibration.bayes import hmc, monotone_hmc
from judgecal.calibration.bayes.calibrator import BayesianCalibrator, default_prior
from judgecal.calibration.bayes.monotone_hmc import MonotoneTarget, sample_monotone

PRIOR = default_prior("monotone", identity=False)


def _scores(n: int, stages: int, levels: int, seed: int) -> tuple[Any, Any, Any]:
    """Scores 1..levels, stage names and labels from stages that truly differ."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, stages, n)
    s = rng.integers(1, levels + 1, n).astype(float)
    a = np.array([-3.0, -4.0, -2.5])[g % 3]
    b = np.array([0.6, 0.7, 0.4])[g % 3] * 10.0 / levels
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(a + b * s)))).astype(float)
    return s, np.array([f"s{j}" for j in range(stages)])[g], y


def test_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(0)
    for S, J in [(3, 10), (1, 1), (2, 5)]:
        weight = rng.integers(0, 40, (S, J)).astype(float)
        target = MonotoneTarget(np.floor(weight * rng.random((S, J))), weight, PRIOR)
        x = target.start(rng, 2)
        _, grad = target(x)
        eye = 1e-6 * np.eye(x.shape[1])
        numeric = np.array([(target(x + e)[0] - target(x - e)[0]) / 2e-6 for e in eye]).T
        np.testing.assert_allclose(grad, numeric, atol=1e-5)


def test_log_density_is_the_nuts_model() -> None:
    # the non-centred coordinates of PyMC's model, mapped to ours: equal log densities
    # up to one constant (a value's log density differs by the Jacobian lam * log tau)
    agree, weight = np.array([[2.0, 5.0, 9.0], [1.0, 1.0, 4.0]]), np.full((2, 3), 10.0)
    target = MonotoneTarget(agree, weight, PRIOR)
    rng = np.random.default_rng(1)
    diffs = []
    for _ in range(5):
        mu_c, mu_g = rng.normal(-1.5, 1.0), rng.normal(np.log(1.5), 0.5, 2)
        tau_c, tau_g = rng.uniform(0.1, 1.0, 2)
        z = rng.normal(size=(2, 3))
        values = np.column_stack([mu_c + tau_c * z[:, 0], mu_g + tau_g * z[:, 1:]])
        theta = np.cumsum(np.column_stack([values[:, 0], np.exp(values[:, 1:])]), axis=1)
        loglik = np.sum(agree * theta - weight * np.logaddexp(0.0, theta))
        log_prior = (
            -0.5 * ((mu_c + 1.5) / 2.0) ** 2
            - 0.5 * np.sum((mu_g - np.log(1.5)) ** 2)
            - 0.5 * (tau_c / 0.5) ** 2
            - 0.5 * (tau_g / 0.3) ** 2
            + np.log(tau_c * tau_g)  # log-scale coordinates
            - 0.5 * np.sum(z**2)
        )
        lam, mu = target.weight_centred, np.r_[mu_c, mu_g]
        tau = np.r_[tau_c, tau_g, tau_g]
        coords = lam * mu + tau**lam * z  # v = lam mu + tau^lam z
        x = np.r_[mu_c, mu_g, np.log(tau_c), np.log(tau_g), coords.ravel()]
        jacobian = np.sum(lam * np.log(tau))  # dv/dz = tau^lam
        diffs.append(target(x[None])[0][0] - (loglik + log_prior - jacobian))
    np.testing.assert_allclose(diffs, diffs[0], atol=1e-9)


def test_scale_moves_leave_the_posterior_unchanged() -> None:
    # the Metropolis moves of the scales and exact draws of the means are extra Markov
    # steps: with and without them, the same posterior (here 3 stages, 4 levels)
    rng = np.random.default_rng(0)
    g = rng.integers(0, 3, 60)
    lvl = rng.integers(0, 4, 60)
    y = (rng.random(60) < 0.15 + 0.2 * lvl).astype(float)
    runs = [
        sample_monotone(lvl, y, np.ones(60), g, 3, 4, PRIOR, draws=8000, rng=rng, moves=m)
        for m in (True, False)
    ]
    (with_moves, hyper, diag), (without, hyper0, _) = runs
    np.testing.assert_allclose(with_moves["theta"].mean(0), without["theta"].mean(0), atol=0.06)
    for key in ("tau_c", "tau_g"):
        # the median and upper tail (the lower tail of log tau is long and noisy here)
        q = [np.quantile(np.log(h[key]), [0.5, 0.9]) for h in (hyper, hyper0)]
        np.testing.assert_allclose(q[0], q[1], atol=0.1)  # a lost Jacobian moves 0.9 by 0.14
    assert hmc.trusted(diag)


def test_sampler_recovers_a_correlated_gaussian() -> None:
    cov = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.0], [0.0, 0.0, 0.01]])
    prec = np.linalg.inv(cov)

    def normal(x: Any) -> tuple[Any, Any]:
        return -0.5 * np.einsum("cd,de,ce->c", x, prec, x), -x @ prec

    rng = np.random.default_rng(0)
    out = hmc.sample(normal, rng.uniform(-1, 1, (16, 3)), rng, draws=200)
    flat = out["draws"].reshape(-1, 3)
    np.testing.assert_allclose(np.cov(flat.T), cov, atol=0.08)
    assert hmc.trusted(
        {**hmc.diagnostics(out["draws"]), "divergences": out["divergences"], "transitions": 3200}
    )


def test_diagnostics_flag_chains_that_disagree() -> None:
    rng = np.random.default_rng(0)
    chains = rng.standard_normal((16, 100, 2))
    assert hmc.diagnostics(chains)["max_rhat"] < 1.02
    chains[:4, :, 0] += 3.0  # four chains stuck elsewhere
    d = hmc.diagnostics(chains)
    assert d["max_rhat"] > 1.2
    assert not hmc.trusted({**d, "divergences": 0, "transitions": 1600})
    sticky = np.cumsum(rng.standard_normal((16, 100, 1)), axis=1)  # a random walk
    assert hmc.diagnostics(sticky)["min_ess_bulk"] < 200


def test_ten_level_scale_uses_hmc_and_is_trusted() -> None:
    s, st, y = _scores(500, 3, 10, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        cal = BayesianCalibrator(kind="monotone", random_state=0).fit(s, y, stages=st)
    d = cal.diagnostics_
    assert d["method"] == "hmc"
    assert d["max_rhat"] <= hmc.RHAT_MAX and d["min_ess_bulk"] >= hmc.ESS_MIN
    grid = np.arange(1.0, 11.0)
    for stage in [*cal.stages_, "unseen"]:
        p = cal.predict_agreement(grid, stages=stage)
        iv = cal.predict_interval(grid, stages=stage)
        assert np.all(np.diff(p) > 0)
        assert np.all((iv[:, 0] <= p) & (p <= iv[:, 1]))
    again = judgecal.persist.loads(judgecal.persist.dumps(cal))
    np.testing.assert_array_equal(again.predict_interval(grid), cal.predict_interval(grid))


def test_hmc_recovers_a_known_truth() -> None:
    # 3000 labels on 10 levels: the truth lies inside most 90% intervals
    s, st, y = _scores(3000, 3, 10, 3)
    with warnings.catch_warnings():  # the fast path only (never NUTS), whatever its diagnostics
        warnings.simplefilter("ignore", ConvergenceWarning)
        cal = BayesianCalibrator(kind="monotone", method="laplace", random_state=0)
        cal.fit(s, y, stages=st)
    assert cal.diagnostics_["method"] == "hmc"
    grid = np.arange(1.0, 11.0)
    hits = []
    for name in cal.stages_:
        j = int(name[1:])
        truth = 1.0 / (1.0 + np.exp(-([-3.0, -4.0, -2.5][j] + [0.6, 0.7, 0.4][j] * grid)))
        iv = cal.predict_interval(grid, stages=name)
        hits.append((iv[:, 0] <= truth) & (truth <= iv[:, 1]))
        np.testing.assert_allclose(cal.predict_agreement(grid, stages=name), truth, atol=0.1)
    assert np.mean(hits) >= 0.8


def test_stage_names_and_row_order_do_not_change_the_draws() -> None:
    s, st, y = _scores(300, 3, 8, 5)
    order = np.random.default_rng(0).permutation(s.size)
    renamed = np.char.add("x", st)
    a = BayesianCalibrator(kind="monotone", random_state=1).fit(s, y, stages=st)
    b = BayesianCalibrator(kind="monotone", random_state=1).fit(
        s[order], y[order], stages=renamed[order]
    )
    for name in a.stages_:
        np.testing.assert_allclose(
            a.predict_interval(np.arange(1.0, 9.0), stages=name),
            b.predict_interval(np.arange(1.0, 9.0), stages="x" + name),
        )


def test_untrusted_hmc_falls_back_to_nuts_with_a_warning(monkeypatch: Any) -> None:
    s, st, y = _scores(300, 3, 10, 6)
    sentinel: dict[str, Any] = {}

    def poor(*args: Any, **kwargs: Any) -> Any:
        draws, hyper, diag = real(*args, **kwargs)
        return draws, hyper, {**diag, "max_rhat": 1.5}

    def fake_nuts(self: Any, *args: Any) -> Any:
        sentinel["called"] = True
        return self._fit_fast(*args, np.random.default_rng(0))[:3]

    real = monotone_hmc.posterior
    monkeypatch.setattr(monotone_hmc, "posterior", poor)
    monkeypatch.setattr(BayesianCalibrator, "_fit_nuts", fake_nuts)
    with pytest.warns(ConvergenceWarning, match="HMC max R-hat"):
        cal = BayesianCalibrator(kind="monotone", random_state=0).fit(s, y, stages=st)
    assert sentinel.get("called") and cal.diagnostics_["fallback_from"] == "laplace"
    with pytest.warns(ConvergenceWarning, match="R-hat"):  # laplace: kept, with a warning
        BayesianCalibrator(kind="monotone", method="laplace", random_state=0).fit(s, y, stages=st)


def test_small_scales_keep_the_trusted_laplace_fit() -> None:
    s, st, y = _scores(500, 3, 5, 1)
    cal = BayesianCalibrator(kind="monotone", random_state=0).fit(s, y, stages=st)
    assert cal.diagnostics_["method"] in ("laplace", "hmc")
    assert (len(cal.stages_) + 1) * 5 <= monotone_hmc.LAPLACE_MAX_PARAMS


def test_sample_monotone_one_level_and_empty_cells() -> None:
    rng = np.random.default_rng(0)
    lvl = np.zeros(40, dtype=np.int64)
    g = np.repeat([0, 1], 20)
    y = (rng.random(40) < 0.3).astype(float)
    draws, hyper, diag = sample_monotone(lvl, y, np.ones(40), g, 2, 1, PRIOR, draws=200, rng=rng)
    assert draws["theta"].shape == (200, 2, 1) and np.isfinite(draws["theta"]).all()
    assert np.all(hyper["tau_g"] == 0.0)
    # a level nobody used in one stage: finite draws from the prior there
    lvl = rng.integers(0, 6, 200)
    g = rng.integers(0, 2, 200)
    lvl[(g == 1) & (lvl == 3)] = 2
    y = (rng.random(200) < 0.1 + 0.15 * lvl).astype(float)
    draws, _, diag = sample_monotone(lvl, y, np.ones(200), g, 2, 6, PRIOR, draws=300, rng=rng)
    assert np.isfinite(draws["theta"]).all() and np.all(np.diff(draws["theta"], axis=2) > 0)


def test_fast_path_is_fast_and_never_imports_pymc() -> None:
    code = textwrap.dedent(
        """
        import sys, time
        t0 = time.perf_counter()
        import numpy as np
        from judgecal import BayesianCalibrator
        rng = np.random.default_rng(0)
        g = np.array(["a", "b", "c"])[rng.integers(0, 3, 500)]
        s = rng.integers(1, 11, 500).astype(float)
        y = (rng.random(500) < 1 / (1 + np.exp(-(-3 + 0.6 * s)))).astype(float)
        cal = BayesianCalibrator(kind="monotone", random_state=0).fit(s, y, stages=g)
        cal.predict_interval(s, stages=g)
        took = time.perf_counter() - t0
        print(cal.diagnostics_["method"], took,
              any(m.split(".")[0] in ("pymc", "pytensor", "arviz") for m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    method, took, pymc = out.stdout.split()
    assert method == "hmc" and pymc == "False"
    assert float(took) < 3.0  # about 0.6 s on 2 cores; generous for a loaded CI machine


# ------------------------------------------------------------------------------ real NUTS
@pytest.mark.slow
def test_hmc_agrees_with_nuts() -> None:
    s, st, y = _scores(300, 3, 10, 4)
    fast = BayesianCalibrator(kind="monotone", random_state=0, draws=2000).fit(s, y, stages=st)
    assert fast.diagnostics_["method"] == "hmc"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        nuts = BayesianCalibrator(
            kind="monotone", method="nuts", random_state=0, draws=2000, tune=600
        ).fit(s, y, stages=st)
    grid = np.arange(1.0, 11.0)
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
