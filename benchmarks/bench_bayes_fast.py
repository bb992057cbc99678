"""The numpy fast path of every Bayesian kind against PyMC's NUTS: time and agreement.

Run: ``.venv/bin/python benchmarks/bench_bayes_fast.py [--sections time,large,agreement]``.
Writes ``benchmarks/results/bayes_fast.json``.

Sections
--------
time
    Each kind, n = 500 labels, 3 stages that differ, fit plus one prediction
    (``monotone10``: the monotone kind on a 10-point judge scale, where judgecal
    0.2's monotone model was beyond the fast path):
    the fast path in a fresh process (``python -c``, import included), and NUTS
    (PyMC, 2 chains x 1000 tune + 500 draws each, compiled model included) in
    another fresh process. Ratio = NUTS / fast.
large
    n = 10^5 labels, 3 stages, fast path, fresh process, import included.
agreement
    Simulated designs (kind x n x seed; ``monotone``/``monotone10`` also with 1
    stage and n = 100 or 500): max |difference| of the posterior mean of
    P(agree | score, stage) and of the 90% interval ends, fast path vs NUTS
    (4000 draws), over every stage and score.

``--kinds monotone10`` runs only those rows and replaces them in the results file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).parent / "results" / "bayes_fast.json"
KINDS = ("binary", "monotone", "monotone10", "ordinal", "pairwise")

SIM = textwrap.dedent(
    '''
    import numpy as np

    def simulate(kind, n, seed, n_stages=3):
        """Scores, stages, labels: stages with different offsets and slopes."""
        rng = np.random.default_rng(seed)
        g = rng.integers(0, n_stages, n)
        stages = np.array(["extraction", "selection", "generation"])[g]
        offset = np.array([0.0, 0.6, -0.6])[g]
        slope = np.array([0.9, 0.6, 1.2])[g]
        if kind == "pairwise":
            s = rng.integers(0, 3, n).astype(float)
            lat = (s - 1.0) * slope + offset + rng.logistic(size=n)
            y = np.where(lat > 0.7, "first", np.where(lat < -0.7, "second", "tie"))
            return s, stages, y
        if kind == "monotone10":  # the same truth on a 10-point scale
            s = rng.integers(1, 11, n).astype(float)
            eta = (s - 5.5) * slope * 4.0 / 9.0 + offset
            return s, stages, (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
        s = rng.integers(1, 6, n).astype(float)
        eta = (s - 3.0) * slope + offset
        if kind in ("binary", "monotone"):
            return s, stages, (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
        cut = np.array([-2.0, -0.5, 0.5, 2.0])
        return s, stages, 1 + np.sum(eta[:, None] + rng.logistic(size=n)[:, None] > cut, axis=1)

    def params(kind):
        if kind == "pairwise":
            return {"kind": kind, "score_range": (0, 2)}
        if kind == "ordinal":
            return {"kind": kind, "score_range": (1, 5), "threshold": 4}
        if kind == "monotone10":
            return {"kind": "monotone"}
        return {"kind": kind, "score_range": (1, 5)} if kind == "binary" else {"kind": kind}
    '''
)

FIT = SIM + textwrap.dedent(
    """
    import json, sys, time, warnings
    kind, n, method = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    s, st, y = simulate(kind, n, 0)
    t0 = time.perf_counter()
    from judgecal.calibration.bayes.calibrator import BayesianCalibrator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = BayesianCalibrator(**params(kind), method=method, random_state=0, draws=1000,
                                 tune=1000, chains=2).fit(s, y, stages=st)
    cal.predict_interval(s, stages=st)
    took = time.perf_counter() - t0
    d = cal.diagnostics_
    print(json.dumps({"seconds_in_process": took, "method": d["method"],
                      "k_hat": d.get("k_hat"), "ess": d.get("ess"),
                      "max_rhat": d.get("max_rhat"), "min_ess_bulk": d.get("min_ess_bulk"),
                      "divergences": d.get("divergences")}))
    """
)


def _fresh(kind: str, n: int, method: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", FIT, kind, str(n), method],
        capture_output=True,
        text=True,
        check=True,
    )
    row: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    row["seconds_fresh_process"] = time.perf_counter() - t0
    return row


def _diagnostic(row: dict[str, Any]) -> str:
    """The trust diagnostic in words: k-hat (Laplace) or R-hat (NUTS after a fallback)."""
    if row.get("k_hat") is not None:
        return f"k-hat {row['k_hat']:.2f}"
    return f"R-hat {row['max_rhat']:.3f}, ESS {row['min_ess_bulk']:.0f}"


def timing(kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = []
    for kind in kinds:
        fast = _fresh(kind, 500, "auto")
        nuts = _fresh(kind, 500, "nuts")
        row = {
            "kind": kind,
            "n": 500,
            "fast_seconds": fast["seconds_fresh_process"],
            "fast_method": fast["method"],
            "k_hat": fast["k_hat"],
            "max_rhat": fast["max_rhat"],
            "min_ess_bulk": fast["min_ess_bulk"],
            "nuts_seconds": nuts["seconds_fresh_process"],
            "nuts_divergences": nuts["divergences"],
            "ratio": nuts["seconds_fresh_process"] / fast["seconds_fresh_process"],
        }
        rows.append(row)
        print(
            f"  {kind:10s} fast {row['fast_seconds']:6.2f} s ({row['fast_method']}, "
            f"{_diagnostic(fast)})  NUTS {row['nuts_seconds']:6.1f} s  "
            f"ratio {row['ratio']:6.0f}x",
            flush=True,
        )
    return rows


def large(kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = []
    for kind in kinds:
        r = _fresh(kind, 100_000, "auto")
        rows.append({"kind": kind, "n": 100_000, **r})
        print(f"  {kind:9s} n=1e5: {r['seconds_fresh_process']:.2f} s ({r['method']})", flush=True)
    return rows


def _designs(
    kind: str, seeds: tuple[int, ...], sizes: tuple[int, ...]
) -> list[tuple[int, int, int]]:
    """(n, seed, stages) of the agreement designs of a kind."""
    out = [(n, seed, 3) for n in sizes for seed in seeds]
    if kind.startswith("monotone"):
        out += [(100, seeds[0], 1), (500, seeds[-1], 1), (100, seeds[0], 3)]
    return out


def agreement(
    kinds: tuple[str, ...], seeds: tuple[int, ...], sizes: tuple[int, ...]
) -> list[dict[str, Any]]:
    namespace: dict[str, Any] = {}
    exec(SIM, namespace)  # the simulator shared with the fresh processes
    from bench_bayes_flexible import max_diff

    from judgecal.calibration.bayes.calibrator import BayesianCalibrator

    rows = []
    for kind in kinds:
        for n, seed, n_stages in _designs(kind, seeds, sizes):
            s, st, y = namespace["simulate"](kind, n, seed, n_stages)
            p = namespace["params"](kind)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fast = BayesianCalibrator(**p, random_state=seed, draws=4000).fit(s, y, stages=st)
                nuts = BayesianCalibrator(
                    **p, method="nuts", random_state=seed, draws=4000, tune=1000
                ).fit(s, y, stages=st)
            grid = np.unique(s)
            mean_diff = max_diff(fast, nuts, grid, "predict_agreement")
            end_diff = max_diff(fast, nuts, grid, "predict_interval")
            row = {
                "kind": kind,
                "n": n,
                "stages": n_stages,
                "seed": seed,
                "fast_method": fast.diagnostics_["method"],
                "k_hat": fast.diagnostics_.get("k_hat"),
                "max_rhat": fast.diagnostics_.get("max_rhat"),
                "fast_seconds": fast.diagnostics_["seconds"],
                "nuts_seconds": nuts.diagnostics_["seconds"],
                "nuts_divergences": nuts.diagnostics_["divergences"],
                "max_mean_diff": mean_diff,
                "max_interval_end_diff": end_diff,
            }
            rows.append(row)
            print(
                f"  {kind:10s} n={n:5d} S={n_stages} seed={seed} "
                f"({row['fast_method']}): means {mean_diff:.3f}, "
                f"interval ends {end_diff:.3f} (NUTS divergences "
                f"{row['nuts_divergences']})",
                flush=True,
            )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sections", default="time,large,agreement")
    ap.add_argument("--kinds", default=",".join(KINDS), help="rows to run (others are kept)")
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    kinds = tuple(args.kinds.split(","))
    out: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}

    def merged(section: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = [r for r in out.get(section, []) if r["kind"] not in kinds]
        return sorted(kept + rows, key=lambda r: KINDS.index(r["kind"]))

    if "time" in sections:
        print("n = 500, 3 stages, fit + one prediction, fresh process each:")
        out["time"] = merged("time", timing(kinds))
    if "large" in sections:
        print("n = 1e5 labels, fast path, fresh process:")
        out["large"] = merged("large", large(kinds))
    if "agreement" in sections:
        print("Fast path vs NUTS (4000 draws each):")
        out["agreement"] = merged("agreement", agreement(kinds, seeds=(1, 2), sizes=(200, 1000)))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1, default=float) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
