"""JudgeRun: scores and probabilities aligned with the inputs (NaN for failures), to_frame."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np
import pytest

from judgecal import CalibratedJudge, IsotonicCalibrator, MissingDependencyError, Scale
from judgecal.judging._results import JudgeResult, JudgeRun


def _flaky(text: Any) -> str:
    if int(text) % 3 == 0:
        raise TimeoutError("slow")
    return str(int(text) % 5 + 1)


def _run() -> JudgeRun:
    cal = IsotonicCalibrator().fit([1, 2, 3, 4, 5], [0, 0, 1, 1, 1])
    judge = CalibratedJudge(_flaky, cal, scale=Scale.likert(5))
    return judge.judge_many(list(range(9)))


def test_probabilities_are_aligned_with_the_inputs() -> None:
    run = _run()
    probabilities, scores = run.probabilities(), run.scores()
    assert probabilities.shape == scores.shape == (9,)  # was (6,): the failed items dropped
    failed = np.arange(9) % 3 == 0
    assert np.isnan(probabilities[failed]).all() and np.isnan(scores[failed]).all()
    assert np.isfinite(probabilities[~failed]).all()
    np.testing.assert_array_equal(run.ok_mask(), ~failed)
    np.testing.assert_array_equal(scores[~failed], [i % 5 + 1 for i in range(9) if i % 3])


def test_to_frame_has_one_row_per_input() -> None:
    frame = _run().to_frame()
    assert list(frame.columns) == [
        "item_id",
        "stage",
        "status",
        "raw",
        "score",
        "probability",
        "error",
    ]
    assert len(frame) == 9 and (frame["status"] == "error").sum() == 3
    assert frame.loc[frame["status"] == "error", "probability"].isna().all()


def test_to_frame_without_pandas_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pandas(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    run = JudgeRun([JudgeResult("4", 4.0, 0.5, "ok")])
    with pytest.raises(MissingDependencyError, match="pip install 'pandas"):
        run.to_frame()
