"""Bayesian calibration with partial pooling on real data (HANNA and PandaLM).

Label 50 items at random, fit a BayesianCalibrator (the fast path: no PyMC),
and compare it on the held-out items with the raw judge, isotonic and logistic
calibration: Brier score, log loss, and how often the 90% credible intervals
cover the held-out agreement rate of each (stage, score) cell.

Run: python examples/bayesian_calibration.py
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np

import judgecal
from judgecal import BayesianCalibrator, IsotonicCalibrator, LogisticCalibrator, SmallSampleWarning

SPLITS = 15
N_LABELS = 50


def items(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[float, float]]:
    """Judge score, stage, soft target and raw-judge probability of every labelled item."""
    if name == "HANNA (ChatGPT, P(rating >= 4))":
        js = judgecal.load_hanna("ChatGPT_p1").scored().labelled()
        y, w = js.targets(how="soft", threshold=4)
    else:
        js = judgecal.load_pandalm("gpt35", with_texts=False).scored().labelled()
        y, w = js.targets(how="soft", ties="half")
    keep = w > 0
    s = js.scores()[keep]
    return s, js.stages()[keep], y[keep], js.scale.to_unit(s), (js.scale.low, js.scale.high)


def compare(name: str) -> None:
    s, st, y, raw, rng_ = items(name)
    rng = np.random.default_rng(0)
    scores: dict[str, list[tuple[float, float]]] = {
        k: [] for k in ("raw", "isotonic", "logistic", "bayes")
    }
    covered = []
    for k in range(SPLITS):
        idx = rng.permutation(s.size)
        tr, te = idx[:N_LABELS], idx[N_LABELS:]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallSampleWarning)  # < 30 labels per stage: pooled
            fits = {
                "isotonic": IsotonicCalibrator().fit(s[tr], y[tr], stages=st[tr]),
                "logistic": LogisticCalibrator().fit(s[tr], y[tr], stages=st[tr]),
                "bayes": BayesianCalibrator(score_range=rng_, random_state=k, draws=400).fit(
                    s[tr], y[tr], stages=st[tr]
                ),
            }
        preds = {
            "raw": raw[te],
            **{m: f.predict_proba(s[te], stages=st[te])[:, 1] for m, f in fits.items()},
        }
        for m, p in preds.items():
            scores[m].append(
                (
                    judgecal.brier_score(y[te], p),
                    judgecal.log_loss(y[te], np.clip(p, 1e-6, 1 - 1e-6)),
                )
            )
        # coverage of the held-out agreement rate in (stage, score) cells with >= 15 items
        cells = np.char.add(np.char.add(st[te], "|"), s[te].astype(str))
        for cell in np.unique(cells):
            m = cells == cell
            if m.sum() >= 15:
                lo, hi = fits["bayes"].predict_interval(s[te][m][:1], stages=st[te][m][:1])[0]
                covered.append(lo <= y[te][m].mean() <= hi)
    print(f"\n{name}: {s.size} items, {len(set(st))} stages, {N_LABELS} labels, {SPLITS} splits")
    print(f"{'method':10s} {'Brier':>7s} {'log loss':>9s} {'beats raw':>10s}")
    raw_b = np.array([b for b, _ in scores["raw"]])
    for m, v in scores.items():
        b = np.array([x for x, _ in v])
        ll = np.array([x for _, x in v])
        win = "" if m == "raw" else f"{np.mean(b < raw_b):9.0%}"
        print(f"{m:10s} {b.mean():7.4f} {ll.mean():9.3f} {win:>10s}")
    print(
        f"bayes 90% intervals cover the held-out cell rate in {np.mean(covered):.0%} "
        f"of {len(covered)} cells"
    )


def main() -> None:
    compare("HANNA (ChatGPT, P(rating >= 4))")
    compare("PandaLM (GPT-3.5, P(first preferred), ties half)")

    # One fit on every PandaLM rating (3 raters per item), its intervals, and a JSON round trip.
    js = judgecal.load_pandalm("gpt35", with_texts=False)
    cal = BayesianCalibrator(random_state=0).fit_judgments(js)
    pairing = js.stages()[0]
    mean = cal.predict_agreement([0, 1, 2], stages=pairing)
    iv = cal.predict_interval([0, 1, 2], stages=pairing)
    print(f"\nPandaLM, pairing {pairing}: P(human prefers first | judge says second/tie/first)")
    for verdict, p, (lo, hi) in zip(js.scale.verdicts, mean, iv, strict=True):
        print(f"  judge says {verdict:6s}: {p:.2f}  90% interval [{lo:.2f}, {hi:.2f}]")
    print(f"  fast path (no PyMC), Pareto k-hat {cal.diagnostics_['k_hat']:.2f} (< 0.7: reliable)")
    with tempfile.TemporaryDirectory() as tmp:
        again = judgecal.load(judgecal.save(cal, Path(tmp) / "bayes.json"))
    assert np.array_equal(again.predict_interval([0, 1, 2], stages=pairing), iv)
    print("  saved and loaded as JSON: identical intervals")


if __name__ == "__main__":
    main()
