"""What a judge call ends in: :class:`JudgeResult` (one item) and :class:`JudgeRun` (many).

Kept apart from :mod:`judgecal.judging.judge` so that the runner, the
calibrated judge and the engine all use them without importing each other.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from judgecal._validation import FloatArray
from judgecal.records.core import Judgment, JudgmentSet, Scale
from judgecal.vocabulary import STATUSES

__all__ = ["JudgeResult", "JudgeRun"]


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
