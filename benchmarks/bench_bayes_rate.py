"""Coverage of ``estimate_rate(method="bayes")`` on the bundled real data.

The same splits as ``bench_estimate.py``: PandaLM (10 pairings as strata, 10
labels each = 100 labels), HANNA (6 criteria as strata, 100 labels each;
target P(rating >= 4)); 200 random splits; the truth is the all-human value.
Coverage of the 90% interval of the overall rate and of every stratum's rate,
for the default Bayesian calibrator, for wider group-scale priors (tau_a=1.5,
tau_b=0.75), and with ``strata=None`` (the same labels, one stratum).

Run: ``.venv/bin/python benchmarks/bench_bayes_rate.py [--splits 200]``.
Writes ``benchmarks/results/bayes_rate.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from judgecal.estimate._prepared import prepare_records, stratum_weights
from judgecal.estimate._strata import EstimateOptions
from judgecal.estimate.bayes import default_bayes
from judgecal.estimate.rates import run_estimate
from judgecal.records.datasets import load_hanna, load_pandalm

RESULTS = Path(__file__).parent / "results" / "bayes_rate.json"
CONFIGS: dict[str, tuple[dict[str, float] | None, str | None]] = {
    "default, strata=stage": (None, "stage"),
    "wide scales, strata=stage": ({"tau_a": 1.5, "tau_b": 0.75}, "stage"),
    "default, strata=None": (None, None),
}


def _labelled(strata: np.ndarray, per: int, rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros(strata.size, dtype=bool)
    for s in np.unique(strata):
        idx = np.flatnonzero(strata == s)
        mask[rng.choice(idx, per, replace=False)] = True
    return mask


def coverage(
    js: Any, threshold: int | None, per: int, splits: int, prior: Any, strata: str | None
) -> dict[str, Any]:
    """Coverage of the overall and per-stratum 90% intervals over random splits."""
    d_full = prepare_records(js, "stage", threshold, "half", "bench")
    d_full = replace(d_full, labelled=np.ones(d_full.score.size, dtype=bool))
    if strata is None:  # the same items and labels, one stratum
        stage_of = d_full.strata
        d_full = prepare_records(js, None, threshold, "half", "bench")
        d_full = replace(d_full, labelled=np.ones(d_full.score.size, dtype=bool))
    names = np.unique(d_full.strata).tolist()
    weights = stratum_weights(d_full)
    truth = {s: float(d_full.target[d_full.strata == s].mean()) for s in names}
    truth_all = sum(weights[s] * truth[s] for s in names)
    cal = default_bayes(js, "bench").set_params(prior=prior)
    opts = EstimateOptions(
        method="bayes", ties="half", level=0.9, interval="t", bounded=True, where="bench"
    )
    rng = np.random.default_rng(0)
    hits_all: list[bool] = []
    widths: list[float] = []
    hits: dict[str, list[bool]] = {s: [] for s in names}
    for _ in range(splits):
        by = d_full.strata if strata is not None else stage_of
        d = replace(d_full, labelled=_labelled(by, per, rng))
        r = run_estimate(d, weights, cal, opts, np.random.default_rng(int(rng.integers(1 << 31))))
        hits_all.append(r.low <= truth_all <= r.high)
        widths.append(r.high - r.low)
        for s in names if len(names) > 1 else []:
            hits[s].append(r.strata[s].low <= truth[s] <= r.strata[s].high)
    per_stratum = {s: float(np.mean(v)) for s, v in hits.items() if v}
    if len(names) == 1:
        per_stratum = {names[0]: float(np.mean(hits_all))}
    return {
        "coverage_overall": float(np.mean(hits_all)),
        "width_overall": float(np.mean(widths)),
        "coverage_per_stratum_mean": float(np.mean(list(per_stratum.values()))),
        "coverage_per_stratum_min": float(min(per_stratum.values())),
        "coverage_per_stratum": per_stratum,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--splits", type=int, default=200)
    args = ap.parse_args()
    settings = [
        ("pandalm/gpt35", load_pandalm("gpt35", with_texts=False), None, 10),
        ("pandalm/pandalm7b", load_pandalm("pandalm7b", with_texts=False), None, 10),
        ("hanna/ChatGPT_p1", load_hanna("ChatGPT_p1"), 4, 100),
        ("hanna/Beluga-13B_p1", load_hanna("Beluga-13B_p1"), 4, 100),
    ]
    out: dict[str, Any] = {"splits": args.splits, "level": 0.9, "results": {}}
    print(f"{'dataset':22s}{'prior':38s}{'overall':>9}{'width':>8}{'str mean':>10}{'str min':>9}")
    for prior_name, (prior, strata) in CONFIGS.items():
        for name, js, threshold, per in settings:
            t = time.time()
            r = coverage(js, threshold, per, args.splits, prior, strata)
            r["seconds"] = round(time.time() - t, 1)
            out["results"].setdefault(prior_name, {})[name] = r
            print(
                f"{name:22s}{prior_name:38s}{r['coverage_overall']:9.3f}"
                f"{r['width_overall']:8.3f}{r['coverage_per_stratum_mean']:10.3f}"
                f"{r['coverage_per_stratum_min']:9.3f}",
                flush=True,
            )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
