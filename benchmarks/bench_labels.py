"""Fewer labels: stopping-time coverage, chosen vs uniform labels, labels the judge was worth.

Run: ``.venv/bin/python benchmarks/bench_labels.py [n_splits] [n_simulations]``
(200 and 1,000); writes ``benchmarks/results/labels.json`` (keeping its ``noharm``
part, written by ``bench_labels.py n_splits noharm``). Real data: HANNA (Coherence >= 4) and
PandaLM (ties half); labels are revealed only when chosen.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import judgecal
from judgecal._files import atomic_write_text
from judgecal.estimate._prepared import (
    crossfit,
    data_from_arrays,
    make_calibrator,
    prepare_records,
)
from judgecal.estimate.active import choose_from_data, ipw_core
from judgecal.estimate.ppi import critical_value, ppi_core
from judgecal.estimate.sequential import cs_half_width, default_planned_n

Z = critical_value(0.9, math.inf, "normal")
ISOTONIC = make_calibrator("isotonic", "bench")
OUT = Path(__file__).parent / "results" / "labels.json"


def _t(n_labelled: int) -> float:
    """The library's quantile: Student t with n - 1 degrees of freedom."""
    return critical_value(0.9, n_labelled - 1, "t")


def _simulated(kind: str, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    if kind == "confident":
        prob = rng.beta(0.1, 0.1, size)
        return (rng.random(size) < prob).astype(float), prob
    if kind == "moderate":
        prob = rng.beta(2, 2, size)
        score = np.clip(prob + rng.normal(0, 0.1, size), 0, 1)
        return (rng.random(size) < prob).astype(float), score
    return (rng.random(size) < 0.3).astype(float), rng.random(size)


def _uniform(score: np.ndarray, labels: np.ndarray, budget: int, rng: Any) -> tuple[float, float]:
    size = labels.size
    chosen = np.zeros(size, dtype=bool)
    chosen[rng.choice(size, budget, replace=False)] = True
    data = data_from_arrays(score, 0, 1, labels, chosen)
    pred = crossfit(data, labels, ISOTONIC, 5, rng, False)
    core = ppi_core(labels[chosen], pred[chosen], pred[~chosen], None, floor=True)
    return core.estimate, _t(budget) * math.sqrt(core.variance)


def _chosen(
    score: np.ndarray, labels: np.ndarray, budget: int, rng: Any, seed: int, design: str
) -> tuple[float, float]:
    """'one-shot': the raw score trusted, mix by its predicted variance; 'two-round':
    uniform half, then chosen."""
    size = labels.size
    none = np.zeros(size, dtype=bool)
    inclusion = np.full(size, np.nan)
    rounds = np.zeros(size, dtype=np.int64)
    if design == "one-shot":
        pick = choose_from_data(
            data_from_arrays(score, 0, 1, labels, none), budget, ISOTONIC, None, 20, seed, True
        )
        labelled = np.zeros(size, dtype=bool)
        labelled[pick.items] = True
        inclusion = pick.inclusion
    else:
        first = choose_from_data(
            data_from_arrays(score, 0, 1, labels, none), budget // 2, ISOTONIC, None, 20, seed
        )
        labelled = np.zeros(size, dtype=bool)
        labelled[first.items] = True
        inclusion[labelled] = first.inclusion[labelled]
        second = choose_from_data(
            data_from_arrays(score, 0, 1, labels, labelled),
            budget - int(labelled.sum()),
            ISOTONIC,
            None,
            20,
            seed + 1,
        )
        new = np.zeros(size, dtype=bool)
        new[second.items] = True
        inclusion[new] = second.inclusion[new]
        rounds[new] = 1
        labelled |= new
    data = data_from_arrays(score, 0, 1, labels, labelled)
    pred = crossfit(data, labels, ISOTONIC, 5, rng, False)
    core = ipw_core(labels, pred, labelled, inclusion, rounds)
    return core.estimate, _t(core.n_labelled) * math.sqrt(core.variance)


def _compare(
    score: np.ndarray, labels: np.ndarray, budget: int, splits: int, design: str, fresh: Any = None
) -> dict[str, float]:
    rows = []
    for split in range(splits):
        rng = np.random.default_rng(split)
        if fresh is not None:
            labels, score = fresh(rng)
        truth = float(labels.mean())
        est_u, half_u = _uniform(score, labels, budget, rng)
        est_c, half_c = _chosen(score, labels, budget, rng, split + 1_000_003, design)
        rows.append(
            (2 * half_u, abs(est_u - truth) <= half_u, 2 * half_c, abs(est_c - truth) <= half_c)
        )
    table = np.array(rows, dtype=float)
    return {
        "width_uniform": round(float(table[:, 0].mean()), 4),
        "coverage_uniform": round(float(table[:, 1].mean()), 3),
        "width_chosen": round(float(table[:, 2].mean()), 4),
        "coverage_chosen": round(float(table[:, 3].mean()), 3),
        "ratio": round(float(table[:, 2].mean() / table[:, 0].mean()), 3),
    }


def _real(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "hanna":
        js = judgecal.load_hanna(criteria=("Coherence",)).scored()
        data = prepare_records(js, None, 4, "half", "bench")
    else:
        js = judgecal.load_pandalm(with_texts=False).scored()
        data = prepare_records(js, None, None, "half", "bench")
    return data.target, data.unit_score


def _stopping(trials: int, width: float) -> dict[str, float]:
    """Looks every 10 labels up to 1000; stop at the first look narrower than ``width``."""
    planned = default_planned_n(width)
    out = {"covered": 0.0, "n_stop": 0.0, "fixed_width_at_stop": 0.0, "cs_width_at_stop": 0.0}
    for trial in range(trials):
        rng = np.random.default_rng(trial)
        labels, score = _simulated("moderate", rng, 3000)
        truth = float(labels.mean())
        order = rng.permutation(labels.size)
        for n in range(10, 1001, 10):
            core = ppi_core(labels[order[:n]], score[order[:n]], score[order[n:]], None, floor=True)
            se = math.sqrt(core.variance)
            half = cs_half_width(se * math.sqrt(n), n, planned_n=planned)
            if 2 * half < width or n == 1000:
                out["covered"] += abs(core.estimate - truth) <= half
                out["n_stop"] += n
                out["fixed_width_at_stop"] += 2 * Z * se
                out["cs_width_at_stop"] += 2 * half
                break
    result = {key: round(value / trials, 4) for key, value in out.items()}
    result["price"] = round(result["cs_width_at_stop"] / result["fixed_width_at_stop"], 3)
    return result


def _worth() -> dict[str, dict[str, float]]:
    out = {}
    for name, loader, threshold in (
        ("hanna ChatGPT_p1", lambda: judgecal.load_hanna(), 4),
        ("pandalm gpt35", lambda: judgecal.load_pandalm(with_texts=False), None),
        ("pandalm pandalm7b", lambda: judgecal.load_pandalm("pandalm7b", with_texts=False), None),
    ):
        full = loader()
        worth = []
        for seed in range(20):
            hidden = judgecal.keep_labels(full, 100, seed=seed)
            worth.append(judgecal.estimate_rate(hidden, threshold=threshold).effective_labels)
        out[name] = {"n_labelled": 100, "effective_labels": round(float(np.mean(worth)), 1)}
    return out


def _brier(pred: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> float:
    return float(np.average((pred - y) ** 2, weights=w))


def _noharm_row(rows: list[tuple[float, float]]) -> dict[str, float]:
    table = np.array(rows)
    diff = table[:, 0] - table[:, 1]
    return {
        "at_least_as_good_as_raw": round(float(np.mean(diff <= 1e-12)), 3),
        "beats_raw": round(float(np.mean(diff < -1e-12)), 3),
        "mean_brier": round(float(table[:, 0].mean()), 5),
        "mean_brier_raw": round(float(table[:, 1].mean()), 5),
    }


def _judge_kinds() -> dict[str, Any]:
    def logit(p: np.ndarray) -> np.ndarray:
        return np.log(p / (1 - p))

    return {
        "calibrated": lambda p: p,
        "compressed 0.5+0.3(p-0.5)": lambda p: 0.5 + 0.3 * (p - 0.5),
        "shifted p+0.2": lambda p: np.clip(p + 0.2, 0, 1),
        "shifted p+0.3": lambda p: np.clip(p + 0.3, 0, 1),
        "mild 0.5+0.6(p-0.5)": lambda p: 0.5 + 0.6 * (p - 0.5),
        "logit slope 0.5": lambda p: 1 / (1 + np.exp(-0.5 * logit(p))),
        "logit shift +1": lambda p: 1 / (1 + np.exp(-(logit(p) + 1))),
    }


def noharm(splits: int) -> dict[str, Any]:
    """Held-out Brier at n = 50: raw judge vs isotonic (0.1 default), Platt, shrinkage."""
    import warnings

    from judgecal import IsotonicCalibrator, LogisticCalibrator
    from judgecal.calibration.default import ShrinkageCalibrator

    makers = {
        "shrinkage": lambda rng: ShrinkageCalibrator(score_range=rng),
        "isotonic": lambda rng: IsotonicCalibrator(),
        "logistic": lambda rng: LogisticCalibrator(),
    }
    out: dict[str, Any] = {"simulated (truth ~ U(0,1))": {}, "bundled": {}}
    for kind, judge in _judge_kinds().items():
        rows: dict[str, list[tuple[float, float]]] = {k: [] for k in makers}
        for split in range(splits):
            rng = np.random.default_rng(split)
            prob = rng.random(2050)
            y = (rng.random(2050) < prob).astype(float)
            score = judge(prob)
            raw = _brier(np.clip(score[50:], 1e-3, 1 - 1e-3), y[50:])
            for name, make in makers.items():
                fitted = make((0.0, 1.0)).fit(score[:50], y[:50])
                rows[name].append((_brier(fitted.predict_agreement(score[50:]), y[50:]), raw))
        out["simulated (truth ~ U(0,1))"][kind] = {k: _noharm_row(v) for k, v in rows.items()}
        print(kind, out["simulated (truth ~ U(0,1))"][kind], flush=True)
    for name, js, target in (
        ("HANNA/ChatGPT_p1", judgecal.load_hanna("ChatGPT_p1"), {"threshold": 4}),
        ("HANNA/Mistral-7B_p4", judgecal.load_hanna("Mistral-7B_p4"), {"threshold": 4}),
        ("PandaLM/gpt35", judgecal.load_pandalm("gpt35", with_texts=False), {"ties": "half"}),
        (
            "PandaLM/pandalm7b",
            judgecal.load_pandalm("pandalm7b", with_texts=False),
            {"ties": "half"},
        ),
    ):
        js = js.scored()
        y, w = js.targets(how="soft", **target)
        score, stages = js.scores(), js.stages()
        unit = js.scale.to_unit(score)
        rows = {k: [] for k in makers}
        for split in range(splits):
            order = np.random.default_rng(split).permutation(score.size)
            train, test = order[:50], order[50:]
            raw = _brier(unit[test], y[test], w[test])
            for method, make in makers.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fitted = make((js.scale.low, js.scale.high)).fit(
                        score[train], y[train], w[train], stages=stages[train]
                    )
                pred = fitted.predict_agreement(score[test], stages=stages[test])
                rows[method].append((_brier(pred, y[test], w[test]), raw))
        out["bundled"][name] = {k: _noharm_row(v) for k, v in rows.items()}
        print(name, out["bundled"][name], flush=True)
    return out


def main(splits: int = 200, sim_splits: int = 1000) -> None:
    """``splits`` for stopping and real data; ``sim_splits`` simulations per judge cell."""
    start = time.time()
    results: dict[str, Any] = {"splits": splits, "simulation_splits": sim_splits}
    results["stopping"] = {f"w={w}": _stopping(splits, w) for w in (0.08, 0.12, 0.2)}
    sim: dict[str, Any] = {}
    for kind in ("confident", "moderate", "useless"):
        for design in ("one-shot", "two-round"):
            for budget in (50, 100, 200):
                sim[f"{kind} {design} B={budget}"] = _compare(
                    np.zeros(1),
                    np.zeros(1),
                    budget,
                    sim_splits,
                    design,
                    fresh=lambda rng, k=kind: _simulated(k, rng, 3000),
                )
                print(kind, design, budget, sim[f"{kind} {design} B={budget}"], flush=True)
    results["simulation"] = sim
    real: dict[str, Any] = {}
    for name in ("hanna", "pandalm"):
        labels, score = _real(name)
        for budget in (50, 100, 200):
            real[f"{name} two-round B={budget}"] = _compare(
                score, labels, budget, splits, "two-round"
            )
            print(name, budget, real[f"{name} two-round B={budget}"], flush=True)
    results["real"] = real
    results["labels_worth"] = _worth()
    results["seconds"] = round(time.time() - start, 1)
    previous = json.loads(OUT.read_text()) if OUT.exists() else {}
    if "noharm" in previous:  # written by the separate ``noharm`` run
        results["noharm"] = previous["noharm"]
    atomic_write_text(OUT, json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2] == "noharm":
        found = noharm(int(sys.argv[1]))
        previous = json.loads(OUT.read_text()) if OUT.exists() else {}
        atomic_write_text(OUT, json.dumps({**previous, "noharm": found}, indent=2) + "\n")
    else:
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 200,
            int(sys.argv[2]) if len(sys.argv) > 2 else 1000,
        )
