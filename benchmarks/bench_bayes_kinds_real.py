"""The ``ordinal`` and ``pairwise`` kinds on real data: held-out coverage, old and new scales.

HANNA (every judge, 6 criteria as stages, ratings 1-5 from 3 raters) is fitted with
``kind="ordinal", threshold=4``; PandaLM (both judges, 10 pairings as stages, 3 raters,
ties) with ``kind="pairwise"``. Each split labels ``--labels`` items at random
(``fit_judgments``: every rating, weight 1/raters per item) and predicts the rest.

Reported per data set, over ``--splits`` splits:

* ``coverage``: share of (stage, score) cells with at least 40 held-out items whose 90%
  interval of ``predict_agreement`` (P(rating >= 4), or P(first) + P(tie)/2) holds the
  held-out rate of the cell. The held-out rate has its own sampling error (sd up to 0.08
  at 40 items), so this understates the coverage of the true rate;
  ``coverage_150`` counts only cells with at least 150 held-out items (sd up to 0.04).
* ``brier_vs_raw``: held-out Brier of ``predict_agreement`` against the per-item agreement
  (share of ratings >= 4; first = 1, tie = 1/2), over the raw judge's (the score rescaled
  to [0, 1]).

Models:

* ``default``: every stage has its own cut points (a shared first cut, log-gaps pooled
  with ``tau_cut`` ~ HalfNormal(1)), group scales HalfNormal(2)/(1);
* ``shared cut points``: ``tau_cut = 0.001``, i.e. one set of cut points shifted per stage;
* ``0.2``: shared cut points and judgecal 0.2's group scales HalfNormal(0.5)/(0.25).

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
from _bayes_real import DATASETS

from judgecal.calibration.bayes.calibrator import BayesianCalibrator
from judgecal.records.datasets import load_hanna, load_pandalm
from judgecal.vocabulary import PAIRWISE_CODES

RESULTS = Path(__file__).parent / "results" / "bayes_kinds_real.json"
PRIORS: dict[str, dict[str, float] | None] = {
    "default": None,
    "shared cut points": {"tau_cut": 0.001},
    "0.2": {"tau_cut": 0.001, "tau_a": 0.5, "tau_b": 0.25},
}


def load(name: str, judge: str) -> Any:
    if name == "hanna":
        return load_hanna(judge=judge).scored().labelled()
    return load_pandalm(judge=judge, with_texts=False).scored().labelled()


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


def one_split(
    js: Any, items: tuple[Any, Any, Any], idx: Any, n_labels: int, prior: Any, seed: int
) -> tuple[list[tuple[bool, int]], float]:
    """Cell hits with the cells' held-out sizes, and the held-out Brier ratio of one split.

    ``items``: every item's score, stage and agreement (computed once per data set).
    """
    train, test = idx[:n_labels], idx[n_labels:]
    kind = "ordinal" if js.label_kind == "ordinal" else "pairwise"
    params: dict[str, Any] = {"threshold": 4} if kind == "ordinal" else {}
    cal = BayesianCalibrator(kind=kind, prior=prior, random_state=seed, draws=500, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal.fit_judgments(js.take(train))
    s, st, agree = (column[test] for column in items)
    p = cal.predict_agreement(s, stages=st)
    raw = js.scale.to_unit(s)
    ratio = float(np.mean((p - agree) ** 2) / np.mean((raw - agree) ** 2))
    key = np.char.add(np.char.add(st.astype(str), "|"), s.astype(str))
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    count = np.bincount(inv)
    rate = np.bincount(inv, weights=agree) / count
    ok = count >= 40
    iv = cal.predict_interval(s[first][ok], stages=st[first][ok])
    hit = (iv[:, 0] <= rate[ok]) & (rate[ok] <= iv[:, 1])
    return list(zip(hit.tolist(), count[ok].tolist(), strict=True)), ratio


def evaluate(js: Any, n_labels: int, prior: Any, splits: int) -> dict[str, Any]:
    """Coverage (all cells, and cells of 150+ held-out items) and Brier ratio over splits."""
    t = time.time()
    rng = np.random.default_rng(0)
    items = (js.scores(), js.stages(), item_agreement(js))
    cells: list[tuple[bool, int]] = []
    ratios = []
    for k in range(splits):
        h, r = one_split(js, items, rng.permutation(len(js)), n_labels, prior, k)
        cells += h
        ratios.append(r)
    hit = np.array([c[0] for c in cells])
    big = np.array([c[1] >= 150 for c in cells])
    return {
        "coverage": float(hit.mean()),
        "cells": int(hit.size),
        "coverage_150": float(hit[big].mean()) if big.any() else None,
        "cells_150": int(big.sum()),
        "brier_vs_raw": float(np.mean(ratios)),
        "beats_raw": float(np.mean(np.array(ratios) < 1.0)),
        "seconds": time.time() - t,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--splits", type=int, default=50)
    ap.add_argument("--labels", default="100,400", help="labelled items per split")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    rows = []
    for n_labels in (int(v) for v in args.labels.split(",")):
        for name, judge in DATASETS:
            js = load(name, judge)
            for model, prior in PRIORS.items():
                row = evaluate(js, n_labels, prior, args.splits)
                row.update(data=f"{name}:{judge}", model=model, labels=n_labels)
                rows.append(row)
                print(
                    f"{n_labels:4d} {row['data']:24s}{model:18s} coverage {row['coverage']:.3f}"
                    f" ({row['cells']} cells), {row['coverage_150'] or float('nan'):.3f} "
                    f"({row['cells_150']})  Brier/raw {row['brier_vs_raw']:.3f}",
                    flush=True,
                )
    out = {"splits": args.splits, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
