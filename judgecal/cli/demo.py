"""``judgecal demo``: calibrate a real LLM judge on HANNA and show what changes.

HANNA's stories each have three human Likert ratings (1-5) on six criteria and
an LLM judge's rating. The demo asks: *how likely is a human to rate the story
4 or higher on this criterion, given the judge's score?* It labels
``n_labelled`` random stories (all six criteria, one calibrator stage per
criterion), fits on them, and compares, on the held-out stories, the raw
judge (its score rescaled to [0, 1]) with the calibrated probability.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from judgecal._validation import FloatArray, check_int
from judgecal.calibration.stagewise import IsotonicCalibrator, LogisticCalibrator
from judgecal.metrics import brier_score, expected_calibration_error
from judgecal.records.datasets import load_hanna

__all__ = ["DemoRow", "hanna_split", "run_demo"]


@dataclass(frozen=True)
class DemoRow:
    """Held-out metrics for one criterion."""

    stage: str
    n_test: int
    raw_ece: float
    cal_ece: float
    raw_brier: float
    cal_brier: float


def hanna_split(
    judge: str = "ChatGPT_p1", *, n_labelled: int = 200, seed: int = 0
) -> tuple[
    tuple[FloatArray, FloatArray, FloatArray, np.ndarray],
    tuple[FloatArray, FloatArray, FloatArray, np.ndarray],
    dict[str, int],
]:  # type: ignore[type-arg]
    """Split HANNA by story into a labelled part and a held-out part.

    Returns ``(train, test, status_counts)`` where each part is
    ``(scores, soft_targets, weights, stages)`` for the target "human rating >= 4".
    """
    check_int(n_labelled, "n_labelled", low=10, high=1000, where="hanna_split")
    js = load_hanna(judge)
    counts = js.status_counts()
    js = js.scored()
    story = js.meta("story_id")
    stories = np.unique(story)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(stories, size=n_labelled, replace=False)
    is_train = np.isin(story, chosen)
    y, w = js.targets(how="soft", threshold=4)
    s, st = js.scores(), js.stages()
    train = (s[is_train], y[is_train], w[is_train], st[is_train])
    test = (s[~is_train], y[~is_train], w[~is_train], st[~is_train])
    return train, test, counts


def run_demo(
    *,
    judge: str = "ChatGPT_p1",
    n_labelled: int = 200,
    seed: int = 0,
    plot: str | None = "judgecal-demo.png",
    method: str = "isotonic",
) -> int:
    """Run the demo, print the table, write the reliability diagram; returns 0."""
    from judgecal.records.core import Scale

    (s_tr, y_tr, w_tr, st_tr), (s_te, y_te, w_te, st_te), counts = hanna_split(
        judge, n_labelled=n_labelled, seed=seed
    )
    cal: Any
    if method == "bayes":
        from judgecal.calibration.bayes.calibrator import BayesianCalibrator

        cal = BayesianCalibrator(score_range=(1.0, 5.0), random_state=seed)
    else:
        cal = IsotonicCalibrator() if method == "isotonic" else LogisticCalibrator()
    cal = cal.fit(s_tr, y_tr, w_tr, stages=st_tr)
    raw = Scale.likert(5).to_unit(s_te)
    p = cal.predict_proba(s_te, stages=st_te)[:, 1]
    rows = []
    for name in dict.fromkeys(st_te.tolist()):
        m = st_te == name
        rows.append(
            DemoRow(
                stage=name,
                n_test=int(m.sum()),
                raw_ece=expected_calibration_error(y_te[m], raw[m], sample_weight=w_te[m]),
                cal_ece=expected_calibration_error(y_te[m], p[m], sample_weight=w_te[m]),
                raw_brier=brier_score(y_te[m], raw[m], sample_weight=w_te[m]),
                cal_brier=brier_score(y_te[m], p[m], sample_weight=w_te[m]),
            )
        )
    print(f"judgecal demo: HANNA, judge {judge}, target P(human rating >= 4)")
    print(f"judge outputs: {counts} (unparseable outputs are counted, never scored)")
    print(
        f"{method} calibrator fitted on {n_labelled} labelled stories ({len(s_tr)} story-criterion items, "
        f"3 raters each); held out: {len(s_te)} items\n"
    )
    print(
        f"| {'criterion':<11}| {'n test':>6} | {'raw ECE':>7} | {'cal ECE':>7} | {'raw Brier':>9} | {'cal Brier':>9} |"
    )
    print(f"|{'-' * 12}|{'-' * 8}|{'-' * 9}|{'-' * 9}|{'-' * 11}|{'-' * 11}|")
    for r in rows:
        print(
            f"| {r.stage:<11}| {r.n_test:>6} | {r.raw_ece:>7.3f} | {r.cal_ece:>7.3f} | {r.raw_brier:>9.3f} | {r.cal_brier:>9.3f} |"
        )
    all_raw_b = brier_score(y_te, raw, sample_weight=w_te)
    all_cal_b = brier_score(y_te, p, sample_weight=w_te)
    all_raw_e = expected_calibration_error(y_te, raw, sample_weight=w_te)
    all_cal_e = expected_calibration_error(y_te, p, sample_weight=w_te)
    print(
        f"| {'all':<11}| {len(s_te):>6} | {all_raw_e:>7.3f} | {all_cal_e:>7.3f} | {all_raw_b:>9.3f} | {all_cal_b:>9.3f} |"
    )
    if plot:
        from judgecal.plotting import reliability_diagram

        reliability_diagram(
            y_te,
            {"raw judge": raw, f"calibrated ({method})": p},
            sample_weight=w_te,
            title=f"HANNA, {judge}: P(human rating >= 4)",
            path=plot,
        )
        print(f"\nreliability diagram written to {plot}")
    return 0
