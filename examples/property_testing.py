"""Test your own metric and your own judge with judgecal's property-testing kit.

Two things a team typically writes by hand, each with a subtle bug:

* an agreement metric, "positive agreement", that looks fine on the examples
  it was written against but breaks on a stage where every item is negative;
* a rule-based judge that scores personalised answers, and (like many LLM
  judges) quietly rewards answers that merely *mention* the user.

``check_metric`` and ``check_judge`` find both, name the property that failed
and show the smallest example hypothesis found. The fixed versions pass.
Finally, ``assert_calibrated`` checks on known-truth data that calibrating the
biased judge's scores gives probabilities that match human agreement.

Run: python examples/property_testing.py
"""

from __future__ import annotations

import re

import numpy as np

from judgecal import IsotonicCalibrator, Scale
from judgecal.testing import assert_calibrated, check_judge, check_metric
from judgecal.testing.simulate import AgreementCurve, CalibrationDataset, Distortion

# ----------------------------------------------------------------------------------------
# 1. A user-written metric
# ----------------------------------------------------------------------------------------


def positive_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Share of items either rater called positive on which both did (buggy)."""
    both = np.sum((a == 1) & (b == 1))
    either = np.sum((a == 1) | (b == 1))
    return float(both / either) if either else float("nan")  # bug: undefined when nobody says yes


def positive_agreement_fixed(a: np.ndarray, b: np.ndarray) -> float:
    """Same, but two raters who both say "no" to everything agree perfectly."""
    both = np.sum((a == 1) & (b == 1))
    either = np.sum((a == 1) | (b == 1))
    return float(both / either) if either else 1.0


for metric in (positive_agreement, positive_agreement_fixed):
    report = check_metric(
        metric,
        kind="nominal",
        max_categories=2,  # binary labels 0/1
        bounds=(0.0, 1.0),
        perfect=1.0,
        skip=["label_renaming"],  # "positive" is special: renaming 0 <-> 1 changes the question
        max_examples=60,
    )
    print(report)
    print()

# ----------------------------------------------------------------------------------------
# 2. A user-written judge
# ----------------------------------------------------------------------------------------

ATTRIBUTES = ["vegetarian", "marathon runner", "new parent"]
USEFUL = {"steps", "tips", "example", "detailed", "clear", "plans"}


def rule_judge(answer: str) -> str:
    """Scores usefulness 1-5 (buggy: +1 when the answer mentions the user's attributes)."""
    words = re.findall(r"[a-z]+", answer.lower())
    score = 1 + min(3, sum(w in USEFUL for w in words))
    if any(a in answer.lower() for a in ATTRIBUTES):
        score += 1
    return f"Score: {score}"


def rule_judge_fixed(answer: str) -> str:
    """Scores usefulness 1-5 from content words only."""
    words = re.findall(r"[a-z]+", answer.lower())
    return f"Score: {1 + min(4, sum(w in USEFUL for w in words))}"


likert = Scale.likert(5)
for judge in (rule_judge, rule_judge_fixed):
    report = check_judge(
        judge,
        scale=likert,
        changes=["mention", "formatting"],
        attributes=ATTRIBUTES,
        max_examples=60,
    )
    print(report)
    print()

# ----------------------------------------------------------------------------------------
# 3. Calibrating the biased judge, checked against the known truth
# ----------------------------------------------------------------------------------------

truth = CalibrationDataset.simulate(
    likert,
    n=600,
    seed=7,
    curves={"generation": AgreementCurve(intercept=-0.5, slope=6.0)},
    distortion=Distortion(compression=0.6, shift=0.15, noise=0.08, mention_bonus=0.2),
    mention_rate=0.4,
)
raw = likert.to_unit(truth.scores)  # the judge's score read as a probability
cal = IsotonicCalibrator().fit(truth.scores, truth.labels)
test = truth.resample(n=5000, seed=8)
target = truth.agreement_given_score(test.scores)
p_raw = likert.to_unit(test.scores)
p_cal = cal.predict_agreement(test.scores)
print(f"mean |P(agree) error| raw judge: {np.mean(np.abs(p_raw - target)):.3f}")
print(f"mean |P(agree) error| calibrated: {np.mean(np.abs(p_cal - target)):.3f}")
assert_calibrated(p_cal, truth=target, n=len(truth))  # within z=4 standard errors for n=600
try:
    assert_calibrated(p_raw, truth=target, n=len(truth))
except AssertionError as exc:
    print(f"raw judge: {exc}")
