"""The default binary model (``link="auto"``: the flexible link on a discrete scale) against NUTS.

Four tables, one process, 2 cores:

* ``time``: fit + one prediction, n = 500 labels, 3 stages, on 5- and 10-point
  scales: the numpy fast path against PyMC NUTS on the same model (the flexible
  link is also a PyMC model), and the fast path in a fresh process including
  ``import judgecal``.
* ``large_n``: the fast path at n = 10^5 labels (its cost depends on the
  (stage, level) cells, not on n).
* ``agreement``: posterior means and 90% interval ends of P(agree | score, stage)
  at every level, fast path against NUTS (draws=2000 each), over designs with
  1 or 3 stages, 5 or 10 levels, 200 or 1000 labels per stage, logistic or step truths.
* ``stages``: fit time and peak traced memory against the number of stages
  (10 labels per stage, 10 levels): the block-by-block factorisation is linear in S.

Run: ``.venv/bin/python benchmarks/bench_bayes_flexible.py``.
Writes ``benchmarks/results/bayes_flexible.json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from judgecal.calibration.bayes.calibrator import BayesianCalibrator

RESULTS = Path(__file__).parent / "results" / "bayes_flexible.json"


def simulate(n_per_stage: int, S: int, J: int, truth: str, seed: int) -> tuple[Any, Any, Any]:
    """Scores 1..J, stage names and Bernoulli labels whose stages differ."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(S), n_per_stage)
    s = rng.integers(1, J + 1, g.size).astype(float)
    u = (s - 1) / (J - 1)
    slope = np.array([4.0, 6.0, 2.5])[g % 3]
    if truth == "logistic":
        p = 1 / (1 + np.exp(-(slope * (u - 0.5) + 0.3 * (g % 3))))
    else:
        p = np.where(u >= 0.5 - 0.1 * (g % 3), 0.75, 0.2)
    y = (rng.random(g.size) < p).astype(float)
    return s, np.char.add("stage", g.astype(str)), y


def _fit(method: str, s: Any, st: Any, y: Any, J: int, draws: int = 2000) -> BayesianCalibrator:
    cal = BayesianCalibrator(
        score_range=(1, J), method=method, random_state=0, draws=draws, tune=1000
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal.fit(s, y, stages=st)
    return cal


def time_table() -> list[dict[str, Any]]:
    rows = []
    for J in (5, 10):
        s, st, y = simulate(500 // 3 + 1, 3, J, "logistic", 0)
        levels = np.arange(1.0, J + 1)
        times = {}
        for method in ("laplace", "nuts"):
            t = time.perf_counter()
            cal = _fit(method, s, st, y, J, draws=1000)
            cal.predict_interval(levels, stages="stage0")
            times[method] = time.perf_counter() - t
        rows.append(
            {
                "scale": f"1-{J}",
                "link": cal.link_,
                "fast_s": round(times["laplace"], 3),
                "nuts_s": round(times["nuts"], 2),
                "ratio": round(times["nuts"] / times["laplace"], 1),
                "fast_fresh_process_with_import_s": round(fresh_process(J), 3),
            }
        )
        print(rows[-1], flush=True)
    return rows


def fresh_process(J: int) -> float:
    code = textwrap.dedent(
        f"""
        import time; t = time.perf_counter()
        import numpy as np, judgecal
        rng = np.random.default_rng(0)
        s = rng.integers(1, {J} + 1, 500).astype(float)
        y = (rng.random(500) < (s - 1) / {J}).astype(float)
        st = np.array(["a", "b", "c"])[rng.integers(0, 3, 500)]
        cal = judgecal.BayesianCalibrator(score_range=(1, {J}), random_state=0).fit(s, y, stages=st)
        cal.predict_interval(np.arange(1.0, {J} + 1), stages="a")
        assert cal.link_ == "flexible" and cal.diagnostics_["method"] == "laplace"
        print(time.perf_counter() - t)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def large_n() -> dict[str, Any]:
    s, st, y = simulate(100_000 // 3 + 1, 3, 10, "logistic", 1)
    t = time.perf_counter()
    cal = _fit("laplace", s, st, y, 10, draws=1000)
    cal.predict_interval(np.arange(1.0, 11.0), stages="stage0")
    out = {"n": int(s.size), "seconds": round(time.perf_counter() - t, 3), "link": cal.link_}
    print(out, flush=True)
    return out


def max_diff(fast: Any, nuts: Any, levels: Any, method: str) -> float:
    """Largest |fast - NUTS| of a prediction method over stages and levels."""
    return max(
        float(
            np.abs(
                getattr(fast, method)(levels, stages=st) - getattr(nuts, method)(levels, stages=st)
            ).max()
        )
        for st in fast.stages_
    )


def agreement() -> list[dict[str, Any]]:
    rows = []
    designs = [(S, J, n, "logistic") for S in (1, 3) for J in (5, 10) for n in (200, 1000)]
    designs.append((3, 10, 300, "step"))
    for k, (S, J, n, truth) in enumerate(designs):
        s, st, y = simulate(n, S, J, truth, 10 + k)
        fast, nuts = _fit("laplace", s, st, y, J), _fit("nuts", s, st, y, J)
        levels = np.arange(1.0, J + 1)
        mean_d = max_diff(fast, nuts, levels, "predict_agreement")
        end_d = max_diff(fast, nuts, levels, "predict_interval")
        row = {
            "stages": S,
            "levels": J,
            "n_per_stage": n,
            "truth": truth,
            "max_mean_diff": round(mean_d, 4),
            "max_interval_end_diff": round(end_d, 4),
            "k_hat": round(float(fast.diagnostics_["k_hat"]), 2),
            "nuts_max_rhat": round(float(nuts.diagnostics_.get("max_rhat", float("nan"))), 3),
        }
        rows.append(row)
        print(row, flush=True)
    return rows


def stages_table() -> list[dict[str, Any]]:
    rows = []
    for S in (3, 10, 30, 100, 300):
        s, st, y = simulate(10, S, 10, "logistic", 2)
        tracemalloc.start()
        t = time.perf_counter()
        cal = BayesianCalibrator(
            score_range=(1, 10), link="flexible", method="laplace", random_state=0
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cal.fit(s, y, stages=st)
        seconds = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        rows.append({"stages": S, "seconds": round(seconds, 3), "peak_MiB": round(peak, 1)})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    out = {
        "time": time_table(),
        "large_n": large_n(),
        "agreement": agreement(),
        "stages": stages_table(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
