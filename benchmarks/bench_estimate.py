"""Real-data study of the human-rate estimates (PPI++ with a cross-fitted calibrated judge).

PandaLM: the human win rate of the first response (ties count half) per model
pairing (10 pairings, 89-111 comparisons each), from 100 human-labelled
comparisons (10 per pairing) plus the judge on the rest; the truth is the
all-human value (three annotators on every comparison).

HANNA: P(human rating >= 4) per criterion (6 criteria x 1,056 stories), from 100
labelled stories per criterion plus the judge on the rest.

Over 200 random splits per setting: coverage of the all-human value by 90%
intervals and mean interval width, for

* ``ppi++ cv``: judgecal's default (isotonic, 5-fold cross-fitting, power tuning, strata);
* ``human``: the labelled items only (same strata);
* ``judge``: the raw judge's rate with its naive interval;
* ``ppi raw``: classical PPI (lambda = 1) on the raw judge score (ppi_py's ``ppi_mean_ci``,
  ``lam=1``);
* ``ppi++ in-sample``: the calibrator fitted on *all* labels and used on them (no cross-fitting);
* ``bayes``: the posterior of the finite-population rate from judgecal's BayesianCalibrator
  (binary, partial pooling over strata, centred on the raw judge).

Run: ``.venv/bin/python benchmarks/bench_estimate.py`` (writes benchmarks/results/estimate.json).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

import judgecal
from judgecal.estimate import estimate_rate, keep_labels
from judgecal.estimate._prepared import (
    PreparedData,
    make_calibrator,
    prepare_records,
    stratum_weights,
)
from judgecal.estimate._strata import EstimateOptions, assemble, judge_baseline, stratified_ppi
from judgecal.estimate.bayes import default_bayes
from judgecal.estimate.rates import run_estimate

SPLITS = int(os.environ.get("JUDGECAL_BENCH_SPLITS", "200"))
LEVEL = 0.9
METHODS = ("ppi++ cv", "human", "judge", "ppi raw", "ppi++ in-sample", "bayes")


def _labelled_mask(strata: np.ndarray, per: int, rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros(strata.size, dtype=bool)
    for s in np.unique(strata):
        idx = np.flatnonzero(strata == s)
        mask[rng.choice(idx, per, replace=False)] = True
    return mask


def _options(method: str, estimand: str = "") -> EstimateOptions:
    return EstimateOptions(
        method=method,
        ties="half",
        level=LEVEL,
        interval="t",
        bounded=True,
        where="bench",
        estimand=estimand,
    )


def _run(d_full: PreparedData, per: int, seed: int, bayes_cal: Any) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    names = np.unique(d_full.strata).tolist()
    weights = stratum_weights(d_full)
    truth = {s: float(d_full.target[d_full.strata == s].mean()) for s in names}
    truth_all = float(sum(weights[s] * truth[s] for s in names))
    cov: dict[str, dict[str, list[float]]] = {
        m: {"all": [], **{s: [] for s in names}} for m in METHODS
    }
    wid: dict[str, dict[str, list[float]]] = {
        m: {"all": [], **{s: [] for s in names}} for m in METHODS
    }
    iso = make_calibrator("isotonic", "bench")
    for _ in range(SPLITS):
        d = replace(d_full, labelled=_labelled_mask(d_full.strata, per, rng))
        srng = np.random.default_rng(int(rng.integers(1 << 31)))
        res = {
            "ppi++ cv": run_estimate(d, weights, iso, _options("ppi++"), srng),
            "ppi raw": run_estimate(d, weights, None, _options("ppi"), srng),
            "bayes": run_estimate(d, weights, bayes_cal, _options("bayes"), srng),
        }
        # in-sample: one calibrator on all labels, applied to the same labels
        fit_rows = d.labelled & d.scored
        model = judgecal.IsotonicCalibrator().fit(d.score[fit_rows], d.target[fit_rows])
        labelled_mean = float(d.target[d.labelled].mean())
        f_in = np.where(d.scored, model.predict_agreement(d.score), labelled_mean)
        s_in = stratified_ppi(d.target, f_in, d, weights, None, "bench")
        res["ppi++ in-sample"] = assemble(
            d,
            s_in,
            _options("ppi++"),
            method="in-sample",
            judge=judge_baseline(d, weights, LEVEL, "half"),
            judge_of=lambda name, d=d: judge_baseline(d, {name: 1.0}, LEVEL, "half"),
        )
        main = res["ppi++ cv"]
        for m in METHODS:
            if m == "human":
                e, per_s = main.human_only, {s: main.strata[s].human_only for s in names}
            elif m == "judge":
                e, per_s = main.judge_only, {s: main.strata[s].judge_only for s in names}
            else:
                e, per_s = res[m], res[m].strata
            cov[m]["all"].append(float(e.low <= truth_all <= e.high))
            wid[m]["all"].append(e.high - e.low)
            for s in names:
                cov[m][s].append(float(per_s[s].low <= truth[s] <= per_s[s].high))
                wid[m][s].append(per_s[s].high - per_s[s].low)
    out: dict[str, Any] = {"truth": {"all": truth_all, **truth}, "methods": {}}
    for m in METHODS:
        c = {k: float(np.mean(v)) for k, v in cov[m].items()}
        w = {k: float(np.mean(v)) for k, v in wid[m].items()}
        per_c = [c[s] for s in names]
        per_w = [w[s] / float(np.mean(wid["human"][s])) for s in names]
        out["methods"][m] = {
            "coverage_overall": c["all"],
            "width_overall": w["all"],
            "coverage_per_stratum_mean": float(np.mean(per_c)),
            "coverage_per_stratum_min": float(np.min(per_c)),
            "width_per_stratum_mean": float(np.mean([w[s] for s in names])),
            "width_ratio_vs_human_overall": w["all"] / float(np.mean(wid["human"]["all"])),
            "width_ratio_vs_human_per_stratum_mean": float(np.mean(per_w)),
            "coverage_per_stratum": {s: c[s] for s in names},
        }
    return out


def main() -> None:
    t0 = time.time()
    results: dict[str, Any] = {"splits": SPLITS, "level": LEVEL}
    settings = [
        ("pandalm/gpt35", judgecal.load_pandalm("gpt35", with_texts=False), None, 10),
        ("pandalm/pandalm7b", judgecal.load_pandalm("pandalm7b", with_texts=False), None, 10),
        ("hanna/ChatGPT_p1", judgecal.load_hanna("ChatGPT_p1"), 4, 100),
        ("hanna/Beluga-13B_p1", judgecal.load_hanna("Beluga-13B_p1"), 4, 100),
    ]
    # the fast path used below is the same computation as the public call: check once
    js0 = settings[0][1]
    hidden = keep_labels(js0, 100, seed=7)
    pub = estimate_rate(hidden, seed=3)
    d0 = prepare_records(hidden, "stage", None, "half", "bench")
    fast = run_estimate(
        d0,
        stratum_weights(d0),
        make_calibrator("isotonic", "bench"),
        _options("ppi++", pub.estimand),
        np.random.default_rng(3),
    )
    assert abs(fast.estimate - pub.estimate) < 1e-12 and abs(fast.low - pub.low) < 1e-12

    for name, js, threshold, per in settings:
        d_full = prepare_records(js, "stage", threshold, "half", "bench")
        d_full = replace(d_full, labelled=np.ones(d_full.score.size, dtype=bool))
        t = time.time()
        results[name] = _run(d_full, per, seed=len(results), bayes_cal=default_bayes(js, "bench"))
        results[name]["labels_per_stratum"] = per
        results[name]["seconds"] = round(time.time() - t, 1)
        print(
            f"\n{name}: {per} labels per stratum x {len(results[name]['truth']) - 1} strata, "
            f"{SPLITS} splits ({results[name]['seconds']} s)"
        )
        print(
            f"{'method':<18}{'cover all':>10}{'width all':>10}{'ratio':>7}"
            f"{'cover/str':>10}{'min/str':>9}{'ratio/str':>10}"
        )
        for m, r in results[name]["methods"].items():
            print(
                f"{m:<18}{r['coverage_overall']:>10.3f}{r['width_overall']:>10.3f}"
                f"{r['width_ratio_vs_human_overall']:>7.2f}{r['coverage_per_stratum_mean']:>10.3f}"
                f"{r['coverage_per_stratum_min']:>9.3f}{r['width_ratio_vs_human_per_stratum_mean']:>10.2f}"
            )
    results["seconds_total"] = round(time.time() - t0, 1)
    out = Path(__file__).parent / "results" / "estimate.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"\nwrote {out} in {results['seconds_total']} s")


if __name__ == "__main__":
    main()
