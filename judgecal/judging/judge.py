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
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from judgecal._exceptions import InputError, InputTypeError, JudgeError
from judgecal._validation import FloatArray, check_stages
from judgecal.records.core import Judgment, JudgmentSet, Scale

if TYPE_CHECKING:  # pragma: no cover
    from judgecal.judging.runner import RunReport

__all__ = ["CalibratedJudge", "JudgeResult", "JudgeRun", "parse_score"]

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_LABELLED = re.compile(
    rf"\b(?:score|rating|grade|rated|answer|verdict|overall)\s*(?:is|of|=|:)?\s*\**\s*({_NUM})"
    rf"(?:\s*(?:/|out\s+of)\s*({_NUM}))?",
    re.IGNORECASE,
)
_FRACTION = re.compile(rf"^\s*({_NUM})\s*(?:/|out\s+of)\s*({_NUM})\s*\.?\s*$", re.IGNORECASE)
_BARE = re.compile(rf"^\s*\**\s*({_NUM})\s*\**\s*\.?\s*$")
_VERDICT_LABEL = re.compile(
    r"\b(?:answer|verdict|decision|judgement|judgment|output)\s*[:=]\s*\**\s*([A-Za-z]+)",
    re.IGNORECASE,
)


def parse_score(output: Any, scale: Scale) -> float | None:
    """Parse a judge's output strictly onto ``scale``; ``None`` when it cannot.

    Accepted forms: a number (``7``, ``"7.5"``), a labelled number
    (``"Score: 7"``, ``"Rating: 4 out of 5"``), a fraction whose denominator is
    the scale's top (``"7/10"``), and for verdict scales a verdict word, alone
    or labelled (``"Answer: YES"``). Two different labelled scores, a number
    off the scale, a fraction on another scale, or several different verdict
    words are unparseable: the parser never guesses.

    Examples
    --------
    >>> ten = Scale.numeric(1, 10)
    >>> parse_score("Score: 7", ten), parse_score("7/10", ten), parse_score(" 8 ", ten)
    (7.0, 7.0, 8.0)
    >>> parse_score("7/5", ten) is None, parse_score("11", ten) is None
    (True, True)
    >>> parse_score("I'd say 7 or maybe 8", ten) is None
    True
    >>> parse_score("Answer: YES", Scale.verdict("no", "yes"))
    1.0
    """
    if not isinstance(scale, Scale):
        raise InputError("scale", "a judgecal.Scale", type(scale).__name__, where="parse_score")
    if isinstance(output, bool):
        if scale.kind == "verdict" and len(scale.verdicts) == 2:
            return float(output)
        return None
    if isinstance(output, int | float | np.integer | np.floating):
        try:
            return _on_scale(float(output), scale)
        except OverflowError:  # an integer too large for a float is off every scale
            return None
    if not isinstance(output, str):
        return None
    text = output.strip()
    if not text:
        return None
    if scale.kind == "verdict":
        return _parse_verdict(text, scale)
    m = _BARE.match(text)
    if m:
        return _on_scale(float(m.group(1)), scale)
    m = _FRACTION.match(text)
    if m:
        return _fraction(m.group(1), m.group(2), scale)
    found = {
        _fraction(a, b, scale) if b else _on_scale(float(a), scale)
        for a, b in _LABELLED.findall(text)
    }
    if len(found) == 1:
        return found.pop()
    return None


def _fraction(num: str, den: str, scale: Scale) -> float | None:
    if float(den) != scale.high:
        return None
    return _on_scale(float(num), scale)


def _on_scale(v: float, scale: Scale) -> float | None:
    if not math.isfinite(v) or v < scale.low or v > scale.high:
        return None
    if scale.kind == "verdict" and not v.is_integer():
        return None
    return v


def _parse_verdict(text: str, scale: Scale) -> float | None:
    words = [v.lower() for v in scale.verdicts]
    m = _VERDICT_LABEL.search(text)
    if m and m.group(1).lower() in words:
        return float(words.index(m.group(1).lower()))
    hits = {w for w in re.findall(r"[A-Za-z]+", text.lower()) if w in words}
    if len(hits) == 1:
        return float(words.index(hits.pop()))
    return None


@dataclass(frozen=True)
class JudgeResult:
    """The outcome of one judge call."""

    raw: Any
    """What the judge returned (``None`` when it raised)."""
    score: float | None
    """The parsed score, or ``None`` when the status is not ``ok``."""
    probability: float | None
    """Calibrated P(a human would agree), or ``None`` when there is no score or no calibrator."""
    status: str
    """``ok``, ``unparseable`` or ``error`` (and ``refused``, ``timeout`` from runners)."""
    stage: str = "default"
    """Stage the item belongs to."""
    error: str | None = None
    """Exception type and message when the judge raised."""
    item_id: str | None = None
    """Identifier of the judged item, when given."""

    @property
    def ok(self) -> bool:
        """Whether the call produced a score."""
        return self.status == "ok"


@dataclass
class JudgeRun:
    """The results of judging many items, in input order."""

    results: list[JudgeResult] = field(default_factory=list)

    def status_counts(self) -> dict[str, int]:
        """How many items ended in each status (they add up to ``len(results)``)."""
        return dict(Counter(r.status for r in self.results))

    def failed(self) -> list[JudgeResult]:
        """Items without a score, to inspect or retry."""
        return [r for r in self.results if not r.ok]

    def scores(self) -> FloatArray:
        """Scores of the ``ok`` items, in order (failed items are left out, and counted)."""
        return np.asarray([r.score for r in self.results if r.ok], dtype=np.float64)

    def probabilities(self) -> FloatArray:
        """Calibrated probabilities of the ``ok`` items, in order."""
        return np.asarray([r.probability for r in self.results if r.ok], dtype=np.float64)

    def to_judgments(self, scale: Scale) -> JudgmentSet:
        """The run as a :class:`~judgecal.JudgmentSet` (failed items keep their status)."""
        out = []
        for i, r in enumerate(self.results):
            raw = (
                r.raw
                if isinstance(r.raw, str | float | int) and not isinstance(r.raw, bool)
                else None
            )
            status = (
                r.status
                if r.status in ("ok", "unparseable", "refused", "error", "timeout")
                else "error"
            )
            out.append(
                Judgment(
                    item_id=r.item_id or str(i),
                    stage=r.stage,
                    score=r.score,
                    judge_status=status,
                    judge_output=raw,
                )
            )  # type: ignore[arg-type]
        return JudgmentSet(out, scale=scale)

    def __len__(self) -> int:
        return len(self.results)


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
        self._fn: Callable[..., Any] = fn
        self.calibrator = calibrator
        self.scale = scale
        self.parser = parser or parse_score
        self.stage = stage

    def __repr__(self) -> str:
        cal = type(self.calibrator).__name__ if self.calibrator is not None else None
        return f"CalibratedJudge(judge={getattr(self._fn, '__name__', type(self.judge).__name__)}, calibrator={cal}, scale={self.scale.kind}[{self.scale.low:g}, {self.scale.high:g}])"

    # -- one call ---------------------------------------------------------------
    def _outcome(self, raw: Any) -> tuple[float | None, str]:
        from judgecal.judging.parsers import Parser

        if isinstance(self.parser, Parser):  # explicit outcomes, including "refused"
            parsed = self.parser.parse(raw)
            return parsed.score, parsed.status
        try:
            score = self.parser(raw, self.scale)
        except Exception:  # a user parser that raises means "cannot parse"
            return None, "unparseable"
        if score is None:
            return None, "unparseable"
        try:
            score = self.scale.check(float(score))
        except Exception:  # NaN, off-scale, or an object float() cannot convert: not a score
            return None, "unparseable"
        return score, "ok"

    def _call_one(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], stage: str, item_id: str | None
    ) -> JudgeResult:
        try:
            raw = self._fn(*args, **kwargs)
        except Exception as exc:  # the judge's failure is a status, not a crash
            return JudgeResult(
                raw=None,
                score=None,
                probability=None,
                status="error",
                stage=stage,
                error=f"{type(exc).__name__}: {exc}",
                item_id=item_id,
            )
        score, status = self._outcome(raw)
        return JudgeResult(
            raw=raw, score=score, probability=None, status=status, stage=stage, item_id=item_id
        )

    def __call__(
        self, *args: Any, stage: str | None = None, item_id: str | None = None, **kwargs: Any
    ) -> JudgeResult:
        """Judge one item and calibrate its score."""
        st = self.stage if stage is None else stage
        r = self._call_one(args, kwargs, st, item_id)
        return self._calibrate_results([r])[0]

    # -- many calls ---------------------------------------------------------------
    def judge_many(
        self,
        items: Iterable[Any],
        *,
        stages: str | Sequence[str] | None = None,
        item_ids: Sequence[str] | None = None,
    ) -> JudgeRun:
        """Judge every item (each passed as the single argument) and calibrate in one vectorized step."""
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
        results = [
            self._call_one((x,), {}, str(s), None if item_ids is None else str(item_ids[i]))
            for i, (x, s) in enumerate(zip(seq, sts, strict=True))
        ]
        return JudgeRun(self._calibrate_results(results))

    def run(
        self,
        items: Iterable[Any],
        *,
        ids: Sequence[Any] | None = None,
        stages: str | Sequence[str] | None = None,
        repeats: int = 1,
        aggregate: str | None = None,
        **options: Any,
    ) -> RunReport:
        """Judge many items with a :class:`~judgecal.judging.runner.JudgeRunner` built from this judge.

        ``options`` are the runner's (``concurrency``, ``rate_limit``, ``timeout``,
        ``retries``, ``retry_on``, ``cache``, ``on_call``, ...). Returns a
        :class:`~judgecal.judging.runner.RunReport` (a :class:`JudgeRun` with summary counts).

        Examples
        --------
        >>> from judgecal import IsotonicCalibrator, Scale
        >>> cal = IsotonicCalibrator().fit([1, 2, 3, 4, 5], [0, 0, 1, 1, 1])
        >>> cj = CalibratedJudge(lambda text: f"Score: {min(5, len(text))}", cal, scale=Scale.likert(5))
        >>> report = cj.run(["ok", "a longer text"], concurrency=2)
        >>> [r.score for r in report.results], report.summary()["ok"]
        ([2.0, 5.0], 2)
        """
        from judgecal.judging.runner import JudgeRunner

        return JudgeRunner(self, **options).run(
            items, ids=ids, stages=stages, repeats=repeats, aggregate=aggregate
        )  # type: ignore[arg-type]

    async def arun(
        self,
        items: Iterable[Any],
        *,
        ids: Sequence[Any] | None = None,
        stages: str | Sequence[str] | None = None,
        repeats: int = 1,
        aggregate: str | None = None,
        **options: Any,
    ) -> RunReport:
        """Async :meth:`run` with an :class:`~judgecal.judging.runner.AsyncJudgeRunner`."""
        from judgecal.judging.runner import AsyncJudgeRunner

        runner = AsyncJudgeRunner(self, **options)
        return await runner.run(items, ids=ids, stages=stages, repeats=repeats, aggregate=aggregate)  # type: ignore[arg-type]

    def calibrate(self, scores: Any, *, stages: Any = None) -> FloatArray:
        """P(a human would agree) for judge scores already in hand (vectorized)."""
        if self.calibrator is None:
            raise JudgeError(
                "This CalibratedJudge has no calibrator: pass one or call fit() first."
            )
        return np.asarray(
            self.calibrator.predict_proba(scores, stages=stages)[:, 1], dtype=np.float64
        )

    def _calibrate_results(self, results: list[JudgeResult]) -> list[JudgeResult]:
        if self.calibrator is None:
            return results
        ok = [i for i, r in enumerate(results) if r.ok]
        if not ok:
            return results
        probs = self.calibrate(
            [results[i].score for i in ok], stages=[results[i].stage for i in ok]
        )
        out = list(results)
        for i, p in zip(ok, probs, strict=True):
            r = results[i]
            out[i] = JudgeResult(
                raw=r.raw,
                score=r.score,
                probability=float(p),
                status=r.status,
                stage=r.stage,
                error=r.error,
                item_id=r.item_id,
            )
        return out

    # -- calibration from human labels ------------------------------------------------
    def fit(
        self, judgments: JudgmentSet, *, calibrator: Any = None, **targets: Any
    ) -> CalibratedJudge:
        """Fit the calibrator on the labelled, scored judgments (per stage).

        ``targets`` are passed to :meth:`JudgmentSet.targets` (``how``,
        ``threshold``, ``ties``). Judgments without a score or without labels are
        not used (and :meth:`JudgmentSet.status_counts` shows how many).
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
        if calibrator is None:
            from judgecal.calibration.stagewise import IsotonicCalibrator

            calibrator = IsotonicCalibrator()
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
