"""Wrap any judge so that its outputs become calibrated probabilities.

A *judge* is anything callable that returns a number or a text (an LLM call,
a local model, a rule). :class:`CalibratedJudge` calls it, parses the output
strictly onto a :class:`~judgecal.Scale`, and maps the score through a fitted
calibrator to P(a human would agree). Every call ends in a status:

``ok``
    a score was parsed and calibrated.
``unparseable``
    the judge answered, but not with a score on the scale (garbage, out of
    range, two conflicting scores). Never turned into a score.
``error``
    the judge raised an exception; the message is kept.

Failed items are counted in :meth:`JudgeRun.status_counts` and listed in
:meth:`JudgeRun.failed`; they never enter an average as a 0.

One call and many calls go through the same engine as the runners
(:mod:`judgecal.judging.engine`): ``judge_many`` accepts the runner options
(``concurrency``, ``timeout``, ``retries``, ``retry_on``, ``cache``, ...), and
by default calls the judge once at a time, with no timeout and no cache. A sync
judge called that way runs on the engine's event loop, so it must not start an
event loop of its own (``asyncio.run`` inside the judge): pass the async
function instead, or ``concurrency=2``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from judgecal._exceptions import InputError, InputTypeError, JudgeError
from judgecal._validation import FloatArray, check_stages
from judgecal.judging._results import JudgeResult, JudgeRun
from judgecal.judging.parsers import Parser, parse_score
from judgecal.judging.runner import Aggregate, AsyncJudgeRunner, JudgeRunner, RunReport
from judgecal.records.core import JudgmentSet, Scale

__all__ = ["CalibratedJudge", "JudgeResult", "JudgeRun", "parse_score"]


class CalibratedJudge:
    """A judge whose scores become calibrated probabilities that a human would agree.

    Parameters
    ----------
    judge : callable
        Called as ``judge(item)`` (or ``judge(*args, **kwargs)`` via ``__call__``);
        returns a number or a text to parse. An object with a ``judge`` or
        ``__call__`` method works too.
    calibrator : fitted judgecal calibrator, optional
        Maps scores to probabilities. Without one (or before :meth:`fit`),
        results carry scores but ``probability=None``.
    scale : Scale
        The judge's output scale.
    parser : callable, optional
        ``parser(output, scale) -> float | None``; defaults to :func:`parse_score`.
    stage : str
        Default stage of judged items.

    Examples
    --------
    >>> from judgecal import IsotonicCalibrator, Scale
    >>> def judge(text):          # a stand-in for an LLM call
    ...     return f"Score: {min(5, 1 + len(text) // 10)}"
    >>> cal = IsotonicCalibrator().fit([1, 2, 3, 4, 5], [0, 0, 1, 1, 1])
    >>> cj = CalibratedJudge(judge, cal, scale=Scale.likert(5))
    >>> r = cj("a fairly long answer here")
    >>> r.status, r.score, round(r.probability, 3)
    ('ok', 3.0, 0.857)
    >>> run = cj.judge_many(["short", "x" * 60, None])
    >>> run.status_counts()
    {'ok': 2, 'error': 1}
    """

    def __init__(
        self,
        judge: Any,
        calibrator: Any = None,
        *,
        scale: Scale,
        parser: Callable[[Any, Scale], float | None] | None = None,
        stage: str = "default",
    ) -> None:
        if not isinstance(scale, Scale):
            raise InputError(
                "scale", "a judgecal.Scale", type(scale).__name__, where="CalibratedJudge"
            )
        fn = judge if callable(judge) else getattr(judge, "judge", None)
        if not callable(fn):
            raise JudgeError(
                f"The 'judge' parameter of CalibratedJudge must be a callable or an object with a "
                f"judge() method. Got {type(judge).__name__} instead."
            )
        if calibrator is not None and not hasattr(calibrator, "predict_proba"):
            raise InputError(
                "calibrator",
                "a calibrator with predict_proba",
                type(calibrator).__name__,
                where="CalibratedJudge",
            )
        if parser is not None and not callable(parser):
            raise InputError(
                "parser",
                "a callable parser(output, scale) -> float | None",
                parser,
                where="CalibratedJudge",
            )
        if not isinstance(stage, str) or not stage:
            raise InputError("stage", "a non-empty stage name", stage, where="CalibratedJudge")
        self.judge = judge
        self._function: Callable[..., Any] = fn
        self.calibrator = calibrator
        self.scale = scale
        self.parser = parser or parse_score
        self.stage = stage

    def __repr__(self) -> str:
        cal = type(self.calibrator).__name__ if self.calibrator is not None else None
        name = getattr(self._function, "__name__", type(self.judge).__name__)
        scale = f"{self.scale.kind}[{self.scale.low:g}, {self.scale.high:g}]"
        return f"CalibratedJudge(judge={name}, calibrator={cal}, scale={scale})"

    @property
    def function(self) -> Callable[..., Any]:
        """The callable that answers: ``judge`` itself, or its ``judge()`` method."""
        return self._function

    @property
    def outcome_parser(self) -> Parser:
        """``parser`` as a :class:`~judgecal.judging.parsers.Parser` with explicit outcomes.

        A :class:`~judgecal.judging.parsers.Parser` is used as it is (and may
        report ``refused``); a plain ``parser(output, scale)`` function reports
        ``ok`` or ``unparseable`` only.
        """
        if isinstance(self.parser, Parser):
            return self.parser
        name = getattr(self.parser, "__name__", "custom")
        return Parser(self.scale, self.parser, name=name, detect_refusal=False)

    def _runner(self, judge: Any, options: dict[str, Any]) -> JudgeRunner:
        settings = {"concurrency": 1, "progress": False, **options}
        if judge is self:
            return JudgeRunner(self, **settings)
        return JudgeRunner(
            judge,
            scale=self.scale,
            parser=self.outcome_parser,
            calibrator=self.calibrator,
            **settings,
        )

    # -- one call ---------------------------------------------------------------------------
    def __call__(
        self, *args: Any, stage: str | None = None, item_id: str | None = None, **kwargs: Any
    ) -> JudgeResult:
        """Judge one item and calibrate its score (a run of one item through the engine).

        Raises
        ------
        RunInterrupted
            On Ctrl-C (a :class:`KeyboardInterrupt`).
        """
        function = self._function
        judge: Any = self
        item: Any = args[0] if len(args) == 1 else None
        if len(args) != 1 or kwargs:
            judge = functools.wraps(function)(lambda _: function(*args, **kwargs))
        stages = [self.stage if stage is None else stage]
        report = self._runner(judge, {}).run([item], stages=stages)
        return replace(report.results[0], item_id=item_id)

    # -- many calls -------------------------------------------------------------------------
    def judge_many(
        self,
        items: Iterable[Any],
        *,
        stages: str | Sequence[str] | None = None,
        item_ids: Sequence[str] | None = None,
        **options: Any,
    ) -> RunReport:
        """Judge every item (each passed as the single argument), then calibrate in one step.

        ``options`` are the runner's (``concurrency``, ``timeout``, ``retries``,
        ``retry_on``, ``rate_limit``, ``cache``, ``name``, ``on_call``, ...; see
        :class:`~judgecal.JudgeRunner`); by default one call at a time, no
        timeout, no retries, no cache. Returns a
        :class:`~judgecal.judging.runner.RunReport` (a :class:`JudgeRun`).

        Raises
        ------
        RunInterrupted
            On Ctrl-C, with the results so far.
        UncachedResultsError
            When a ``cache`` failed to store some answers, with every result.
        """
        if isinstance(items, str | bytes) or not isinstance(items, Iterable):
            raise InputTypeError(
                "items", "an iterable of items to judge", type(items).__name__, where="judge_many"
            )
        seq = list(items)
        if item_ids is not None and (
            isinstance(item_ids, str | bytes) or not isinstance(item_ids, Sequence)
        ):
            raise InputTypeError(
                "item_ids", "a sequence of ids, one per item", item_ids, where="judge_many"
            )
        sts = check_stages(self.stage if stages is None else stages, len(seq), where="judge_many")
        if item_ids is not None and len(item_ids) != len(seq):
            raise InputError(
                "item_ids",
                f"one id per item ({len(seq)})",
                f"{len(item_ids)} ids",
                where="judge_many",
            )
        report = self._runner(self, options).run(seq, ids=item_ids, stages=sts.tolist())
        if item_ids is None:  # results carry an id only when one was given
            report.results = [replace(r, item_id=None) for r in report.results]
        return report

    def run(
        self,
        items: Iterable[Any],
        *,
        ids: Sequence[Any] | None = None,
        stages: str | Sequence[str] | None = None,
        repeats: int = 1,
        aggregate: Aggregate | None = None,
        **options: Any,
    ) -> RunReport:
        """Judge many items with a :class:`~judgecal.JudgeRunner` built from this judge.

        ``options`` are the runner's (``concurrency``, ``rate_limit``, ``timeout``,
        ``retries``, ``retry_on``, ``cache``, ``on_call``, ...). Returns a
        :class:`~judgecal.judging.runner.RunReport` (a :class:`JudgeRun` with summary counts).

        Examples
        --------
        >>> from judgecal import IsotonicCalibrator, Scale
        >>> cal = IsotonicCalibrator().fit([1, 2, 3, 4, 5], [0, 0, 1, 1, 1])
        >>> def judge(text):
        ...     return f"Score: {min(5, len(text))}"
        >>> cj = CalibratedJudge(judge, cal, scale=Scale.likert(5))
        >>> report = cj.run(["ok", "a longer text"], concurrency=2)
        >>> [r.score for r in report.results], report.summary()["ok"]
        ([2.0, 5.0], 2)
        """
        return JudgeRunner(self, **options).run(
            items, ids=ids, stages=stages, repeats=repeats, aggregate=aggregate
        )

    async def arun(
        self,
        items: Iterable[Any],
        *,
        ids: Sequence[Any] | None = None,
        stages: str | Sequence[str] | None = None,
        repeats: int = 1,
        aggregate: Aggregate | None = None,
        **options: Any,
    ) -> RunReport:
        """Async :meth:`run` with an :class:`~judgecal.judging.runner.AsyncJudgeRunner`."""
        runner = AsyncJudgeRunner(self, **options)
        return await runner.run(items, ids=ids, stages=stages, repeats=repeats, aggregate=aggregate)

    def calibrate(self, scores: Any, *, stages: Any = None) -> FloatArray:
        """P(a human would agree) for judge scores already in hand (vectorized)."""
        if self.calibrator is None:
            raise JudgeError(
                "This CalibratedJudge has no calibrator: pass one or call fit() first."
            )
        return np.asarray(
            self.calibrator.predict_proba(scores, stages=stages)[:, 1], dtype=np.float64
        )

    # -- calibration from human labels ------------------------------------------------
    def fit(
        self, judgments: JudgmentSet, *, calibrator: Any = None, **targets: Any
    ) -> CalibratedJudge:
        """Fit the calibrator on the labelled, scored judgments (per stage).

        ``targets`` are passed to :meth:`JudgmentSet.targets` (``how``,
        ``threshold``, ``ties``). Judgments without a score or without labels are
        not used (and :meth:`JudgmentSet.status_counts` shows how many). Without a
        calibrator the default is :class:`~judgecal.ShrinkageCalibrator`: the raw
        judge on this judge's scale, recalibrated only as far as the labels show it
        is miscalibrated (it does no harm to a judge that is already calibrated).
        """
        if not isinstance(judgments, JudgmentSet):
            raise InputError(
                "judgments",
                "a judgecal.JudgmentSet",
                type(judgments).__name__,
                where="CalibratedJudge.fit",
            )
        if calibrator is None:
            calibrator = self.calibrator
        if calibrator is None:  # the do-no-harm default (issue 15): raw judge unless shown wrong
            from judgecal.calibration.default import ShrinkageCalibrator

            calibrator = ShrinkageCalibrator(score_range=(self.scale.low, self.scale.high))
        use = judgments.scored().labelled()
        if len(use) == 0:
            raise InputError(
                "judgments",
                "at least one scored judgment with human ratings",
                "none",
                where="CalibratedJudge.fit",
            )
        y, w = use.targets(**targets)
        calibrator.fit(use.scores(), y, w, stages=use.stages())
        self.calibrator = calibrator
        return self
