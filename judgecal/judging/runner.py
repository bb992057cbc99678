"""Run a judge over many items: bounded concurrency, rate limits, timeouts, retries, a cache.

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

Both runners call the judge through the one :class:`~judgecal.judging.engine.Engine`
(as do :meth:`CalibratedJudge.__call__ <judgecal.CalibratedJudge.__call__>` and
:meth:`~judgecal.CalibratedJudge.judge_many`). Two exceptions carry a finished
report: :class:`RunInterrupted` (Ctrl-C; a :class:`KeyboardInterrupt`) and
:class:`UncachedResultsError` (the cache failed to store some answers; a
:class:`~judgecal.PersistenceError`). Both have ``.report``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from judgecal._exceptions import InputError, InputTypeError, JudgeError
from judgecal._validation import check_choice, check_int, check_stages
from judgecal.judging._results import JudgeResult, JudgeRun
from judgecal.judging.cache import JudgeCache
from judgecal.judging.engine import (
    NOT_RUN,
    CallEvent,
    Engine,
    Outcome,
    RateLimit,
    RunInterrupted,
    RunStats,
    UncachedResultsError,
    run_sync,
)
from judgecal.judging.parsers import Parser, as_parser
from judgecal.records.core import Scale
from judgecal.vocabulary import STATUSES, check_order_policy

__all__ = [
    "AsyncJudgeRunner",
    "CallEvent",
    "JudgeRunner",
    "RateLimit",
    "RunInterrupted",
    "RunReport",
    "UncachedResultsError",
]

Aggregate = Literal["mean", "majority", "distribution"]
PairPolicy = Literal["tie", "first", "drop", "exclude"]


@runtime_checkable
class WrappedJudge(Protocol):
    """What the runners take from a :class:`~judgecal.CalibratedJudge` (or anything shaped so)."""

    @property
    def function(self) -> Callable[..., Any]:
        """The callable that answers."""

    @property
    def outcome_parser(self) -> Parser:
        """The parser with explicit outcomes."""

    calibrator: Any
    scale: Scale
    stage: str


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
    abandoned: int = 0
    """Sync calls given up on (timed out or interrupted) whose threads were left running."""
    not_cached: int = 0
    """Answers the cache failed to store (the run raised ``UncachedResultsError``)."""
    cache_error: str | None = field(default=None, repr=False)
    """The first cache failure's message, when there was one."""
    interrupted: bool = False
    """Whether Ctrl-C stopped the run (the run raised ``RunInterrupted``)."""

    def __repr__(self) -> str:
        return (
            f"RunReport(n={len(self.results)}, {self.status_counts()}, calls={self.calls}, "
            f"cached={self.cached})"
        )

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
            abandoned=self.abandoned,
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
        "The 'judge' parameter must be a callable, an object with a judge() method, or an "
        f"object and method='name'. Got {type(judge).__name__} instead."
    )


def _open_cache(cache: Any, where: str) -> tuple[Any, bool]:
    """The cache object, and whether the runner opened it (and so must close it)."""
    if cache is None or isinstance(cache, JudgeCache):
        return cache, False
    if isinstance(cache, str) or hasattr(cache, "__fspath__"):
        return JudgeCache(cache), True
    if hasattr(cache, "get_many") and hasattr(cache, "put"):  # a cache-shaped object
        return cache, False
    raise InputError("cache", "a JudgeCache, a file path or None", cache, where=where)


class _RunnerBase:
    """Configuration shared by :class:`JudgeRunner` and :class:`AsyncJudgeRunner`; calls go
    through one :class:`~judgecal.judging.engine.Engine`."""

    _sync = False

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
        self.stage = "default"
        if isinstance(judge, WrappedJudge):
            scale = judge.scale if scale is None else scale
            calibrator = judge.calibrator if calibrator is None else calibrator
            parser = judge.outcome_parser if parser is None else parser
            self.stage = judge.stage
            fn = judge.function
            auto_name = getattr(fn, "__qualname__", type(fn).__name__)
        else:
            fn, auto_name = _resolve_judge(judge, method)
        self.judge = judge
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
        cache, self._owns_cache = _open_cache(cache, where)
        self.engine = Engine(
            fn,
            self.parser,
            where=where,
            batch_size=batch_size,
            unpack=unpack,
            output=output,
            concurrency=concurrency,
            rate_limit=rate_limit,
            timeout=timeout,
            retries=retries,
            retry_on=retry_on,
            retry_unparseable=retry_unparseable,
            backoff=backoff,
            max_backoff=max_backoff,
            cache=cache,
            name=auto_name if name is None else name,
            version=version,
            prompt_template=prompt_template,
            params=params,
            key=key,
            on_call=on_call,
            progress=progress,
            seed=seed,
            clock=clock,
        )

    def __repr__(self) -> str:
        extra = f", cache={self.cache!r}" if self.cache is not None else ""
        return (
            f"{type(self).__name__}({self.name}, {self.parser!r}, "
            f"concurrency={self.concurrency}{extra})"
        )

    # what the engine was configured with, read-only
    @property
    def name(self) -> str:
        """The judge's name (in the cache fingerprint and the progress bar)."""
        return self.engine.name

    @property
    def cache(self) -> Any:
        """The judge-call cache, or ``None``."""
        return self.engine.cache

    @property
    def concurrency(self) -> int:
        """Calls the run waits on at once (never exceeded)."""
        return self.engine.concurrency

    @property
    def rate_limit(self) -> RateLimit | None:
        """The rate limit, or ``None``."""
        return self.engine.rate_limit

    @property
    def timeout(self) -> float | None:
        """Seconds per call, or ``None``."""
        return self.engine.timeout

    @property
    def retries(self) -> int:
        """Extra attempts allowed per call."""
        return self.engine.retries

    @property
    def fingerprint(self) -> str:
        """The cache fingerprint of this judge (name, version, prompt template, parameters)."""
        return self.engine.fingerprint

    def close(self) -> None:
        """Close the cache connections, when this runner opened the cache from a path."""
        if self._owns_cache and self.cache is not None:
            self.cache.close()

    def _delay(self, attempt: int) -> float:
        return self.engine.delay(attempt)

    def _finish(self, report: RunReport) -> RunReport:
        """Raise what the run must say (interrupted, answers not cached); else the report."""
        if report.interrupted:
            finished = sum(r.error != NOT_RUN.error for r in report.results)
            path = getattr(self.cache, "path", None)
            raise RunInterrupted(
                report,
                finished=finished,
                total=len(report.results),
                cache_path=None if path is None else str(path),
            )
        if report.not_cached:
            raise UncachedResultsError(
                report,
                not_cached=report.not_cached,
                total=len(report.results) * report.repeats,
                reason=report.cache_error or "unknown",
            )
        return report

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
        self, units: list[Outcome], stage: str, item_id: str, agg: str
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
        units, stats = await self.engine.execute(
            seq,
            id_list,
            repeats,
            refresh=set(range(len(seq))) if refresh else None,
            swallow_cancel=self._sync,
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
            elapsed=time.perf_counter() - t0,
            repeats=repeats,
            aggregate=agg,
            items=seq,
            stages=st,
            **_stats_fields(stats),
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
        policy = check_order_policy(policy, where=where)
        seq = _as_list(pairs, "pairs", where)
        swap = _check_swap(seq, swap, where)
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
        counts = Counter[str]()
        results = [
            self._pair_result(both.results[i], both.results[n + i], policy, counts)
            for i in range(n)
        ]
        results = [replace(r, stage=st[i], item_id=fwd_ids[i]) for i, r in enumerate(results)]
        judged = counts["consistent"] + counts["inconsistent"]
        summary = {
            "policy": policy,
            "consistent": counts["consistent"],
            "inconsistent": counts["inconsistent"],
            "incomplete": counts["incomplete"],
            "consistency": counts["consistent"] / judged if judged else None,
        }
        fields = {k: getattr(both, k) for k in _STAT_FIELDS}
        return RunReport(
            self._calibrate(results, [], "majority"),
            samples=[[both.results[i], both.results[n + i]] for i in range(n)],
            elapsed=both.elapsed,
            repeats=repeats,
            aggregate="majority",
            pairwise=summary,
            items=seq,
            stages=st,
            swap=swap,
            **fields,
        )

    def _pair_result(
        self, shown: JudgeResult, swapped: JudgeResult, policy: str, counts: Counter[str]
    ) -> JudgeResult:
        """One pair from its two orders (the swapped verdict mapped back: first <-> second)."""
        raw = (shown.raw, swapped.raw)
        if not shown.ok or not swapped.ok:
            bad = shown if not shown.ok else swapped
            counts["incomplete"] += 1
            return JudgeResult(raw, None, None, bad.status, error=bad.error)
        top = self.scale.high
        verdict, back = float(shown.score or 0.0), top - float(swapped.score or 0.0)
        if verdict == back:
            counts["consistent"] += 1
            return JudgeResult(raw, verdict, None, "ok")
        counts["inconsistent"] += 1
        words = self.scale.verdicts
        if policy == "drop":
            msg = (
                f"inconsistent across presentation orders: {words[int(verdict)]} vs "
                f"{words[int(back)]} (swapped back)"
            )
            return JudgeResult(raw, None, None, "unparseable", error=msg)
        return JudgeResult(raw, top / 2.0 if policy == "tie" else verdict, None, "ok")

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
        return _merge(report, idx, sub)


def _merge(report: RunReport, idx: list[int], sub: RunReport) -> RunReport:
    """``report`` with the items at ``idx`` replaced by the retry ``sub``; counts added up."""
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
        abandoned=report.abandoned + sub.abandoned,
        not_cached=sub.not_cached,
        cache_error=sub.cache_error,
        interrupted=sub.interrupted,
    )


_STAT_FIELDS = (
    "calls",
    "cached",
    "retries",
    "usage",
    "abandoned",
    "not_cached",
    "cache_error",
    "interrupted",
)


def _check_swap(
    pairs: list[Any], swap: Callable[[Any], Any] | None, where: str
) -> Callable[[Any], Any]:
    if swap is not None:
        if not callable(swap):
            raise InputError("swap", "a callable swap(pair) -> swapped pair", swap, where=where)
        return swap
    for index, pair in enumerate(pairs):
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise InputError(
                "pairs",
                "(first, second) 2-tuples, or pass swap=",
                f"{type(pair).__name__} at index {index}",
                where=where,
            )
    return _swap_tuple


def _stats_fields(stats: RunStats) -> dict[str, Any]:
    return {
        "calls": stats.calls,
        "cached": stats.cached,
        "retries": stats.retries,
        "usage": stats.usage,
        "abandoned": stats.abandoned,
        "not_cached": stats.not_cached,
        "cache_error": stats.cache_error,
        "interrupted": stats.interrupted,
    }


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
        The judge's output scale (not needed when ``parser`` is a
        :class:`~judgecal.judging.parsers.Parser` or ``judge`` is a
        :class:`~judgecal.CalibratedJudge`).
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
        Calls the run waits on at once (never exceeded). A sync call that timed
        out is abandoned: its daemon thread runs on until the judge returns, but
        no longer counts (``RunReport.abandoned`` says how many).
    rate_limit : float or RateLimit, optional
        Calls per minute (a number) or ``RateLimit(calls, period)``.
    timeout : float, optional
        Seconds per call; a call that takes longer ends as ``timeout`` (a judge
        that itself raises ``TimeoutError`` ends as ``error``).
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
        Resumable judge-call cache; finished calls are never redone. A failing
        cache never stops a run: a :class:`~judgecal.judging.engine.CacheWriteWarning`
        at the first failure, then :class:`UncachedResultsError` at the end, with
        the complete report as ``.report``.
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

    Sync judges run on ``concurrency`` daemon threads (inline when
    ``concurrency=1`` and there is no timeout); async judges run on a private
    event loop. Ctrl-C stops the run and raises :class:`RunInterrupted`, which
    carries the report of what finished.
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

    _sync = True

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
        report = run_sync(
            self._arun(items, ids=ids, stages=stages, repeats=repeats, aggregate=aggregate)
        )
        return self._finish(report)

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
        ``"first"`` (keep the verdict of the original order) or ``"drop"`` (no
        score; status ``unparseable`` with the reason); the words are
        :data:`judgecal.vocabulary.ORDER_POLICIES` (0.1's ``"exclude"`` still means
        ``"drop"``, with a :class:`DeprecationWarning`). ``report.pairwise`` has the
        counts and the order-consistency rate. Pairs are ``(first, second)`` tuples,
        or anything with a ``swap`` function.

        Examples
        --------
        >>> from judgecal import parsers
        >>> def biased(pair):                 # prefers the longer answer, else the first shown
        ...     a, b = pair
        ...     return "first" if len(a) >= len(b) else "second"
        >>> runner = JudgeRunner(biased, parser=parsers.pairwise())
        >>> r = runner.run_pairwise([("long answer", "short"), ("same", "size")])
        >>> [x.score for x in r.results], r.pairwise["consistency"]
        ([2.0, 1.0], 0.5)
        >>> r.pairwise["inconsistent"], r.pairwise["policy"]
        (1, 'tie')
        """
        policy = check_order_policy(policy, where="JudgeRunner.run_pairwise")  # type: ignore[assignment]
        report = run_sync(
            self._arun_pairwise(
                pairs, ids=ids, stages=stages, swap=swap, policy=policy, repeats=repeats
            )
        )
        return self._finish(report)

    def retry(self, report: RunReport, *, refresh: bool = True) -> RunReport:
        """Judge again only the failed items of ``report``; return the merged report.

        With ``refresh`` (default), failed items are re-asked even when their
        unparseable answer is in the cache, and the new answer replaces it.
        """
        return self._finish(run_sync(self._aretry(report, refresh=refresh)))


class AsyncJudgeRunner(_RunnerBase):
    """Run a judge over many items from async code (see the module docstring).

    Async judges are awaited on the caller's event loop; sync judges run in a
    ``concurrency`` daemon threads, so they never block the loop.
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
        report = await self._arun(
            items, ids=ids, stages=stages, repeats=repeats, aggregate=aggregate
        )
        return self._finish(report)

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
        policy = check_order_policy(policy, where="AsyncJudgeRunner.run_pairwise")  # type: ignore[assignment]
        report = await self._arun_pairwise(
            pairs, ids=ids, stages=stages, swap=swap, policy=policy, repeats=repeats
        )
        return self._finish(report)

    async def retry(self, report: RunReport, *, refresh: bool = True) -> RunReport:
        """Judge again only the failed items; see :meth:`JudgeRunner.retry`."""
        return self._finish(await self._aretry(report, refresh=refresh))


def _as_list(values: Any, name: str, where: str) -> list[Any]:
    """``list(values)`` for an iterable that is not a string; an InputError otherwise."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InputTypeError(
            name, "an iterable of items (a list, a generator, ...)", values, where=where
        )
    return list(values)
