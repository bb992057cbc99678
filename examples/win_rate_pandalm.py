"""Human win rates per model pairing on PandaLM from 100 human labels plus GPT-3.5's verdicts.

PandaLM's test set has 999 comparisons of two responses, each labelled by three
annotators (first / second / tie) and judged by GPT-3.5. We pretend only 100
comparisons (10 per model pairing) were labelled by humans, estimate how often
humans prefer the first response (ties count half) with PPI++ on the calibrated
judge, and compare with the all-human value that the full labels give.

Run: ``.venv/bin/python examples/win_rate_pandalm.py``
"""

from __future__ import annotations

import numpy as np

import judgecal

full = judgecal.load_pandalm("gpt35", with_texts=False)
hidden = judgecal.keep_labels(full, 100, by="stage", seed=0)  # 10 labelled comparisons per pairing

# the all-human truth: share of annotators preferring the first response, ties half
idx, val, _ = full.ratings_long()
# pairwise codes: second 0, tie 1, first 2 (judgecal.vocabulary)
per_item = np.bincount(idx, (val == 2) + 0.5 * (val == 1), minlength=len(full)) / np.bincount(
    idx, minlength=len(full)
)
stages = full.stages()
truth = {s: float(per_item[stages == s].mean()) for s in full.stage_names()}

res = judgecal.estimate_rate(
    hidden, ties="half"
)  # PPI++, isotonic calibrator, 5-fold cross-fitting
print(res.to_markdown())
print()
print(res)
print()

covered = sum(s.low <= truth[name] <= s.high for name, s in res.strata.items())
covered_h = sum(
    s.human_only.low <= truth[name] <= s.human_only.high for name, s in res.strata.items()
)
covered_j = sum(
    s.judge_only.low <= truth[name] <= s.judge_only.high for name, s in res.strata.items()
)
ratio = np.mean([s.high - s.low for s in res.strata.values()]) / np.mean(
    [s.human_only.high - s.human_only.low for s in res.strata.values()]
)
print(
    f"all-human win rate {per_item.mean():.3f}; "
    f"estimate {res.estimate:.3f} [{res.low:.3f}, {res.high:.3f}]"
)
print(
    f"pairings whose all-human value is inside the 90% interval: PPI++ {covered}/10, "
    f"human-only {covered_h}/10, judge-only {covered_j}/10"
)
print(
    f"PPI++ interval width / human-only width per pairing: {ratio:.2f}; "
    f"the judge was worth {res.effective_labels:.0f} human labels instead of {res.n_labelled}"
)

# the tie policy is always explicit
for ties in ("drop", "separate"):
    r = judgecal.estimate_rate(hidden, ties=ties, strata=None)
    print(r)
    if r.tie_rate is not None:
        print("   ", r.tie_rate)

# how many labels for +/- 3 points overall, given how good the calibrated judge was on the pilot?
plan = judgecal.plan_labels(0.03, pilot=hidden.labelled(), n_total=len(full))
print(
    f"labels for +/-0.03: {plan.n_ppi} with the judge vs {plan.n_human_only} without "
    f"(judge-human correlation {plan.correlation:.2f})"
)
