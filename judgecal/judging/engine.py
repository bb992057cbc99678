"""The one loop that calls judges.

Every way judgecal calls a judge goes through :class:`Engine`:
``CalibratedJudge(item)`` (a run of one item), ``CalibratedJudge.judge_many``,
:class:`~judgecal.JudgeRunner`, :class:`~judgecal.AsyncJudgeRunner` and
therefore the bias probes. A single call is a batch of one, so every path has
the same concurrency bound, rate limit, timeouts, retries and cache.

How a run goes
--------------
1. **Plan.** With a cache, each (item, sample) gets a key (judge fingerprint,
   item, sample number); stored answers are read back and parsed again, and
   identical missing keys are judged once. The rest is cut into *jobs*: one
   item each, or ``batch_size`` items for a batch judge.
2. **Call.** ``concurrency`` workers take jobs in turn. Each attempt waits for
   the rate limit, calls the judge, extracts and parses the answer(s), runs the
   per-call hook and decides whether to retry (backoff with full jitter).
3. **Record.** Each answer is written to the cache as soon as it arrives;
   calls that raised or timed out are not stored, so a rerun retries them.

Timeouts that always end a call
-------------------------------
Python cannot stop a running thread. Sync judges therefore run on daemon
threads the engine manages itself: when a call times out, the item ends as
``timeout``, the thread is *abandoned* (it keeps running until the judge
returns, and its answer is thrown away) and a fresh thread takes its place.
``concurrency`` bounds the calls the run is waiting on; abandoned threads do
not count against it, and they never keep the interpreter from exiting.
``RunStats.abandoned`` (``RunReport.abandoned``) says how many there were.
Async judges are cancelled when they time out. A judge that blocks the event
loop itself (a sync sleep inside ``async def``) cannot be timed out by anyone.

Failures that never end a run
-----------------------------
Whatever a judge or the per-call hook raises (``SystemExit``,
``asyncio.CancelledError``, ``GeneratorExit``, any ``BaseException``) ends that
item as ``error`` with the message. ``KeyboardInterrupt`` (Ctrl-C, or raised by
the judge) stops the run: calls in flight are abandoned, items not finished end
as ``error`` ("not run"), and :class:`RunInterrupted` carries that report. A
cache that cannot be written never stops a run either: see
:class:`UncachedResultsError`.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import math
import queue
import random
import sys
import threading
import time
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO, TypeVar

import numpy as np

from judgecal._exceptions import InputError, JudgecalWarning, JudgeError, PersistenceError
from judgecal._validation import check_float, check_int
from judgecal.judging.cache import JudgeCache, fingerprint, item_key
from judgecal.judging.parsers import Parsed, Parser

__all__ = [
    "NOT_RUN",
    "CacheWriteWarning",
    "CallEvent",
    "Engine",
    "Outcome",
    "RateLimit",
    "RunInterrupted",
    "RunStats",
    "UncachedResultsError",
    "run_sync",
]

_T = TypeVar("_T")
Slot = tuple[int, int]  # (item index, sample number)
Group = list[Slot]  # slots with identical cache keys: judged once
Job = list[Group]  # what one judge call answers (one group, or a batch of them)

MIN_PERIOD = 1e-6
"""Shortest rate-limit window, in seconds."""
MAX_PERIOD = 1e7
"""Longest rate-limit window, in seconds (about 116 days)."""


@dataclass(frozen=True)
class RateLimit:
    """At most ``calls`` judge calls in any window of ``period`` seconds (a sliding window).

    A plain number given as ``rate_limit`` means calls per minute:
    ``rate_limit=600`` is ``RateLimit(600, 60.0)``, ``rate_limit=0.5`` is
    ``RateLimit(1, 120.0)``. Every attempt counts, retries included; a batch
    call counts once. ``period`` must lie in ``[1e-06, 1e+07]`` seconds.

    Examples
    --------
    >>> RateLimit(600)
    RateLimit(calls=600, period=60.0)
    >>> RateLimit.per_minute(0.5, where="example")
    RateLimit(calls=1, period=120.0)
    """

    calls: int
    """Calls allowed per window."""
    period: float = 60.0
    """Window length in seconds."""

    def __post_init__(self) -> None:
        check_int(self.calls, "calls", low=1, where="RateLimit")
        check_float(self.period, "period", low=MIN_PERIOD, high=MAX_PERIOD, where="RateLimit")

    @classmethod
    def per_minute(cls, rate: Any, *, where: str) -> RateLimit:
        """The limit for ``rate`` calls per minute, checked as the ``rate_limit`` parameter."""
        low, high = 60.0 / MAX_PERIOD, 1e12
        if isinstance(rate, bool) or not isinstance(rate, int | float | np.integer | np.floating):
            raise InputError("rate_limit", "calls per minute or a RateLimit", rate, where=where)
        try:
            value = float(rate)
        except OverflowError:  # an int beyond every float
            value = math.inf
        if not (math.isfinite(value) and low <= value <= high):
            raise InputError(
                "rate_limit",
                f"calls per minute, a number in [{low:g}, {high:g}] (one call every "
                f"{MAX_PERIOD:g} s at the slowest), or RateLimit(calls, period)",
                rate,
                where=where,
            )
        if value.is_integer() or value > 60.0 / MIN_PERIOD:
            return cls(round(value), 60.0)
        return cls(1, 60.0 / value)  # e.g. 0.5 or 90.5 per minute: one call per 60 / rate s


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
    """Status of this attempt (``ok``, ``unparseable``, ``refused``, ``error``, ``timeout``;
    ``mixed`` for a batch whose items differ)."""
    response: Any
    """What the judge returned, before ``output=`` extracted the answer (``None`` if it raised)."""
    error: str | None
    """Exception type and message when it raised or timed out."""
    elapsed: float
    """Seconds the call took."""
    batch_size: int = 1
    """Items in this call (batch judges)."""


@dataclass(frozen=True)
class Outcome:
    """How one (item, sample) ended, before calibration."""

    status: str
    """One of :data:`judgecal.vocabulary.STATUSES`."""
    output: Any
    """The answer (after ``output=`` extraction), ``None`` when the call raised."""
    score: float | None
    """The parsed score when ``status == "ok"``."""
    error: str | None
    """Why there is no score (exception message or parser reason)."""
    cached: bool = False
    """Read back from the cache."""


NOT_RUN = Outcome("error", None, None, "not run: the run was interrupted first")
"""The outcome of an item a stopped run never finished."""


@dataclass
class RunStats:
    """What a run took: calls, cache use, retries, usage, abandoned threads."""

    calls: int = 0
    """Real judge invocations, retries included (a batch call counts once)."""
    cached: int = 0
    """Samples answered from the cache."""
    retries: int = 0
    """Attempts beyond the first."""
    usage: dict[str, float] = field(default_factory=dict)
    """Sums of what the per-call hook returned."""
    abandoned: int = 0
    """Timed-out (or interrupted) sync calls whose threads were left running."""
    not_cached: int = 0
    """Answers the cache failed to store."""
    cache_error: str | None = None
    """The first cache failure's message."""
    interrupted: bool = False
    """Whether a KeyboardInterrupt (or a cancellation) stopped the run."""


class CacheWriteWarning(JudgecalWarning):
    """The judge-call cache failed to store an answer; the run goes on (warned once per run)."""


class UncachedResultsError(PersistenceError):
    """Some answers could not be written to the cache; the finished run is in ``.report``.

    Raised at the end of a run in which the cache failed (a full disk, a lock
    held past its timeout, an unstorable text). Every item kept its status and
    its result: ``err.report`` is the complete report (a
    :class:`~judgecal.judging.runner.RunReport`, or the
    :class:`~judgecal.judging._results.JudgeRun` of ``judge_many``). The answers
    that were not stored will be asked again by the next run.
    """

    def __init__(self, report: Any, *, not_cached: int, total: int, reason: str) -> None:
        self.report = report
        self.not_cached = not_cached
        self.total = total
        super().__init__(
            f"{not_cached} of {total} judge answers were not written to the cache ({reason}). "
            "The run finished: every result is in this error's .report; the answers not "
            "cached will be judged again by the next run."
        )


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (or a KeyboardInterrupt from the judge) stopped a run; what finished is kept.

    ``report`` has one result per item: finished items as usual (and already in
    the cache, when there is one), the rest ``error`` with "not run".
    ``finished`` and ``total`` count items; ``cache_path`` is where the finished
    answers are stored (``None`` without a cache). It is a
    :class:`KeyboardInterrupt`, so code that does not look for it still stops.
    """

    def __init__(
        self, report: Any, *, finished: int, total: int, cache_path: str | None = None
    ) -> None:
        self.report = report
        self.finished = finished
        self.total = total
        self.cache_path = cache_path
        where = f" and cached in {cache_path}" if cache_path else ""
        super().__init__(f"interrupted: {finished} of {total} items finished{where}")


# -- sync judges on daemon threads the engine owns ----------------------------------------------
class _ThreadCall:
    """One sync judge call handed to a pool thread; delivers ``(raised, value)`` to the loop."""

    def __init__(
        self, fn: Callable[[], Any], loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]
    ) -> None:
        self.fn, self.loop, self.future = fn, loop, future
        self.lock = threading.Lock()
        self.state = "queued"  # -> running -> done, or -> abandoned

    def claim(self) -> bool:
        with self.lock:
            if self.state != "queued":
                return False
            self.state = "running"
            return True

    def execute(self) -> None:
        try:
            value: tuple[bool, Any] = (False, self.fn())
        except BaseException as exc:  # delivered to the loop, never raised in the thread
            value = (True, exc)
        with self.lock:
            if self.state == "running":
                self.state = "done"
        try:
            self.loop.call_soon_threadsafe(_settle, self.future, value)
        except RuntimeError:  # the loop is closed: the run gave up on this call long ago
            pass

    def abandon(self) -> bool:
        """Give up on the call; ``True`` when its thread is still running it."""
        with self.lock:
            running = self.state == "running"
            if self.state in ("queued", "running"):
                self.state = "abandoned"
            return running


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


class _DaemonPool:
    """``size`` daemon threads; a thread whose call was abandoned is replaced at once."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.tasks: queue.SimpleQueue[_ThreadCall | None] = queue.SimpleQueue()
        for _ in range(size):
            self._spawn()

    def _spawn(self) -> None:
        threading.Thread(target=self._serve, daemon=True, name="judgecal-judge").start()

    def _serve(self) -> None:
        while True:
            call = self.tasks.get()
            if call is None:
                return
            if not call.claim():
                continue
            call.execute()
            if call.state == "abandoned":  # a replacement thread already serves the queue
                return

    def submit(self, call: _ThreadCall) -> None:
        self.tasks.put(call)

    def abandon(self, call: _ThreadCall) -> bool:
        if call.abandon():
            self._spawn()
            return True
        return False

    def shutdown(self) -> None:
        for _ in range(self.size):
            self.tasks.put(None)


class _ExpiredError(Exception):
    """The engine's own timeout (a judge's ``TimeoutError`` is that judge's ``error``)."""


@dataclass
class _Call:
    """One attempt: what came back, or what was raised."""

    kind: str  # "returned", "error" or "timeout"
    response: Any = None
    exc: BaseException | None = None
    elapsed: float = 0.0


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _plain(value: Any) -> Any:
    """numpy scalars become Python values (parseable, cacheable, comparable)."""
    return value.item() if isinstance(value, np.generic) else value


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _is_async(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or (
        callable(fn) and inspect.iscoroutinefunction(type(fn).__call__)
    )


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


class Engine:
    """Call a judge over many items: the loop behind every judgecal runner.

    Parameters
    ----------
    function : callable
        The judge: ``function(item)`` (or ``function(list_of_items)`` with
        ``batch_size``), sync or async; a sync function may return an awaitable.
    parser : Parser
        Turns each answer into ``ok`` / ``unparseable`` / ``refused``.
    where : str
        Name used in error messages (the public class that built the engine).
    batch_size, unpack, output, concurrency, rate_limit, timeout, retries, retry_on, \
retry_unparseable, backoff, max_backoff, cache, name, version, prompt_template, params, key, \
on_call, progress, seed, clock
        The runner options, keyword-only; see :class:`~judgecal.JudgeRunner`.
        ``concurrency`` defaults to 1 here.

    Examples
    --------
    >>> from judgecal import parsers
    >>> engine = Engine(lambda text: f"Score: {len(text)}", parsers.likert(5))
    >>> outcomes, stats = run_sync(engine.execute(["abc", "far too long"], ["a", "b"]))
    >>> [o[0].status for o in outcomes], stats.calls
    (['ok', 'unparseable'], 2)
    """

    def __init__(
        self,
        function: Callable[..., Any],
        parser: Parser,
        *,
        where: str = "Engine",
        batch_size: int | None = None,
        unpack: bool = False,
        output: Callable[[Any], Any] | None = None,
        concurrency: int = 1,
        rate_limit: float | RateLimit | None = None,
        timeout: float | None = None,
        retries: int = 0,
        retry_on: type[BaseException] | tuple[type[BaseException], ...] = (),
        retry_unparseable: bool = False,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        cache: Any = None,
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
        if not callable(function):
            raise InputError("judge", "a callable", function, where=where)
        if not isinstance(parser, Parser):
            raise InputError("parser", "a judgecal Parser", parser, where=where)
        self.function, self.parser, self.where = function, parser, where
        self.is_async = _is_async(function)
        self.batch_size = (
            None if batch_size is None else check_int(batch_size, "batch_size", low=1, where=where)
        )
        self.unpack = bool(unpack)
        self.output = _check_callable(output, "output", "output(response) -> answer", where)
        self.concurrency = check_int(concurrency, "concurrency", low=1, where=where)
        self.rate_limit = _check_rate_limit(rate_limit, where)
        self.timeout = (
            None
            if timeout is None
            else check_float(timeout, "timeout", low=0.0, low_open=True, where=where)
        )
        self.retries = check_int(retries, "retries", low=0, where=where)
        self.retry_on = _check_retry_on(retry_on, where)
        self.retry_unparseable = bool(retry_unparseable)
        self.backoff = check_float(backoff, "backoff", low=0.0, where=where)
        self.max_backoff = check_float(max_backoff, "max_backoff", low=0.0, where=where)
        if cache is not None and not (hasattr(cache, "get_many") and hasattr(cache, "put")):
            raise InputError("cache", "a JudgeCache, a file path or None", cache, where=where)
        self.cache = cache
        auto = getattr(function, "__qualname__", type(function).__name__)
        self.name = auto if name is None else str(name)
        self.version, self.prompt_template = str(version), str(prompt_template)
        self.params = dict(params or {})
        self._fingerprint: str | None = None
        self.key = _check_callable(key, "key", "key(item) -> JSON-serializable identity", where)
        self.on_call = _check_callable(on_call, "on_call", "on_call(event) -> dict | None", where)
        self.progress = progress
        self.rng = random.Random(seed)
        self.clock = clock

    @property
    def fingerprint(self) -> str:
        """The cache fingerprint of this judge (name, version, prompt template, parameters)."""
        if self._fingerprint is None:
            spec = {"version": self.version, "prompt_template": self.prompt_template}
            if isinstance(self.cache, JudgeCache):
                self._fingerprint = self.cache.register(self.name, params=self.params, **spec)
            else:
                self._fingerprint = fingerprint(self.name, params=self.params, **spec)
        return self._fingerprint

    @property
    def runs_inline(self) -> bool:
        """Whether a sync judge is called directly on the loop (one at a time, no timeout)."""
        return not self.is_async and self.timeout is None and self.concurrency == 1

    def delay(self, attempt: int, error: BaseException | None = None) -> float:
        """Seconds to wait before retry ``attempt``: uniform on ``[0, min(cap, base * 2**k)]``.

        An ``error`` with a ``retry_after`` of seconds (a server's Retry-After, as
        the judge clients' ``RateLimitedError`` carries) waits at least that long,
        capped at ``max_backoff``.
        """
        wait = self.rng.uniform(0.0, min(self.max_backoff, self.backoff * 2.0**attempt))
        hint = getattr(error, "retry_after", None)
        if isinstance(hint, int | float) and not isinstance(hint, bool) and math.isfinite(hint):
            wait = max(wait, min(float(hint), self.max_backoff))
        return wait

    def retryable(self, call: _Call, outcome: Outcome) -> bool:
        """Whether an attempt is worth repeating (the retry budget is checked by the caller)."""
        if call.kind == "timeout":
            return any(issubclass(TimeoutError, e) for e in self.retry_on)
        if call.exc is not None:
            return isinstance(call.exc, self.retry_on)
        single = self.batch_size is None
        return single and outcome.status == "unparseable" and self.retry_unparseable

    def parse(self, output: Any) -> Parsed:
        """Parse one answer (numpy scalars as Python values); never raises."""
        return self.parser.parse(_plain(output))

    async def execute(
        self,
        items: Sequence[Any],
        ids: Sequence[str],
        repeats: int = 1,
        *,
        refresh: set[int] | None = None,
        swallow_cancel: bool = False,
    ) -> tuple[list[list[Outcome]], RunStats]:
        """Judge every (item, sample) once; per item, one :class:`Outcome` per sample.

        ``refresh`` lists items whose cached answers are ignored (and replaced).
        With ``swallow_cancel`` a cancellation of the run (Ctrl-C under
        ``asyncio.run``) returns what finished, with ``stats.interrupted`` set,
        instead of propagating.
        """
        run = _Run(self, list(items), list(ids), repeats, refresh)
        await run.drive(swallow_cancel)
        return run.outcomes, run.stats


def _check_callable(value: Any, name: str, expected: str, where: str) -> Any:
    if value is not None and not callable(value):
        raise InputError(name, f"a callable {expected}", value, where=where)
    return value


def _check_rate_limit(value: Any, where: str) -> RateLimit | None:
    if value is None or isinstance(value, RateLimit):
        return value
    return RateLimit.per_minute(value, where=where)


def _check_retry_on(value: Any, where: str) -> tuple[type[BaseException], ...]:
    classes = value if isinstance(value, tuple) else (value,)
    if not all(isinstance(e, type) and issubclass(e, BaseException) for e in classes):
        raise InputError("retry_on", "an exception class or a tuple of them", value, where=where)
    return classes


class _Run:
    """The state of one :meth:`Engine.execute`: outcomes, stats, jobs, threads, limiter."""

    def __init__(
        self,
        engine: Engine,
        items: list[Any],
        ids: list[str],
        repeats: int,
        refresh: set[int] | None,
    ) -> None:
        self.engine, self.items, self.ids = engine, items, ids
        self.outcomes: list[list[Outcome]] = [[NOT_RUN] * repeats for _ in items]
        self.stats = RunStats()
        self.repeats, self.refresh = repeats, refresh
        self.keys: dict[Slot, str] = {}
        self.pool: _DaemonPool | None = None
        self.limiter: _Window | None = None
        self.bar: _Progress | None = None
        self.workers: list[asyncio.Task[None]] = []

    # -- plan ---------------------------------------------------------------------------------
    def plan(self) -> list[Job]:
        """Read cached answers back; group identical calls; cut the rest into jobs."""
        slots = [(i, s) for i in range(len(self.items)) for s in range(self.repeats)]
        groups: dict[Any, Group] = {}
        if self.engine.cache is None:
            groups = {slot: [slot] for slot in slots}
        else:
            fp = self.engine.fingerprint
            ident = self.engine.key or (lambda item: item)
            self.keys = {(i, s): item_key(fp, ident(self.items[i]), s) for i, s in slots}
            hits = self._cached_entries()
            for slot, key in self.keys.items():
                entry = hits.get(key)
                if entry is not None and (self.refresh is None or slot[0] not in self.refresh):
                    parsed = self.engine.parse(entry.output)
                    self._set(slot, self._outcome(parsed, entry.output, cached=True))
                    self.stats.cached += 1
                else:
                    groups.setdefault(key, []).append(slot)  # identical inputs are judged once
        todo = list(groups.values())
        size = self.engine.batch_size or 1
        return [todo[j : j + size] for j in range(0, len(todo), size)]

    def _cached_entries(self) -> dict[str, Any]:
        wanted = [
            key
            for (i, _), key in self.keys.items()
            if self.refresh is None or i not in self.refresh
        ]
        try:
            return dict(self.engine.cache.get_many(wanted))
        except Exception as exc:  # an unreadable cache: judge everything, say so once
            self._cache_failed(exc, count=0)
            return {}

    @staticmethod
    def _outcome(parsed: Parsed, output: Any, *, cached: bool = False) -> Outcome:
        score = parsed.score if parsed.status == "ok" else None
        return Outcome(parsed.status, output, score, parsed.reason or None, cached)

    def _set(self, slot: Slot, outcome: Outcome) -> None:
        self.outcomes[slot[0]][slot[1]] = outcome

    # -- drive --------------------------------------------------------------------------------
    async def drive(self, swallow_cancel: bool) -> None:
        jobs = self.plan()
        engine = self.engine
        if engine.rate_limit is not None:
            self.limiter = _Window(engine.rate_limit, engine.clock)
        show = engine.progress if engine.progress is not None else sys.stderr.isatty()
        if show and jobs:
            total = sum(len(group) for job in jobs for group in job)
            self.bar = _Progress(total, sys.stderr, engine.name[:24])
        n_workers = min(engine.concurrency, len(jobs))
        if not (engine.is_async or engine.runs_inline) and n_workers:
            self.pool = _DaemonPool(n_workers)
        queue_of_jobs = iter(jobs)
        self.workers = [
            asyncio.ensure_future(self._worker(queue_of_jobs)) for _ in range(n_workers)
        ]
        try:
            await asyncio.gather(*self.workers, return_exceptions=True)
        except asyncio.CancelledError:  # Ctrl-C under asyncio.run, or the caller cancelled
            self.stats.interrupted = True
            await self._stop_workers()
            if not swallow_cancel:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        finally:
            if self.pool is not None:
                self.pool.shutdown()
            if self.bar is not None:
                self.bar.close()

    async def _stop_workers(self) -> None:
        for worker in self.workers:
            worker.cancel()
        await asyncio.gather(*self.workers, return_exceptions=True)

    def _interrupt(self) -> None:
        """A KeyboardInterrupt reached a worker: stop taking jobs and cancel the others."""
        self.stats.interrupted = True
        current = asyncio.current_task()
        for worker in self.workers:
            if worker is not current:
                worker.cancel()

    async def _worker(self, jobs: Iterable[Job]) -> None:
        for job in jobs:
            if self.stats.interrupted:
                return
            try:
                await self._run_job(job)
            except KeyboardInterrupt:
                self._interrupt()
                return

    # -- one job: attempts, retries, record ---------------------------------------------------
    async def _run_job(self, job: Job) -> None:
        engine = self.engine
        first = [self.items[group[0][0]] for group in job]
        payload = first if engine.batch_size is not None else first[0]
        usage: dict[str, float] = {}
        attempt = 0
        while True:
            if self.limiter is not None:
                await self.limiter.acquire()
            call, outcomes = await self._attempt(job, payload, attempt, usage)
            retry = attempt < engine.retries and engine.retryable(call, outcomes[0])
            if not retry:
                break
            await asyncio.sleep(engine.delay(attempt, call.exc))
            attempt += 1
            self.stats.retries += 1
        self._record(job, outcomes, usage, answered=call.kind == "returned")

    async def _attempt(
        self, job: Job, payload: Any, attempt: int, usage: dict[str, float]
    ) -> tuple[_Call, list[Outcome]]:
        call = await self._call(payload)
        self.stats.calls += 1
        outcomes = self._answers(call, len(job))
        hook_error = self._hook(job, attempt, call, outcomes, usage)
        if hook_error is not None:  # the answer is kept, but the item is not scored or cached
            outcomes = [Outcome("error", o.output, None, hook_error) for o in outcomes]
        return call, outcomes

    def _record(
        self, job: Job, outcomes: list[Outcome], usage: dict[str, float], *, answered: bool
    ) -> None:
        for position, (group, outcome) in enumerate(zip(job, outcomes, strict=True)):
            if answered and outcome.status in ("ok", "unparseable", "refused"):
                self._store(group[0], outcome, usage if position == 0 else None)
            for slot in group:
                self._set(slot, outcome)
                if self.bar is not None:
                    self.bar.update(outcome.status)

    def _store(self, slot: Slot, outcome: Outcome, usage: dict[str, float] | None) -> None:
        cache = self.engine.cache
        if cache is None:
            return
        try:
            cache.put(
                self.keys[slot],
                self.engine.fingerprint,
                outcome.output,
                status=outcome.status,
                sample=slot[1],
                usage=usage or None,
                replace=self.refresh is not None,
            )
        except Exception as exc:  # never abort the run; counted, warned once, raised at the end
            self._cache_failed(exc, count=1)

    def _cache_failed(self, exc: Exception, *, count: int) -> None:
        self.stats.not_cached += count
        if self.stats.cache_error is None:
            self.stats.cache_error = _describe(exc)
            warnings.warn(
                f"The judge-call cache failed ({_describe(exc)}); the run goes on, and the "
                "answers not cached are counted and reported at the end.",
                CacheWriteWarning,
                stacklevel=2,
            )

    # -- one call -----------------------------------------------------------------------------
    async def _call(self, payload: Any) -> _Call:
        started = time.perf_counter()
        try:
            response = await self._invoke(payload)
            return _Call("returned", response, None, time.perf_counter() - started)
        except _ExpiredError:
            return _Call("timeout", None, None, time.perf_counter() - started)
        except KeyboardInterrupt:
            raise
        except asyncio.CancelledError as exc:
            if _being_cancelled():  # the run itself is being stopped
                raise
            return _Call("error", None, exc, time.perf_counter() - started)
        except BaseException as exc:  # the judge's failure is a status, not a crash
            return _Call("error", None, exc, time.perf_counter() - started)

    def _arguments(self, payload: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if self.engine.unpack and self.engine.batch_size is None:
            if isinstance(payload, Mapping):
                return (), dict(payload)
            if isinstance(payload, tuple | list):
                return tuple(payload), {}
        return (payload,), {}

    async def _invoke(self, payload: Any) -> Any:
        engine = self.engine
        args, kwargs = self._arguments(payload)
        deadline = None if engine.timeout is None else time.monotonic() + engine.timeout
        if engine.is_async:
            response = await self._within(engine.function(*args, **kwargs), deadline)
        elif self.pool is None:  # inline: one sync call at a time, no timeout
            response = engine.function(*args, **kwargs)
        else:
            response = await self._in_thread(lambda: engine.function(*args, **kwargs), deadline)
        if inspect.isawaitable(response):
            response = await self._within(response, deadline)
        return response

    async def _within(self, awaitable: Any, deadline: float | None) -> Any:
        task = asyncio.ensure_future(awaitable)
        try:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            done, _ = await asyncio.wait({task}, timeout=left)
        finally:
            if not task.done():
                task.cancel()
                task.add_done_callback(_consume)
        if not done:
            raise _ExpiredError
        return task.result()

    async def _in_thread(self, fn: Callable[[], Any], deadline: float | None) -> Any:
        assert self.pool is not None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        call = _ThreadCall(fn, loop, future)
        self.pool.submit(call)
        try:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            done, _ = await asyncio.wait({future}, timeout=left)
        finally:
            if not future.done() and self.pool.abandon(call):
                self.stats.abandoned += 1
        if not done:
            raise _ExpiredError
        raised, value = future.result()
        if raised:
            raise value
        return value

    # -- answers and the hook -----------------------------------------------------------------
    def _answers(self, call: _Call, size: int) -> list[Outcome]:
        """One outcome per group of the job, from what the call returned or raised."""
        if call.kind == "timeout":
            message = f"TimeoutError: no answer within {self.engine.timeout} s"
            return [Outcome("timeout", None, None, message)] * size
        if call.exc is not None:
            return [Outcome("error", None, None, _describe(call.exc))] * size
        try:
            answers = self._split(call.response, size)
            return [self._answer(answer) for answer in answers]
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # output= or a user parser failed: the whole call errs
            call.kind, call.exc = "error", exc
            return [Outcome("error", None, None, _describe(exc))] * size

    def _split(self, response: Any, size: int) -> list[Any]:
        if self.engine.batch_size is None:
            return [response]
        if isinstance(response, str | bytes | bytearray | Mapping) or not isinstance(
            response, Iterable
        ):
            raise JudgeError(
                f"a batch judge must return a list of {size} outputs, one per item; "
                f"it returned {type(response).__name__}"
            )
        answers = list(itertools.islice(response, size + 1))
        if len(answers) != size:
            got = len(answers) if len(answers) <= size else f"more than {size}"
            raise JudgeError(f"batch judge returned {got} outputs for {size} items")
        return answers

    def _answer(self, answer: Any) -> Outcome:
        if isinstance(answer, BaseException):  # a batch judge marking one item as failed
            return Outcome("error", None, None, _describe(answer))
        extract = self.engine.output
        output = _plain(answer if extract is None else extract(answer))
        return self._outcome(self.engine.parse(output), output)

    def _hook(
        self, job: Job, attempt: int, call: _Call, outcomes: list[Outcome], usage: dict[str, float]
    ) -> str | None:
        hook = self.engine.on_call
        if hook is None:
            return None
        index, sample = job[0][0]
        statuses = {o.status for o in outcomes}
        head = outcomes[0]
        event = CallEvent(
            index,
            self.ids[index],
            sample,
            attempt,
            head.status if len(statuses) == 1 else "mixed",
            call.response,
            head.error if head.status in ("error", "timeout") else None,
            call.elapsed,
            len(job),
        )
        try:
            got = {str(k): float(v) for k, v in (hook(event) or {}).items()}
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a failing hook ends this item as error; the run goes on
            return f"on_call hook raised {_describe(exc)}"
        for name, value in got.items():
            usage[name] = usage.get(name, 0.0) + value
            self.stats.usage[name] = self.stats.usage.get(name, 0.0) + value
        return None


def _consume(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log "never retrieved"


def run_sync(coro: Any) -> Any:
    """Run a coroutine to completion from sync code, even when a loop is already running.

    Inside a running loop (a notebook) the coroutine runs on a private loop in
    a daemon thread, and its result or exception is handed back.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
