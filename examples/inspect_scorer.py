"""A calibrated judge as an Inspect AI scorer (optional extra: ``pip install "judgecal[inspect]"``).

Inspect (``inspect-ai``) runs an evaluation task: a dataset of samples, a solver that
gets the model's answer, and scorers that grade it. Here the grade is judgecal's:
an LLM judge's 1-5 rating of the answer, parsed strictly and mapped through a
calibrator fitted on human labels to **P(a human would rate it >= 4)**.

What goes wrong with judge-based scorers elsewhere does not happen here:

- an unparseable, refused, failed or timed-out judge call is returned as
  ``Score.unscored(reason=...)``: Inspect keeps it in the log and counts it in
  ``unscored_samples``, and it never enters ``mean()`` as a 0;
- transient judge errors are retried with backoff; judge calls are cached in SQLite,
  so re-scoring a log does not call the judge again.

The model under test and the judge are local stand-ins (Inspect's ``mockllm`` model and a
function answering with the HANNA ChatGPT judge's recorded ratings), so this runs offline.

Run: ``.venv/bin/python examples/inspect_scorer.py``
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from judgecal import AsyncJudgeRunner, IsotonicCalibrator, load_hanna
from judgecal import parsers as jp

try:
    from inspect_ai import Task, eval
    from inspect_ai.dataset import Sample
    from inspect_ai.model import ModelOutput, ModelUsage, get_model
    from inspect_ai.scorer import Score, Target, mean, scorer, stderr
    from inspect_ai.solver import TaskState, generate
except ImportError:  # the optional extra is not installed
    Task = None  # type: ignore[assignment,misc]

#: judgecal status -> Inspect's reason for an unscored sample
UNSCORED_REASON = {
    "unparseable": "invalid_response_format",
    "refused": "refusal",
    "error": "grader_failed",
    "timeout": "no_response",
}


def calibrated_scorer(runner: AsyncJudgeRunner, *, judge_input: Any = None) -> Any:
    """An Inspect scorer whose value is the calibrated P(a human agrees), or unscored.

    Parameters
    ----------
    runner : AsyncJudgeRunner
        The judge (with its parser, calibrator, retries, cache, ...).
    judge_input : callable, optional
        ``judge_input(state, target)`` -> what the judge is called with; default: the
        model's completion.
    """

    @scorer(metrics=[mean(), stderr()], name="calibrated_judge")
    def _calibrated() -> Any:
        async def score(state: TaskState, target: Target) -> Score:
            item = state.output.completion if judge_input is None else judge_input(state, target)
            report = await runner.run([item], ids=[str(state.sample_id)])
            r = report.results[0]
            meta = {"judge_status": r.status, "judge_score": r.score, "judge_output": str(r.raw)}
            if not r.ok or r.probability is None:
                return Score.unscored(
                    reason=UNSCORED_REASON.get(r.status, "grader_failed"),
                    answer=state.output.completion,
                    explanation=r.error,
                    metadata=meta,
                )
            return Score(
                value=r.probability,
                answer=state.output.completion,
                explanation=f"judge score {r.score:g} -> P(human rates >= 4) = {r.probability:.3f}",
                metadata=meta,
            )

        return score

    return _calibrated()


def main() -> dict[str, Any] | None:
    if Task is None:
        print("inspect-ai is not installed (pip install 'judgecal[inspect]'); nothing to run.")
        return None
    data = load_hanna("ChatGPT_p1", criteria=("Coherence",)).scored()
    order = np.random.default_rng(1).permutation(len(data))
    train, test = data.take(order[:150]), data.take(order[150:180])
    y, w = train.targets(how="soft", threshold=4)
    cal = IsotonicCalibrator().fit(train.scores(), y, w)
    recorded = {j.meta["story_id"]: j.score for j in test}

    # the model under test writes "story <id>"; the judge rates it (recorded HANNA ratings)
    def model_answer(messages: list[Any], *_: Any) -> ModelOutput:
        sid = re.search(r"story (\d+)", messages[-1].text).group(1)  # type: ignore[union-attr]
        out = ModelOutput.from_content(model="mockllm/model", content=f"Here is story {sid}.")
        out.usage = ModelUsage(
            input_tokens=5, output_tokens=5, total_tokens=10
        )  # no tokenizer download
        return out

    async def llm_judge(answer: str) -> str:
        sid = re.search(r"story (\d+)", answer).group(1)  # type: ignore[union-attr]
        if int(sid) % 13 == 0:
            return "This story is hard to assess."  # no rating: unscored, not 0
        return f"Coherence rating: {recorded[sid]:g} out of 5"

    with tempfile.TemporaryDirectory() as tmp:
        runner = AsyncJudgeRunner(
            llm_judge,
            parser=jp.number(1, 5),
            calibrator=cal,
            retries=2,
            retry_on=ConnectionError,
            cache=Path(tmp) / "judge.sqlite",
            name="hanna-judge",
        )
        task = Task(
            dataset=[
                Sample(input=f"Write story {j.meta['story_id']}.", id=j.meta["story_id"])
                for j in test
            ],
            solver=generate(),
            scorer=calibrated_scorer(runner),
        )
        model = get_model("mockllm/model", custom_outputs=model_answer)
        log = eval(task, model=model, log_dir=str(Path(tmp) / "logs"), display="none")[0]
    if log.status != "success":
        raise RuntimeError(f"Inspect eval failed: {str(log.error)[:300]}")
    res = log.results
    assert res is not None
    sc = res.scores[0]
    out = {
        "samples": res.total_samples,
        "completed": res.completed_samples,
        "unscored": sc.unscored_samples,
        "mean_p_human_agrees": round(sc.metrics["mean"].value, 3),
        "stderr": round(sc.metrics["stderr"].value, 3),
    }
    scored = [j for j in test if int(j.meta["story_id"]) % 13 != 0]
    truth, _ = test.take(
        [i for i, j in enumerate(test) if int(j.meta["story_id"]) % 13 != 0]
    ).targets(how="soft", threshold=4)
    out["human_share_ge4"] = round(float(np.mean(truth)), 3)
    out["raw_judge_share_ge4"] = round(float(np.mean([j.score >= 4 for j in scored])), 3)
    print("Inspect eval with a calibrated judge scorer:")
    for k, v in out.items():
        print(f"  {k:<22} {v}")
    return out


if __name__ == "__main__":
    main()
