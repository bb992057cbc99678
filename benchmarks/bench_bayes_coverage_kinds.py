"""Coverage of 90% intervals for the ``ordinal`` and ``pairwise`` kinds when stages differ.

The truth is a cumulative logit per stage, ``logit P(level >= k) = a_j + b_j x - c_k``,
with slopes drawn in [0.3, 0.9] per unit of score and the first two stages at 0.3
and 0.9 (a 3x spread), and intercepts ``a_j ~ N(0, 0.5)``:

* ``ordinal``: 5 human levels, judge scores 1..10 (``x = score - 5.5``), cuts
  -1.5, -0.5, 0.5, 1.5; the interval is of P(level >= 4 | score, stage).
* ``pairwise``: the judge's score difference, integers -5..5 (``x`` = the
  difference), ``[second, tie, first]`` with the tie band between cuts -0.6 and
  0.6; the interval is of P(first) + P(tie) / 2.

Each fit is ``BayesianCalibrator(kind=..., method="laplace")`` (the fast path); the
intervals are checked at every score of every stage. The share of fits whose
diagnostics would send ``method="auto"`` to NUTS is reported.

Run: ``.venv/bin/python benchmarks/bench_bayes_coverage_kinds.py [--sims 200]``.
Writes ``benchmarks/results/bayes_coverage_kinds.json``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from judgecal.calibration.bayes.calibrator import BayesianCalibrator, _trusted

RESULTS = Path(__file__).parent / "results" / "bayes_coverage_kinds.json"
SCORES = {"ordinal": np.arange(1.0, 11.0), "pairwise": np.arange(-5.0, 6.0)}
CUTS = {"ordinal": np.array([-1.5, -0.5, 0.5, 1.5]), "pairwise": np.array([-0.6, 0.6])}
CENTER = {"ordinal": 5.5, "pairwise": 0.0}
DESIGNS = [(3, 200), (1, 30), (1, 2000), (3, 300), (10, 30), (10, 100), (2, 2000)]


def _sigmoid(t: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-t))


def stage_effects(n_stages: int, rng: np.random.Generator) -> tuple[Any, Any]:
    """Intercepts and slopes of each stage (a 3x spread of slopes)."""
    b = rng.uniform(0.3, 0.9, n_stages)
    b[0] = 0.3
    if n_stages > 1:
        b[1] = 0.9
    return rng.normal(0.0, 0.5, n_stages), b


def at_least(kind: str, eta: Any) -> Any:
    """P(level >= k) for k = 2..K, shape (..., K - 1)."""
    return _sigmoid(np.asarray(eta)[..., None] - CUTS[kind])


def agreement(kind: str, eta: Any) -> Any:
    """The estimand: P(level >= 4) (ordinal) or P(first) + P(tie) / 2 (pairwise)."""
    ge = at_least(kind, eta)
    if kind == "ordinal":
        return ge[..., 2]
    return ge[..., 1] + 0.5 * (ge[..., 0] - ge[..., 1])


def simulate(
    kind: str, n_stages: int, n: int, rng: np.random.Generator
) -> tuple[Any, Any, Any, Any, Any]:
    """Scores, labels, stage names and the stage effects."""
    a, b = stage_effects(n_stages, rng)
    g = np.repeat(np.arange(n_stages), n)
    s = rng.choice(SCORES[kind], g.size)
    eta = a[g] + b[g] * (s - CENTER[kind])
    level = 1 + (rng.random(g.size)[:, None] < at_least(kind, eta)).sum(axis=1)
    y = level if kind == "ordinal" else np.array(["second", "tie", "first"])[level - 1]
    return s, y, np.array([f"s{j}" for j in range(n_stages)])[g], a, b


def coverage(kind: str, n_stages: int, n: int, sims: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    hits = np.zeros(n_stages)
    untrusted = 0
    grid = SCORES[kind]
    params: dict[str, Any] = {"kind": kind, "method": "laplace"}
    if kind == "ordinal":
        params.update(levels=5, threshold=4)
    for t in range(sims):
        s, y, stages, a, b = simulate(kind, n_stages, n, rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cal = BayesianCalibrator(**params, random_state=t).fit(s, y, stages=stages)
        untrusted += not _trusted(cal.diagnostics_)
        for j in range(n_stages):
            iv = cal.predict_interval(grid, stages=f"s{j}")
            tr = agreement(kind, a[j] + b[j] * (grid - CENTER[kind]))
            hits[j] += np.mean((iv[:, 0] <= tr) & (tr <= iv[:, 1]))
    per_stage = hits / sims
    return {
        "coverage": float(per_stage.mean()),
        "coverage_per_stage": per_stage.round(3).tolist(),
        "fast_path_untrusted": untrusted / sims,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sims", type=int, default=200)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    rows = []
    print(f"{'kind':10s}{'design':16s}{'coverage':>9}  min stage  untrusted  seconds")
    for kind in ("ordinal", "pairwise"):
        for k, (n_stages, n) in enumerate(DESIGNS):
            t = time.time()
            r = coverage(kind, n_stages, n, args.sims, seed=k)
            label = f"S={n_stages} n={n}"
            rows.append({"kind": kind, "design": label, **r, "seconds": time.time() - t})
            print(
                f"{kind:10s}{label:16s}{r['coverage']:9.3f}  {min(r['coverage_per_stage']):9.3f}"
                f"  {r['fast_path_untrusted']:9.2f}  {time.time() - t:7.1f}",
                flush=True,
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"sims": args.sims, "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
