"""What a judge call ends in: :class:`JudgeResult` (one item) and :class:`JudgeRun` (many).

Kept apart from :mod:`judgecal.judging.judge` so that the runner, the
calibrated judge and the engine all use them without importing each other.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from judgecal._exceptions import MissingDependencyError
from judgecal._validation import FloatArray
from judgecal.records.core import Judgment, JudgmentSet, Scale
from judgecal.vocabulary import STATUSES

__all__ = ["JudgeResult", "JudgeRun"]

BoolArray = NDArray[np.bool_]


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
    """``ok``, ``unparseable``, ``refused``, ``error`` or ``timeout``."""
    stage: str = "default"
    """Stage the item belongs to."""
    error: str | None = None
    """Exception type and message when the judge raised (or why the output did not parse)."""
    item_id: str | None = None
    """Identifier of the judged item, when given."""

    @property
    def ok(self) -> bool:
        """Whether the call produced a score."""
        return self.status == "ok"


@dataclass
class JudgeRun:
    """The results of judging many items, in input order.

    :meth:`scores` and :meth:`probabilities` have one entry per input item
    (NaN where the call failed), :meth:`ok_mask` says which items were
    scored, and :meth:`to_frame` gives all of it as a pandas ``DataFrame``.
    """

    results: list[JudgeResult] = field(default_factory=list)

    def status_counts(self) -> dict[str, int]:
        """How many items ended in each status (they add up to ``len(results)``)."""
        return dict(Counter(r.status for r in self.results))

    def failed(self) -> list[JudgeResult]:
        """Items without a score, to inspect or retry."""
        return [r for r in self.results if not r.ok]

    def ok_mask(self) -> BoolArray:
        """``True`` where the call produced a score, one entry per input item.

        Examples
        --------
        >>> failed = JudgeResult(None, None, None, "error")
        >>> run = JudgeRun([JudgeResult("4", 4.0, 0.7, "ok"), failed])
        >>> run.ok_mask().tolist()
        [True, False]
        """
        return np.asarray([r.ok for r in self.results], dtype=bool)

    def scores(self) -> FloatArray:
        """The parsed score of every item, in input order; NaN where the call failed.

        The array is aligned with the inputs (``len(run)`` entries). A failed
        item (status other than ``ok``) is NaN, never a number: select the
        scored items with :meth:`ok_mask`, and count the failures with
        :meth:`status_counts`.

        Examples
        --------
        >>> failed = JudgeResult(None, None, None, "error")
        >>> run = JudgeRun([JudgeResult("4", 4.0, 0.7, "ok"), failed])
        >>> run.scores().tolist()
        [4.0, nan]
        >>> run.scores()[run.ok_mask()].tolist()
        [4.0]
        """
        return np.asarray(
            [np.nan if r.score is None else r.score for r in self.results], dtype=np.float64
        )

    def probabilities(self) -> FloatArray:
        """Calibrated P(a human would agree) of every item, in input order; NaN where missing.

        Aligned with the inputs like :meth:`scores`: NaN for an item whose call
        failed (or when the judge has no calibrator), so ``run.probabilities()[i]``
        always belongs to input ``i``. Use ``np.nanmean`` or :meth:`ok_mask`
        for averages over the scored items.

        Examples
        --------
        >>> failed = JudgeResult(None, None, None, "error")
        >>> run = JudgeRun([JudgeResult("4", 4.0, 0.7, "ok"), failed])
        >>> run.probabilities().tolist()
        [0.7, nan]
        """
        return np.asarray(
            [np.nan if r.probability is None else r.probability for r in self.results],
            dtype=np.float64,
        )

    def to_frame(self) -> Any:
        """The run as a pandas ``DataFrame``, one row per input item, in input order.

        Columns: ``item_id``, ``stage``, ``status``, ``raw``, ``score``,
        ``probability`` (NaN where missing) and ``error``. pandas is imported
        here only; without it a :class:`~judgecal.MissingDependencyError` says
        what to install.

        Examples
        --------
        >>> failed = JudgeResult(None, None, None, "error")
        >>> run = JudgeRun([JudgeResult("4", 4.0, 0.7, "ok"), failed])
        >>> frame = run.to_frame()
        >>> frame[["status", "score"]].to_dict("list")
        {'status': ['ok', 'error'], 'score': [4.0, nan]}
        """
        try:
            import pandas as pd
        except ImportError as exc:
            raise MissingDependencyError(
                "JudgeRun.to_frame needs pandas, which is not installed: pip install 'pandas>=2.1'"
            ) from exc
        return pd.DataFrame(
            {
                "item_id": [r.item_id for r in self.results],
                "stage": [r.stage for r in self.results],
                "status": [r.status for r in self.results],
                "raw": [r.raw for r in self.results],
                "score": self.scores(),
                "probability": self.probabilities(),
                "error": [r.error for r in self.results],
            }
        )

    def to_judgments(self, scale: Scale) -> JudgmentSet:
        """The run as a :class:`~judgecal.JudgmentSet` (failed items keep their status)."""
        out = []
        for index, result in enumerate(self.results):
            raw = result.raw
            if not isinstance(raw, str | float | int) or isinstance(raw, bool):
                raw = None
            status = result.status if result.status in STATUSES else "error"
            out.append(
                Judgment(
                    item_id=result.item_id or str(index),
                    stage=result.stage,
                    score=result.score,
                    judge_status=status,  # type: ignore[arg-type]
                    judge_output=raw,
                )
            )
        return JudgmentSet(out, scale=scale)

    def __len__(self) -> int:
        return len(self.results)
