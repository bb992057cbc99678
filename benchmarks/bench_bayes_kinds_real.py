"""The ``ordinal`` and ``pairwise`` kinds on real data: held-out coverage, old and new scales.

HANNA (every judge, 6 criteria as stages, ratings 1-5 from 3 raters) is fitted with
``kind="ordinal", threshold=4``; PandaLM (both judges, 10 pairings as stages, 3 raters,
ties) with ``kind="pairwise"``. Each split labels ``--labels`` items at random
(``fit_judgments``: every rating, weight 1/raters per item) and predicts the rest.

Reported per data set, over ``--splits`` splits:

* ``coverage``: share of (stage, score) cells with at least 40 held-out items whose 90%
  interval of ``predict_agreement`` (P(rating >= 4), or P(first) + P(tie)/2) holds the
  held-out rate of the cell. The held-out rate has its own sampling error, so this
  understates the coverage of the true rate a little.
* ``brier_vs_raw``: held-out Brier of ``predict_agreement`` against the per-item agreement
  (share of ratings >= 4; first = 1, tie = 1/2), over the raw judge's (the score rescaled
  to [0, 1]).

Models: the default group scales (HalfNormal(2)/(1)) and judgecal 0.2's (HalfNormal(0.5)/(0.25)).

Run: ``.venv/bin/python benchmarks/bench_bayes_kinds_real.py [--splits 100 --labels 100]``.
Writes ``benchmarks/results/bayes_kinds_real.json``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import judgecal
from judgecal.calibration.bayes.calibrator import BayesianCalibrator
from judgecal.vocabulary import PAIRWISE_CODES

RESULTS = Path(__file__).parent / "results" / "bayes_kinds_real.json"
DATASETS = (
    ("hanna", "ChatGPT_p1"),
    ("hanna", "Beluga-13B_p1"),
    ("hanna", "Mistral-7B_p1"),
    ("hanna", "Llama-13B_p1"),
    ("pandalm", "gpt35"),
    ("pandalm", "pandalm7b"),
)
PRIORS: dict[str, dict[str, float] | None] = {
    "default": None,
    "0.2 scales": {"tau_a": 0.5, "tau_b": 0.25},
}


def load(name: str, judge: str) -> Any:
    if name == "hanna":
        return judgecal.load_hanna(judge=judge).scored().labelled()
    return judgecal.load_pandalm(judge=judge, with_texts=False).scored().labelled()


def item_agreement(js: Any) -> Any:
    """Per item, the share of its ratings that agree (>= 4; first = 1, tie = 1/2)."""
    item, val, _ = js.ratings_long()
    if js.label_kind == "ordinal":
        hit = (val >= 4).astype(float)
    else:
        hit = np.select(
            [val == PAIRWISE_CODES["first"], val == PAIRWISE_CODES["tie"]], [1.0, 0.5], 0.0
        )
    return np.bincount(item, weights=hit) / np.bincount(item)


def one_split(js: Any, idx: Any, n_labels: int, prior: Any, seed: int) -> tuple[list[bool], float]:
    """Cell hits and the held-out Brier ratio of one split."""
    train, test = idx[:n_labels], idx[n_labels:]
    kind = "ordinal" if js.label_kind == "ordinal" else "pairwise"
    params: dict[str, Any] = {"threshold": 4} if kind == "ordinal" else {}
    cal = BayesianCalibrator(kind=kind, prior=prior, random_state=seed, draws=500, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal.fit_judgments(js.take(train))
    s, st, agree = js.scores()[test], js.stages()[test], item_agreement(js)[test]
    p = cal.predict_agreement(s, stages=st)
    raw = js.scale.to_unit(s)
    ratio = float(np.mean((p - agree) ** 2) / np.mean((raw - agree) ** 2))
    key = np.char.add(np.char.add(st.astype(str), "|"), s.astype(str))
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    count = np.bincount(inv)
    rate = np.bincount(inv, weights=agree) / count
    ok = count >= 40
    iv = cal.predict_interval(s[first][ok], stages=st[first][ok])
    return ((iv[:, 0] <= rate[ok]) & (rate[ok] <= iv[:, 1])).tolist(), ratio


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--splits", type=int, default=100)
    ap.add_argument("--labels", type=int, default=100)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    rows = []
    for name, judge in DATASETS:
        js = load(name, judge)
        for model, prior in PRIORS.items():
            t = time.time()
            rng = np.random.default_rng(0)
            hits: list[bool] = []
            ratios = []
            for k in range(args.splits):
                h, r = one_split(js, rng.permutation(len(js)), args.labels, prior, k)
                hits += h
                ratios.append(r)
            row = {
                "data": f"{name}:{judge}",
                "model": model,
                "coverage": float(np.mean(hits)),
                "cells": len(hits),
                "brier_vs_raw": float(np.mean(ratios)),
                "beats_raw": float(np.mean(np.array(ratios) < 1.0)),
                "seconds": time.time() - t,
            }
            rows.append(row)
            print(
                f"{row['data']:26s}{model:12s} coverage {row['coverage']:.3f} "
                f"({row['cells']} cells)  Brier/raw {row['brier_vs_raw']:.3f}  "
                f"beats raw {row['beats_raw']:.2f}",
                flush=True,
            )
    out = {"splits": args.splits, "labels": args.labels, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
