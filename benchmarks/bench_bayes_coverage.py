"""Coverage of 90% intervals of P(agree | score, stage) when stages truly differ.

Designs (scores 1..10, Bernoulli labels):

* ``issue``: logistic in the raw score, intercepts -3, -4, -2.5, slopes 0.6, 0.7,
  0.4; 3 stages x 200 labels.
* ``slopes3x S=.. n=..``: S stages, n labels each, slopes drawn in [0.3, 0.9] with
  the first two stages at 0.3 and 0.9 (a 3x spread), intercepts -5.5 x slope + N(0, 0.5).
* ``step S=.. n=..``: a step from P in [0.1, 0.3] to P in [0.6, 0.9] at a score in 4..7.

Models (``binary`` unless named):

* ``default, raw score``: ``BayesianCalibrator()``; ``link="auto"`` is the flexible
  link here (10 discrete levels), on the standardized raw score.
* ``default, score_range``: ``BayesianCalibrator(score_range=(1, 10))``, the README's
  usage; flexible link whose backbone has the logit of the rescaled score and the
  rescaled score.
* ``parametric, raw``: logistic in the standardized raw score (the truth's link in
  the logistic designs); ``parametric, raw, 0.1 scales`` with judgecal 0.1's group
  scales; ``parametric, score_range``: logistic in the logit of the rescaled score
  (misspecified on every design here).
* ``monotone``: one probability per score, non-decreasing: the flexible link's
  posterior projected onto non-decreasing curves (``kind="monotone"``).

Every fit uses ``method="laplace"`` (the fast path); the share of fits whose
diagnostics would have sent ``method="auto"`` to NUTS is reported.

Run: ``.venv/bin/python benchmarks/bench_bayes_coverage.py [--sims 20]``.
Writes ``benchmarks/results/bayes_coverage.json``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from judgecal.calibration.bayes.calibrator import BayesianCalibrator, _trusted

RESULTS = Path(__file__).parent / "results" / "bayes_coverage.json"
GRID = np.arange(1.0, 11.0)
Truth = list[Callable[[Any], Any]]


def _sigmoid(t: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-t))


def _curve(a: float, b: float) -> Callable[[Any], Any]:
    return lambda s: _sigmoid(a + b * s)


def _step(cut: float, low: float, high: float) -> Callable[[Any], Any]:
    return lambda s: np.where(s >= cut, high, low)


def _logistic(a: Any, b: Any) -> Truth:
    return [_curve(float(a[j]), float(b[j])) for j in range(len(a))]


def truth(design: str, n_stages: int, rng: np.random.Generator) -> Truth:
    if design == "issue":
        return _logistic(np.array([-3.0, -4.0, -2.5]), np.array([0.6, 0.7, 0.4]))
    if design == "slopes3x":
        b = rng.uniform(0.3, 0.9, n_stages)
        b[0] = 0.3
        if n_stages > 1:
            b[1] = 0.9
        return _logistic(-5.5 * b + rng.normal(0.0, 0.5, n_stages), b)
    cut = rng.integers(4, 8, n_stages)
    low, high = rng.uniform(0.1, 0.3, n_stages), rng.uniform(0.6, 0.9, n_stages)
    return [_step(float(cut[j]), float(low[j]), float(high[j])) for j in range(n_stages)]


def coverage(
    design: str, n_stages: int, n: int, params: dict[str, Any], sims: int, seed: int
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    hits = np.zeros(n_stages)
    untrusted = 0
    for t in range(sims):
        fns = truth(design, n_stages, rng)
        g = np.repeat(np.arange(n_stages), n)
        s = rng.integers(1, 11, g.size).astype(float)
        p = np.empty(g.size)
        for j in range(n_stages):
            p[g == j] = fns[j](s[g == j])
        y = (rng.random(g.size) < p).astype(float)
        names = np.array([f"s{j}" for j in range(n_stages)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cal = BayesianCalibrator(**params, method="laplace", random_state=t).fit(
                s, y, stages=names[g]
            )
        untrusted += not _trusted(cal.diagnostics_)
        for j in range(n_stages):
            iv = cal.predict_interval(GRID, stages=names[j])
            tr = fns[j](GRID)
            hits[j] += np.mean((iv[:, 0] <= tr) & (tr <= iv[:, 1]))
    per_stage = hits / sims
    return {
        "coverage": float(per_stage.mean()),
        "coverage_per_stage": per_stage.round(3).tolist(),
        "fast_path_untrusted": untrusted / sims,
    }


DESIGNS = [
    ("issue", 3, 200),
    ("slopes3x", 1, 30),
    ("slopes3x", 1, 2000),
    ("slopes3x", 3, 300),
    ("slopes3x", 10, 30),
    ("slopes3x", 10, 100),
    ("slopes3x", 2, 2000),
    ("step", 3, 300),
    ("step", 10, 100),
    ("step", 2, 2000),
]
MODELS: dict[str, dict[str, Any]] = {
    "default, raw score": {"kind": "binary"},
    "default, score_range": {"kind": "binary", "score_range": (1, 10)},
    "parametric, raw": {"kind": "binary", "link": "parametric"},
    "parametric, raw, 0.1 scales": {
        "kind": "binary",
        "link": "parametric",
        "prior": {"tau_a": 0.5, "tau_b": 0.25},
    },
    "parametric, score_range": {"kind": "binary", "score_range": (1, 10), "link": "parametric"},
    "monotone": {"kind": "monotone"},
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sims", type=int, default=20)
    ap.add_argument("--only", default="", help="run only the models whose name contains this")
    ap.add_argument("--skip", default="\0", help="skip the models whose name contains this")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    rows = []
    print(f"{'design':26s}{'model':30s}{'coverage':>9}  per stage (min)  untrusted")
    for k, (design, n_stages, n) in enumerate(DESIGNS):
        for model, params in MODELS.items():
            if args.only not in model or args.skip in model:
                continue
            t = time.time()
            r = coverage(design, n_stages, n, params, args.sims, seed=k)
            label = f"{design} S={n_stages} n={n}"
            rows.append({"design": label, "model": model, **r, "seconds": time.time() - t})
            print(
                f"{label:26s}{model:30s}{r['coverage']:9.3f}  "
                f"{min(r['coverage_per_stage']):.3f}            {r['fast_path_untrusted']:.2f}",
                flush=True,
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"sims": args.sims, "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
