"""A plain-Python evaluation loop: a flaky judge, a resumable cache, a calibrator on real labels.

The judge here stands in for an LLM call: it answers with the HANNA judge's recorded
rating of a story (ChatGPT, 1-5 Likert, criterion "Coherence"), as text, and it
misbehaves the way API judges do: it raises a transient error on ~20% of calls,
answers garbage on ~5%, and refuses on ~1%. Humans rated every story, so we can
check the final number against the truth.

1. Fit a calibrator on 150 stories with human labels: P(a human rates >= 4 | judge score).
2. Judge the other stories with JudgeRunner: concurrency 8, retries with backoff on the
   transient error, SQLite cache. Every item ends in one status; failures are listed, never scored.
3. Report the share of human ratings >= 4, from the raw judge (score >= 4), from the
   calibrated judge (mean P), and the truth (all three raters' ratings).
4. Run again: everything comes from the cache, the judge is not called.

Run: ``.venv/bin/python examples/eval_loop.py``
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from judgecal import IsotonicCalibrator, JudgeRunner, load_hanna
from judgecal import parsers as jp


class TransientAPIError(Exception):
    """What a rate-limited or overloaded API raises."""


def main() -> None:
    data = load_hanna("ChatGPT_p1", criteria=("Coherence",)).scored()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(data))
    train, test = data.take(order[:150]), data.take(order[150:])

    # 1. calibrate on the small human sample
    y, w = train.targets(how="soft", threshold=4)
    cal = IsotonicCalibrator().fit(train.scores(), y, w, stages=train.stages())

    # 2. a judge that behaves like an unreliable API
    recorded = {j.item_id: j.score for j in test}
    attempts: dict[str, int] = {}
    calls = {"n": 0}
    lock = threading.Lock()

    def flaky_llm_judge(story_id: str) -> str:
        with lock:
            calls["n"] += 1
            k = attempts[story_id] = attempts.get(story_id, 0) + 1
        u = int(hashlib.sha256(f"{story_id}/{k}".encode()).hexdigest()[:8], 16) / 2**32
        time.sleep(0.0005)
        if u < 0.20:
            raise TransientAPIError("529 overloaded")
        if u < 0.25:
            return "The story is coherent in parts, though"  # no score: unparseable
        if u < 0.26:
            return "I'm sorry, but I can't evaluate this story."  # refused
        return f"Coherence rating: {recorded[story_id]:g}/5"

    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "judge-calls.sqlite"
        options = dict(
            parser=jp.number(1, 5),
            calibrator=cal,
            concurrency=8,
            retries=3,
            retry_on=TransientAPIError,
            backoff=0.001,
            seed=0,
            cache=cache,
            name="hanna-chatgpt",
            version="p1",
            prompt_template="Rate coherence",
        )
        ids = [j.item_id for j in test]
        report = JudgeRunner(flaky_llm_judge, **options).run(ids, ids=ids, stages=test.stages())
        s = report.summary()
        print(
            f"judged {s['n']} stories: ok={s['ok']} unparseable={s['unparseable']} "
            f"refused={s['refused']} error={s['error']} timeout={s['timeout']} "
            f"(real calls {s['calls']}, retries {s['retries']})"
        )
        assert sum(s[k] for k in ("ok", "unparseable", "refused", "error", "timeout")) == s["n"]
        print(
            f"failed items (never scored): {len(report.failed_indices())}, "
            f"e.g. {report.failed_items()[:3]}"
        )

        # 3. the number people report, three ways, on the items the judge scored
        ok = [i for i, r in enumerate(report.results) if r.ok]
        truth_y, _ = test.take(ok).targets(how="soft", threshold=4)  # share of raters giving >= 4
        scored = report.ok_mask()  # scores() and probabilities() are NaN where a call failed
        raw_share = float(np.mean(report.scores()[scored] >= 4))
        cal_share = float(np.mean(report.probabilities()[scored]))
        true_share = float(np.mean(truth_y))
        print(
            f"share of human ratings >= 4: raw judge {raw_share:.3f}, calibrated {cal_share:.3f}, "
            f"human truth {true_share:.3f}"
        )
        print(
            f"abs. error: raw {abs(raw_share - true_share):.3f}, "
            f"calibrated {abs(cal_share - true_share):.3f}"
        )

        # retry only the failed items (a fresh attempt each)
        retried = JudgeRunner(flaky_llm_judge, **options).retry(report)
        print(f"after retrying the failed items: {retried.status_counts()}")

        # 4. a rerun is answered from the cache
        before = calls["n"]
        again = JudgeRunner(flaky_llm_judge, **options).run(ids, ids=ids, stages=test.stages())
        print(
            f"rerun: {again.cached} answers from the cache, {calls['n'] - before} new judge calls"
        )
        assert again.calls == calls["n"] - before


if __name__ == "__main__":
    main()
