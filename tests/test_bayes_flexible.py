"""``link="flexible"``: the binary model plus a random walk over the judge's score levels.

Coverage of 90% intervals of P(agree | score, stage) on truths whose link is not
the parametric model's (``benchmarks/bench_bayes_coverage.py`` has the full table):
a step function, and logistic in the raw score fitted with ``score_range``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from judgecal import persist
from judgecal._exceptions import InputError
from judgecal.calibration.bayes.calibrator import NEW_STAGE, BayesianCalibrator

GRID = np.arange(1.0, 11.0)


def _sigmoid(t: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-t))


def _step_truth(rng: np.random.Generator) -> list[Any]:
    cut = rng.integers(4, 8, 3)
    low, high = rng.uniform(0.1, 0.3, 3), rng.uniform(0.6, 0.9, 3)
    return [lambda s, j=j: np.where(s >= cut[j], high[j], low[j]) for j in range(3)]


def _raw_truth(rng: np.random.Generator) -> list[Any]:
    a, b = [-3.0, -4.0, -2.5], [0.6, 0.7, 0.4]
    return [lambda s, j=j: _sigmoid(a[j] + b[j] * s) for j in range(3)]


def _coverage(make_truth: Any, link: str, n: int, sims: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    names = np.array(["s0", "s1", "s2"])
    hits = 0.0
    for t in range(sims):
        fns = make_truth(rng)
        g = np.repeat(np.arange(3), n)
        s = rng.integers(1, 11, g.size).astype(float)
        p = np.concatenate([fns[j](s[g == j]) for j in range(3)])
        y = (rng.random(g.size) < p).astype(float)
        cal = BayesianCalibrator(score_range=(1, 10), link=link, random_state=t, draws=500)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cal.fit(s, y, stages=names[g])
        for j in range(3):
            iv = cal.predict_interval(GRID, stages=names[j])
            truth = fns[j](GRID)
            hits += np.mean((iv[:, 0] <= truth) & (truth <= iv[:, 1]))
    return float(hits / (sims * 3))


@pytest.mark.parametrize("make_truth", [_step_truth, _raw_truth], ids=["step", "raw-logistic"])
def test_flexible_link_covers_a_misspecified_truth(make_truth: Any) -> None:
    flexible = _coverage(make_truth, "flexible", n=300, sims=40, seed=5)
    parametric = _coverage(make_truth, "parametric", n=300, sims=40, seed=5)
    assert flexible >= 0.88, (flexible, parametric)
    assert parametric < 0.85, parametric  # the parametric link under-covers the same data


def test_flexible_link_predicts_saves_and_refuses_what_it_cannot(tmp_path: Any) -> None:
    rng = np.random.default_rng(0)
    s = rng.integers(1, 6, 300).astype(float)
    y = (rng.random(300) < np.where(s >= 3, 0.8, 0.2)).astype(float)
    cal = BayesianCalibrator(score_range=(1, 5), link="flexible", random_state=0).fit(s, y)
    p = cal.predict_agreement(np.array([1.0, 2.0, 4.0, 5.0]))
    assert p[0] < 0.35 < 0.65 < p[2]
    assert cal.predict_interval(np.array([3.0]), stages="new stage").shape == (1, 2)
    path = tmp_path / "flex.json"
    persist.save(cal, path)
    back = persist.load(path)
    np.testing.assert_array_equal(back.predict_agreement(GRID[:5]), cal.predict_agreement(GRID[:5]))
    with pytest.raises(InputError, match="link"):
        BayesianCalibrator(kind="ordinal", link="flexible").fit(s, (s > 2) + 1.0)
    with pytest.raises(InputError, match="link"):
        BayesianCalibrator(link="spline").fit(s, y)


def test_block_arrow_factor_matches_the_dense_hessian() -> None:
    """The per-stage factorisation solves, logdets and samples as the dense matrix does."""
    from judgecal.calibration.bayes import flexible as fx

    rng = np.random.default_rng(3)
    S, J = 4, 6
    F = np.column_stack([np.linspace(-2, 2, J), np.linspace(-1, 1, J) ** 3])
    cells = fx._cells(
        rng.integers(0, J, 200),
        F,
        rng.random(200),
        np.ones(200),
        rng.integers(0, S, 200),
        S,
        dict(mu_a=0.0, sd_a=2.0, mu_b=1.0, sd_b=0.75, tau_a=0.5, tau_b=0.25, tau_r=1.0),
    )
    lam, _ = fx._stage_precisions(F, np.array([[0.7, 0.3, 0.9], [0.1, 0.05, 2.0]]), "walk")
    curv = rng.random((2, S, J)) * 5.0
    factor = fx._factor(lam, curv, cells)
    K1 = cells.M.shape[1]
    for g in range(2):
        dense = np.zeros((S * J + K1, S * J + K1))
        for j in range(S):
            rows = slice(j * J, (j + 1) * J)
            dense[rows, rows] = lam[g] + np.diag(curv[g, j])
            dense[rows, S * J :] = -lam[g] @ cells.M
            dense[S * J :, rows] = (-lam[g] @ cells.M).T
        dense[S * J :, S * J :] = cells.q0 + S * cells.M.T @ lam[g] @ cells.M
        np.testing.assert_allclose(factor.logdet()[g], np.linalg.slogdet(dense)[1], rtol=1e-10)
        gj, gv = rng.standard_normal((S, J)), rng.standard_normal(K1)
        xj, xv = factor.take(g).solve(gj[None], gv[None])
        want = np.linalg.solve(dense, np.concatenate([gj.ravel(), gv]))
        np.testing.assert_allclose(np.concatenate([xj[0].ravel(), xv[0]]), want, atol=1e-10)
        zj, zv = rng.standard_normal((20000, S, J)), rng.standard_normal((20000, K1))
        bj, bv = factor.take(g).back(zj, zv)
        draws = np.column_stack([bj.reshape(20000, -1), bv])
        cov = np.cov(draws.T)
        np.testing.assert_allclose(cov, np.linalg.inv(dense), atol=0.05 * np.abs(cov).max())


def test_flexible_link_fits_many_stages_in_bounded_memory() -> None:
    """120 stages x 10 levels: blocks per stage, not a dense 1200^2 Hessian per grid point."""
    import tracemalloc

    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(120), 20)
    s = rng.integers(1, 11, g.size).astype(float)
    y = (rng.random(g.size) < _sigmoid(0.8 * (s - 5.5))).astype(float)
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = BayesianCalibrator(score_range=(1, 10), link="flexible", draws=200, random_state=0)
        cal.fit(s, y, stages=np.char.add("s", g.astype(str)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 400 * 2**20, peak  # dense Hessians on the grid: > 3 GiB
    p = cal.predict_agreement(np.array([1.0, 10.0]), stages="s0")
    assert p[0] < 0.3 < 0.7 < p[1]
    with pytest.raises(InputError, match="draws"):
        BayesianCalibrator(link="flexible", draws=50_000).fit(
            s, y, stages=np.char.add("s", g.astype(str))
        )


def test_monotone_kind_projects_the_flexible_posterior(tmp_path: Any) -> None:
    # a dip at score 3 in stage "b": the flexible link follows it, the monotone kind may not
    rng = np.random.default_rng(4)
    s = np.tile(np.arange(1.0, 8.0), 120)
    stages = np.where(np.arange(s.size) % 2 == 0, "a", "b")
    p = 0.15 + 0.1 * s
    p[(stages == "b") & (s == 3)] = 0.05
    y = (rng.random(s.size) < p).astype(float)
    flex = BayesianCalibrator(random_state=0).fit(s, y, stages=stages)
    mono = BayesianCalibrator(kind="monotone", random_state=0).fit(s, y, stages=stages)
    assert mono.link_ == "flexible"
    grid = np.arange(1.0, 8.0)
    assert np.diff(flex.predict_agreement(grid, stages="b")).min() < -0.05  # the dip is seen
    for stage in ("a", "b", None):  # None: a new stage from the population
        key = NEW_STAGE if stage is None else stage
        assert np.all(np.diff(mono.draws_[key]["theta"], axis=1) >= 0)
        mean = mono.predict_agreement(grid, stages=stage)
        ends = mono.predict_interval(grid, stages=stage)
        assert np.all(np.diff(mean) >= 0) and np.all(np.diff(ends, axis=0) >= 0)
    # the projection pools the dip with its neighbours: between the flexible values
    pooled = mono.predict_agreement([2.0, 3.0], stages="b")
    assert pooled[0] == pytest.approx(pooled[1], abs=0.02)
    path = tmp_path / "mono.json"
    persist.save(mono, path)
    again = persist.load(path)
    ends_b = mono.predict_interval(grid, stages="b")
    np.testing.assert_array_equal(again.predict_interval(grid, stages="b"), ends_b)
