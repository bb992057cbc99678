"""Held-out comparison on real data (HANNA, PandaLM), shared by bench_bayes.py and the example."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

import judgecal
from judgecal import IsotonicCalibrator, LogisticCalibrator, SmallSampleWarning
from judgecal.calibration.bayes.calibrator import BayesianCalibrator


def dataset(name: str, judge: str) -> dict[str, Any]:
    """Items with judge score, stage, soft target, weight and raw-judge probability."""
    if name == "hanna":
        js = judgecal.load_hanna(judge=judge).scored().labelled()
        y, w = js.targets(how="soft", threshold=4)
    else:
        js = judgecal.load_pandalm(judge=judge, with_texts=False).scored().labelled()
        y, w = js.targets(how="soft", ties="half")
    s = js.scores()
    keep = w > 0
    return {
        "name": f"{name}:{judge}",
        "s": s[keep],
        "stage": js.stages()[keep],
        "y": y[keep],
        "w": w[keep],
        "raw": js.scale.to_unit(s[keep]),
        "range": (float(js.scale.low), float(js.scale.high)),
    }


def _brier(p: Any, y: Any, w: Any) -> float:
    return float(np.dot(w, (p - y) ** 2) / w.sum())


def _logloss(p: Any, y: Any, w: Any) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.dot(w, y * np.log(p) + (1 - y) * np.log1p(-p)) / w.sum())


def evaluate(
    d: dict[str, Any], *, n_labels: int = 50, splits: int = 200, seed: int = 0
) -> dict[str, Any]:
    """Win rates vs the raw judge (held-out Brier), held-out log loss and interval coverage."""
    rng = np.random.default_rng(seed)
    n = d["s"].size
    methods = ("bayes", "isotonic", "logistic")
    brier = {m: [] for m in (*methods, "raw")}
    logl = {m: [] for m in (*methods, "raw")}
    cover, width = [], []
    for k in range(splits):
        idx = rng.permutation(n)
        tr, te = idx[:n_labels], idx[n_labels:]
        s, st, y, w = d["s"], d["stage"], d["y"], d["w"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallSampleWarning)
            preds = {
                "bayes": BayesianCalibrator(score_range=d["range"], random_state=k, draws=400),
                "isotonic": IsotonicCalibrator(),
                "logistic": LogisticCalibrator(),
            }
            for est in preds.values():
                # Every item weighs 1 with its soft label (raters of one item are not independent).
                est.fit(s[tr], y[tr], stages=st[tr])
        for m, est in preds.items():
            p = est.predict_proba(s[te], stages=st[te])[:, 1]
            brier[m].append(_brier(p, y[te], w[te]))
            logl[m].append(_logloss(p, y[te], w[te]))
        brier["raw"].append(_brier(d["raw"][te], y[te], w[te]))
        logl["raw"].append(_logloss(d["raw"][te], y[te], w[te]))
        # Interval coverage: held-out agreement rate per (stage, score level) with >= 40 ratings.
        bayes = preds["bayes"]
        key = np.char.add(np.char.add(st[te], "|"), s[te].astype(str))
        u, inv = np.unique(key, return_inverse=True)
        wt = np.bincount(inv, weights=w[te])
        rate = np.bincount(inv, weights=w[te] * y[te]) / wt
        first = np.unique(inv, return_index=True)[1]
        ok = wt >= 40
        if ok.any():
            iv = bayes.predict_interval(s[te][first][ok], stages=st[te][first][ok])
            cover.extend(((iv[:, 0] <= rate[ok]) & (rate[ok] <= iv[:, 1])).tolist())
            width.extend((iv[:, 1] - iv[:, 0]).tolist())
    b = {m: np.asarray(v) for m, v in brier.items()}
    out: dict[str, Any] = {
        "dataset": d["name"],
        "n_items": int(n),
        "n_labels": n_labels,
        "splits": splits,
    }
    for m in methods:
        out[f"win_{m}"] = float(np.mean(b[m] < b["raw"]))
        out[f"brier_{m}"] = float(np.mean(b[m]))
        out[f"logloss_{m}"] = float(np.mean(logl[m]))
    out["brier_raw"] = float(np.mean(b["raw"]))
    out["logloss_raw"] = float(np.mean(logl["raw"]))
    out["coverage90_bayes"] = float(np.mean(cover)) if cover else float("nan")
    out["width90_bayes"] = float(np.mean(width)) if width else float("nan")
    return out


DATASETS = (
    ("hanna", "ChatGPT_p1"),
    ("hanna", "Beluga-13B_p1"),
    ("hanna", "Mistral-7B_p1"),
    ("hanna", "Llama-13B_p1"),
    ("pandalm", "gpt35"),
    ("pandalm", "pandalm7b"),
)
