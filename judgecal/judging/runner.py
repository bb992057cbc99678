"""Run a judge over many items: bounded concurrency, rate limits, timeouts, retries, a resumable cache.

:class:`JudgeRunner` (sync) and :class:`AsyncJudgeRunner` (``await``-able)
share one configuration, as httpx's ``Client`` and ``AsyncClient`` do. Both
take a judge of any common shape:

- a plain function ``judge(item) -> output``;
- an ``async def`` function (awaited on the event loop);
- an object with a method (``method="score"``, or a ``judge`` method, or ``__call__``);
- a batch function ``judge(list_of_items) -> list_of_outputs`` (``batch_size=k``);
- a :class:`~judgecal.CalibratedJudge` (its judge, scale, parser and calibrator are used).

Every call ends in exactly one status:

=============  ==========================================================
``ok``         the output parsed to a score on the scale
``unparseable``  the judge answered, but not with a score (never scored)
``refused``    the judge declined to answer (never scored)
``error``      the judge raised (after the retries the user allowed)
``timeout``    no answer within ``timeout`` seconds
=============  ==========================================================

A run returns a :class:`RunReport`: one :class:`~judgecal.judging.judge.JudgeResult`
per item in input order, the status counts (they add up to the number of
items), the failed items (listed, and retryable alone with
:meth:`JudgeRunner.retry`), call and cache counts, and the usage summed from
the per-call hook. Failed items never enter a score or a probability.

Repeated sampling (``repeats=n``) calls the judge ``n`` times per item and
aggregates (``mean``, ``majority`` or ``distribution``), with the flip rate and
a test-retest summary (:meth:`RunReport.test_retest`). :meth:`JudgeRunner.run_pairwise`
judges each pair in both presentation orders and applies an explicit policy to
pairs whose verdict changes with the order.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Literal, TextIO

import numpy as np

from judgecal._exceptions import InputError, InputTypeError, JudgeError
from judgecal._validation import check_choice, check_float, check_int, check_stages
from judgecal.judging.cache import JudgeCache, item_key
from judgecal.judging.judge import CalibratedJudge, JudgeResult, JudgeRun
from judgecal.judging.parsers import Parsed, Parser, as_parser
from judgecal.records.core import Scale

__all__ = ["AsyncJudgeRunner", "CallEvent", "JudgeRunner", "RateLimit", "RunReport"]

Aggregate = Literal["mean", "majority", "distribution"]
PairPolicy = Literal["tie", "first", "exclude"]
STATUSES: tuple[str, ...] = ("ok", "unparseable", "refused", "error", "timeout")


@dataclass(frozen=True)
class RateLimit:
    """At most ``calls`` judge calls in any window of ``period`` seconds (a sliding window).

    A plain number given as ``rate_limit`` means calls per minute:
    ``rate_limit=600`` is ``RateLimit(600, 60.0)``. Every attempt counts,
    retries included; a batch call counts once.

    Examples
    --------
    >>> RateLimit(600)
    RateLimit(calls=600, period=60.0)
    """

    calls: int
    """Calls allowed per window."""
    period: float = 60.0
    """Window length in seconds."""

    def __post_init__(self) -> None:
        check_int(self.calls, "calls", low=1, where="RateLimit")
        check_float(self.period, "period", low=0.0, low_open=True, where="RateLimit")


class _Window:
    """Sliding-window limiter; used from one event loop, so no lock is needed."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.clock = clock
        self.stamps: deque[float] = deque()

    async def acquire(self) -> None:
        while True:
            now = self.clock()
            horizon = now - self.limit.period
            while self.stamps and self.stamps[0] <= horizon:
                self.stamps.popleft()
            if len(self.stamps) < self.limit.calls:
                self.stamps.append(now)
                return
            await asyncio.sleep(max(self.stamps[0] - horizon, 1e-4))


@dataclass(frozen=True)
class CallEvent:
    """What the per-call hook (``on_call``) sees after every real judge attempt."""

    index: int
    """Position of the item in the run's input (the first item of a batch call)."""
    item_id: str
    """The item's id."""
    sample: int
    """Sample number (``0..repeats-1``)."""
    attempt: int
    """Attempt number, ``0`` for the first try."""
    status: str
    """Status of this attempt (``ok``, ``unparseable``, ``refused``, ``error``, ``timeout``)."""
    response: Any
    """What the judge returned, before ``output=`` extracted the answer (``None`` when it raised)."""
    error: str | None
    """Exception type and message when it raised or timed out."""
    elapsed: float
    """Seconds the call took."""
    batch_size: int = 1
    """Items in this call (batch judges)."""


@dataclass(frozen=True)
class _Unit:
    status: str
    output: Any
    score: float | None
    error: str | None
    cached: bool


_PENDING = _Unit("error", None, None, "not run", False)


@dataclass
class RunReport(JudgeRun):
    """The outcome of a run: one result per item, in input order, plus what it took.

    ``results`` (inherited from :class:`~judgecal.judging.judge.JudgeRun`) has one
    :class:`~judgecal.judging.judge.JudgeResult` per item; with ``repeats > 1`` its
    ``raw`` is the list of sample outputs and ``samples`` keeps each sample.
    """

    samples: list[list[JudgeResult]] = field(default_factory=list)
    """Per item, one result per sample (``repeats`` of them)."""
    calls: int = 0
    """Real judge invocations, retries included (batch calls count once)."""
    cached: int = 0
    """Samples answered from the cache."""
    retries: int = 0
    """Attempts beyond the first."""
    elapsed: float = 0.0
    """Wall-clock seconds."""
    usage: dict[str, float] = field(default_factory=dict)
    """Sums of what the per-call hook returned (tokens, cost, ...) over real calls."""
    repeats: int = 1
    """Samples per item."""
    aggregate: str = "mean"
    """How samples were aggregated."""
    pairwise: dict[str, Any] | None = None
    """For pairwise runs: presentation-order consistency counts, rate and policy."""
    items: list[Any] = field(default_factory=list, repr=False)
    """The judged items (kept so failed ones can be retried)."""
    swap: Callable[[Any], Any] | None = field(default=None, repr=False)
    """For pairwise runs: the function that swapped the presentation order."""
    stages: list[str] = field(default_factory=list, repr=False)
    """Stage of each item."""

    def __repr__(self) -> str:
        return f"RunReport(n={len(self.results)}, {self.status_counts()}, calls={self.calls}, cached={self.cached})"

    def failed_indices(self) -> list[int]:
        """Positions of the items without a score."""
        return [i for i, r in enumerate(self.results) if not r.ok]

    def failed_items(self) -> list[Any]:
        """The items without a score (to inspect, or to pass to :meth:`JudgeRunner.retry`)."""
        return [self.items[i] for i in self.failed_indices()]

    def summary(self) -> dict[str, Any]:
        """Counts by status (every status, zeros included), call counts, time, usage, failed ids.

        The status counts always add up to ``n``.
        """
        counts = Counter(r.status for r in self.results)
        out: dict[str, Any] = {"n": len(self.results), **{s: counts.get(s, 0) for s in STATUSES}}
        out.update(
            calls=self.calls,
            cached=self.cached,
            retries=self.retries,
            elapsed=round(self.elapsed, 4),
        )
        out["usage"] = dict(self.usage)
        out["failed_ids"] = [r.item_id for r in self.results if not r.ok]
        if self.pairwise is not None:
            out["order_consistency"] = self.pairwise["consistency"]
        return out

    def distributions(self) -> list[dict[float, float]]:
        """Per item, the share of ``ok`` samples at each score (empty for items with none)."""
        out = []
        for samples in self.samples:
            ok = [s.score for s in samples if s.ok]
            c = Counter(ok)
            out.append({float(k): v / len(ok) for k, v in sorted(c.items())} if ok else {})  # type: ignore[arg-type]
        return out

    def test_retest(self) -> dict[str, Any]:
        """How stable the judge is across repeated samples of the same item.

        Returns
        -------
        dict
            ``items``: items with at least two ``ok`` samples;
            ``flip_rate``: share of them whose samples are not all the same score;
            ``disagreement``: mean share of sample pairs that differ;
            ``within_sd``: mean within-item standard deviation of the scores;
            ``icc``: one-way intraclass correlation ICC(1) over items with every
            sample ``ok`` (Shrout & Fleiss 1979), ``None`` when undefined;
            ``spearman``: rank correlation of sample 0 against sample 1, ``None``
            when undefined.
        """
        multi = [[s.score for s in ss if s.ok] for ss in self.samples]
        multi = [m for m in multi if len(m) >= 2]
        res: dict[str, Any] = {"items": len(multi), "repeats": self.repeats}
        if not multi:
            return {
                **res,
                "flip_rate": None,
                "disagreement": None,
                "within_sd": None,
                "icc": None,
                "spearman": None,
            }
        res["flip_rate"] = float(np.mean([len(set(m)) > 1 for m in multi]))
        res["disagreement"] = float(
            np.mean([np.mean([a != b for a, b in combinations(m, 2)]) for m in multi])
        )
        res["within_sd"] = float(
            np.mean([np.std(np.asarray(m, dtype=float), ddof=1) for m in multi])
        )
        full = np.asarray(
            [[s.score for s in ss] for ss in self.samples if all(s.ok for s in ss)], dtype=float
        )
        res["icc"] = (
            _icc1(full) if full.ndim == 2 and full.shape[0] >= 2 and full.shape[1] >= 2 else None
        )
        pairs = [
            (ss[0].score, ss[1].score)
            for ss in self.samples
            if len(ss) >= 2 and ss[0].ok and ss[1].ok
        ]
        res["spearman"] = None
        if len(pairs) >= 3:
            a, b = np.asarray(pairs, dtype=float).T
            if a.std() > 0 and b.std() > 0:
                from judgecal.metrics import spearman_rho

                res["spearman"] = float(spearman_rho(a, b))
        return res


def _icc1(x: np.ndarray[Any, Any]) -> float | None:
    n, k = x.shape
    grand = x.mean()
    msb = k * ((x.mean(axis=1) - grand) ** 2).sum() / (n - 1)
    msw = ((x - x.mean(axis=1, keepdims=True)) ** 2).sum() / (n * (k - 1))
    den = msb + (k - 1) * msw
    if den <= 0:
        return None
    return float((msb - msw) / den)


class _Progress:
    def __init__(self, total: int, stream: TextIO, label: str) -> None:
        self.total, self.stream, self.label = total, stream, label
        self.done = 0
        self.counts: Counter[str] = Counter()
        self.last = 0.0
        self.start = time.monotonic()

    def update(self, status: str) -> None:
        self.done += 1
        self.counts[status] += 1
        now = time.monotonic()
        if now - self.last >= 0.1 or self.done == self.total:
            self.last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        frac = self.done / self.total if self.total else 1.0
        bar = "#" * int(28 * frac)
        rate = self.done / max(now - self.start, 1e-9)
        fails = self.done - self.counts["ok"]
        self.stream.write(
            f"\r{self.label} [{bar:<28}] {self.done}/{self.total} {rate:6.1f}/s failed={fails}"
        )
        self.stream.flush()

    def close(self) -> None:
        self._draw(time.monotonic())
        self.stream.write("\n")
        self.stream.flush()


def _resolve_judge(judge: Any, method: str | None) -> tuple[Callable[..., Any], str]:
    if method is not None:
        fn = getattr(judge, method, None)
        if not callable(fn):
            raise JudgeError(f"The judge {type(judge).__name__} has no callable method {method!r}.")
        return fn, f"{type(judge).__name__}.{method}"
    if callable(judge):
        return judge, getattr(judge, "__qualname__", type(judge).__name__)
    for name in ("judge", "ajudge"):
        fn = getattr(judge, name, None)
        if callable(fn):
            return fn, f"{type(judge).__name__}.{name}"
    raise JudgeError(
        f"The 'judge' parameter must be a callable, an object with a judge() method, or an object and "
        f"method='name'. Got {type(judge).__name__} instead."
    )


def _is_async(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or (
        callable(fn) and inspect.iscoroutinefunction(fn.__call__)
    )


class _RunnerBase:
    """Configuration and engine shared by :class:`JudgeRunner` and :class:`AsyncJudgeRunner`."""

    _inline_ok = False

    def __init__(
        self,
        judge: Any,
        *,
        scale: Scale | None = None,
        parser: Any = None,
        calibrator: Any = None,
        method: str | None = None,
        batch_size: int | None = None,
        unpack: bool = False,
        output: Callable[[Any], Any] | None = None,
        concurrency: int = 8,
        rate_limit: float | RateLimit | None = None,
        timeout: float | None = None,
        retries: int = 0,
        retry_on: type[BaseException] | tuple[type[BaseException], ...] = (),
        retry_unparseable: bool = False,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        cache: JudgeCache | str | Any = None,
        name: str | None = None,
        version: str = "",
        prompt_template: str = "",
        params: Mapping[str, Any] | None = None,
        key: Callable[[Any], Any] | None = None,
        on_call: Callable[[CallEvent], Mapping[str, float] | None] | None = None,
        progress: bool | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        where = type(self).__name__
        stage = "default"
        if isinstance(judge, CalibratedJudge):
            scale = judge.scale if scale is None else scale
            calibrator = judge.calibrator if calibrator is None else calibrator
            parser = judge.parser if parser is None else parser
            stage = judge.stage
            fn, auto_name = (
                judge._fn,
                getattr(judge._fn, "__qualname__", type(judge.judge).__name__),
            )
        else:
            fn, auto_name = _resolve_judge(judge, method)
        self.judge = judge
        self._fn = fn
        self._async = _is_async(fn)
        self.parser: Parser = as_parser(parser, scale, where=where)
        self.scale = self.parser.scale
        if calibrator is not None and not hasattr(calibrator, "predict_proba"):
            raise InputError(
                "calibrator",
                "a fitted calibrator with predict_proba",
                type(calibrator).__name__,
                where=where,
            )
        self.calibrator = calibrator
        self.stage = stage
        self.batch_size = (
            None if batch_size is None else check_int(batch_size, "batch_size", low=1, where=where)
        )
        self.unpack = bool(unpack)
        if output is not None and not callable(output):
            raise InputError("output", "a callable output(response) -> answer", output, where=where)
        self.output = output
        self.concurrency = check_int(concurrency, "concurrency", low=1, where=where)
        if rate_limit is None or isinstance(rate_limit, RateLimit):
            self.rate_limit = rate_limit
        else:
            per_min = check_float(rate_limit, "rate_limit", low=0.0, low_open=True, where=where)
            if per_min.is_integer():
                self.rate_limit = RateLimit(int(per_min), 60.0)
            else:  # e.g. 0.5 or 90.5 per minute: one call per 60 / rate seconds
                self.rate_limit = RateLimit(1, 60.0 / per_min)
        self.timeout = (
            None
            if timeout is None
            else check_float(timeout, "timeout", low=0.0, low_open=True, where=where)
        )
        self.retries = check_int(retries, "retries", low=0, where=where)
        rt = retry_on if isinstance(retry_on, tuple) else (retry_on,)
        if not all(isinstance(e, type) and issubclass(e, BaseException) for e in rt):
            raise InputError(
                "retry_on", "an exception class or a tuple of them", retry_on, where=where
            )
        self.retry_on: tuple[type[BaseException], ...] = rt
        self.retry_unparseable = bool(retry_unparseable)
        self.backoff = check_float(backoff, "backoff", low=0.0, where=where)
        self.max_backoff = check_float(max_backoff, "max_backoff", low=0.0, where=where)
        self._owns_cache = False
        if cache is None or isinstance(cache, JudgeCache):
            self.cache = cache
        elif isinstance(cache, str) or hasattr(cache, "__fspath__"):
            self.cache = JudgeCache(cache)
            self._owns_cache = True
        else:
            raise InputError("cache", "a JudgeCache, a file path or None", cache, where=where)
        self.name = auto_name if name is None else str(name)
        self.version, self.prompt_template = str(version), str(prompt_template)
        self.params = dict(params or {})
        self._fingerprint: str | None = None
        if key is not None and not callable(key):
            raise InputError(
                "key", "a callable key(item) -> JSON-serializable identity", key, where=where
            )
        self.key = key
        if on_call is not None and not callable(on_call):
            raise InputError(
                "on_call", "a callable on_call(event) -> dict | None", on_call, where=where
            )
        self.on_call = on_call
        self.progress = progress
        self._rng = random.Random(seed)
        self.clock = clock

    def __repr__(self) -> str:
        extra = f", cache={self.cache!r}" if self.cache is not None else ""
        return f"{type(self).__name__}({self.name}, {self.parser!r}, concurrency={self.concurrency}{extra})"

    def close(self) -> None:
        """Close the cache connections, when this runner opened the cache from a path."""
        if self._owns_cache and self.cache is not None:
            self.cache.close()

    @property
    def fingerprint(self) -> str:
        """The cache fingerprint of this judge (name, version, prompt template, parameters)."""
        if self._fingerprint is None:
            if self.cache is not None:
                self._fingerprint = self.cache.register(
                    self.name,
                    version=self.version,
                    prompt_template=self.prompt_template,
                    params=self.params,
                )
            else:
                from judgecal.judging.cache import fingerprint

                self._fingerprint = fingerprint(
                    self.name,
                    version=self.version,
                    prompt_template=self.prompt_template,
                    params=self.params,
                )
        return self._fingerprint

    # -- one attempt --------------------------------------------------------------------
    def _payload(self, items: list[Any]) -> Any:
        return items if self.batch_size is not None else items[0]

    async def _invoke(self, payload: Any, pool: ThreadPoolExecutor | None) -> Any:
        args: tuple[Any, ...] = (payload,)
        kwargs: dict[str, Any] = {}
        if self.unpack and self.batch_size is None:
            if isinstance(payload, Mapping):
                args, kwargs = (), dict(payload)
            elif isinstance(payload, tuple | list):
                args = tuple(payload)
        if self._async:
            coro = self._fn(*args, **kwargs)
        elif pool is None:  # inline: the sync runner with concurrency 1 and no timeout
            res = self._fn(*args, **kwargs)
            return await res if inspect.isawaitable(res) else res
        else:
            loop = asyncio.get_running_loop()
            if self.timeout is None:
                coro = loop.run_in_executor(pool, lambda: self._fn(*args, **kwargs))
            else:
                # the timeout runs from when the call starts in its thread, not while it is queued
                started: asyncio.Future[None] = loop.create_future()

                def mark() -> None:
                    if not started.done():
                        started.set_result(None)

                def work() -> Any:
                    loop.call_soon_threadsafe(mark)
                    return self._fn(*args, **kwargs)

                fut = loop.run_in_executor(pool, work)
                await asyncio.wait({started, fut}, return_when=asyncio.FIRST_COMPLETED)
                res = await asyncio.wait_for(fut, self.timeout)
                return await res if inspect.isawaitable(res) else res
        res = await (coro if self.timeout is None else asyncio.wait_for(coro, self.timeout))
        if inspect.isawaitable(res):
            res = await (res if self.timeout is None else asyncio.wait_for(res, self.timeout))  # type: ignore[arg-type]
        return res

    def _parse(self, output: Any) -> Parsed:
        return self.parser.parse(output)

    def _retryable(self, status: str, exc: BaseException | None) -> bool:
        if status == "timeout":
            return any(issubclass(TimeoutError, e) for e in self.retry_on)
        if status == "error":
            return exc is not None and isinstance(exc, self.retry_on)
        return status == "unparseable" and self.retry_unparseable

    def _delay(self, attempt: int) -> float:
        # "full jitter": uniform on [0, min(cap, base * 2**attempt)]
        return self._rng.uniform(0.0, min(self.max_backoff, self.backoff * 2.0**attempt))

    # -- the engine ------------------------------------------------------------------------
    async def _execute(
        self,
        items: list[Any],
        ids: list[str],
        repeats: int,
        refresh: set[int] | None = None,
    ) -> tuple[list[list[_Unit]], dict[str, Any]]:
        """Run every (item, sample) once; return per-item units and run stats."""
        n = len(items)
        units: list[list[_Unit]] = [[_PENDING] * repeats for _ in range(n)]
        stats: dict[str, Any] = {"calls": 0, "cached": 0, "retries": 0, "usage": {}}
        cache = self.cache
        fp = self.fingerprint if cache is not None else ""
        keys: dict[tuple[int, int], str] = {}
        groups: dict[Any, list[tuple[int, int]]] = {}
        if cache is not None:
            for i, it in enumerate(items):
                ident = it if self.key is None else self.key(it)
                for s in range(repeats):
                    keys[(i, s)] = item_key(fp, ident, s)
            hits = cache.get_many(
                k for (i, _), k in keys.items() if refresh is None or i not in refresh
            )
            for (i, s), k in keys.items():
                entry = hits.get(k)
                if entry is not None and (refresh is None or i not in refresh):
                    p = self._parse(entry.output)
                    units[i][s] = _Unit(p.status, entry.output, p.score, p.reason or None, True)
                    stats["cached"] += 1
                else:
                    groups.setdefault(k, []).append((i, s))  # identical inputs are judged once
        else:
            for i in range(n):
                for s in range(repeats):
                    groups[(i, s)] = [(i, s)]
        todo = list(groups.values())
        bs = self.batch_size or 1
        jobs = [todo[j : j + bs] for j in range(0, len(todo), bs)]
        show = self.progress if self.progress is not None else sys.stderr.isatty()
        bar = (
            _Progress(sum(len(g) for g in todo), sys.stderr, self.name[:24])
            if show and todo
            else None
        )
        limiter = _Window(self.rate_limit, self.clock) if self.rate_limit is not None else None
        inline = (
            self._inline_ok and not self._async and self.timeout is None and self.concurrency == 1
        )
        # a sync call that timed out keeps its thread until it returns (Python cannot stop it):
        # spare threads absorb a few such stragglers without slowing the run
        spare = 8 if self.timeout is not None else 0
        pool = (
            None
            if (self._async or inline)
            else ThreadPoolExecutor(max_workers=self.concurrency + spare)
        )
        job_iter = iter(jobs)

        async def run_job(job: list[list[tuple[int, int]]]) -> None:
            first = job[0][0]
            payload = self._payload([items[g[0][0]] for g in job])
            attempt = 0
            usage: dict[str, float] = {}
            while True:
                if limiter is not None:
                    await limiter.acquire()
                t0 = time.perf_counter()
                response: Any = None
                exc: BaseException | None = None
                try:
                    response = await self._invoke(payload, pool)
                    status = "returned"
                except TimeoutError as e:
                    exc, status = e, "timeout"
                except Exception as e:  # the judge's failure is a status, not a crash
                    exc, status = e, "error"
                elapsed = time.perf_counter() - t0
                stats["calls"] += 1
                outs: list[Any] = []
                parsed: list[Parsed] = []
                errs: list[str | None] = []
                if status == "returned":
                    try:
                        answers = list(response) if self.batch_size is not None else [response]
                        if len(answers) != len(job):
                            raise JudgeError(
                                f"batch judge returned {len(answers)} outputs for {len(job)} items"
                            )
                        for a in answers:
                            if isinstance(a, BaseException):
                                outs.append(None)
                                parsed.append(Parsed("unparseable", None))
                                errs.append(f"{type(a).__name__}: {a}")
                                continue
                            out = self.output(a) if self.output is not None else a
                            outs.append(out)
                            parsed.append(self._parse(out))
                            errs.append(None)
                    except Exception as e:
                        exc, status = e, "error"
                if status != "returned":
                    msg = (
                        f"{type(exc).__name__}: {exc}"
                        if status == "error"
                        else f"TimeoutError: no answer within {self.timeout} s"
                    )
                    outs, errs = [None] * len(job), [msg] * len(job)
                    parsed = [Parsed("unparseable", None)] * len(job)
                statuses = [
                    status if status != "returned" else ("error" if e else p.status)
                    for p, e in zip(parsed, errs, strict=True)
                ]
                if self.on_call is not None:
                    s0 = job[0][0][1]
                    head = statuses[0] if len(set(statuses)) == 1 else "mixed"
                    got = self.on_call(
                        CallEvent(
                            first[0],
                            ids[first[0]],
                            s0,
                            attempt,
                            head,
                            response,
                            errs[0] if status != "returned" else None,
                            elapsed,
                            len(job),
                        )
                    )
                    for k, v in (got or {}).items():
                        usage[k] = usage.get(k, 0.0) + float(v)
                        stats["usage"][k] = stats["usage"].get(k, 0.0) + float(v)
                retry = (status != "returned" and self._retryable(status, exc)) or (
                    status == "returned"
                    and self.batch_size is None
                    and self._retryable(statuses[0], None)
                )
                if retry and attempt < self.retries:
                    await asyncio.sleep(self._delay(attempt))
                    attempt += 1
                    stats["retries"] += 1
                    continue
                break
            for g, st, out, p, err in zip(job, statuses, outs, parsed, errs, strict=True):
                unit = _Unit(
                    st, out, p.score if st == "ok" else None, err or (p.reason or None), False
                )
                if cache is not None and status == "returned" and err is None:
                    cache.put(
                        keys[g[0]],
                        self.fingerprint,
                        out,
                        status=st,
                        sample=g[0][1],
                        usage=usage if g is job[0] else None,
                        replace=refresh is not None,
                    )
                for i, s in g:
                    units[i][s] = unit
                    if bar is not None:
                        bar.update(st)

        fn, transform, parse, hook = self._fn, self.output, self.parser.parse, self.on_call
        direct = inline and not self.unpack
        replace = refresh is not None
        perf = time.perf_counter

        async def run_one(group: list[tuple[int, int]]) -> None:
            # the common case (one item per call), kept lean: this is the per-call overhead
            i0, s0 = group[0]
            item = items[i0]
            attempt = 0
            usage: dict[str, float] = {}
            while True:
                if limiter is not None:
                    await limiter.acquire()
                t0 = perf()
                exc: BaseException | None = None
                response: Any = None
                out: Any = None
                parsed: Parsed | None = None
                try:
                    if direct:
                        response = fn(item)
                        if inspect.isawaitable(response):
                            response = await response
                    else:
                        response = await self._invoke(item, pool)
                    out = response if transform is None else transform(response)
                    parsed = parse(out)
                    status: str = parsed.status
                except TimeoutError as e:
                    exc, status = e, "timeout"
                except Exception as e:  # the judge's failure is a status, not a crash
                    exc, status = e, "error"
                stats["calls"] += 1
                if exc is None:
                    err = None
                elif status == "timeout":
                    err = f"TimeoutError: no answer within {self.timeout} s"
                else:
                    err = f"{type(exc).__name__}: {exc}"
                if hook is not None:
                    got = hook(
                        CallEvent(i0, ids[i0], s0, attempt, status, response, err, perf() - t0)
                    )
                    for k, v in (got or {}).items():
                        usage[k] = usage.get(k, 0.0) + float(v)
                        stats["usage"][k] = stats["usage"].get(k, 0.0) + float(v)
                if status != "ok" and attempt < self.retries and self._retryable(status, exc):
                    await asyncio.sleep(self._delay(attempt))
                    attempt += 1
                    stats["retries"] += 1
                    continue
                break
            if parsed is not None:
                unit = _Unit(status, out, parsed.score, parsed.reason or None, False)
                if cache is not None:
                    cache.put(
                        keys[group[0]],
                        fp,
                        out,
                        status=status,
                        sample=s0,
                        usage=usage,
                        replace=replace,
                    )
            else:
                unit = _Unit(status, None, None, err, False)
            for i, s in group:
                units[i][s] = unit
                if bar is not None:
                    bar.update(status)

        async def worker() -> None:
            for job in job_iter:
                if self.batch_size is None:
                    await run_one(job[0])
                else:
                    await run_job(job)

        try:
            await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(jobs)))))
        finally:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
            if bar is not None:
                bar.close()
        return units, stats

    # -- aggregation -----------------------------------------------------------------------
    def _check_run_args(
        self,
        items: Iterable[Any],
        ids: Sequence[Any] | None,
        stages: Any,
        repeats: int,
        aggregate: str | None,
    ) -> tuple[list[Any], list[str], list[str], int, str]:
        where = f"{type(self).__name__}.run"
        seq = _as_list(items, "items", where)
        if ids is None:
            id_list = [str(i) for i in range(len(seq))]
        else:
            id_list = [str(x) for x in _as_list(ids, "ids", where)]
            if len(id_list) != len(seq):
                raise InputError(
                    "ids", f"one id per item ({len(seq)})", f"{len(id_list)} ids", where=where
                )
        st = check_stages(self.stage if stages is None else stages, len(seq), where=where).tolist()
        repeats = check_int(repeats, "repeats", low=1, high=10_000, where=where)
        default = "majority" if self.scale.kind == "verdict" else "mean"
        agg = check_choice(
            default if aggregate is None else aggregate,
            "aggregate",
            ("mean", "majority", "distribution"),
            where=where,
        )
        if agg == "mean" and self.scale.kind == "verdict":
            raise InputError(
                "aggregate", "'majority' or 'distribution' on a verdict scale", agg, where=where
            )
        return seq, id_list, st, repeats, agg

    def _combine(
        self, units: list[_Unit], stage: str, item_id: str, agg: str
    ) -> tuple[JudgeResult, list[JudgeResult]]:
        samples = [
            JudgeResult(
                u.output,
                u.score,
                None,
                u.status,
                stage,
                u.error if u.status != "ok" else None,
                item_id,
            )
            for u in units
        ]
        if len(units) == 1:
            return samples[0], samples
        ok = [u.score for u in units if u.status == "ok" and u.score is not None]
        raw = [u.output for u in units]
        if not ok:
            worst = Counter(u.status for u in units).most_common(1)[0][0]
            err = next((u.error for u in units if u.status == worst), None)
            return JudgeResult(raw, None, None, worst, stage, err, item_id), samples
        if agg == "mean" or (agg == "distribution" and self.scale.kind != "verdict"):
            score = float(np.mean(ok))
        else:
            score = _majority(ok)
        return JudgeResult(raw, score, None, "ok", stage, None, item_id), samples

    def _calibrate(
        self, results: list[JudgeResult], samples: list[list[JudgeResult]], agg: str
    ) -> list[JudgeResult]:
        if self.calibrator is None:
            return results
        ok = [i for i, r in enumerate(results) if r.ok]
        if not ok:
            return results
        out = list(results)
        if agg == "distribution" and samples and len(samples[0]) > 1:
            flat = [(i, s.score) for i in ok for s in samples[i] if s.ok]
            p = self.calibrator.predict_proba(
                [x for _, x in flat], stages=[results[i].stage for i, _ in flat]
            )[:, 1]
            sums: dict[int, list[float]] = {}
            for (i, _), v in zip(flat, p, strict=True):
                sums.setdefault(i, []).append(float(v))
            probs = [float(np.mean(sums[i])) for i in ok]
        else:
            probs = self.calibrator.predict_proba(
                [results[i].score for i in ok], stages=[results[i].stage for i in ok]
            )[:, 1].tolist()
        for i, p1 in zip(ok, probs, strict=True):
            r = results[i]
            out[i] = JudgeResult(r.raw, r.score, float(p1), r.status, r.stage, r.error, r.item_id)
        return out

    async def _arun(
        self,
        items: Iterable[Any],
        *,
        ids: Sequence[Any] | None,
        stages: Any,
        repeats: int,
        aggregate: str | None,
        refresh: bool = False,
    ) -> RunReport:
        t0 = time.perf_counter()
        seq, id_list, st, repeats, agg = self._check_run_args(
            items, ids, stages, repeats, aggregate
        )
        units, stats = await self._execute(
            seq, id_list, repeats, refresh=set(range(len(seq))) if refresh else None
        )
        results, samples = [], []
        for i, us in enumerate(units):
            r, ss = self._combine(us, st[i], id_list[i], agg)
            results.append(r)
            samples.append(ss)
        results = self._calibrate(results, samples, agg)
        return RunReport(
            results,
            samples=samples,
            calls=stats["calls"],
            cached=stats["cached"],
            retries=stats["retries"],
            elapsed=time.perf_counter() - t0,
            usage=stats["usage"],
            repeats=repeats,
            aggregate=agg,
            items=seq,
            stages=st,
        )

    async def _arun_pairwise(
        self,
        pairs: Iterable[Any],
        *,
        ids: Sequence[Any] | None,
        stages: Any,
        swap: Callable[[Any], Any] | None,
        policy: str,
        repeats: int,
        refresh: bool = False,
    ) -> RunReport:
        where = f"{type(self).__name__}.run_pairwise"
        if self.scale.kind != "verdict" or len(self.scale.verdicts) % 2 == 0:
            raise InputError(
                "scale",
                "a verdict scale like ('second', 'tie', 'first')",
                self.scale.verdicts or self.scale.kind,
                where=where,
            )
        policy = check_choice(policy, "policy", ("tie", "first", "exclude"), where=where)
        seq = list(pairs)
        if swap is None:
            for j, p in enumerate(seq):
                if not (isinstance(p, tuple | list) and len(p) == 2):
                    raise InputError(
                        "pairs",
                        "(first, second) 2-tuples, or pass swap=",
                        f"{type(p).__name__} at index {j}",
                        where=where,
                    )
            swap = _swap_tuple
        n = len(seq)
        fwd_ids = [str(i) for i in range(n)] if ids is None else [str(x) for x in ids]
        st = check_stages(self.stage if stages is None else stages, n, where=where).tolist()
        both = await self._arun(
            seq + [swap(p) for p in seq],
            ids=fwd_ids + [f"{x}/swapped" for x in fwd_ids],
            stages=st + st,
            repeats=repeats,
            aggregate="majority",
            refresh=refresh,
        )
        top = self.scale.high
        middle = top / 2.0
        results: list[JudgeResult] = []
        counts = Counter[str]()
        for i in range(n):
            a, b = both.results[i], both.results[n + i]
            if not a.ok or not b.ok:
                bad = a if not a.ok else b
                counts["incomplete"] += 1
                results.append(
                    JudgeResult(
                        (a.raw, b.raw), None, None, bad.status, st[i], bad.error, fwd_ids[i]
                    )
                )
                continue
            v, w = float(a.score), top - float(b.score)  # type: ignore[arg-type]
            if v == w:
                counts["consistent"] += 1
                results.append(JudgeResult((a.raw, b.raw), v, None, "ok", st[i], None, fwd_ids[i]))
                continue
            counts["inconsistent"] += 1
            msg = f"inconsistent across presentation orders: {self.scale.verdicts[int(v)]} vs {self.scale.verdicts[int(w)]} (swapped back)"
            if policy == "exclude":
                results.append(
                    JudgeResult((a.raw, b.raw), None, None, "unparseable", st[i], msg, fwd_ids[i])
                )
            else:
                score = middle if policy == "tie" else v
                results.append(
                    JudgeResult((a.raw, b.raw), score, None, "ok", st[i], None, fwd_ids[i])
                )
        judged = counts["consistent"] + counts["inconsistent"]
        summary = {
            "policy": policy,
            "consistent": counts["consistent"],
            "inconsistent": counts["inconsistent"],
            "incomplete": counts["incomplete"],
            "consistency": counts["consistent"] / judged if judged else None,
        }
        samples = [[both.results[i], both.results[n + i]] for i in range(n)]
        results = self._calibrate(results, [], "majority")
        return RunReport(
            results,
            samples=samples,
            calls=both.calls,
            cached=both.cached,
            retries=both.retries,
            elapsed=both.elapsed,
            usage=both.usage,
            repeats=repeats,
            aggregate="majority",
            pairwise=summary,
            items=seq,
            stages=st,
            swap=swap,
        )

    async def _aretry(self, report: RunReport, *, refresh: bool) -> RunReport:
        if not isinstance(report, RunReport):
            raise InputError(
                "report", "a RunReport from this runner", type(report).__name__, where="retry"
            )
        idx = report.failed_indices()
        if not idx:
            return report
        sub_items = [report.items[i] for i in idx]
        ids = [report.results[i].item_id or str(i) for i in idx]
        stages = [report.stages[i] for i in idx]
        if report.pairwise is not None:
            sub = await self._arun_pairwise(
                sub_items,
                ids=ids,
                stages=stages,
                swap=report.swap,
                policy=report.pairwise["policy"],
                repeats=report.repeats,
                refresh=refresh,
            )
        else:
            sub = await self._arun(
                sub_items,
                ids=ids,
                stages=stages,
                repeats=report.repeats,
                aggregate=report.aggregate,
                refresh=refresh,
            )
        results, samples = list(report.results), list(report.samples)
        for j, i in enumerate(idx):
            results[i] = sub.results[j]
            if i < len(samples):
                samples[i] = sub.samples[j]
        usage = dict(report.usage)
        for k, v in sub.usage.items():
            usage[k] = usage.get(k, 0.0) + v
        pw = None
        if report.pairwise is not None and sub.pairwise is not None:
            pw = dict(report.pairwise)
            for k in ("consistent", "inconsistent"):
                pw[k] += sub.pairwise[k]
            pw["incomplete"] = sub.pairwise["incomplete"]
            judged = pw["consistent"] + pw["inconsistent"]
            pw["consistency"] = pw["consistent"] / judged if judged else None
        return RunReport(
            results,
            samples=samples,
            calls=report.calls + sub.calls,
            cached=report.cached + sub.cached,
            retries=report.retries + sub.retries,
            elapsed=report.elapsed + sub.elapsed,
            usage=usage,
            repeats=report.repeats,
            aggregate=report.aggregate,
            pairwise=pw,
            items=report.items,
            stages=report.stages,
            swap=report.swap,
        )


def _swap_tuple(p: Any) -> Any:
    return (p[1], p[0]) if isinstance(p, tuple) else [p[1], p[0]]


def _majority(scores: list[float]) -> float:
    counts = Counter(scores)
    best = max(counts.values())
    modes = sorted(k for k, v in counts.items() if v == best)
    if len(modes) == 1:
        return float(modes[0])
    mean = float(np.mean(scores))
    return float(
        min(modes, key=lambda m: (abs(m - mean), m))
    )  # tie: closest to the mean, then the lower


_RUN_DOC = """
    Parameters
    ----------
    judge : callable, async callable, object, or CalibratedJudge
        What to call, once per item (or per batch with ``batch_size``).
    scale : Scale, optional
        The judge's output scale (not needed when ``parser`` is a :class:`~judgecal.judging.parsers.Parser`
        or ``judge`` is a :class:`~judgecal.CalibratedJudge`).
    parser : Parser or callable, optional
        A :mod:`judgecal.judging.parsers` parser, or ``parser(output, scale) -> float | None``.
    calibrator : fitted calibrator, optional
        Maps ``ok`` scores to P(a human would agree), in one vectorized step at the end.
    method : str, optional
        Name of the method to call on an object judge.
    batch_size : int, optional
        The judge takes a list of items and returns a list of outputs (an exception
        instance in the list marks that item as ``error``).
    unpack : bool
        Call ``judge(*item)`` for tuples and ``judge(**item)`` for dicts.
    output : callable, optional
        Extracts the answer from the judge's response (for example the text of
        an API response); the hook sees the full response, the cache and the
        parser see the answer.
    concurrency : int
        Calls in flight at once (never exceeded).
    rate_limit : float or RateLimit, optional
        Calls per minute (a number) or ``RateLimit(calls, period)``.
    timeout : float, optional
        Seconds per call; a call that takes longer ends as ``timeout``.
    retries : int
        Extra attempts for a call that raised one of ``retry_on`` (timeouts are
        retried when ``TimeoutError`` is among them).
    retry_on : exception class or tuple
        Exceptions worth retrying (rate-limit and connection errors, say).
    retry_unparseable : bool
        Also retry answers that did not parse.
    backoff, max_backoff : float
        Retry ``k`` waits ``uniform(0, min(max_backoff, backoff * 2**k))`` seconds
        (exponential backoff with full jitter).
    cache : JudgeCache or path, optional
        Resumable judge-call cache; finished calls are never redone.
    name, version, prompt_template, params
        What defines the judge; hashed into the cache fingerprint.
    key : callable, optional
        ``key(item)`` -> the JSON-serializable identity of an item for the cache.
    on_call : callable, optional
        Called with a :class:`CallEvent` after every real attempt; may return
        ``{"tokens": ..., "cost": ...}``, summed in ``RunReport.usage`` and stored in the cache.
    progress : bool, optional
        Progress bar on stderr; default: only when stderr is a terminal.
    seed : int, optional
        Seeds the backoff jitter.
    clock : callable
        Monotonic clock used by the rate limiter.
"""


class JudgeRunner(_RunnerBase):
    """Run a judge over many items, synchronously (see the module docstring).

    Sync judges run in a pool of ``concurrency`` threads (inline when
    ``concurrency=1`` and there is no timeout); async judges run on a private
    event loop.
    """

    __doc__ = (
        (__doc__ or "")
        + _RUN_DOC
        + """
    Examples
    --------
    >>> from judgecal import parsers
    >>> def judge(text):
    ...     if "?" in text:
    ...         raise ConnectionError("flaky")
    ...     return "I'm sorry, I can't rate that." if "!" in text else f"Score: {len(text) % 5 + 1}"
    >>> runner = JudgeRunner(judge, parser=parsers.likert(5), concurrency=4)
    >>> report = runner.run(["good", "fine", "what?", "no!"])
    >>> report.summary()["ok"], report.status_counts()
    (2, {'ok': 2, 'error': 1, 'refused': 1})
    >>> [r.score for r in report.results]
    [5.0, 5.0, None, None]
    >>> report.failed_items()
    ['what?', 'no!']
    """
    )

    _inline_ok = True

    def __enter__(self) -> JudgeRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self,
        items: Iterable[Any],
        *,
        ids: Sequence[Any] | None = None,
        stages: str | Sequence[str] | None = None,
        repeats: int = 1,
        aggregate: Aggregate | None = None,
    ) -> RunReport:
        """Judge every item ``repeats`` times; one result per item, in input order.

        ``aggregate`` (for ``repeats > 1``): ``mean`` of the ``ok`` samples
        (numeric and Likert scales; the default there), ``majority`` (the most
        frequent score, ties to the one closest to the mean, then the lower; the
        default on verdict scales), or ``distribution`` (score: the mean, or the
        majority on verdict scales; probability: the mean of the samples'
        calibrated probabilities). An item is ``ok`` when at least one sample is.
        """
        return _run_sync(
            self._arun(items, ids=ids, stages=stages, repeats=repeats, aggregate=aggregate)
        )

    def run_pairwise(
        self,
        pairs: Iterable[Any],
        *,
        ids: Sequence[Any] | None = None,
        stages: str | Sequence[str] | None = None,
        swap: Callable[[Any], Any] | None = None,
        policy: PairPolicy = "tie",
        repeats: int = 1,
    ) -> RunReport:
        """Judge each pair in both presentation orders (verdict scale, e.g. second/tie/first).

        The swapped verdict is mapped back (first <-> second) and compared with the
        original. ``policy`` decides inconsistent pairs: ``"tie"`` (score them as a tie),
        ``"first"`` (keep the verdict of the original order) or ``"exclude"`` (no
        score; status ``unparseable`` with the reason). ``report.pairwise`` has the
        counts and the order-consistency rate. Pairs are ``(first, second)`` tuples,
        or anything with a ``swap`` function.

        Examples
        --------
        >>> from judgecal import parsers
        >>> def biased(pair):                 # prefers the longer answer, else the first shown
        ...     a, b = pair
        ...     return "first" if len(a) >= len(b) else "second"
        >>> r = JudgeRunner(biased, parser=parsers.pairwise()).run_pairwise([("long answer", "short"), ("same", "size")])
        >>> [x.score for x in r.results], r.pairwise["consistency"]
        ([2.0, 1.0], 0.5)
        >>> r.pairwise["inconsistent"], r.pairwise["policy"]
        (1, 'tie')
        """
        return _run_sync(
            self._arun_pairwise(
                pairs, ids=ids, stages=stages, swap=swap, policy=policy, repeats=repeats
            )
        )

    def retry(self, report: RunReport, *, refresh: bool = True) -> RunReport:
        """Judge again only the failed items of ``report``; return the merged report.

        With ``refresh`` (default), failed items are re-asked even when their
        unparseable answer is in the cache, and the new answer replaces it.
        """
        return _run_sync(self._aretry(report, refresh=refresh))


class AsyncJudgeRunner(_RunnerBase):
    """Run a judge over many items from async code (see the module docstring).

    Async judges are awaited on the caller's event loop; sync judges run in a
    pool of ``concurrency`` threads, so they never block the loop.
    """

    __doc__ = (
        (__doc__ or "")
        + _RUN_DOC
        + """
    Examples
    --------
    >>> import asyncio
    >>> from judgecal import Scale
    >>> async def judge(text):
    ...     await asyncio.sleep(0.001)
    ...     return "YES" if "good" in text else "NO"
    >>> runner = AsyncJudgeRunner(judge, scale=Scale.verdict("no", "yes"), concurrency=16)
    >>> report = asyncio.run(runner.run(["good", "bad", "good enough"]))
    >>> [r.score for r in report.results]
    [1.0, 0.0, 1.0]
    """
    )

    async def __aenter__(self) -> AsyncJudgeRunner:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    async def run(
        self,
        items: Iterable[Any],
        *,
        ids: Sequence[Any] | None = None,
        stages: str | Sequence[str] | None = None,
        repeats: int = 1,
        aggregate: Aggregate | None = None,
    ) -> RunReport:
        """Judge every item; see :meth:`JudgeRunner.run`."""
        return await self._arun(items, ids=ids, stages=stages, repeats=repeats, aggregate=aggregate)

    async def run_pairwise(
        self,
        pairs: Iterable[Any],
        *,
        ids: Sequence[Any] | None = None,
        stages: str | Sequence[str] | None = None,
        swap: Callable[[Any], Any] | None = None,
        policy: PairPolicy = "tie",
        repeats: int = 1,
    ) -> RunReport:
        """Judge each pair in both orders; see :meth:`JudgeRunner.run_pairwise`."""
        return await self._arun_pairwise(
            pairs, ids=ids, stages=stages, swap=swap, policy=policy, repeats=repeats
        )

    async def retry(self, report: RunReport, *, refresh: bool = True) -> RunReport:
        """Judge again only the failed items; see :meth:`JudgeRunner.retry`."""
        return await self._aretry(report, refresh=refresh)


def _run_sync(coro: Awaitable[RunReport]) -> RunReport:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    # called from inside a running loop (a notebook): run on a private loop in a thread
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)  # type: ignore[arg-type]
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def _as_list(values: Any, name: str, where: str) -> list[Any]:
    """``list(values)`` for an iterable that is not a string; an InputError otherwise."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InputTypeError(
            name, "an iterable of items (a list, a generator, ...)", values, where=where
        )
    return list(values)
