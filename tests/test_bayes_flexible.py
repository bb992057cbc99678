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
from judgecal.calibration.bayes.calibrator import BayesianCalibrator

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
    flexible = _coverage(make_truth, "flexible", n=300, sims=8, seed=5)
    parametric = _coverage(make_truth, "parametric", n=300, sims=8, seed=5)
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
