"""JudgeRunner / AsyncJudgeRunner: judge shapes, statuses, flaky judges, bounds, repeats, pairs."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judgecal import CalibratedJudge, InputError, IsotonicCalibrator, JudgeError, Scale
from judgecal import parsers as jp
from judgecal.judging.cache import JudgeCache
from judgecal.judging.runner import (
    AsyncJudgeRunner,
    CallEvent,
    JudgeRunner,
    RateLimit,
    RunReport,
    _majority,
)

STATUSES = ("ok", "unparseable", "refused", "error", "timeout")


class FlakyError(Exception):
    """The fake API's transient failure."""


class FlakyJudge:
    """Raises on 30% of calls, answers garbage on 10%, sleeps 0-3 ms; logs every call."""

    def __init__(self, seed: int = 0, garbage: float = 0.1, fail: float = 0.3) -> None:
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.log: list[tuple[int, str]] = []
        self.garbage, self.fail = garbage, fail

    def _draw(self, item: int) -> tuple[str, float]:
        with self.lock:
            u, nap = self.rng.random(), self.rng.random() * 0.003
            kind = "raise" if u < self.fail else "garbage" if u < self.fail + self.garbage else "ok"
            self.log.append((item, kind))
        return kind, nap

    @staticmethod
    def _answer(item: int, kind: str) -> str:
        if kind == "raise":
            raise FlakyError(f"503 for item {item}")
        return "Well, it depends ..." if kind == "garbage" else f"Score: {item % 5 + 1}"

    def __call__(self, item: int) -> str:
        kind, nap = self._draw(item)
        time.sleep(nap)
        return self._answer(item, kind)

    async def acall(self, item: int) -> str:
        kind, nap = self._draw(item)
        await asyncio.sleep(nap)
        return self._answer(item, kind)


def _check_accounting(report: RunReport, judge: FlakyJudge, n: int) -> None:
    # every item accounted for exactly once, in input order
    assert len(report) == n
    assert [r.item_id for r in report.results] == [str(i) for i in range(n)]
    counts = report.status_counts()
    assert sum(counts.values()) == n
    summary = report.summary()
    assert sum(summary[s] for s in STATUSES) == n
    assert report.calls == len(judge.log)
    # each item's final status is what its last real call produced
    last = {}
    for item, kind in judge.log:
        last[item] = kind
    assert set(last) == set(range(n))
    expect = {"ok": "ok", "garbage": "unparseable", "raise": "error"}
    for i, r in enumerate(report.results):
        assert r.status == expect[last[i]], (i, r)
        if r.ok:
            assert r.score == i % 5 + 1
        else:  # nothing unparseable (or failed) is ever scored
            assert r.score is None and r.probability is None
    assert int(np.isfinite(report.scores()).sum()) == counts.get("ok", 0)
    assert sorted(report.failed_indices()) == [i for i in range(n) if last[i] != "ok"]


@pytest.mark.parametrize("retries", [0, 3])
def test_flaky_judge_sync_every_item_accounted_for(retries):
    n = 400
    judge = FlakyJudge(seed=retries)
    runner = JudgeRunner(
        judge,
        parser=jp.likert(5),
        concurrency=8,
        retries=retries,
        retry_on=FlakyError,
        backoff=0.0005,
        seed=1,
    )
    report = runner.run(range(n))
    _check_accounting(report, judge, n)
    c = report.status_counts()
    if retries == 0:  # about 30% errors, 10% garbage
        assert 0.22 < c["error"] / n < 0.38 and 0.05 < c["unparseable"] / n < 0.16
    else:  # with 3 retries on FlakyError, errors need 4 failures in a row (0.3**4 ~ 1%)
        assert c.get("error", 0) / n < 0.04 and report.retries > 0.3 * n
    assert report.calls == n + report.retries


def test_flaky_judge_async_every_item_accounted_for():
    n = 400
    judge = FlakyJudge(seed=7)
    cal = IsotonicCalibrator().fit([1, 2, 3, 4, 5], [0, 0, 1, 1, 1])
    runner = AsyncJudgeRunner(
        judge.acall,
        parser=jp.likert(5),
        calibrator=cal,
        concurrency=32,
        retries=2,
        retry_on=(FlakyError,),
        backoff=0.0005,
    )
    report = asyncio.run(runner.run(range(n)))
    _check_accounting(report, judge, n)
    probs = report.probabilities()
    assert len(probs) == n and np.isfinite(probs).sum() == report.status_counts()["ok"]


def test_retry_failed_items_alone():
    n = 200
    judge = FlakyJudge(seed=3)
    runner = JudgeRunner(judge, parser=jp.likert(5), concurrency=4)
    first = runner.run(range(n))
    failed = first.failed_indices()
    assert failed
    before = len(judge.log)
    second = runner.retry(first)
    retried = [item for item, _ in judge.log[before:]]
    assert sorted(retried) == failed  # only failed items were called again, once each
    assert second.status_counts()["ok"] > first.status_counts()["ok"]
    for i in set(range(n)) - set(failed):
        assert second.results[i] == first.results[i]
    assert second.calls == first.calls + len(failed)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_concurrency_bound_holds_measured(mode):
    limit, n = 5, 80
    state = {"now": 0, "max": 0}
    lock = threading.Lock()

    def enter():
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])

    def leave():
        with lock:
            state["now"] -= 1

    def judge(x):
        enter()
        time.sleep(0.02)  # long enough that a loaded machine still overlaps the calls
        leave()
        return "3"

    async def ajudge(x):
        enter()
        await asyncio.sleep(0.02)
        leave()
        return "3"

    if mode == "sync":
        report = JudgeRunner(judge, scale=Scale.likert(5), concurrency=limit).run(range(n))
    else:
        report = asyncio.run(
            AsyncJudgeRunner(ajudge, scale=Scale.likert(5), concurrency=limit).run(range(n))
        )
    assert report.status_counts() == {"ok": n}
    assert state["max"] <= limit  # the bound holds
    assert state["max"] >= limit - 1  # and is used


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_rate_limit_holds_measured(mode):
    calls, period, n = 6, 0.15, 30
    stamps: list[float] = []
    lock = threading.Lock()

    def judge(x):
        with lock:
            stamps.append(time.monotonic())
        return "yes"

    async def ajudge(x):
        stamps.append(time.monotonic())
        return "yes"

    opts = dict(scale=jp.YES_NO_SCALE, concurrency=8, rate_limit=RateLimit(calls, period))
    t0 = time.monotonic()
    if mode == "sync":
        report = JudgeRunner(judge, **opts).run(range(n))
    else:
        report = asyncio.run(AsyncJudgeRunner(ajudge, **opts).run(range(n)))
    took = time.monotonic() - t0
    assert report.status_counts() == {"ok": n}
    ts = sorted(stamps)
    # in any window of `period` seconds there are at most `calls` calls; the limiter holds at
    # dispatch, the judge sees the call after a thread hand-off, so allow 10% slack for that jitter
    # (without the limiter the smallest gap is ~0)
    gaps = [ts[i + calls] - ts[i] for i in range(len(ts) - calls)]
    assert min(gaps) >= 0.9 * period
    assert took >= (n // calls - 1) * period - 0.01
    assert took < (n // calls + 3) * period  # and it is not much slower than the limit


def test_rate_limit_per_minute_with_fake_clock():
    fake = {"t": 0.0}
    runner = JudgeRunner(
        lambda x: "1", scale=Scale.likert(5), rate_limit=120, clock=lambda: fake["t"]
    )
    assert runner.rate_limit == RateLimit(120, 60.0)
    # with a frozen clock the limiter admits exactly 120 calls, then waits: run 100 fine
    report = runner.run(range(100))
    assert report.status_counts() == {"ok": 100}


def test_timeouts_and_retry_on_timeout():
    def slow(x):
        time.sleep(1.0 if x % 3 == 0 else 0.0)
        return "4"

    rep = JudgeRunner(slow, scale=Scale.likert(5), timeout=0.25, concurrency=8).run(range(9))
    assert rep.status_counts() == {"timeout": 3, "ok": 6}
    assert all(
        r.score is None and "TimeoutError" in r.error for r in rep.results if r.status == "timeout"
    )

    tries = Counter()

    async def sometimes_slow(x):
        tries[x] += 1
        await asyncio.sleep(1.0 if tries[x] == 1 else 0.0)
        return "4"

    runner = AsyncJudgeRunner(
        sometimes_slow,
        scale=Scale.likert(5),
        timeout=0.25,
        retries=1,
        retry_on=TimeoutError,
        backoff=0,
    )
    rep2 = asyncio.run(runner.run(range(5)))
    assert rep2.status_counts() == {"ok": 5} and rep2.retries == 5


def test_retries_only_on_named_exceptions_and_backoff():
    calls = Counter()

    def judge(x):
        calls[x] += 1
        if x == "value" or (x == "conn" and calls[x] < 3):
            raise ValueError("bad") if x == "value" else ConnectionError("reset")
        return "5"

    runner = JudgeRunner(
        judge, scale=Scale.likert(5), retries=4, retry_on=ConnectionError, backoff=0.001
    )
    rep = runner.run(["value", "conn"])
    assert [r.status for r in rep.results] == ["error", "ok"]
    assert calls == {"value": 1, "conn": 3}  # ValueError not named -> not retried
    assert rep.results[0].error == "ValueError: bad"
    # full-jitter exponential backoff: retry k waits uniform(0, min(cap, base * 2**k))
    r = JudgeRunner(judge, scale=Scale.likert(5), backoff=0.1, max_backoff=1.0, seed=0)
    for k, cap in [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.8), (6, 1.0)]:
        d = np.array([r._delay(k) for _ in range(4000)])
        assert d.min() >= 0 and d.max() <= cap and abs(d.mean() - cap / 2) < 0.05 * cap


def test_retry_unparseable():
    answers = iter(["hmm", "??", "Score: 2"])
    rep = JudgeRunner(
        lambda x: next(answers), scale=Scale.likert(5), retries=3, retry_unparseable=True, backoff=0
    ).run(["a"])
    assert rep.results[0].score == 2.0 and rep.retries == 2


def test_judge_shapes():
    sc = Scale.likert(5)

    def plain(x):
        return f"Score: {x}"

    async def coro(x):
        return f"Score: {x}"

    class WithMethod:
        def score(self, x):
            return f"Score: {x}"

    class WithJudge:
        def judge(self, x):
            return x

    class AsyncCallable:
        async def __call__(self, x):
            return x

    def batch(xs):
        return [f"{x}" for x in xs]

    items = [1, 2, 3, 4, 5, 3, 2]
    want = [float(x) for x in items]
    for runner in (
        JudgeRunner(plain, scale=sc),
        JudgeRunner(coro, scale=sc, concurrency=3),
        JudgeRunner(WithMethod(), method="score", scale=sc),
        JudgeRunner(WithJudge(), scale=sc),
        JudgeRunner(AsyncCallable(), scale=sc),
        JudgeRunner(batch, scale=sc, batch_size=3),
        JudgeRunner(CalibratedJudge(plain, scale=sc)),
    ):
        assert [r.score for r in runner.run(items).results] == want, runner
    for runner in (
        AsyncJudgeRunner(plain, scale=sc),
        AsyncJudgeRunner(coro, scale=sc),
        AsyncJudgeRunner(batch, scale=sc, batch_size=2),
    ):
        assert [r.score for r in asyncio.run(runner.run(items)).results] == want
    pair = JudgeRunner(lambda a, b: a + b, scale=sc, unpack=True).run([(1, 2), (2, 2)])
    assert [r.score for r in pair.results] == [3.0, 4.0]
    kw = JudgeRunner(lambda q, a: len(q + a), scale=sc, unpack=True).run([{"q": "ab", "a": "c"}])
    assert kw.results[0].score == 3.0


def test_batch_judge_failures():
    calls = []

    def batch(xs):
        calls.append(list(xs))
        if 99 in xs:
            raise ConnectionError("batch down")
        return [
            ValueError("one bad") if x == 7 else ("junk" if x == 8 else str(x % 5 + 1)) for x in xs
        ]

    rep = JudgeRunner(batch, scale=Scale.likert(5), batch_size=4, concurrency=2).run(
        [1, 7, 8, 2, 99, 3]
    )
    assert [len(c) for c in calls] == [4, 2]
    assert [r.status for r in rep.results] == ["ok", "error", "unparseable", "ok", "error", "error"]
    assert (
        "ValueError: one bad" in rep.results[1].error and "ConnectionError" in rep.results[4].error
    )
    short = JudgeRunner(lambda xs: ["1"], scale=Scale.likert(5), batch_size=3).run([1, 2, 3])
    assert (
        short.status_counts() == {"error": 3}
        and "returned 1 outputs for 3 items" in short.results[0].error
    )


def test_hook_records_usage_and_output_extraction(tmp_path):
    events: list[CallEvent] = []

    class Response:
        def __init__(self, text):
            self.text, self.tokens = text, len(text)

    def hook(ev: CallEvent):
        events.append(ev)
        return {"tokens": ev.response.tokens, "cost": ev.response.tokens * 1e-3}

    cache = JudgeCache(tmp_path / "c.sqlite")
    opts = dict(
        scale=Scale.likert(5),
        output=lambda r: r.text,
        on_call=hook,
        cache=cache,
        name="resp",
        concurrency=2,
    )
    rep = JudgeRunner(lambda x: Response(f"Score: {x}"), **opts).run([1, 2, 3])
    assert rep.usage == pytest.approx({"tokens": 24.0, "cost": 0.024})
    assert sorted(e.item_id for e in events) == ["0", "1", "2"] and all(
        e.status == "ok" for e in events
    )
    assert [r.raw for r in rep.results] == ["Score: 1", "Score: 2", "Score: 3"]
    assert cache.stats()["usage"] == pytest.approx({"tokens": 24.0, "cost": 0.024})
    again = JudgeRunner(lambda x: Response(f"Score: {x}"), **opts).run([1, 2, 3])
    assert again.calls == 0 and again.cached == 3 and again.usage == {}


def test_repeats_aggregates():
    seq = {"a": iter(["1", "2", "2", "5"]), "b": iter(["x", "y", "4", "x"])}
    rep = JudgeRunner(lambda k: next(seq[k]), scale=Scale.likert(5)).run(["a", "b"], repeats=4)
    assert rep.results[0].score == pytest.approx(2.5) and rep.results[0].raw == ["1", "2", "2", "5"]
    assert rep.results[1].score == 4.0 and rep.results[1].status == "ok"
    assert [s.status for s in rep.samples[1]] == ["unparseable", "unparseable", "ok", "unparseable"]
    assert rep.distributions()[0] == {1.0: 0.25, 2.0: 0.5, 5.0: 0.25}
    seq2 = {"a": iter(["1", "2", "2", "5"])}
    maj = JudgeRunner(lambda k: next(seq2[k]), scale=Scale.likert(5)).run(
        ["a"], repeats=4, aggregate="majority"
    )
    assert maj.results[0].score == 2.0
    assert _majority([1.0, 1.0, 5.0, 5.0, 4.0]) == 5.0  # tie broken towards the mean (3.2)
    assert _majority([1.0, 3.0]) == 1.0  # exact tie around the mean: the lower
    with pytest.raises(InputError, match="aggregate"):
        JudgeRunner(lambda k: "yes", scale=jp.YES_NO_SCALE).run(["a"], repeats=2, aggregate="mean")
    none_ok = JudgeRunner(lambda k: "???", scale=Scale.likert(5)).run(["a"], repeats=3)
    assert none_ok.results[0].status == "unparseable" and none_ok.results[0].score is None


def test_distribution_aggregate_averages_calibrated_probabilities():
    cal = IsotonicCalibrator().fit([1, 1, 5, 5], [0, 0, 1, 1])
    seq = iter(["1", "5"])
    rep = JudgeRunner(lambda k: next(seq), scale=Scale.likert(5), calibrator=cal).run(
        ["a"], repeats=2, aggregate="distribution"
    )
    p1, p5 = cal.predict_proba([1.0, 5.0])[:, 1]
    assert rep.results[0].score == 3.0
    assert rep.results[0].probability == pytest.approx((p1 + p5) / 2)


def test_flip_rate_matches_known_truth():
    # a binary judge that reports the truth but flips each sample with prob p: for 2 samples,
    # P(the two disagree) = 2 p (1 - p)
    p, n = 0.2, 3000
    rng = random.Random(11)
    truth = [rng.random() < 0.5 for _ in range(n)]

    def judge(i):
        return "yes" if truth[i] != (rng.random() < p) else "no"

    rep = JudgeRunner(judge, parser=jp.yes_no()).run(range(n), repeats=2)
    tr = rep.test_retest()
    assert tr["items"] == n
    assert abs(tr["flip_rate"] - 2 * p * (1 - p)) < 0.03
    assert tr["flip_rate"] == tr["disagreement"]


def test_icc_matches_known_truth():
    # score = true quality + noise;
    # ICC(1) = var(quality) / (var(quality) + var(noise)) = 1 / (1 + 0.5**2) = 0.8
    rng = np.random.default_rng(5)
    n, sd = 1500, 0.5
    quality = rng.normal(50, 1.0, n)

    def judge(i):
        return float(quality[i] + rng.normal(0, sd))

    rep = JudgeRunner(judge, scale=Scale.numeric(0, 100)).run(range(n), repeats=3)
    tr = rep.test_retest()
    assert abs(tr["icc"] - 0.8) < 0.03
    assert abs(tr["within_sd"] - sd * 0.94) < 0.05  # E[sample sd] with 3 draws ~ 0.886..0.94 sd
    assert 0.7 < tr["spearman"] < 0.9
    single = JudgeRunner(judge, scale=Scale.numeric(0, 100)).run(range(5)).test_retest()
    assert single["flip_rate"] is None and single["icc"] is None


def test_pairwise_orders_consistency_and_policies():
    rng = random.Random(2)
    quality = {f"r{i}": rng.random() for i in range(800)}
    pairs = [(f"r{2 * i}", f"r{2 * i + 1}") for i in range(400)]
    seen = []

    def position_biased(pair):
        # prefers the better response, but says "first" 30% of the time whatever it sees
        seen.append(pair)
        a, b = pair
        if rng.random() < 0.3:
            return "[[A]]"
        return "[[A]]" if quality[a] > quality[b] else "[[B]]"

    runner = JudgeRunner(position_biased, parser=jp.pairwise())
    rep = runner.run_pairwise(pairs, policy="tie")
    assert len(seen) == 800 and set(seen) == set(pairs) | {(b, a) for a, b in pairs}
    pw = rep.pairwise
    assert pw["consistent"] + pw["inconsistent"] == 400
    # the order that shows the better response first is always right; the other order falls
    # into the "first" habit with prob 0.3, and then disagrees: P(inconsistent) = 0.3 (sd 0.023)
    assert abs(1 - pw["consistency"] - 0.3) < 0.07
    # and whenever both orders agree, they agree on the truth (checked below)
    bad = [i for i, r in enumerate(rep.results) if r.score == 1.0]
    assert len(bad) == pw["inconsistent"]
    for i, r in enumerate(rep.results):
        if i not in bad:
            a, b = pairs[i]
            assert r.score == (2.0 if quality[a] > quality[b] else 0.0)
    excl = JudgeRunner(lambda p: "first", parser=jp.pairwise()).run_pairwise(
        pairs[:10], policy="exclude"
    )
    assert excl.status_counts() == {"unparseable": 10} and "inconsistent" in excl.results[0].error
    assert excl.pairwise["consistency"] == 0.0
    keep = JudgeRunner(lambda p: "first", parser=jp.pairwise()).run_pairwise(
        pairs[:10], policy="first"
    )
    assert all(r.score == 2.0 for r in keep.results)
    with pytest.raises(InputError, match="pairs"):
        runner.run_pairwise(["not a pair"])
    with pytest.raises(InputError, match="scale"):
        JudgeRunner(lambda p: "1", scale=Scale.likert(5)).run_pairwise(pairs[:1])
    custom = JudgeRunner(
        lambda d: "first" if len(d["x"]) > len(d["y"]) else "second", parser=jp.pairwise()
    )
    crep = custom.run_pairwise([{"x": "long", "y": "s"}], swap=lambda d: {"x": d["y"], "y": d["x"]})
    assert crep.results[0].score == 2.0 and crep.pairwise["consistency"] == 1.0


def test_pairwise_one_order_failing_is_not_scored():
    def judge(pair):
        if pair[0] == "boom":
            raise RuntimeError("down")
        return "first"

    rep = JudgeRunner(judge, parser=jp.pairwise()).run_pairwise([("x", "boom")])
    assert rep.results[0].status == "error" and rep.pairwise["incomplete"] == 1


def test_progress_bar_only_when_asked_or_tty(capsys):
    JudgeRunner(lambda x: "1", scale=Scale.likert(5)).run(range(5))
    assert capsys.readouterr().err == ""  # stderr is not a terminal under pytest
    JudgeRunner(lambda x: "1", scale=Scale.likert(5), progress=True).run(range(5))
    err = capsys.readouterr()
    assert "5/5" in err.err and err.out == ""


def test_sync_runner_inside_running_loop():
    async def main():
        return JudgeRunner(lambda x: "2", scale=Scale.likert(5)).run([1, 2])

    assert asyncio.run(main()).status_counts() == {"ok": 2}


def test_calibrated_judge_run_and_arun():
    cal = IsotonicCalibrator().fit([1, 2, 3, 4, 5], [0, 0, 1, 1, 1])
    cj = CalibratedJudge(lambda t: f"Score: {t}", cal, scale=Scale.likert(5), stage="selection")
    rep = cj.run([1, 5, 9], concurrency=2)
    assert [r.status for r in rep.results] == ["ok", "ok", "unparseable"]
    assert (
        rep.results[0].stage == "selection"
        and rep.results[1].probability > rep.results[0].probability
    )
    rep2 = asyncio.run(cj.arun([1, 5, 9]))
    assert [r.probability for r in rep2.results] == [r.probability for r in rep.results]
    js = rep.to_judgments(Scale.likert(5))
    assert js.status_counts() == {"ok": 2, "unparseable": 1}


def test_bad_arguments():
    sc = Scale.likert(5)
    with pytest.raises(JudgeError):
        JudgeRunner(object(), scale=sc)
    with pytest.raises(JudgeError, match="nope"):
        JudgeRunner(object(), method="nope", scale=sc)
    for kw, name in [
        ({"concurrency": 0}, "concurrency"),
        ({"rate_limit": -1}, "rate_limit"),
        ({"timeout": 0}, "timeout"),
        ({"retries": -1}, "retries"),
        ({"retry_on": "x"}, "retry_on"),
        ({"cache": 3}, "cache"),
        ({"calibrator": 3}, "calibrator"),
        ({"on_call": 3}, "on_call"),
        ({"batch_size": 0}, "batch_size"),
    ]:
        with pytest.raises(InputError, match=name):
            JudgeRunner(lambda x: x, scale=sc, **kw)
    r = JudgeRunner(lambda x: x, scale=sc)
    with pytest.raises(InputError, match="ids"):
        r.run([1, 2], ids=["a"])
    with pytest.raises(InputError, match="repeats"):
        r.run([1], repeats=0)
    with pytest.raises(InputError, match="calls"):
        RateLimit(0)
    assert "JudgeRunner" in repr(r) and "RunReport" in repr(r.run([1]))


@pytest.mark.slow
def test_inspect_scorer_example():
    """The Inspect AI integration (optional extra): unscored judge failures stay out of the mean."""
    pytest.importorskip("inspect_ai")
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "examples" / "inspect_scorer.py"
    spec = importlib.util.spec_from_file_location("inspect_scorer_example", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.main()
    assert out["samples"] == 30 and out["unscored"] >= 1
    assert 0.0 < out["mean_p_human_agrees"] < 1.0
    # the calibrated judge is much closer to the human share than the raw judge
    assert abs(out["mean_p_human_agrees"] - out["human_share_ge4"]) < abs(
        out["raw_judge_share_ge4"] - out["human_share_ge4"]
    )


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.sampled_from(["ok", "garbage", "raise", "refuse", "slow"]), max_size=20),
    st.integers(1, 6),
)
def test_statuses_add_up_property(kinds, conc):
    """Whatever the judge does, each item gets exactly the status its answer deserves, once."""

    def judge(i):
        k = kinds[i]
        if k == "raise":
            raise RuntimeError("x")
        if k == "slow":
            time.sleep(
                1.0
            )  # 4x the timeout, and the timeout is 0.25 s: margins that hold on a loaded CI machine
        return {
            "ok": f"Score: {i % 5 + 1}",
            "garbage": "hmm",
            "refuse": "I cannot rate this.",
            "slow": "2",
        }[k]

    rep = JudgeRunner(judge, parser=jp.likert(5), concurrency=conc, timeout=0.25).run(
        range(len(kinds))
    )
    expect = {
        "ok": "ok",
        "garbage": "unparseable",
        "raise": "error",
        "refuse": "refused",
        "slow": "timeout",
    }
    assert [r.status for r in rep.results] == [expect[k] for k in kinds]
    assert sum(rep.status_counts().values()) == len(kinds) == rep.calls
    assert all((r.score is not None) == r.ok for r in rep.results)


def test_pairwise_retry_keeps_custom_swap_and_runner_closes_its_cache(tmp_path):
    down = {"on": True}

    def judge(d):
        if down["on"] and d["x"] == "b":
            raise ConnectionError("down")
        return "first" if len(d["x"]) > len(d["y"]) else "second"

    swap = lambda d: {"x": d["y"], "y": d["x"]}  # noqa: E731
    with JudgeRunner(judge, parser=jp.pairwise(), cache=tmp_path / "c.sqlite", name="p") as runner:
        rep = runner.run_pairwise([{"x": "long", "y": "s"}, {"x": "b", "y": "bbbb"}], swap=swap)
        assert [r.status for r in rep.results] == ["ok", "error"] and rep.pairwise[
            "incomplete"
        ] == 1
        down["on"] = False
        fixed = runner.retry(rep)
    assert [r.score for r in fixed.results] == [2.0, 0.0]
    assert fixed.pairwise["consistent"] == 2 and fixed.pairwise["consistency"] == 1.0

    async def main():
        async with AsyncJudgeRunner(
            lambda x: "1", scale=Scale.likert(5), cache=tmp_path / "d.sqlite"
        ) as r:
            return await r.run([1, 2])

    assert asyncio.run(main()).status_counts() == {"ok": 2}


def test_fractional_rate_limit_per_minute():
    assert JudgeRunner(
        lambda x: "1", scale=Scale.likert(5), rate_limit=0.5
    ).rate_limit == RateLimit(1, 120.0)
    assert JudgeRunner(
        lambda x: "1", scale=Scale.likert(5), rate_limit=90.0
    ).rate_limit == RateLimit(90, 60.0)
