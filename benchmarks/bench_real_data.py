"""The bar from DESIGN.md, on real data: does calibration beat the raw judge with 50 labels?

For each dataset (a judge on HANNA or PandaLM) and each of 200 random splits,
fit on 50 labelled items and compute the held-out Brier score of each method
and of the raw judge (its score rescaled to [0, 1]). Reported per dataset and
method: the share of splits where the method beats raw, and where it is worse.

Datasets
--------
HANNA (target: P(human rating >= 4), soft labels from 3 raters), one judge per
row, all six criteria pooled (a criterion is a stage where the method pools);
PandaLM (target: P(human prefers the first response), ties half, 3 raters; the
ten model pairings are the stages). Each method gets the stages: isotonic and
logistic fit per stage when a stage has >= 30 labels (rarely, with 50 labels in
all) and fall back to their pooled fit; the Bayesian calibrator pools partially.

Run: ``.venv/bin/python benchmarks/bench_real_data.py [--splits 200]``.
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

import judgecal
from judgecal import IsotonicCalibrator, LogisticCalibrator, brier_score


def datasets() -> dict[str, tuple[Any, ...]]:
    out = {}
    for judge in ("ChatGPT_p1", "Beluga-13B_p2", "Mistral-7B_p4", "Llama-13B_p1"):
        js = judgecal.load_hanna(judge).scored()
        y, w = js.targets(how="soft", threshold=4)
        s = js.scores()
        out[f"HANNA/{judge}"] = (
            s,
            y,
            w,
            js.stages(),
            js.scale.to_unit(s),
            (js.scale.low, js.scale.high),
        )
    for judge in ("gpt35", "pandalm7b"):
        js = judgecal.load_pandalm(judge, with_texts=False).scored()
        y, w = js.targets(how="soft", ties="half")
        s = js.scores()
        out[f"PandaLM/{judge}"] = (
            s,
            y,
            w,
            js.stages(),
            js.scale.to_unit(s),
            (js.scale.low, js.scale.high),
        )
    return out


def methods() -> dict[str, Callable[[tuple[float, float]], Any]]:
    m: dict[str, Callable[[tuple[float, float]], Any]] = {
        "isotonic": lambda rng: IsotonicCalibrator(),
        "logistic": lambda rng: LogisticCalibrator(),
    }
    try:
        from judgecal.calibration.bayes.calibrator import BayesianCalibrator

        m["bayes (default)"] = lambda rng: BayesianCalibrator(score_range=rng, random_state=0)
    except ImportError:
        pass
    return m


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--splits", type=int, default=200)
    ap.add_argument("--n", type=int, default=50)
    args = ap.parse_args()
    results: dict[str, Any] = {}
    meths = methods()
    for name, (s, y, w, stages, raw, score_range) in datasets().items():
        row: dict[str, Any] = {}
        wins = {k: 0 for k in meths}
        worse = {k: 0 for k in meths}
        rel = {k: [] for k in meths}
        t0 = time.perf_counter()
        for split in range(args.splits):
            rng = np.random.default_rng(split)
            idx = rng.permutation(s.size)
            tr, te = idx[: args.n], idx[args.n :]
            b_raw = brier_score(y[te], raw[te], sample_weight=w[te])
            for k, make in meths.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    cal = make(score_range).fit(s[tr], y[tr], w[tr], stages=stages[tr])
                    p = cal.predict_proba(s[te], stages=stages[te])[:, 1]
                b = brier_score(y[te], p, sample_weight=w[te])
                wins[k] += b < b_raw
                worse[k] += b > b_raw
                rel[k].append(b / b_raw)
        for k in meths:
            row[k] = {
                "beats_raw": wins[k] / args.splits,
                "worse_than_raw": worse[k] / args.splits,
                "median_brier_ratio": float(np.median(rel[k])),
            }
        row["seconds"] = time.perf_counter() - t0
        results[name] = row
        print(name, json.dumps(row))
    print()
    print("| dataset | " + " | ".join(f"{k}: beats raw / worse" for k in meths) + " |")
    print("|---|" + "---|" * len(meths))
    for name, row in results.items():
        print(
            f"| {name} | "
            + " | ".join(
                f"{row[k]['beats_raw']:.0%} / {row[k]['worse_than_raw']:.0%}" for k in meths
            )
            + " |"
        )
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / "real_data.json").write_text(
        json.dumps({"n_labels": args.n, "splits": args.splits, "results": results}, indent=2)
    )


if __name__ == "__main__":
    main()
