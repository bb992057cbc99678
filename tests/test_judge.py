from __future__ import annotations

import numpy as np
import pytest

from judgecal import (
    CalibratedJudge,
    InputError,
    IsotonicCalibrator,
    JudgeError,
    Scale,
    load_hanna,
    parse_score,
)

TEN = Scale.numeric(1, 10)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", 7.0),
        ("7.5", 7.5),
        ("Score: 7", 7.0),
        ("score = 7", 7.0),
        ("**Rating:** 8 out of 10", 8.0),
        ("7/10", 7.0),
        ("The answer is fine. Score: 6/10", 6.0),
        ("Rating: 4. Score: 4", 4.0),
        ("", None),
        ("great answer!", None),
        ("11", None),
        ("7/5", None),
        ("Score: 7 ... actually Score: 8", None),
        ("I'd give it 7 or 8", None),
        ("nan", None),
        (None, None),
        (float("nan"), None),
        (3, 3.0),
        (True, None),
    ],
)
def test_parse_score_is_strict(text: object, expected: float | None) -> None:
    assert parse_score(text, TEN) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("YES", 1.0),
        ("no", 0.0),
        ("Answer: Yes", 1.0),
        ("Verdict: NO. Yes, I know.", 0.0),
        ("yes and no", None),
        ("maybe", None),
        (True, 1.0),
    ],
)
def test_parse_verdicts(text: object, expected: float | None) -> None:
    assert parse_score(text, Scale.verdict("no", "yes")) == expected


def _flaky_judge(x: int) -> str:
    if x % 10 == 3:
        raise TimeoutError("API timed out")
    if x % 10 == 7:
        return "I cannot rate this."
    return f"Score: {1 + x % 5}"


def test_failures_are_counted_never_scored() -> None:
    cal = IsotonicCalibrator().fit([1, 2, 3, 4, 5], [0, 0, 1, 1, 1])
    cj = CalibratedJudge(_flaky_judge, cal, scale=Scale.likert(5))
    run = cj.judge_many(range(100))
    assert run.status_counts() == {"ok": 80, "error": 10, "unparseable": 10}
    assert sum(run.status_counts().values()) == 100
    for r in run.failed():
        assert r.score is None and r.probability is None
    assert all("TimeoutError" in (r.error or "") for r in run.results if r.status == "error")
    ok = run.ok_mask()
    assert run.scores().size == 100 and ok.sum() == 80
    assert np.isfinite(run.probabilities()[ok]).all() and np.isnan(run.probabilities()[~ok]).all()
    js = run.to_judgments(Scale.likert(5))
    assert js.status_counts() == run.status_counts()


def test_vectorized_calibration_matches_single_calls() -> None:
    cal = IsotonicCalibrator(min_stage_labels=1).fit(
        [1, 2, 3, 4, 5], [0, 0, 1, 1, 1], stages=["a"] * 5
    )
    cj = CalibratedJudge(lambda x: x, cal, scale=Scale.likert(5), stage="a")
    run = cj.judge_many([1, 2.5, 5])
    single = [cj(v).probability for v in (1, 2.5, 5)]
    np.testing.assert_allclose(run.probabilities(), single)


def test_object_judge_and_bad_construction() -> None:
    class J:
        def judge(self, text: str) -> str:
            return "Answer: YES" if "please" in text else "Answer: NO"

    cj = CalibratedJudge(J(), scale=Scale.verdict("no", "yes"))
    r = cj("please help")
    assert r.score == 1.0 and r.probability is None
    with pytest.raises(JudgeError, match="callable"):
        CalibratedJudge(42, scale=Scale.likert(5))
    with pytest.raises(InputError, match="scale"):
        CalibratedJudge(print, scale="1-5")  # type: ignore[arg-type]
    with pytest.raises(JudgeError, match="no calibrator"):
        cj.calibrate([1.0])


def test_fit_from_records_and_use() -> None:
    js = load_hanna()
    first = js.take(np.arange(1200))
    cj = CalibratedJudge(lambda s: s, scale=Scale.likert(5)).fit(first, threshold=4)
    p = cj.calibrate([1.0, 3.0, 5.0], stages=["Coherence"] * 3)
    assert (np.diff(p) >= 0).all() and 0 < p[0] < p[2] < 1
