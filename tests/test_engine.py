"""The one engine: runs that always end, failures that never end a run, no silent loss."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from judgecal import CalibratedJudge, InputError, PersistenceError, RateLimit, Scale
from judgecal.judging.cache import JudgeCache
from judgecal.judging.engine import CacheWriteWarning, UncachedResultsError
from judgecal.judging.runner import AsyncJudgeRunner, JudgeRunner, RunInterrupted

LIKERT = Scale.likert(5)
ROOT = Path(__file__).resolve().parents[1]


def test_hanging_judge_run_ends_and_the_process_exits() -> None:
    # a judge that blocks forever: 20 items x 0.2 s at concurrency 2 must end in about 2 s,
    # every item `timeout`, and the interpreter must exit although 20 threads still block
    script = textwrap.dedent(
        """
        import threading, time
        from judgecal import Scale
        from judgecal.judging.runner import JudgeRunner
        forever = threading.Event()
        def judge(x):
            forever.wait()
        t0 = time.perf_counter()
        rep = JudgeRunner(judge, scale=Scale.likert(5), concurrency=2, timeout=0.2).run(range(20))
        took = time.perf_counter() - t0
        print(took, rep.status_counts(), rep.abandoned)
        """
    )
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    total = time.perf_counter() - started
    assert out.returncode == 0, out.stderr
    run_time, abandoned = float(out.stdout.split()[0]), int(out.stdout.split()[-1])
    assert "{'timeout': 20}" in out.stdout and abandoned == 20
    assert 1.9 <= run_time < 6.0, out.stdout  # 10 rounds of 0.2 s; generous on a loaded machine
    assert total < 30.0


def test_concurrency_bound_holds_with_timeouts() -> None:
    # calls the run waits on never exceed `concurrency`: a call leaves the count when it
    # returns or when the run gives up on it (the hook sees its timeout)
    lock = threading.Lock()
    state = {"now": 0, "max": 0}
    release = threading.Event()

    def judge(x: int) -> str:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        if x % 2:
            release.wait()  # hangs until the test ends
            return "1"
        time.sleep(0.01)
        with lock:
            state["now"] -= 1
        return "3"

    def hook(event: Any) -> None:
        if event.status == "timeout":
            with lock:
                state["now"] -= 1

    try:
        rep = JudgeRunner(judge, scale=LIKERT, concurrency=3, timeout=0.15, on_call=hook).run(
            range(24)
        )
    finally:
        release.set()
    assert rep.status_counts() == {"ok": 12, "timeout": 12}
    assert state["max"] <= 3 and rep.abandoned == 12


class Custom(BaseException):
    """Not an Exception."""


@pytest.mark.parametrize(
    "exc", [asyncio.CancelledError("c"), SystemExit(3), GeneratorExit("g"), Custom("mine")]
)
@pytest.mark.parametrize("concurrency", [1, 3])
def test_base_exceptions_from_judge_or_hook_are_item_errors(exc: BaseException, concurrency: int):
    def judge(x: int) -> str:
        if x == 2:
            raise exc
        return "4"

    rep = JudgeRunner(judge, scale=LIKERT, concurrency=concurrency).run(range(5))
    assert [r.status for r in rep.results] == ["ok", "ok", "error", "ok", "ok"]
    assert type(exc).__name__ in rep.results[2].error

    def hook(event: Any) -> None:
        if event.index == 1:
            raise exc

    rep2 = JudgeRunner(lambda x: "4", scale=LIKERT, concurrency=concurrency, on_call=hook).run(
        range(3)
    )
    assert [r.status for r in rep2.results] == ["ok", "error", "ok"]
    assert "on_call hook raised" in rep2.results[1].error


def test_async_judge_raising_cancelled_error_is_an_item_error() -> None:
    async def judge(x: int) -> str:
        if x == 1:
            raise asyncio.CancelledError("upstream cancelled")
        return "2"

    rep = asyncio.run(AsyncJudgeRunner(judge, scale=LIKERT, concurrency=2).run(range(3)))
    assert [r.status for r in rep.results] == ["ok", "error", "ok"]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_keyboard_interrupt_stops_the_run_with_partial_results(tmp_path, concurrency) -> None:
    def judge(x: int) -> str:
        if x == 6:
            raise KeyboardInterrupt
        time.sleep(0.002)
        return "3"

    cache = tmp_path / "c.sqlite"
    with pytest.raises(RunInterrupted) as info:
        JudgeRunner(judge, scale=LIKERT, concurrency=concurrency, cache=cache).run(range(40))
    err = info.value
    assert isinstance(err, KeyboardInterrupt) and err.total == 40
    assert 6 - concurrency <= err.finished < 40 and len(err.report.results) == 40
    assert err.report.status_counts()["error"] == 40 - err.finished
    assert str(cache) in str(err) and f"{err.finished} of 40" in str(err)
    with pytest.raises(RunInterrupted):  # judge_many too
        CalibratedJudge(judge, scale=LIKERT).judge_many(range(10))


def test_ctrl_c_under_asyncio_run_is_clean() -> None:
    script = textwrap.dedent(
        """
        import os, signal, time
        from judgecal import Scale
        from judgecal.judging.runner import JudgeRunner, RunInterrupted
        def judge(x):
            if x == 10:
                os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
            return "3"
        try:
            JudgeRunner(judge, scale=Scale.likert(5), concurrency=2).run(range(200))
        except RunInterrupted as err:
            print("interrupted", err.finished, err.total)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert out.returncode == 0 and out.stderr == "", out.stderr
    word, finished, total = out.stdout.split()
    assert word == "interrupted" and int(total) == 200 and 0 < int(finished) < 200


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        ("1234", "returned str"),
        ({"a": "1", "b": "2", "c": "3", "d": "4"}, "returned dict"),
        ((str(i) for i in range(2)), "returned 2 outputs for 4 items"),
        (("1" for _ in iter(int, 1)), "more than 4 outputs"),  # an endless generator
        (["1"] * 5, "more than 4 outputs"),
        (7, "returned int"),
    ],
)
def test_batch_judge_of_the_wrong_shape(returned: Any, message: str) -> None:
    rep = JudgeRunner(lambda xs: returned, scale=LIKERT, batch_size=4).run([1, 2, 3, 4])
    assert rep.status_counts() == {"error": 4}
    assert all(message in r.error for r in rep.results), rep.results[0].error


def test_batch_judge_generator_of_right_length_and_numpy_outputs() -> None:
    rep = JudgeRunner(lambda xs: (str(x) for x in xs), scale=LIKERT, batch_size=2).run([1, 2, 3])
    assert [r.score for r in rep.results] == [1.0, 2.0, 3.0]
    arr = JudgeRunner(lambda xs: np.asarray(xs) + 1, scale=LIKERT, batch_size=2).run([1, 2, 3])
    assert [r.score for r in arr.results] == [2.0, 3.0, 4.0]


def test_numpy_scalar_answers_are_parsed_and_cached(tmp_path) -> None:
    calls = []

    def judge(x: int) -> Any:
        calls.append(x)
        return np.int64(x) if x % 2 else np.float32(x)

    opts: dict[str, Any] = {"scale": LIKERT, "cache": tmp_path / "c.sqlite", "name": "np"}
    first = JudgeRunner(judge, **opts).run([1, 2, 3])
    assert [r.score for r in first.results] == [1.0, 2.0, 3.0]
    again = JudgeRunner(judge, **opts).run([1, 2, 3])
    assert again.calls == 0 and again.cached == 3 and len(calls) == 3


class BrokenCache:
    """A cache that reads fine and fails every write, as a full disk does."""

    path = "broken.sqlite"

    def get_many(self, keys: Any) -> dict[str, Any]:
        return {}

    def put(self, *args: Any, **kwargs: Any) -> bool:
        raise PersistenceError("database or disk is full")


def test_cache_write_failure_keeps_every_result() -> None:
    runner = JudgeRunner(lambda x: f"Score: {x}", scale=LIKERT, cache=BrokenCache(), name="b")
    warns = pytest.warns(CacheWriteWarning, match="disk is full")
    with warns, pytest.raises(UncachedResultsError) as info:
        runner.run([1, 2, 9, 4])
    err = info.value
    assert isinstance(err, PersistenceError) and err.not_cached == 4
    assert "4 of 4" in str(err)
    assert [r.status for r in err.report.results] == ["ok", "ok", "unparseable", "ok"]
    assert [r.score for r in err.report.results] == [1.0, 2.0, None, 4.0]


def test_real_cache_write_failure(tmp_path, monkeypatch) -> None:
    cache = JudgeCache(tmp_path / "c.sqlite")

    def full(*args: Any, **kwargs: Any) -> bool:
        raise PersistenceError("disk full")

    monkeypatch.setattr(cache, "put", full)
    with pytest.warns(CacheWriteWarning), pytest.raises(UncachedResultsError) as info:
        CalibratedJudge(lambda x: "3", scale=LIKERT).judge_many(["a", "b"], cache=cache)
    assert info.value.report.status_counts() == {"ok": 2}


def test_rate_limit_messages_name_the_parameter() -> None:
    with pytest.raises(InputError, match=r"'rate_limit'.*calls per minute"):
        JudgeRunner(lambda x: "1", scale=LIKERT, rate_limit=1e-320)
    with pytest.raises(InputError, match=r"'period'.*1e-06"):
        RateLimit(1, 1e-320)
    assert RateLimit.per_minute(6e-6, where="x").period == pytest.approx(1e7)


def test_judge_many_accepts_runner_options_and_single_calls_use_the_engine() -> None:
    def slow(x: int) -> str:
        time.sleep(0.5 if x == 1 else 0.0)
        return "2"

    cj = CalibratedJudge(slow, scale=LIKERT)
    run = cj.judge_many([0, 1, 2], concurrency=2, timeout=0.1)
    assert [r.status for r in run.results] == ["ok", "timeout", "ok"]
    assert cj(0).score == 2.0 and cj(0, item_id="z").item_id == "z"
    two = CalibratedJudge(lambda a, b: a + b, scale=LIKERT)
    assert two(1, b=2).score == 3.0
