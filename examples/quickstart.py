"""Quickstart: wrap a judge, label a sample, calibrate, use it.

The "judge" here is a deterministic local stand-in for an LLM call: it answers
with text like ``"Score: 4"`` for a HANNA story and criterion (the real
ChatGPT rating, rounded), and sometimes answers garbage, as real judges do.
Nothing goes over the network.

Run: ``.venv/bin/python examples/quickstart.py``
"""

from __future__ import annotations

import zlib

import numpy as np

import judgecal
from judgecal import CalibratedJudge, IsotonicCalibrator, Scale

hanna = judgecal.load_hanna("ChatGPT_p1").scored()
by_id = {j.item_id: j for j in hanna}


def my_judge(item_id: str) -> str:
    """Stand-in for an LLM judge call: returns its answer as text."""
    if zlib.crc32(item_id.encode()) % 97 == 0:
        return "As an AI, I find this story hard to rate."  # garbage happens
    return f"Score: {round(by_id[item_id].score or 0)}"


# 1. Label a small sample by hand: here 200 stories x 6 criteria from HANNA.
rng = np.random.default_rng(0)
stories = np.unique(hanna.meta("story_id"))
labelled = set(rng.choice(stories, 200, replace=False).tolist())
is_lab = np.isin(hanna.meta("story_id"), list(labelled))
train, test = hanna.take(is_lab), hanna.take(~is_lab)

# 2. Run the judge on the labelled items, then calibrate per stage (criterion)
#    on "a human rates it 4 or higher"; three raters per item enter as soft labels.
judge = CalibratedJudge(my_judge, scale=Scale.likert(5))
run = judge.judge_many(
    train.item_ids().tolist(), stages=train.stages(), item_ids=train.item_ids().tolist()
)
print("labelled sample, judge outcomes:", run.status_counts())
ok = run.ok_mask()  # scores() is aligned with the inputs: NaN where the judge failed
y, w = train.targets(how="soft", threshold=4)
cal = IsotonicCalibrator().fit(run.scores()[ok], y[ok], w[ok], stages=train.stages()[ok])
judge.calibrator = cal

# 3. Use it: every new judgment carries the raw answer, the parsed score,
#    P(a human would rate it >= 4) and a status.
r = judge(test[0].item_id, stage=test[0].stage)
print(f"raw={r.raw!r} score={r.score} P(human agrees)={r.probability:.3f} status={r.status}")

# 4. Check it on held-out stories against the raw judge read as a probability.
run_test = judge.judge_many(
    test.item_ids().tolist(), stages=test.stages(), item_ids=test.item_ids().tolist()
)
ok_t = run_test.ok_mask()
yt, wt = test.targets(how="soft", threshold=4)
raw = Scale.likert(5).to_unit(run_test.scores()[ok_t])
print("held-out judge outcomes:", run_test.status_counts())
brier_raw = judgecal.brier_score(yt[ok_t], raw, sample_weight=wt[ok_t])
brier_cal = judgecal.brier_score(yt[ok_t], run_test.probabilities()[ok_t], sample_weight=wt[ok_t])
print(f"held-out Brier: raw judge {brier_raw:.4f}  calibrated {brier_cal:.4f}")

# 5. Save it (versioned JSON, no pickle) and load it anywhere, without PyMC.
judgecal.save(cal, "quickstart-calibrator.json")
again = judgecal.load("quickstart-calibrator.json")
assert (
    again.predict_proba([1, 3, 5], stages=["Coherence"] * 3)
    == cal.predict_proba([1, 3, 5], stages=["Coherence"] * 3)
).all()
print("saved and reloaded quickstart-calibrator.json")
