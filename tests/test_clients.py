"""The OpenAI-compatible judge clients against a real HTTP server on 127.0.0.1.

The server (tests/chat_server.py) speaks chat completions over HTTP in a
thread; the clients go through the official ``openai`` package and the real
runners. Nothing of the client is mocked.
"""

from __future__ import annotations

import asyncio
import math
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("openai")

from chat_server import ChatServer

from judgecal import (
    CalibratedJudge,
    InputError,
    IsotonicCalibrator,
    MissingDependencyError,
    Scale,
    parsers,
)
from judgecal.clients import (
    RETRYABLE,
    AsyncOpenAIJudge,
    OpenAIJudge,
    distribution_features,
)

TIMEOUT = 1.0  # generous: a loaded CI machine must not turn a quick answer into a timeout


@pytest.fixture(scope="module")
def server() -> Iterator[ChatServer]:
    with ChatServer(max_requests=400) as srv:
        yield srv


def make_judge(
    server: ChatServer, kind: str = "sync", prompt: str = "{item}", **options: Any
) -> Any:
    cls = OpenAIJudge if kind == "sync" else AsyncOpenAIJudge
    settings: dict[str, Any] = {
        "parser": parsers.likert(5),
        "base_url": server.base_url,
        "timeout": TIMEOUT,
        "retries": 1,
        **options,
    }
    return cls("local-judge", prompt, **settings)


def run(judge: Any, items: list[Any], **overrides: Any) -> Any:
    options = {"backoff": 0.0, "concurrency": 4, "progress": False, **overrides}
    runner = judge.runner(**options)
    if isinstance(judge, AsyncOpenAIJudge):

        async def go() -> Any:
            try:
                return await runner.run(items)
            finally:
                await judge.aclose()

        return asyncio.run(go())
    with judge:
        return runner.run(items)


# The matrix: what the server does -> the item's status, score, error class, requests made
# (the judge retries RETRYABLE failures once).
MATRIX = [
    ("score|4", "ok", 4.0, None, 1),
    ("garbage", "unparseable", None, None, 1),
    ("refuse", "refused", None, None, 1),
    ("refusal_field", "refused", None, None, 1),
    ("filtered", "refused", None, None, 1),
    ("length", "unparseable", None, None, 1),
    ("empty", "error", None, "MalformedResponseError", 2),
    ("truncated", "error", None, "MalformedResponseError", 2),
    ("429", "error", None, "RateLimitedError", 2),
    ("429once|1", "ok", 4.0, None, 2),
    ("500", "error", None, "ServerError", 2),
    ("500once|1", "ok", 4.0, None, 2),
    ("slow|5", "timeout", None, None, 2),
    ("auth", "error", None, "RequestRejectedError", 1),
    ("dist|.05,.1,.2,.5,.15", "ok", 4.0, None, 1),
    ("nolp|2", "ok", 2.0, None, 1),
]


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize(("behaviour", "status", "score", "error", "requests"), MATRIX)
def test_server_behaviour_matrix(
    server: ChatServer,
    kind: str,
    behaviour: str,
    status: str,
    score: float | None,
    error: str | None,
    requests: int,
) -> None:
    text = f"{behaviour}#{kind}-matrix"
    timeout = 0.3 if behaviour.startswith("slow") else TIMEOUT  # the slow row alone: short
    report = run(make_judge(server, kind, timeout=timeout), [text])
    result = report.results[0]
    assert (result.status, result.score) == (status, score)
    if error is not None:
        assert result.error is not None and result.error.startswith(error)
    assert server.count(text) == requests
    assert report.calls == requests and report.retries == requests - 1
    if status != "ok":
        assert result.score is None and result.probability is None


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_every_item_is_accounted_for(server: ChatServer, kind: str) -> None:
    items: list[Any] = [
        {"text": f"{row[0]}#{kind}-all-{copy}"} for copy in range(2) for row in MATRIX
    ]
    items.append({"txt": "score|4"})  # the template's field is missing: error, no request
    before = len(server.requests)
    report = run(make_judge(server, kind, prompt="{text}"), items)
    summary = report.summary()
    assert sum(summary[s] for s in ("ok", "unparseable", "refused", "error", "timeout")) == len(
        items
    )
    expected = {}
    for row in MATRIX:
        expected[row[1]] = expected.get(row[1], 0) + 2
    expected["error"] += 1
    assert report.status_counts() == expected
    for result in report.results:
        if result.ok:
            assert result.score is not None and result.score >= 1.0
        else:
            assert result.score is None  # never scored, in particular never 0
    assert report.results[-1].error.startswith("InputError")
    assert "'text'" in report.results[-1].error and "['txt']" in report.results[-1].error
    assert len(server.requests) - before == 2 * sum(row[4] for row in MATRIX)
    answered = sum(r.status in ("ok", "unparseable", "refused") for r in report.results)
    # every answer reported 11 prompt and 3 completion tokens; failed calls report none
    assert report.usage == {
        "prompt_tokens": 11.0 * answered,
        "completion_tokens": 3.0 * answered,
        "total_tokens": 14.0 * answered,
    }


def test_retry_after_is_honoured(server: ChatServer) -> None:
    server.retry_after = "0.3"
    try:
        judge = make_judge(server, timeout=2.0)
        started = time.perf_counter()
        report = run(judge, ["429once|1#retry-after"])
        waited = time.perf_counter() - started
    finally:
        server.retry_after = "0"
    assert report.results[0].status == "ok" and report.retries == 1
    assert waited >= 0.3  # backoff=0: only the server's Retry-After makes the runner wait


def test_retry_after_is_capped_by_max_backoff(server: ChatServer) -> None:
    judge = make_judge(server, timeout=2.0)
    started = time.perf_counter()
    report = run(judge, ["429|60#capped"], max_backoff=0.05)
    assert report.results[0].status == "error" and report.retries == 1
    assert time.perf_counter() - started < 5.0


def test_request_carries_the_settings(server: ChatServer) -> None:
    judge = OpenAIJudge(
        "judge-model",
        "{answer}",
        system="You are strict about {topic}.",
        parser=parsers.likert(5),
        base_url=server.base_url,
        temperature=0.0,
        max_tokens=8,
        seed=11,
        top_logprobs=5,
        extra_body={"repetition_penalty": 1.0},
    )
    with judge:
        answer = judge({"answer": "score|3", "topic": "facts"})
    body = server.requests[-1]
    assert body["messages"] == [
        {"role": "system", "content": "You are strict about facts."},
        {"role": "user", "content": "score|3"},
    ]
    sent = {k: body[k] for k in ("model", "temperature", "max_tokens", "seed", "top_logprobs")}
    assert sent == {
        "model": "judge-model",
        "temperature": 0.0,
        "max_tokens": 8,
        "seed": 11,
        "top_logprobs": 5,
    }
    assert body["logprobs"] is True and body["repetition_penalty"] == 1.0
    assert answer["text"] == "Score: 3" and answer["usage"]["total_tokens"] == 14


DIST = [0.05, 0.1, 0.2, 0.5, 0.15]


def test_logprobs_give_the_distribution_and_the_expected_score(server: ChatServer) -> None:
    text = "dist|" + ",".join(map(str, DIST)) + "#lp"
    judge = make_judge(server, signal="expected", top_logprobs=5)
    report = run(judge, [text])
    result = report.results[0]
    assert np.allclose(result.raw["probs"], DIST)
    assert math.isclose(result.score, float(np.dot(DIST, [1, 2, 3, 4, 5])))
    assert judge.scale == Scale.numeric(1, 5)
    features = distribution_features([r.raw["probs"] for r in report.results], Scale.likert(5))
    assert np.allclose(features[0], [3.6, 0.95, 0.85, 0.65, 0.15])


def test_top_logprobs_below_the_levels_renormalize(server: ChatServer) -> None:
    judge = make_judge(server, signal="expected", top_logprobs=2)
    report = run(judge, ["dist|" + ",".join(map(str, DIST)) + "#lp2"])
    raw = report.results[0].raw
    assert np.allclose(raw["probs"], [0, 0, 0.2 / 0.7, 0.5 / 0.7, 0])
    assert math.isclose(raw["mass"], 0.7)


def test_expected_signal_without_logprobs_is_unparseable(server: ChatServer) -> None:
    report = run(make_judge(server, signal="expected"), ["nolp|4#expected"])
    result = report.results[0]
    assert result.status == "unparseable" and "logprobs" in result.error


def test_parsed_signal_keeps_the_distribution(server: ChatServer) -> None:
    judge = make_judge(server, top_logprobs=5)
    report = run(judge, ["dist|.1,.6,.1,.1,.1#parsed"])
    assert report.results[0].score == 2.0 and np.isclose(report.results[0].raw["probs"][1], 0.6)


def test_verdict_scale_expected_is_p_yes(server: ChatServer) -> None:
    judge = make_judge(server, parser=None, scale=Scale.verdict("no", "yes"), signal="expected")
    answer = judge.parser.parse({"text": "yes", "probs": [0.25, 0.75]})
    assert answer.score == 0.75 and judge.scale == Scale.numeric(0, 1)


def test_cache_replays_without_requests(server: ChatServer, tmp_path: Path) -> None:
    items = ["dist|.1,.2,.3,.3,.1#cache", "garbage#cache", "500#cache"]
    judge = make_judge(server, signal="expected", top_logprobs=5)
    first = run(judge, items, cache=tmp_path / "calls.sqlite")
    before = len(server.requests)
    again = run(
        make_judge(server, signal="expected", top_logprobs=5),
        items,
        cache=tmp_path / "calls.sqlite",
    )
    assert len(server.requests) - before == 2  # only the failed call is asked again (with a retry)
    assert [r.status for r in again.results] == [r.status for r in first.results]
    assert again.results[0].score == first.results[0].score
    assert again.cached == 2


def test_calibrated_judge_wraps_a_client(server: ChatServer) -> None:
    judge = make_judge(server)
    calibrator = IsotonicCalibrator().fit([1, 2, 3, 4, 5], [0, 0, 1, 1, 1])
    wrapped = CalibratedJudge(judge, calibrator, scale=judge.scale, parser=judge.parser)
    with judge:
        result = wrapped("score|5#wrapped")
        many = wrapped.judge_many(["score|1#w", "refuse#w"], **judge.runner_options())
    assert result.status == "ok" and result.probability is not None and result.probability > 0.5
    assert [r.status for r in many.results] == ["ok", "refused"]
    assert many.usage["total_tokens"] == 28.0


def test_async_judge_survives_new_event_loops(server: ChatServer) -> None:
    judge = make_judge(server, "async")
    runner = judge.runner(progress=False)
    for loop_number in range(2):
        report = runner.run  # AsyncJudgeRunner.run is a coroutine function
        out = asyncio.run(report([f"score|3#loop{loop_number}"]))
        assert out.results[0].score == 3.0


def test_unreachable_server_is_a_connection_error() -> None:
    with socket.socket() as sock:  # a free loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    judge = OpenAIJudge(
        "m", "{item}", scale=Scale.likert(5), base_url=f"http://127.0.0.1:{port}/v1", retries=0
    )
    report = run(judge, ["score|4"])
    assert report.results[0].status == "error"
    assert report.results[0].error.startswith("ConnectionFailedError")


def test_retryable_covers_the_transient_failures() -> None:
    names = {cls.__name__ for cls in RETRYABLE}
    assert names == {
        "RateLimitedError",
        "ServerError",
        "ConnectionFailedError",
        "RequestTimeoutError",
        "MalformedResponseError",
        "TimeoutError",
    }


def test_bad_settings_are_input_errors(server: ChatServer) -> None:
    with pytest.raises(InputError, match="'signal'"):
        make_judge(server, signal="mean")
    with pytest.raises(InputError, match="'scale'"):
        make_judge(server, parser=parsers.number(0, 1.5), top_logprobs=3)
    with pytest.raises(InputError, match="named fields"):
        OpenAIJudge("m", "Rate {}", scale=Scale.likert(5), base_url=server.base_url)
    with pytest.raises(InputError, match="'prices'"):
        make_judge(server, prices={"input": 1.0})


def test_hosted_api_without_a_key_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(InputError, match="'api_key'"):
        OpenAIJudge("gpt-x", "{item}", scale=Scale.likert(5))


def test_prices_turn_usage_into_cost(server: ChatServer) -> None:
    judge = make_judge(server, prices={"prompt": 1.0, "completion": 4.0})
    report = run(judge, ["score|2#cost"])
    assert math.isclose(report.usage["cost"], (11 * 1.0 + 3 * 4.0) / 1e6)


def test_missing_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'openai>=1\.40'"):
        OpenAIJudge("m", "{item}", scale=Scale.likert(5), base_url="http://127.0.0.1:1/v1")


def test_import_stays_light() -> None:
    code = (
        "import sys; sys.modules['openai'] = None\n"
        "import judgecal, judgecal.clients\n"
        "from judgecal import OpenAIJudge\n"
        "assert judgecal.clients.RETRYABLE\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_plain_runner_takes_the_judges_parser(server: ChatServer, kind: str) -> None:
    from judgecal import AsyncJudgeRunner, JudgeRunner

    judge = make_judge(server, kind)
    runner_class = JudgeRunner if kind == "sync" else AsyncJudgeRunner
    runner = runner_class(judge, retry_on=RETRYABLE, retries=1, backoff=0.0, progress=False)
    items = [f"{b}#plain-{kind}" for b in ("score|2", "garbage", "refusal_field", "500once|1")]
    report = runner.run(items) if kind == "sync" else asyncio.run(runner.run(items))
    assert [r.status for r in report.results] == ["ok", "unparseable", "refused", "ok"]
    assert runner.parser is judge.parser
