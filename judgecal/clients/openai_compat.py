"""Judges that call any OpenAI-compatible chat-completions server (sync and async).

:class:`OpenAIJudge` and :class:`AsyncOpenAIJudge` are judges the runners and
:class:`~judgecal.CalibratedJudge` take as they are. Each call renders the
item into chat messages with a :class:`~judgecal.clients.PromptTemplate`,
sends one request to ``POST {base_url}/chat/completions`` through the official
``openai`` package (the ``[openai]`` extra), and returns a
:class:`ChatAnswer`: a JSON-ready dict with the text, the refusal, the finish
reason, the distribution over score tokens (with logprobs) and the token
usage. Only that endpoint is used, so the hosted API, vLLM, llama.cpp's
server, Ollama and any proxy that speaks the protocol all work.

The judge's :attr:`~OpenAIJudge.parser` turns an answer into a status and a
score, strictly, through :mod:`judgecal.judging.parsers`:

=====================================================  ===============
the text parses onto the scale                         ``ok``
a refusal (text, ``message.refusal``, content filter)  ``refused``
anything else (also: cut off by ``max_tokens``)        ``unparseable``
the call failed (HTTP error, cut JSON, no choices)     ``error``
no answer within ``timeout`` (the runner's clock)      ``timeout``
=====================================================  ===============

``signal`` picks the score: ``"parsed"`` (the level written in the text) or
``"expected"`` (the expected score under the model's probabilities over the
score tokens; see :mod:`judgecal.clients.logprobs`). The answers keep the
distribution either way, so :func:`~judgecal.clients.logprobs.distribution_features`
gives the expected score and P(score >= k) as calibration columns.

Failures raise :mod:`judgecal.clients.errors` classes (the ``openai``
exception chained); :data:`~judgecal.clients.errors.RETRYABLE` is the runner's
``retry_on``. The ``openai`` package's own retries are off: the runner retries,
with backoff and the server's Retry-After. :meth:`OpenAIJudge.runner_options`
gives all of it at once (parser, retries, timeout, usage hook, cache
fingerprint), and :meth:`OpenAIJudge.runner` a configured runner.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
import weakref
from collections.abc import AsyncGenerator, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Literal, TypedDict

import numpy as np

from judgecal._exceptions import InputError, MissingDependencyError
from judgecal._validation import check_choice, check_float, check_int
from judgecal.clients.errors import (
    RETRYABLE,
    ConnectionFailedError,
    MalformedResponseError,
    RateLimitedError,
    RequestRejectedError,
    RequestTimeoutError,
    ServerError,
)
from judgecal.clients.logprobs import level_tokens, score_distribution
from judgecal.clients.prompts import PromptTemplate
from judgecal.judging.engine import CallEvent
from judgecal.judging.parsers import Parsed, Parser, as_parser
from judgecal.judging.runner import AsyncJudgeRunner, JudgeRunner
from judgecal.records.core import Scale

__all__ = [
    "OPENAI_REQUIREMENT",
    "AsyncOpenAIJudge",
    "ChatAnswer",
    "OpenAIJudge",
    "answer_parser",
]

OPENAI_REQUIREMENT = "openai>=1.40"
"""The requirement of the ``[openai]`` extra."""

Signal = Literal["parsed", "expected"]
_HTTP_GRACE = 0.5
"""Seconds the HTTP timeout runs past the runner's, so that the runner's clock ends a slow call."""


class ChatAnswer(TypedDict):
    """What a client judge returns for one item (a JSON-ready dict: it is what the cache stores)."""

    text: str
    """The message content (empty when there was none)."""
    refusal: str | None
    """The message's ``refusal`` field, when the server set it."""
    finish_reason: str | None
    """``stop``, ``length``, ``content_filter``, ..."""
    probs: list[float] | None
    """Probability of each level of the scale at the score token (with logprobs), lowest first."""
    mass: float | None
    """Probability the model put on score tokens there, before renormalizing."""
    usage: dict[str, float]
    """Token counts the server reported (``prompt_tokens``, ``completion_tokens``, ...)."""
    model: str | None
    """The model that answered, as the server named it."""


def _require_openai() -> Any:
    try:
        import openai
    except ImportError as exc:
        raise MissingDependencyError(
            "The OpenAI-compatible judge clients need the 'openai' package, which is not "
            f"installed: pip install '{OPENAI_REQUIREMENT}' (the [openai] extra of judgecal)."
        ) from exc
    return openai


# -- errors --------------------------------------------------------------------------------------
def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None) or {}
    millis = headers.get("retry-after-ms")
    try:
        if millis is not None:
            return max(float(millis) / 1000.0, 0.0)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            seconds = float(value)
        except ValueError:
            when = parsedate_to_datetime(value)
            seconds = when.timestamp() - time.time()
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    except (TypeError, ValueError, OverflowError):
        return None


def _translate(exc: Exception, openai: Any) -> Exception | None:
    """The judgecal error for an ``openai`` failure; ``None`` for anything else."""
    if isinstance(exc, openai.APITimeoutError):
        return RequestTimeoutError(f"the request timed out ({exc})")
    if isinstance(exc, openai.APIConnectionError):
        return ConnectionFailedError(f"cannot reach the server: {exc}")
    if isinstance(exc, openai.RateLimitError):
        wait = _retry_after(getattr(exc, "response", None))
        return RateLimitedError(f"rate limited (429, Retry-After {wait}): {exc}", retry_after=wait)
    if isinstance(exc, openai.APIStatusError):
        status = int(exc.status_code)
        kind = ServerError if status >= 500 or status in (408, 409) else RequestRejectedError
        return kind(f"the server answered {status}: {exc}", status=status)
    if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError):
        return MalformedResponseError(f"the response is not a chat completion: {exc}")
    return None


# -- answers -------------------------------------------------------------------------------------
def _usage(usage: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
        value = getattr(usage, name, None)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = float(value)
    return out


def _choice(completion: Any) -> Any:
    choices = getattr(completion, "choices", None)
    if not choices:
        raise MalformedResponseError("the server returned no choices")
    choice = choices[0]
    if getattr(choice, "message", None) is None:
        raise MalformedResponseError("the server returned a choice without a message")
    return choice


def _answer_of(completion: Any, text_parser: Parser, logprob_scale: Scale | None) -> ChatAnswer:
    choice = _choice(completion)
    content = getattr(choice.message, "content", None)
    if content is not None and not isinstance(content, str):
        raise MalformedResponseError(f"the message content is {type(content).__name__}, not text")
    text = content or ""
    refusal = getattr(choice.message, "refusal", None)
    probs = mass = None
    tokens = getattr(getattr(choice, "logprobs", None), "content", None)
    if logprob_scale is not None and tokens:
        parsed = text_parser.parse(text)
        found = score_distribution(tokens, logprob_scale, prefer=parsed.score)
        if found is not None:
            probs, mass = list(found.probs), found.mass
    model = getattr(completion, "model", None)
    return ChatAnswer(
        text=text,
        refusal=refusal if isinstance(refusal, str) and refusal.strip() else None,
        finish_reason=getattr(choice, "finish_reason", None),
        probs=probs,
        mass=mass,
        usage=_usage(getattr(completion, "usage", None)),
        model=model if isinstance(model, str) else None,
    )


def _as_answer(output: Any) -> Mapping[str, Any] | None:
    if isinstance(output, str):  # a bare text (an answer cached as text, a test)
        return {"text": output}
    if isinstance(output, Mapping) and isinstance(output.get("text"), str):
        return output
    return None


def _expected(answer: Mapping[str, Any], values: np.ndarray[Any, Any]) -> Parsed:
    probs = answer.get("probs")
    try:
        array = np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError):
        array = np.empty(0)
    usable = array.shape == values.shape and bool(np.all(np.isfinite(array) & (array >= 0)))
    if probs is None or not usable or float(array.sum()) <= 0.0:
        return Parsed(
            "unparseable",
            None,
            "no logprobs for a score token in the answer (ask for top_logprobs, or use "
            "signal='parsed')",
        )
    return Parsed("ok", float(array @ values / array.sum()))


def answer_parser(text_parser: Parser, signal: Signal = "parsed") -> Parser:
    """The parser of :class:`ChatAnswer` outputs: refusals, then the text or the expected score.

    Examples
    --------
    >>> from judgecal import parsers
    >>> p = answer_parser(parsers.likert(5))
    >>> p.parse({"text": "Score: 4"}).score, p.parse({"text": "", "refusal": "No."}).status
    (4.0, 'refused')
    >>> q = answer_parser(parsers.likert(3), "expected")
    >>> q.parse({"text": "Score: 2", "probs": [0.2, 0.5, 0.3]}).score
    2.1
    >>> q.parse({"text": "Score: 2", "probs": None}).status
    'unparseable'
    """
    check_choice(signal, "signal", ("parsed", "expected"), where="answer_parser")
    scale = text_parser.scale
    if signal == "expected":
        values = np.asarray(sorted(set(level_tokens(scale).values())), dtype=np.float64)
        scale = Scale.numeric(float(values[0]), float(values[-1]))

    def extract(output: Any, _: Scale) -> Parsed:
        answer = _as_answer(output)
        if answer is None:
            return Parsed("unparseable", None, f"not a chat answer: {type(output).__name__}")
        refusal = answer.get("refusal")
        if isinstance(refusal, str) and refusal.strip():
            return Parsed("refused", None, f"the model refused: {refusal.strip()[:100]}")
        if answer.get("finish_reason") == "content_filter":
            return Parsed("refused", None, "the server's content filter stopped the answer")
        parsed = text_parser.parse(answer["text"])
        if signal == "expected" and parsed.status != "refused":
            return _expected(answer, values)
        if parsed.status == "unparseable" and answer.get("finish_reason") == "length":
            return Parsed("unparseable", None, f"{parsed.reason} (cut off at max_tokens)")
        return parsed

    return Parser(scale, extract, name=f"chat-{signal}:{text_parser.name}", detect_refusal=False)


# -- the judges ----------------------------------------------------------------------------------
def _api_key(api_key: str | None, base_url: str | None, where: str) -> str:
    if api_key is not None:
        if not isinstance(api_key, str) or not api_key:
            raise InputError("api_key", "a non-empty string or None", "<hidden>", where=where)
        return api_key
    found = os.environ.get("OPENAI_API_KEY")
    if found:
        return found
    if base_url is None and not os.environ.get("OPENAI_BASE_URL"):
        raise InputError(
            "api_key",
            "an API key (or OPENAI_API_KEY in the environment) for the hosted API; a local "
            "server given by base_url needs none",
            None,
            where=where,
        )
    return "not-needed"  # local servers (vLLM, llama.cpp) accept any key


def _prices(prices: Any, where: str) -> tuple[float, float] | None:
    if prices is None:
        return None
    if not isinstance(prices, Mapping) or set(prices) != {"prompt", "completion"}:
        raise InputError(
            "prices",
            "a mapping {'prompt': ..., 'completion': ...} of prices per million tokens",
            prices,
            where=where,
        )
    return (
        check_float(prices["prompt"], "prices['prompt']", low=0.0, where=where),
        check_float(prices["completion"], "prices['completion']", low=0.0, where=where),
    )


class _ChatJudge:
    """Configuration, requests, answers and runner options shared by the sync and async judges."""

    def __init__(
        self,
        model: str,
        prompt: PromptTemplate | str,
        *,
        scale: Scale | None = None,
        parser: Parser | None = None,
        system: str | None = None,
        signal: Signal = "parsed",
        top_logprobs: int | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        temperature: float | None = 0.0,
        max_tokens: int | None = None,
        seed: int | None = None,
        timeout: float = 60.0,
        retries: int = 3,
        prices: Mapping[str, float] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        client: Any = None,
    ) -> None:
        where = type(self).__name__
        if not isinstance(model, str) or not model.strip():
            raise InputError("model", "a model name", model, where=where)
        self.model = model
        self.prompt = PromptTemplate.of(prompt, system=system)
        self.text_parser = as_parser(parser, scale, where=where)
        self.signal: Signal = check_choice(signal, "signal", ("parsed", "expected"), where=where)
        if signal == "expected" and top_logprobs is None:
            top_logprobs = 20
        self.top_logprobs = (
            None
            if top_logprobs is None
            else check_int(top_logprobs, "top_logprobs", low=1, where=where)
        )
        if self.top_logprobs is not None:
            level_tokens(self.text_parser.scale)  # a scale whose levels are tokens, or an error
        self.parser = answer_parser(self.text_parser, self.signal)
        self.base_url = None if base_url is None else str(base_url)
        self.temperature = (
            None
            if temperature is None
            else check_float(temperature, "temperature", low=0.0, where=where)
        )
        self.max_tokens = (
            None if max_tokens is None else check_int(max_tokens, "max_tokens", low=1, where=where)
        )
        self.seed = None if seed is None else check_int(seed, "seed", where=where)
        self.timeout = check_float(timeout, "timeout", low=0.0, low_open=True, where=where)
        self.retries = check_int(retries, "retries", low=0, where=where)
        self.prices = _prices(prices, where)
        self.extra_body = dict(extra_body or {})
        self._openai = _require_openai()
        self._given_client = client
        self._api_key = "" if client is not None else _api_key(api_key, self.base_url, where)

    def __repr__(self) -> str:
        where = self.base_url or "hosted"
        return f"{type(self).__name__}({self.model!r} at {where}, {self.parser!r})"

    calibrator: Any = None
    """No calibrator of its own: wrap the judge in a :class:`~judgecal.CalibratedJudge` for one."""
    stage: str = "default"
    """The stage the runners give its items unless told otherwise."""

    @property
    def scale(self) -> Scale:
        """The scale of the scores the judge gives (numeric for ``signal="expected"``)."""
        return self.parser.scale

    @property
    def function(self) -> Any:
        """The judge itself: what the runners call (so ``JudgeRunner(judge)`` needs no parser)."""
        return self

    @property
    def outcome_parser(self) -> Parser:
        """:attr:`parser`, the name the runners look for."""
        return self.parser

    @property
    def name(self) -> str:
        """The judge's name in caches and reports."""
        return f"chat:{self.model}"

    @property
    def params(self) -> dict[str, Any]:
        """What defines the answers besides the prompt (hashed into the cache fingerprint)."""
        return {
            "model": self.model,
            "base_url": self.base_url,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "top_logprobs": self.top_logprobs,
            "extra_body": json.dumps(self.extra_body, sort_keys=True, default=str),
        }

    def _client_options(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "api_key": self._api_key,
            "timeout": self.timeout + _HTTP_GRACE,
            "max_retries": 0,  # the runner retries
        }

    def request(self, item: Any) -> dict[str, Any]:
        """The keyword arguments of ``chat.completions.create`` for ``item``.

        Raises
        ------
        InputError
            The item lacks a field the prompt template uses.
        """
        kwargs: dict[str, Any] = {"model": self.model, "messages": self.prompt.messages(item)}
        optional = {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
        }
        kwargs.update({k: v for k, v in optional.items() if v is not None})
        if self.top_logprobs is not None:
            kwargs.update(logprobs=True, top_logprobs=self.top_logprobs)
        if self.extra_body:
            kwargs["extra_body"] = dict(self.extra_body)
        return kwargs

    def _failure(self, exc: Exception) -> Exception:
        return _translate(exc, self._openai) or exc

    def _answer(self, completion: Any) -> ChatAnswer:
        scale = self.text_parser.scale if self.top_logprobs is not None else None
        return _answer_of(completion, self.text_parser, scale)

    def on_call(self, event: CallEvent) -> dict[str, float]:
        """The runner's per-call hook: the tokens of the answer (and ``cost`` with ``prices``)."""
        response = event.response
        usage = response.get("usage") if isinstance(response, Mapping) else None
        if not isinstance(usage, Mapping):
            return {}
        out = {
            str(k): float(v)
            for k, v in usage.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        if self.prices is not None:
            prompt, completion = self.prices
            out["cost"] = (
                out.get("prompt_tokens", 0.0) * prompt
                + out.get("completion_tokens", 0.0) * completion
            ) / 1e6
        return out

    def runner_options(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for a runner (or ``judge_many``) that fit this judge.

        The parser, ``retry_on=RETRYABLE``, ``retries``, ``timeout`` (the
        runner's clock ends slow calls as ``timeout``), ``on_call`` (token
        usage), and the cache fingerprint (``name``, ``prompt_template``,
        ``params``). ``overrides`` replace or add options.
        """
        options: dict[str, Any] = {
            "parser": self.parser,
            "retry_on": RETRYABLE,
            "retries": self.retries,
            "timeout": self.timeout,
            "on_call": self.on_call,
            "name": self.name,
            "prompt_template": self.prompt.key,
            "params": self.params,
        }
        options.update(overrides)
        return options


_PARAMS_DOC = """
    Parameters
    ----------
    model : str
        The model name the server knows.
    prompt : PromptTemplate or str
        The user-message template, filled from each item's fields
        (:class:`~judgecal.clients.PromptTemplate`).
    scale : Scale, optional
        The scale of the answers (not needed with ``parser``).
    parser : Parser, optional
        How the text becomes a score (:mod:`judgecal.judging.parsers`); by
        default the strict parser of ``scale``.
    system : str, optional
        The system-message template (only with a string ``prompt``).
    signal : {"parsed", "expected"}
        The score: the level in the text, or the expected score under the
        model's probabilities over the score tokens (asks for logprobs).
    top_logprobs : int, optional
        Ask for logprobs with this many alternatives per token (20 by default
        with ``signal="expected"``); the answers then carry ``probs``.
    base_url : str, optional
        The server, e.g. ``http://127.0.0.1:8000/v1`` (vLLM, llama.cpp);
        ``None`` is the hosted OpenAI API (or ``OPENAI_BASE_URL``).
    api_key : str, optional
        Default: ``OPENAI_API_KEY``; a local server needs none.
    temperature, max_tokens, seed
        Sampling settings sent with every request (``None`` leaves them out).
    timeout : float
        Seconds per call. The runner's clock ends a slower call as ``timeout``
        (through :meth:`runner_options`); the HTTP request itself gives up
        half a second later.
    retries : int
        Retries for :data:`~judgecal.clients.errors.RETRYABLE` failures, used
        by :meth:`runner_options`.
    prices : mapping, optional
        ``{"prompt": ..., "completion": ...}`` per million tokens: the usage
        hook then also reports ``cost``.
    extra_body : mapping, optional
        More JSON fields for the request (server-specific options).
    client : openai client, optional
        A client to use instead of one built from ``base_url`` and ``api_key``.
"""


class OpenAIJudge(_ChatJudge):
    """A judge that calls an OpenAI-compatible chat-completions server (sync).

    Calling it with an item returns a :class:`ChatAnswer`; its
    :attr:`parser` gives the status and score. It is thread-safe, so runners
    call it from several threads at once.
    """

    __doc__ = (
        (__doc__ or "")
        + _PARAMS_DOC
        + """
    Examples
    --------
    >>> from judgecal import parsers
    >>> judge = OpenAIJudge(
    ...     "qwen2.5-7b-instruct", "Rate this answer from 1 to 5: {answer}",
    ...     parser=parsers.likert(5), base_url="http://127.0.0.1:8000/v1", seed=7)
    >>> judge.request({"answer": "Paris"})["messages"]
    [{'role': 'user', 'content': 'Rate this answer from 1 to 5: Paris'}]
    >>> judge.parser.parse({"text": "Score: 4"}).score
    4.0
    >>> sorted(judge.runner_options())[:4]
    ['name', 'on_call', 'params', 'parser']

    With a server running, ``judge.runner().run(items)`` judges every item
    (see ``docs/clients.md``).
    """
    )

    def __init__(self, model: str, prompt: PromptTemplate | str, **options: Any) -> None:
        super().__init__(model, prompt, **options)
        self._client = self._given_client or self._openai.OpenAI(**self._client_options())

    def __call__(self, item: Any) -> ChatAnswer:
        """Judge one item: one chat-completions request.

        Raises
        ------
        ClientError
            A :mod:`judgecal.clients.errors` class for every failure of the call.
        InputError
            The item lacks a field of the prompt template.
        """
        request = self.request(item)
        try:
            completion = self._client.chat.completions.create(**request)
        except Exception as exc:
            raise self._failure(exc) from exc
        return self._answer(completion)

    def runner(self, **overrides: Any) -> JudgeRunner:
        """A :class:`~judgecal.JudgeRunner` with :meth:`runner_options` and ``overrides``."""
        return JudgeRunner(self, **self.runner_options(**overrides))

    def close(self) -> None:
        """Close the HTTP connections (a client given as ``client`` is left open)."""
        if self._given_client is None:
            self._client.close()

    def __enter__(self) -> OpenAIJudge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _close_at_shutdown(client: Any) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await client.close()


class AsyncOpenAIJudge(_ChatJudge):
    """A judge that calls an OpenAI-compatible chat-completions server (``async``).

    ``await judge(item)`` returns a :class:`ChatAnswer`. The HTTP connections
    belong to one event loop: a judge used from a new loop (each
    :meth:`JudgeRunner.run <judgecal.JudgeRunner.run>` starts one) opens new
    ones there, and they close when that loop shuts down (``asyncio.run``
    does it), or at :meth:`aclose`.
    """

    __doc__ = (
        (__doc__ or "")
        + _PARAMS_DOC
        + """
    Examples
    --------
    >>> from judgecal import Scale
    >>> judge = AsyncOpenAIJudge("llama-3.1-8b", "Is this attribute relevant? {item}",
    ...                          scale=Scale.verdict("no", "yes"), signal="expected",
    ...                          base_url="http://127.0.0.1:8080/v1")
    >>> judge.scale, judge.request("likes tea")["top_logprobs"]
    (Scale(kind='numeric', low=0.0, high=1.0, verdicts=()), 20)
    >>> judge.parser.parse({"text": "yes", "probs": [0.3, 0.7]}).score
    0.7
    """
    )

    def __init__(self, model: str, prompt: PromptTemplate | str, **options: Any) -> None:
        super().__init__(model, prompt, **options)
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self._client: Any = self._given_client
        self._closer: AsyncGenerator[None, None] | None = None

    async def _client_for_loop(self) -> Any:
        if self._given_client is not None:
            return self._given_client
        loop = asyncio.get_running_loop()
        if self._loop is None or self._loop() is not loop:
            self._client = self._openai.AsyncOpenAI(**self._client_options())
            self._loop = weakref.ref(loop)
            # An async generator the loop finalizes when it shuts down (asyncio.run does):
            # the connections close on their own loop, with no call from the user.
            self._closer = _close_at_shutdown(self._client)
            await self._closer.asend(None)
        return self._client

    async def __call__(self, item: Any) -> ChatAnswer:
        """Judge one item: one chat-completions request (see :meth:`OpenAIJudge.__call__`)."""
        request = self.request(item)
        client = await self._client_for_loop()
        try:
            completion = await client.chat.completions.create(**request)
        except Exception as exc:
            raise self._failure(exc) from exc
        return self._answer(completion)

    def runner(self, **overrides: Any) -> AsyncJudgeRunner:
        """An :class:`~judgecal.AsyncJudgeRunner` with :meth:`runner_options` and ``overrides``."""
        return AsyncJudgeRunner(self, **self.runner_options(**overrides))

    async def aclose(self) -> None:
        """Close the current loop's HTTP connections (a given ``client`` stays open)."""
        here = self._loop is not None and self._loop() is asyncio.get_running_loop()
        if self._closer is not None and here:
            await self._closer.aclose()  # closes the client in its finally
        if self._given_client is None:  # another loop's client closes when that loop ends
            self._client, self._loop, self._closer = None, None, None

    async def __aenter__(self) -> AsyncOpenAIJudge:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
