"""Benchmark the Bayesian calibrator: fit time by path, kind and stage count; prediction; real data.

Run: ``.venv/bin/python benchmarks/bench_bayes.py [--quick] [--skip-nuts] [--splits N]``.
Prints tables and writes ``benchmarks/results/bayes.json``.

Sections
--------
1. Fit time for each path (Laplace fast path, NUTS with the cached model, a
   plain PyMC model of the same kind, the scipy MAP/Laplace floor) and each kind
   at n = 200 and 2000 labels, 3 stages; divergences of each NUTS fit.
2. Prediction: posterior mean + 90% interval for 10^6 discrete and 10^6
   continuous scores; time and peak memory (tracemalloc).
3. Real data: 200 random splits of 50 labels on HANNA (4 judges, 6 criteria as
   stages, target P(human rating >= 4)) and PandaLM (2 judges, pairings as
   stages, target P(first preferred), ties half): held-out Brier win rate vs the
   raw judge, held-out log loss, and the 90% interval coverage of held-out
   per-(stage, score) agreement rates, against isotonic and logistic.
4. Stage scaling: fast-path fit time and peak memory for S = 3 ... 1000 stages
   (``--sections stages``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from judgecal import ConvergenceWarning
from judgecal.calibration.bayes.calibrator import BayesianCalibrator, default_prior

RESULTS = Path(__file__).parent / "results" / "bayes.json"


def _sim(kind: str, n: int, seed: int = 0) -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(seed)
    s = rng.integers(1, 6, n).astype(float)
    st = rng.choice(["extraction", "selection", "generation"], n)
    off = {"extraction": 0.0, "selection": 0.4, "generation": -0.4}
    eta = (s - 3.0) * 0.9 + np.vectorize(off.get)(st)
    if kind in ("binary", "monotone"):
        y: Any = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    elif kind == "ordinal":
        cut = np.array([-2.0, -0.5, 0.5, 2.0])
        y = 1 + np.sum(eta[:, None] + rng.logistic(size=n)[:, None] > cut, axis=1)
    else:
        s = rng.integers(0, 3, n).astype(float)
        eta = (s - 1.0) * 1.2 + np.vectorize(off.get)(st)
        lat = eta + rng.logistic(size=n)
        y = np.where(lat > 0.7, "first", np.where(lat < -0.7, "second", "tie"))
    return s, st, y


def _scipy_floor(s: Any, y: Any) -> float:
    """The floor: a 2-parameter logistic MAP + Laplace (Hessian) with scipy, one group."""
    from scipy.optimize import minimize

    t = time.perf_counter()
    z = (s - s.mean()) / s.std()

    def nlp(th: Any) -> tuple[float, Any]:
        eta = th[0] + th[1] * z
        p = 1 / (1 + np.exp(-eta))
        f = float(np.sum(np.logaddexp(0, eta) - y * eta) + 0.5 * th @ th / 6.25)
        g = np.array([np.sum(p - y), np.sum((p - y) * z)]) + th / 6.25
        return f, g

    res = minimize(nlp, np.zeros(2), jac=True, method="BFGS")
    p = 1 / (1 + np.exp(-(res.x[0] + res.x[1] * z)))
    h = p * (1 - p)
    np.linalg.inv(np.array([[h.sum(), (h * z).sum()], [(h * z).sum(), (h * z * z).sum()]]))
    return time.perf_counter() - t


def fit_times(sizes: tuple[int, ...], nuts: bool, draws: int, tune: int) -> list[dict[str, Any]]:
    from judgecal.calibration.bayes import _pymc_backend

    rows = []
    for n in sizes:
        s, st, y = _sim("binary", n)
        floor = min(_scipy_floor(s, y) for _ in range(5))
        t = time.perf_counter()
        lap = BayesianCalibrator(score_range=(1, 5), random_state=0).fit(s, y, stages=st)
        rows.append(
            {
                "n": n,
                "kind": "binary",
                "path": "laplace",
                "seconds": time.perf_counter() - t,
                "k_hat": lap.diagnostics_["k_hat"],
                "floor_seconds": floor,
            }
        )
        if not nuts:
            continue
        for kind in ("binary", "monotone", "ordinal", "pairwise"):
            s, st, y = _sim(kind, n)
            rng = (0, 2) if kind == "pairwise" else (1, 5)
            est = BayesianCalibrator(
                kind=kind,
                method="nuts",
                score_range=rng,
                random_state=0,
                draws=draws,
                tune=tune,
                chains=2,
            )
            for rep in ("first", "warm"):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    t = time.perf_counter()
                    est.fit(s, y, stages=st)
                    took = time.perf_counter() - t
                rows.append(
                    {
                        "n": n,
                        "kind": kind,
                        "path": f"nuts-cached-{rep}",
                        "seconds": took,
                        "divergences": est.diagnostics_["divergences"],
                        "max_rhat": est.diagnostics_["max_rhat"],
                        "min_ess_bulk": est.diagnostics_["min_ess_bulk"],
                    }
                )
            data = est._backend_data(
                np.asarray(s, float),
                est._check_targets(y, len(s), "bench"),
                np.ones(len(s)),
                np.unique(st, return_inverse=True)[1].astype(np.int64),
            )
            model = kind
            if est._is_flexible():  # binary on a 1-5 scale, and monotone: the flexible link
                model, data["structure"] = "flexible", "walk"
            t = time.perf_counter()
            res = _pymc_backend.sample_plain(
                model, data, est.prior_, draws=draws, tune=tune, chains=2, target_accept=0.9, seed=0
            )
            rows.append(
                {
                    "n": n,
                    "kind": kind,
                    "path": "plain-pymc",
                    "seconds": time.perf_counter() - t,
                    "divergences": res["diagnostics"]["divergences"],
                }
            )
            for r in rows[-3:]:
                print(
                    f"  n={r['n']:5d} {r['kind']:9s} {r['path']:18s} {r['seconds']:8.2f} s",
                    flush=True,
                )
    return rows


def divergence_check(draws: int = 2000, tune: int = 1000) -> dict[str, Any]:
    """The issue's case: non-centred 3-stage hierarchy, n=600, 4000 draws; ours vs wide priors."""
    s, st, y = _sim("binary", 600, seed=3)
    out = {}
    for name, prior in (
        ("judgecal default", None),
        ("wide HalfNormal(2.5) scales", {"tau_a": 2.5, "tau_b": 2.5}),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = BayesianCalibrator(
                method="nuts",
                score_range=(1, 5),
                prior=prior,
                random_state=1,
                draws=2 * draws,
                tune=tune,
                chains=2,
            ).fit(s, y, stages=st)
        out[name] = est.diagnostics_["divergences"]
        print(f"  divergences ({name}): {out[name]} in {2 * draws} draws", flush=True)
    return out


def prediction() -> list[dict[str, Any]]:
    s, st, y = _sim("binary", 500)
    est = BayesianCalibrator(score_range=(1, 5), random_state=0, draws=1000).fit(s, y, stages=st)
    rng = np.random.default_rng(1)
    rows = []
    for kind, x in (
        ("discrete", rng.integers(1, 6, 10**6).astype(float)),
        ("continuous", rng.uniform(1, 5, 10**6)),
    ):
        est.predict_agreement(x[:100], stages="selection")
        tracemalloc.start()
        t = time.perf_counter()
        est.predict_agreement(x, stages="selection")
        est.predict_interval(x, stages="selection", level=0.9)
        took = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rows.append(
            {"scores": kind, "n": 10**6, "draws": 1000, "seconds": took, "peak_mb": peak / 1e6}
        )
        print(
            f"  1e6 {kind:10s} scores: mean + 90% interval in {took:.3f} s, "
            f"peak {peak / 1e6:.0f} MB",
            flush=True,
        )
    return rows


def real_data(splits: int) -> list[dict[str, Any]]:
    from _bayes_real import DATASETS, dataset, evaluate

    rows = []
    for name, judge in DATASETS:
        r = evaluate(dataset(name, judge), splits=splits)
        rows.append(r)
        print(
            f"  {r['dataset']:22s} win vs raw: bayes {r['win_bayes']:.3f} "
            f"iso {r['win_isotonic']:.3f} logistic {r['win_logistic']:.3f} | "
            f"brier {r['brier_bayes']:.4f}/{r['brier_isotonic']:.4f}/"
            f"{r['brier_logistic']:.4f} raw {r['brier_raw']:.4f} | "
            f"logloss {r['logloss_bayes']:.3f}/"
            f"{r['logloss_isotonic']:.3f}/{r['logloss_logistic']:.3f} raw {r['logloss_raw']:.3f} | "
            f"cov90 {r['coverage90_bayes']:.3f} width {r['width90_bayes']:.3f}",
            flush=True,
        )
    return rows


def stage_scaling(counts: tuple[int, ...], per_stage: int = 10) -> list[dict[str, Any]]:
    """Fast-path fit time and peak memory against the number of stages S.

    ``per_stage`` labels per stage on a 5-point scale, stage effects drawn from
    the model, default draws (1000). Peak memory is tracemalloc's (numpy
    allocations included). judgecal 0.1 (a dense solver) took 17 s and 0.8 GB
    at S = 100, 408 s and 6.5 GB at S = 300.
    """
    rows = []
    for n_stages in counts:
        rng = np.random.default_rng(n_stages)
        n = per_stage * n_stages
        stage = rng.integers(0, n_stages, n)
        a = rng.normal(0.0, 0.5, n_stages)
        s = rng.integers(1, 6, n).astype(float)
        y = (rng.random(n) < 1 / (1 + np.exp(-(a[stage] + 0.9 * (s - 3))))).astype(float)
        names = np.array([f"stage{k:05d}" for k in range(n_stages)])[stage]
        tracemalloc.start()
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            cal = BayesianCalibrator(random_state=0).fit(s, y, stages=names)
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        row = {
            "stages": n_stages,
            "labels": n,
            "fit_seconds": round(seconds, 3),
            "peak_mib": round(peak / 2**20, 1),
            "k_hat": round(float(cal.diagnostics_["k_hat"]), 3),
        }
        print(f"  S={n_stages:5d}  n={n:6d}  {seconds:8.2f} s  {peak / 2**20:8.1f} MiB")
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="n=200 only, few NUTS draws, 40 splits")
    ap.add_argument("--skip-nuts", action="store_true")
    ap.add_argument("--splits", type=int, default=200)
    ap.add_argument("--sections", default="fit,divergence,predict,real,stages")
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    out: dict[str, Any] = {"prior_binary_identity": default_prior("binary", True)}
    if "predict" in sections:
        print("Prediction from stored draws (numpy only):")
        out["prediction"] = prediction()
    if "fit" in sections:
        print("Fit time (3 stages):")
        sizes = (200,) if args.quick else (200, 2000)
        draws, tune = (200, 200) if args.quick else (300, 300)
        out["fit"] = fit_times(sizes, not args.skip_nuts, draws, tune)
    if "divergence" in sections and not args.skip_nuts:
        print("Divergences, 3-stage non-centred hierarchy, n=600:")
        out["divergences"] = divergence_check(*((500, 300) if args.quick else (2000, 1000)))
    if "stages" in sections:
        print("Fast-path fit against the number of stages (10 labels per stage):")
        out["stage_scaling"] = stage_scaling(
            (3, 10, 30, 100) if args.quick else (3, 10, 30, 100, 300, 1000)
        )
    if "real" in sections:
        print(f"Real data, 50 labels, {40 if args.quick else args.splits} splits:")
        out["real"] = real_data(40 if args.quick else args.splits)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    if RESULTS.exists():  # keep sections measured by other runs
        out = {**json.loads(RESULTS.read_text()), **out}
    RESULTS.write_text(json.dumps(out, indent=1, default=float))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
