"""Isotonic calibration speed and memory against scikit-learn and the numpy floor; import time.

Run: ``.venv/bin/python benchmarks/bench_calibration.py``. All timings are in one
process, best of several repeats; results go to ``benchmarks/results/calibration.json``.

* fit: ``IsotonicCalibrator.fit`` vs ``sklearn.isotonic.IsotonicRegression.fit`` on
  n labelled scores (what judgecal wraps, plus validation and bounds).
* predict: 10^6 scores through ``predict_proba`` vs ``IsotonicRegression.predict``
  vs ``numpy.interp`` on the same thresholds (the floor: one interpolation).
* import: ``import judgecal`` in a fresh interpreter, and the heavy modules it must not load.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from sklearn.isotonic import IsotonicRegression

from judgecal import IsotonicCalibrator, LogisticCalibrator


def best(fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def peak_mb(fn) -> float:  # type: ignore[no-untyped-def]
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def main() -> None:
    rng = np.random.default_rng(0)
    out: dict[str, object] = {}
    for n in (500, 10_000):
        s = rng.integers(1, 11, n).astype(float)
        y = (rng.random(n) < 1 / (1 + np.exp(-(s - 5)))).astype(float)
        t_j = best(lambda: IsotonicCalibrator().fit(s, y))  # noqa: B023
        t_s = best(lambda: IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(s, y))  # noqa: B023
        t_l = best(lambda: LogisticCalibrator().fit(s, y))  # noqa: B023
        out[f"fit_n{n}"] = {
            "judgecal_isotonic_s": t_j,
            "sklearn_isotonic_s": t_s,
            "ratio": t_j / t_s,
            "judgecal_logistic_s": t_l,
        }
    s = rng.integers(1, 11, 2000).astype(float)
    y = (rng.random(2000) < 1 / (1 + np.exp(-(s - 5)))).astype(float)
    cal = IsotonicCalibrator().fit(s, y)
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(s, y)
    log = LogisticCalibrator().fit(s, y)
    xt, yt = cal.pooled_["x"], cal.pooled_["y"]
    big = rng.uniform(0, 11, 1_000_000)
    stages = np.where(big > 5, "selection", "generation")
    staged = IsotonicCalibrator().fit(s, y, stages=np.where(s > 5, "selection", "generation"))
    pred = {
        "judgecal_isotonic_s": best(lambda: cal.predict_proba(big)),
        "judgecal_isotonic_1d_s": best(lambda: cal.predict_agreement(big)),
        "judgecal_isotonic_2_stages_s": best(lambda: staged.predict_proba(big, stages=stages), 3),
        "judgecal_logistic_s": best(lambda: log.predict_proba(big)),
        "sklearn_isotonic_s": best(lambda: iso.predict(big)),
        "numpy_interp_floor_s": best(lambda: np.interp(big, xt, yt)),
    }
    pred["ratio_vs_sklearn"] = pred["judgecal_isotonic_s"] / pred["sklearn_isotonic_s"]
    pred["ratio_vs_numpy_floor"] = pred["judgecal_isotonic_s"] / pred["numpy_interp_floor_s"]
    pred["ratio_1d_vs_numpy_floor"] = pred["judgecal_isotonic_1d_s"] / pred["numpy_interp_floor_s"]
    pred["peak_mb_judgecal"] = peak_mb(lambda: cal.predict_proba(big))
    pred["peak_mb_sklearn"] = peak_mb(lambda: iso.predict(big))
    pred["peak_mb_numpy_floor"] = peak_mb(lambda: np.interp(big, xt, yt))
    out["predict_1e6"] = pred
    code = "import time; t=time.perf_counter(); import judgecal; print(time.perf_counter()-t)"
    imp = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(5)
    ]
    heavy = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, judgecal; heavy = ('pymc', 'pytensor', 'arviz', 'matplotlib', 'sklearn', "
            "'scipy'); print([m for m in heavy if m in sys.modules])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    imp_np = [
        float(
            subprocess.run(
                [sys.executable, "-c", code.replace("judgecal", "numpy")],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for _ in range(5)
    ]
    out["import"] = {"judgecal_s": min(imp), "numpy_s": min(imp_np), "heavy_modules_loaded": heavy}
    print(json.dumps(out, indent=2))
    Path(__file__).with_name("results").mkdir(exist_ok=True)
    Path(__file__).with_name("results").joinpath("calibration.json").write_text(
        json.dumps(out, indent=2)
    )


if __name__ == "__main__":
    main()
