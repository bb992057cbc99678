"""A judge panel against the best single judge, on real data: held-out Brier and rate intervals.

For each dataset, the judges' scores of the same items are joined (by stage and
item id; items every judge scored). Over 200 random splits and each label
budget (50 and 100 human-labelled items):

* **Held-out Brier**: each calibrator is fitted on the labelled items and
  scored on all the others (soft targets, rater-count weights). Single judges:
  logistic and isotonic on one judge's score. Panels: logistic with one
  non-negative slope per judge, isotonic on the mean of the judges, and the
  Bayesian binary calibrator with one monotone slope per judge (numpy fast path).
* **Interval width for the human rate**: PPI++ (5-fold cross-fit, 90%) from the
  labelled items plus every item's judge scores, with the same calibrators;
  the truth is the mean target over all items, so coverage is checked too.

The best single judge is chosen *after* the fact (lowest mean held-out Brier
over all splits, calibrator included), which favours it. Reported: the mean of
each method, and per split the panel's Brier and width relative to that judge.

HANNA: 4 judges (ChatGPT, Beluga-13B, Mistral-7B, Llama-13B, prompt 1), target
P(human rating >= 4) from 3 raters, six criteria pooled. PandaLM: 2 judges
(GPT-3.5, PandaLM-7B), target P(human prefers the first response), ties half.

Run: ``.venv/bin/python benchmarks/bench_panel.py [--splits 200]``
(writes benchmarks/results/panel.json).
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
from judgecal import BayesianCalibrator, IsotonicCalibrator, LogisticCalibrator, brier_score
from judgecal._files import atomic_write_text
from judgecal.estimate._prepared import data_from_arrays
from judgecal.estimate.rates import rate_from_data

HANNA_PANEL = ("ChatGPT_p1", "Beluga-13B_p1", "Mistral-7B_p1", "Llama-13B_p1")
PANDALM_PANEL = ("gpt35", "pandalm7b")
BUDGETS = (50, 100)
CALIBRATORS = {"logistic": LogisticCalibrator, "isotonic": IsotonicCalibrator}


def _join(sets: dict[str, Any], targets: dict[str, Any]) -> dict[str, Any]:
    """Scores (n, k) of the items every judge scored, with the first set's soft targets."""
    first = next(iter(sets.values()))
    y, w = first.targets(**targets)
    columns = []
    for js in sets.values():
        found = {(j.stage, j.item_id): j.score for j in js}
        columns.append(
            [
                np.nan if found.get(key) is None else found[key]
                for key in zip(first.stages(), first.item_ids(), strict=True)
            ]
        )
    X = np.array(columns, dtype=float).T
    keep = np.isfinite(X).all(axis=1) & (w > 0)
    return {
        "judges": list(sets),
        "X": X[keep],
        "y": y[keep],
        "w": w[keep],
        "scale": (first.scale.low, first.scale.high),
    }


def datasets() -> dict[str, dict[str, Any]]:
    hanna = {j: judgecal.load_hanna(j) for j in HANNA_PANEL}
    pandalm = {j: judgecal.load_pandalm(j, with_texts=False) for j in PANDALM_PANEL}
    return {
        "HANNA": _join(hanna, {"how": "soft", "threshold": 4}),
        "PandaLM": _join(pandalm, {"how": "soft", "ties": "half"}),
    }


def _methods(judges: list[str]) -> dict[str, tuple[Any, Any]]:
    """name -> (columns of X, calibrator class or factory)."""
    out: dict[str, tuple[Any, Any]] = {}
    for col, judge in enumerate(judges):
        for cal_name, cls in CALIBRATORS.items():
            out[f"{judge} ({cal_name})"] = (col, cls)
    all_cols = list(range(len(judges)))
    out["panel (logistic)"] = (all_cols, LogisticCalibrator)
    out["panel (isotonic, mean)"] = (all_cols, IsotonicCalibrator)
    out["panel (bayes)"] = (all_cols, _bayes_panel)
    return out


def _bayes_panel() -> BayesianCalibrator:
    return BayesianCalibrator(method="laplace", random_state=0)


def _one_split(ds: dict[str, Any], methods: dict[str, Any], n_labels: int, seed: int) -> Any:
    X, y, w = ds["X"], ds["y"], ds["w"]
    rng = np.random.default_rng(seed)
    labelled = np.zeros(y.size, dtype=bool)
    labelled[rng.choice(y.size, n_labels, replace=False)] = True
    train, test = labelled, ~labelled
    low, high = ds["scale"]
    brier, width, cover = {}, {}, {}
    truth = float(y.mean())
    for name, (cols, cls) in methods.items():
        x = X[:, cols]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = cls().fit(x[train], y[train], w[train]).predict_agreement(x[test])
            panel = x if x.ndim == 2 else None
            data = data_from_arrays(X[:, 0], low, high, y, labelled, panel=panel)
            single = x if x.ndim == 1 else X[:, 0]
            data = data if panel is not None else data_from_arrays(single, low, high, y, labelled)
            r = rate_from_data(data, calibrator=cls(), seed=seed)
        brier[name] = brier_score(y[test], p, sample_weight=w[test])
        width[name] = r.width
        cover[name] = r.low <= truth <= r.high
    width["human only"] = r.human_only.width
    return brier, width, cover


def run(ds: dict[str, Any], n_labels: int, splits: int) -> dict[str, Any]:
    methods = _methods(ds["judges"])
    rows = [_one_split(ds, methods, n_labels, seed) for seed in range(splits)]
    brier = {m: np.array([r[0][m] for r in rows]) for m in methods}
    width = {m: np.array([r[1][m] for r in rows]) for m in methods}
    cover = {m: float(np.mean([r[2][m] for r in rows])) for m in methods}
    human_width = float(np.mean([r[1]["human only"] for r in rows]))
    singles = [m for m in methods if not m.startswith("panel")]
    best = min(singles, key=lambda m: float(brier[m].mean()))
    best_width = min(singles, key=lambda m: float(width[m].mean()))
    summary = {}
    for panel in (m for m in methods if m.startswith("panel")):
        summary[panel] = {
            "brier_ratio_median": float(np.median(brier[panel] / brier[best])),
            "brier_better_share": float(np.mean(brier[panel] < brier[best])),
            "width_ratio_mean": float(np.mean(width[panel] / width[best_width])),
            "width_narrower_share": float(np.mean(width[panel] < width[best_width])),
        }
    return {
        "n_items": int(ds["y"].size),
        "n_labels": n_labels,
        "splits": splits,
        "best_single_by_brier": best,
        "best_single_by_width": best_width,
        "human_only_width_mean": human_width,
        "methods": {
            m: {
                "brier_mean": float(brier[m].mean()),
                "width_mean": float(width[m].mean()),
                "coverage": cover[m],
            }
            for m in methods
        },
        "panel_vs_best_single": summary,
    }


def table(results: dict[str, Any]) -> str:
    """The markdown table of docs/panels.md."""
    lines = [
        "| data | labels | best single judge | Brier: best single | Brier: panel | "
        "panel better | width: human only | width: best single | width: panel | panel narrower "
        "| panel coverage |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, r in results.items():
        if key == "meta":
            continue
        m, best, best_w = r["methods"], r["best_single_by_brier"], r["best_single_by_width"]
        s = r["panel_vs_best_single"]["panel (logistic)"]
        pl = m["panel (logistic)"]
        lines.append(
            f"| {key.split('/')[0]} ({r['n_items']} items) | {r['n_labels']} | {best} | "
            f"{m[best]['brier_mean']:.4f} | {pl['brier_mean']:.4f} | "
            f"{s['brier_better_share']:.0%} | {r['human_only_width_mean']:.4f} | "
            f"{m[best_w]['width_mean']:.4f} | "
            f"{pl['width_mean']:.4f} | {s['width_narrower_share']:.0%} | {pl['coverage']:.0%} |"
        )
    return "\n".join(lines)


def bayes_table(results: dict[str, Any]) -> str:
    """Held-out Brier and rate-interval width of the Bayesian panel beside the logistic one."""
    lines = [
        "| data | labels | Brier: best single | Brier: logistic panel | Brier: Bayesian panel | "
        "Bayesian better than best single | width: Bayesian panel | coverage |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, r in results.items():
        if key == "meta":
            continue
        m, best = r["methods"], r["best_single_by_brier"]
        bayes = m["panel (bayes)"]
        share = r["panel_vs_best_single"]["panel (bayes)"]["brier_better_share"]
        lines.append(
            f"| {key.split('/')[0]} | {r['n_labels']} | {m[best]['brier_mean']:.4f} | "
            f"{m['panel (logistic)']['brier_mean']:.4f} | {bayes['brier_mean']:.4f} | "
            f"{share:.0%} | {bayes['width_mean']:.4f} | {bayes['coverage']:.0%} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--splits", type=int, default=200)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "panel.json"))
    args = ap.parse_args()
    results: dict[str, Any] = {}
    started = time.perf_counter()
    for name, ds in datasets().items():
        for n_labels in BUDGETS:
            t0 = time.perf_counter()
            results[f"{name}/{n_labels}"] = run(ds, n_labels, args.splits)
            print(f"{name} n={n_labels}: {time.perf_counter() - t0:.0f} s", flush=True)
    results["meta"] = {
        "seconds": time.perf_counter() - started,
        "judgecal_version": judgecal.__version__,
        "level": 0.9,
    }
    atomic_write_text(args.out, json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(table(results))
    print(bayes_table(results))


if __name__ == "__main__":
    main()
