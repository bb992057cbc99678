"""Coverage of the default Bayesian calibrator on short judge scales (1-5 and 1-7).

The companion of ``bench_bayes_coverage.py`` (10-point scales): the same two kinds of
truth, on the scale a Likert judge really uses, fitted as the README does
(``BayesianCalibrator(score_range=(1, J))``, the default ``link="auto"``).

* ``logistic``: logistic in the raw score, stage slopes drawn so that the first two
  stages are 3x apart (rescaled to the scale's length), intercepts centring the curve.
* ``step``: P jumps from [0.1, 0.3] to [0.6, 0.9] at a score drawn per stage.

Coverage of 90% intervals of P(agree | score, stage) at every score of every stage.

Run: ``.venv/bin/python benchmarks/bench_bayes_coverage_scales.py [--sims 30]``.
Writes ``benchmarks/results/bayes_coverage_scales.json``.
"""

from __future__ import annotations

import argparse
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from judgecal.calibration.bayes.calibrator import BayesianCalibrator

RESULTS = Path(__file__).parent / "results" / "bayes_coverage_scales.json"
DESIGNS = [  # levels, stages, labels per stage, truth
    (5, 1, 50, "logistic"),
    (5, 3, 200, "logistic"),
    (5, 6, 100, "logistic"),
    (5, 3, 200, "step"),
    (7, 3, 300, "logistic"),
    (7, 3, 300, "step"),
]


def _sigmoid(t: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-t))


def truths(J: int, S: int, kind: str, rng: np.random.Generator) -> list[Callable[[Any], Any]]:
    """One function of the score per stage."""
    if kind == "logistic":
        b = rng.uniform(0.3, 0.9, S) * 9 / (J - 1)
        b[0] = 0.3 * 9 / (J - 1)
        if S > 1:
            b[1] = 0.9 * 9 / (J - 1)
        a = -b * (J + 1) / 2 + rng.normal(0.0, 0.5, S)
        return [lambda s, j=j: _sigmoid(a[j] + b[j] * s) for j in range(S)]
    cut = rng.integers(2, J + 1, S)
    low, high = rng.uniform(0.1, 0.3, S), rng.uniform(0.6, 0.9, S)
    return [lambda s, j=j: np.where(s >= cut[j], high[j], low[j]) for j in range(S)]


def coverage(J: int, S: int, n: int, kind: str, sims: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    grid = np.arange(1.0, J + 1)
    hits = 0.0
    for t in range(sims):
        fns = truths(J, S, kind, rng)
        g = np.repeat(np.arange(S), n)
        s = rng.integers(1, J + 1, g.size).astype(float)
        p = np.concatenate([fns[j](s[g == j]) for j in range(S)])
        y = (rng.random(g.size) < p).astype(float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cal = BayesianCalibrator(score_range=(1, J), random_state=t, method="laplace")
            cal.fit(s, y, stages=g.astype(str))
        for j in range(S):
            iv = cal.predict_interval(grid, stages=str(j))
            truth = fns[j](grid)
            hits += float(np.mean((iv[:, 0] <= truth) & (truth <= iv[:, 1])))
    return hits / (sims * S)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sims", type=int, default=30)
    args = ap.parse_args()
    rows = []
    for J, S, n, kind in DESIGNS:
        cov = coverage(J, S, n, kind, args.sims, seed=11)
        rows.append({"levels": J, "stages": S, "n_per_stage": n, "truth": kind, "coverage": cov})
        print(f"1-{J} scale, {S} stages x {n}, {kind}: {cov:.3f}", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"sims": args.sims, "rows": rows}, indent=1) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
