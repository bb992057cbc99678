"""Does a calibrator on the judge's score-token probabilities beat one on its parsed score?

Run: ``.venv/bin/python benchmarks/bench_logprobs.py`` (a few minutes; ``--direct``
skips the HTTP round trip). Results go to ``benchmarks/results/logprobs.json``.

Simulation with known truth. Item quality ``q ~ N(0, 1)``; a human says "good"
with probability ``sigmoid(1.5 q - 0.5)``. The judge sees ``q + e`` (``e ~ N(0,
0.7^2)``, its own error) and puts an ordered-logit distribution over the levels
1-5 (cutpoints ``[-1.5, -0.5, 0.5, 1.5] - leniency``, slope ``sharpness``). It
writes one level: the most likely (greedy decoding) or a sample (temperature 1).
Scenarios:

* ``greedy``: sharpness 2, greedy: the text keeps only the mode;
* ``lenient``: as greedy, but the judge rates one level high (most answers 4 or 5);
* ``peaked``: sharpness 8: the distributions are nearly one-hot, little beyond the mode;
* ``sampled``: sharpness 2, the written level is a sample from the distribution;
* ``noise``: the spread carries nothing: the distribution is the written level
  mixed with random noise, unrelated to the item (the control: it can only hurt).

Each scenario's 2,000 items go through the real client: a chat-completions
server on 127.0.0.1 (tests/chat_server.py) answers each with "Score: k" and the
level probabilities as ``top_logprobs``; :class:`judgecal.OpenAIJudge` with
``top_logprobs=5`` reads them back (``ChatAnswer.probs``). Then, over 200 seeded
splits with ``n`` human labels for fitting and the rest held out, the held-out
Brier score of:

* Platt (``LogisticCalibrator``) and isotonic on the parsed level;
* the same two on the expected score (``signal="expected"``);
* a logistic regression on the four columns P(score >= k), k = 2..5
  (``distribution_features``; scikit-learn, L2 with C = 1).

``wins`` is the share of splits in which the expected-score calibrator has a
lower held-out Brier than the same calibrator on the parsed level.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from judgecal import IsotonicCalibrator, LogisticCalibrator, OpenAIJudge, Scale, brier_score
from judgecal.clients import distribution_features

ROOT = Path(__file__).resolve().parents[1]
N_ITEMS = 2000
N_SPLITS = 200
LABELS = (50, 200)
CUTS = np.array([-1.5, -0.5, 0.5, 1.5])
SCENARIOS: dict[str, dict[str, Any]] = {
    "greedy": {"sharpness": 2.0, "leniency": 0.0, "decode": "greedy"},
    "lenient": {"sharpness": 2.0, "leniency": 1.0, "decode": "greedy"},
    "peaked": {"sharpness": 8.0, "leniency": 0.0, "decode": "greedy"},
    "sampled": {"sharpness": 2.0, "leniency": 0.0, "decode": "sample"},
    "noise": {"sharpness": 2.0, "leniency": 0.0, "decode": "greedy", "noise": True},
}


def sigmoid(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return 1.0 / (1.0 + np.exp(-x))


def simulate(spec: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Items: human labels, the judge's level probabilities and the level it writes."""
    quality = rng.normal(size=N_ITEMS)
    labels = (rng.random(N_ITEMS) < sigmoid(1.5 * quality - 0.5)).astype(float)
    seen = quality + rng.normal(scale=0.7, size=N_ITEMS)
    cuts = CUTS - spec["leniency"]
    below = sigmoid(cuts[None, :] - spec["sharpness"] * seen[:, None])  # P(score <= k)
    cdf = np.hstack([np.zeros((N_ITEMS, 1)), below, np.ones((N_ITEMS, 1))])
    probs = np.clip(np.diff(cdf, axis=1), 1e-6, None)
    probs /= probs.sum(axis=1, keepdims=True)
    if spec["decode"] == "greedy":
        written = probs.argmax(axis=1) + 1
    else:
        written = np.array([rng.choice(5, p=p) + 1 for p in probs])
    if spec.get("noise"):
        weight = rng.uniform(0.3, 0.9, size=N_ITEMS)[:, None]
        probs = weight * np.eye(5)[written - 1] + (1 - weight) * rng.dirichlet(np.ones(5), N_ITEMS)
    return {"labels": labels, "probs": np.round(probs, 6), "written": written}


def through_the_client(sim: dict[str, Any], server: Any) -> np.ndarray[Any, Any]:
    """The level probabilities as the client reads them from a real HTTP server."""
    judge = OpenAIJudge(
        "simulated-judge",
        "{item}",
        scale=Scale.likert(5),
        base_url=server.base_url,
        top_logprobs=5,
        timeout=30.0,
    )
    items = [
        "dist|" + ",".join(f"{p:.6g}" for p in row) + f"@{level}#{i}"
        for i, (row, level) in enumerate(zip(sim["probs"], sim["written"], strict=True))
    ]
    with judge:
        report = judge.runner(concurrency=8, progress=False).run(items)
    assert report.status_counts() == {"ok": N_ITEMS}, report.status_counts()
    parsed = np.array([r.score for r in report.results])
    assert np.array_equal(parsed, sim["written"])
    return np.array([r.raw["probs"] for r in report.results])


def held_out_briers(
    labels: np.ndarray[Any, Any],
    parsed: np.ndarray[Any, Any],
    probs: np.ndarray[Any, Any],
    n_labels: int,
    seed: int,
) -> dict[str, list[float]]:
    features = distribution_features(probs, Scale.likert(5))
    expected, exceed = features[:, 0], features[:, 1:]
    out: dict[str, list[float]] = {}
    for split in range(N_SPLITS):
        order = np.random.default_rng([seed, split]).permutation(labels.size)
        fit, test = order[:n_labels], order[n_labels:]
        if labels[fit].min() == labels[fit].max():
            continue
        predictions = {
            "platt_parsed": LogisticCalibrator()
            .fit(parsed[fit], labels[fit])
            .predict_proba(parsed[test])[:, 1],
            "platt_expected": LogisticCalibrator()
            .fit(expected[fit], labels[fit])
            .predict_proba(expected[test])[:, 1],
            "isotonic_parsed": IsotonicCalibrator()
            .fit(parsed[fit], labels[fit])
            .predict_proba(parsed[test])[:, 1],
            "isotonic_expected": IsotonicCalibrator()
            .fit(expected[fit], labels[fit])
            .predict_proba(expected[test])[:, 1],
            "logistic_p_ge_k": LogisticRegression(C=1.0)
            .fit(exceed[fit], labels[fit])
            .predict_proba(exceed[test])[:, 1],
        }
        for name, predicted in predictions.items():
            out.setdefault(name, []).append(float(brier_score(labels[test], predicted)))
    return out


def summarize(briers: dict[str, list[float]]) -> dict[str, Any]:
    table: dict[str, Any] = {name: round(float(np.mean(v)), 4) for name, v in briers.items()}
    for kind in ("platt", "isotonic"):
        parsed = np.asarray(briers[f"{kind}_parsed"])
        expected = np.asarray(briers[f"{kind}_expected"])
        table[f"{kind}_wins"] = round(float(np.mean(expected < parsed)), 3)
        table[f"{kind}_gain"] = round(float(np.mean(parsed - expected)), 4)
    table["p_ge_k_wins_vs_platt_parsed"] = round(
        float(np.mean(np.asarray(briers["logistic_p_ge_k"]) < np.asarray(briers["platt_parsed"]))),
        3,
    )
    table["splits"] = len(briers["platt_parsed"])
    return table


def main() -> None:
    direct = "--direct" in sys.argv
    results: dict[str, Any] = {"items": N_ITEMS, "splits": N_SPLITS, "through_http": not direct}
    sys.path.insert(0, str(ROOT / "tests"))
    from chat_server import ChatServer

    with ChatServer(max_requests=len(SCENARIOS) * N_ITEMS + 10) as server:
        for index, (name, spec) in enumerate(SCENARIOS.items()):
            sim = simulate(spec, np.random.default_rng([2026, index]))
            started = time.perf_counter()
            probs = sim["probs"] if direct else through_the_client(sim, server)
            seconds = time.perf_counter() - started
            oracle = sim["probs"]
            assert np.allclose(probs, oracle / oracle.sum(axis=1, keepdims=True), atol=1e-5)
            row: dict[str, Any] = {"spec": spec, "http_seconds": round(seconds, 2)}
            for n_labels in LABELS:
                briers = held_out_briers(sim["labels"], sim["written"], probs, n_labels, index)
                row[f"n{n_labels}"] = summarize(briers)
            results[name] = row
            print(name, json.dumps({k: row[k] for k in row if k.startswith("n")}))
    out = ROOT / "benchmarks" / "results" / "logprobs.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
