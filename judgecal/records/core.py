"""Validated judgment records: what the judge said and what humans said.

A :class:`Judgment` holds one judged item: its id, its pipeline stage, the
judge's parsed score (or why there is none), and zero or more human
:class:`Rating` s of one :data:`LabelKind`. A :class:`JudgmentSet` holds many
judgments on one judge :class:`Scale` and turns them into numpy arrays. Turning
several ratings per item into one training target is always an explicit call
(:meth:`JudgmentSet.targets`), never implicit.

Label kinds and their codes
---------------------------
``binary``
    ``0`` (the human disagrees / rejects) or ``1`` (agrees / accepts).
``ordinal``
    an integer level ``1..levels`` (a Likert rating).
``pairwise``
    ``"first"``, ``"second"`` or ``"tie"``: which of two responses the human prefers.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, overload

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from judgecal._exceptions import InputError, InputTypeError
from judgecal._validation import FloatArray, IntArray, StrArray, check_choice, check_float

__all__ = [
    "PAIRWISE_OUTCOMES",
    "STAGES",
    "Judgment",
    "JudgmentSet",
    "LabelKind",
    "Rating",
    "Scale",
]

#: The three stages of a personalization pipeline (any other string is allowed too).
STAGES: tuple[str, str, str] = ("extraction", "selection", "generation")
#: The outcomes of a pairwise human label.
PAIRWISE_OUTCOMES: tuple[str, str, str] = ("first", "second", "tie")

LabelKind = Literal["binary", "ordinal", "pairwise"]
JudgeStatus = Literal["ok", "unparseable", "refused", "error", "timeout"]
_FROZEN = ConfigDict(frozen=True, extra="forbid", strict=False)


class Scale(BaseModel):
    """The judge's output scale.

    ``numeric`` and ``likert`` scales run from ``low`` to ``high``; a ``verdict``
    scale is an ordered tuple of words, least to most favourable (for example
    ``("no", "yes")`` or ``("second", "tie", "first")``), coded ``0..k-1``.

    Examples
    --------
    >>> s = Scale.likert(5)
    >>> s.check(4), s.to_unit([1, 3, 5]).tolist()
    (4.0, [0.0, 0.5, 1.0])
    >>> Scale.verdict("no", "yes").check("YES")
    1.0
    """

    model_config = _FROZEN

    kind: Literal["numeric", "likert", "verdict"]
    """``numeric`` (any real in range), ``likert`` (levels, averages allowed) or ``verdict`` (words)."""
    low: float
    """Lowest possible score (0 for verdicts)."""
    high: float
    """Highest possible score (``len(verdicts) - 1`` for verdicts)."""
    verdicts: tuple[str, ...] = ()
    """Verdict words, least to most favourable (verdict scales only)."""

    @model_validator(mode="after")
    def _check(self) -> Scale:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(f"need finite low < high, got low={self.low}, high={self.high}")
        if self.kind == "verdict":
            if len(self.verdicts) < 2:
                raise ValueError("a verdict scale needs at least two verdicts")
            if len({v.lower() for v in self.verdicts}) != len(self.verdicts):
                raise ValueError(
                    f"verdicts must be distinct (case-insensitive), got {self.verdicts}"
                )
            if self.low != 0 or self.high != len(self.verdicts) - 1:
                raise ValueError("a verdict scale runs from 0 to len(verdicts) - 1")
        elif self.verdicts:
            raise ValueError("only verdict scales have verdicts")
        return self

    @classmethod
    def numeric(cls, low: float, high: float) -> Scale:
        """A continuous score between ``low`` and ``high``."""
        lo = check_float(low, "low", where="Scale.numeric")
        hi = check_float(high, "high", where="Scale.numeric")
        if not lo < hi:
            raise InputError("high", f"a number above low={lo:g}", high, where="Scale.numeric")
        return cls(kind="numeric", low=lo, high=hi)

    @classmethod
    def likert(cls, levels: int = 5, low: int = 1) -> Scale:
        """A Likert scale ``low..low+levels-1`` (means of several judge samples allowed)."""
        if isinstance(levels, bool) or not isinstance(levels, int) or not 2 <= levels <= 10**6:
            raise InputError("levels", "an integer in [2, 1000000]", levels, where="Scale.likert")
        if isinstance(low, bool) or not isinstance(low, int) or abs(low) > 10**15:
            raise InputError("low", "an integer (the lowest level)", low, where="Scale.likert")
        return cls(kind="likert", low=low, high=low + levels - 1)

    @classmethod
    def verdict(cls, *verdicts: str) -> Scale:
        """Verdict words ordered from least to most favourable, e.g. ``("no", "yes")``."""
        return cls(kind="verdict", low=0, high=len(verdicts) - 1, verdicts=tuple(verdicts))

    def check(self, value: Any) -> float:
        """Validate one judge output and return it as a number on this scale.

        Raises :class:`~judgecal.InputError` for NaN, off-scale numbers and unknown verdicts.
        """
        if self.kind == "verdict":
            if isinstance(value, str):
                low = [v.lower() for v in self.verdicts]
                key = value.strip().lower()
                if key in low:
                    return float(low.index(key))
                raise InputError("score", f"one of the verdicts {self.verdicts}", value)
            if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
                value, bool
            ):
                f = _as_float(value)
                if f.is_integer() and self.low <= f <= self.high:
                    return f
            raise InputError("score", f"one of the verdicts {self.verdicts} or its index", value)
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise InputError("score", f"a number in [{self.low:g}, {self.high:g}]", value)
        f = _as_float(value)
        if not math.isfinite(f) or f < self.low or f > self.high:
            raise InputError("score", f"a finite number in [{self.low:g}, {self.high:g}]", value)
        return f

    def to_unit(self, scores: Any) -> FloatArray:
        """Rescale scores linearly to [0, 1] (the raw judge read as a probability)."""
        if isinstance(scores, str | bytes) or scores is None:
            raise InputTypeError("scores", "numbers", scores, where="Scale.to_unit")
        try:
            arr = np.asarray(scores, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            raise InputTypeError("scores", "numbers", scores, where="Scale.to_unit") from None
        if not np.isfinite(arr).all():
            raise InputError(
                "scores", "finite numbers (no NaN or inf)", scores, where="Scale.to_unit"
            )
        return np.clip((arr - self.low) / (self.high - self.low), 0.0, 1.0)


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer too large for a float
        return math.inf


class Rating(BaseModel):
    """One human label of one item."""

    model_config = _FROZEN

    value: int | str
    """The label: 0/1 (binary), a level 1..K (ordinal) or first/second/tie (pairwise)."""
    rater: str | None = None
    """Who gave it, when known (several raters per item are first class)."""


class Judgment(BaseModel):
    """One judged item, with the human ratings it has (possibly none).

    Examples
    --------
    >>> j = Judgment(item_id="a1", stage="selection", score=4.0,
    ...              label_kind="binary", ratings=[Rating(value=1, rater="r1"),
    ...                                            Rating(value=0, rater="r2")])
    >>> j.n_ratings, j.stage
    (2, 'selection')
    """

    model_config = _FROZEN

    item_id: str = Field(min_length=1)
    """Identifier of the judged item."""
    stage: str = Field(default="default", min_length=1)
    """Pipeline stage (``extraction``, ``selection``, ``generation`` or any name)."""
    score: float | None
    """The judge's parsed score on the set's :class:`Scale`; ``None`` when the judge failed."""
    judge_status: JudgeStatus = "ok"
    """``ok`` when ``score`` is set; otherwise why the judge gave no score."""
    judge_output: str | float | None = None
    """The judge's raw output, kept for audit."""
    label_kind: LabelKind | None = None
    """Kind of the human ratings (required when there are ratings)."""
    levels: int | None = Field(default=None, ge=2)
    """Number of ordinal levels (ordinal labels only)."""
    ratings: tuple[Rating, ...] = ()
    """Human ratings, one per rater."""
    features: Mapping[str, float] = Field(default_factory=dict)
    """Surface features (length, mention count, ...)."""
    texts: Mapping[str, str] = Field(default_factory=dict)
    """Texts (prompt, response, ...), optional."""
    meta: Mapping[str, str] = Field(default_factory=dict)
    """Free grouping information (system, model pairing, ...)."""

    @field_validator("score")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError(f"score must be finite, got {v}")
        return v

    @field_validator("features")
    @classmethod
    def _finite_features(cls, v: Mapping[str, float]) -> Mapping[str, float]:
        for k, x in v.items():
            if not math.isfinite(x):
                raise ValueError(f"feature {k!r} must be finite, got {x}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Judgment:
        if (self.score is None) != (self.judge_status != "ok"):
            raise ValueError(
                "score must be set exactly when judge_status is 'ok' "
                f"(got score={self.score}, judge_status={self.judge_status!r})"
            )
        if self.ratings and self.label_kind is None:
            raise ValueError("label_kind is required when ratings are given")
        if self.label_kind == "ordinal" and self.levels is None:
            raise ValueError("levels is required for ordinal labels")
        if self.label_kind != "ordinal" and self.levels is not None:
            raise ValueError("levels is only for ordinal labels")
        for r in self.ratings:
            _check_rating(r.value, self.label_kind, self.levels)
        return self

    @property
    def n_ratings(self) -> int:
        """Number of human ratings."""
        return len(self.ratings)


def _check_rating(value: int | str, kind: LabelKind | None, levels: int | None) -> None:
    if kind == "binary":
        if isinstance(value, str) or value not in (0, 1):
            raise ValueError(f"a binary rating must be 0 or 1, got {value!r}")
    elif kind == "ordinal":
        assert levels is not None
        if isinstance(value, str) or not 1 <= value <= levels:
            raise ValueError(f"an ordinal rating must be an integer in 1..{levels}, got {value!r}")
    elif kind == "pairwise" and value not in PAIRWISE_OUTCOMES:
        raise ValueError(f"a pairwise rating must be one of {PAIRWISE_OUTCOMES}, got {value!r}")


TargetHow = Literal["soft", "majority", "mean"]
TiePolicy = Literal["half", "drop", "negative"]


class JudgmentSet(Sequence[Judgment]):
    """An ordered collection of :class:`Judgment` s on one judge scale.

    It is immutable; selection methods return new sets. ``problems`` lists rows a
    loader reported instead of raising (``on_error="report"``).

    Examples
    --------
    >>> js = JudgmentSet([
    ...     Judgment(item_id="a", stage="s1", score=5, label_kind="binary",
    ...              ratings=[Rating(value=1), Rating(value=1), Rating(value=0)]),
    ...     Judgment(item_id="b", stage="s1", score=2, label_kind="binary",
    ...              ratings=[Rating(value=0)]),
    ...     Judgment(item_id="c", stage="s2", score=None, judge_status="unparseable"),
    ... ], scale=Scale.likert(5))
    >>> js.status_counts()
    {'ok': 2, 'unparseable': 1}
    >>> y, w = js.scored().labelled().targets(how="soft")
    >>> y.round(3).tolist(), w.tolist()
    ([0.667, 0.0], [3.0, 1.0])
    """

    def __init__(
        self,
        judgments: Iterable[Judgment],
        *,
        scale: Scale,
        problems: Sequence[RecordProblem] = (),
    ) -> None:
        if not isinstance(scale, Scale):
            raise InputTypeError(
                "scale", "a judgecal.Scale", type(scale).__name__, where="JudgmentSet"
            )
        if isinstance(judgments, str | bytes | Mapping) or not isinstance(judgments, Iterable):
            raise InputTypeError(
                "judgments",
                "an iterable of Judgment objects",
                type(judgments).__name__,
                where="JudgmentSet",
            )
        items = tuple(judgments)
        for i, j in enumerate(items):
            if not isinstance(j, Judgment):
                raise InputError(
                    "judgments", "Judgment objects", f"{type(j).__name__} at index {i}"
                )
            if j.score is not None:
                try:
                    scale.check(j.score)
                except InputError as exc:
                    raise InputError(
                        "judgments",
                        f"scores on the scale [{scale.low:g}, {scale.high:g}]",
                        f"score {j.score!r} for item {j.item_id!r} at index {i}",
                    ) from exc
        kinds = {j.label_kind for j in items if j.ratings}
        if len(kinds) > 1:
            raise InputError("judgments", "one label kind for the whole set", sorted(kinds))
        levels = {j.levels for j in items if j.label_kind == "ordinal"}
        if len(levels) > 1:
            raise InputError("judgments", "one number of ordinal levels", sorted(levels))
        self._items = items
        self.scale = scale
        self.problems: tuple[RecordProblem, ...] = tuple(problems)
        self.label_kind: LabelKind | None = next(iter(kinds), None)
        self.levels: int | None = next(iter(levels), None)

    # Sequence protocol -------------------------------------------------------
    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> Judgment: ...
    @overload
    def __getitem__(self, index: slice) -> JudgmentSet: ...
    def __getitem__(self, index: int | slice) -> Judgment | JudgmentSet:
        if isinstance(index, slice):
            return self._subset(self._items[index])
        return self._items[index]

    def __iter__(self) -> Iterator[Judgment]:
        return iter(self._items)

    def __repr__(self) -> str:
        kind = self.label_kind or "unlabelled"
        return (
            f"JudgmentSet(n={len(self)}, stages={self.stage_names()}, labels={kind}, "
            f"scale={self.scale.kind}[{self.scale.low:g}, {self.scale.high:g}])"
        )

    def _subset(self, items: Iterable[Judgment]) -> JudgmentSet:
        return JudgmentSet(items, scale=self.scale, problems=self.problems)

    # Selections ---------------------------------------------------------------
    def take(self, indices: Any) -> JudgmentSet:
        """The judgments at the given integer positions (or a boolean mask)."""
        try:
            idx = np.asarray(indices)
        except (TypeError, ValueError):
            raise InputTypeError(
                "indices", "integer positions or a boolean mask", indices
            ) from None
        if idx.ndim != 1:
            raise InputError("indices", "a 1-D sequence of positions or a boolean mask", indices)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise InputError("indices", f"a boolean mask of length {len(self)}", idx.shape)
            idx = np.flatnonzero(idx)
        if idx.size and (
            idx.dtype.kind not in "iu" or idx.min() < -len(self) or idx.max() >= len(self)
        ):
            raise InputError("indices", f"integer positions in [0, {len(self)})", idx)
        return self._subset(self._items[int(i)] for i in idx)

    def scored(self) -> JudgmentSet:
        """Only the judgments whose judge returned a usable score."""
        return self._subset(j for j in self._items if j.score is not None)

    def labelled(self) -> JudgmentSet:
        """Only the judgments that have at least one human rating."""
        return self._subset(j for j in self._items if j.ratings)

    def unlabelled(self) -> JudgmentSet:
        """Only the judgments with no human rating."""
        return self._subset(j for j in self._items if not j.ratings)

    def stage(self, name: str) -> JudgmentSet:
        """Only the judgments of one stage."""
        _check_name(name, "stage")
        return self._subset(j for j in self._items if j.stage == name)

    # Arrays --------------------------------------------------------------------
    def scores(self) -> FloatArray:
        """Judge scores as floats; raises if any judgment has no score (use :meth:`scored`)."""
        missing = [j.item_id for j in self._items if j.score is None]
        if missing:
            raise InputError(
                "judgments",
                "judgments that all have a score (call .scored() first)",
                f"{len(missing)} without a score, e.g. item {missing[0]!r}",
            )
        return np.fromiter((j.score for j in self._items), dtype=np.float64, count=len(self))  # type: ignore[misc]

    def stages(self) -> StrArray:
        """Stage of each judgment."""
        return np.asarray([j.stage for j in self._items], dtype=str)

    def stage_names(self) -> list[str]:
        """Distinct stages in order of first appearance."""
        return list(dict.fromkeys(j.stage for j in self._items))

    def item_ids(self) -> StrArray:
        """Item id of each judgment."""
        return np.asarray([j.item_id for j in self._items], dtype=str)

    def feature(self, name: str) -> FloatArray:
        """One surface feature for every judgment (raises when an item lacks it)."""
        _check_name(name, "feature")
        out = np.empty(len(self))
        for i, j in enumerate(self._items):
            if name not in j.features:
                raise InputError(
                    "name",
                    "a feature every judgment has",
                    f"{name!r} (missing on item {j.item_id!r})",
                )
            out[i] = j.features[name]
        return out

    def meta(self, name: str) -> StrArray:
        """One meta field for every judgment (raises when an item lacks it)."""
        _check_name(name, "meta")
        vals = []
        for j in self._items:
            if name not in j.meta:
                raise InputError(
                    "name",
                    "a meta field every judgment has",
                    f"{name!r} (missing on item {j.item_id!r})",
                )
            vals.append(j.meta[name])
        return np.asarray(vals, dtype=str)

    def status_counts(self) -> dict[str, int]:
        """How many judgments ended in each judge status."""
        return dict(Counter(j.judge_status for j in self._items))

    def ratings_long(self) -> tuple[IntArray, NDArrayAny, StrArray]:
        """Every rating as its own row: ``(item_index, value, rater)``.

        Values are ints for binary and ordinal labels; pairwise outcomes are coded
        ``first=1, tie=0, second=-1``. Unknown raters are ``""``.
        """
        idx: list[int] = []
        vals: list[int] = []
        raters: list[str] = []
        code = {"first": 1, "tie": 0, "second": -1}
        for i, j in enumerate(self._items):
            for r in j.ratings:
                idx.append(i)
                vals.append(code[r.value] if isinstance(r.value, str) else int(r.value))
                raters.append(r.rater or "")
        return (
            np.asarray(idx, dtype=np.int64),
            np.asarray(vals, dtype=np.int64),
            np.asarray(raters, dtype=str),
        )

    def targets(
        self,
        *,
        how: TargetHow = "soft",
        threshold: int | None = None,
        ties: TiePolicy = "half",
    ) -> tuple[FloatArray, FloatArray]:
        """Binary calibration targets ``(y, weight)`` from the human ratings.

        What is modelled is the probability that a human rates the item
        *positively*: a ``1`` for binary labels, a level ``>= threshold`` for
        ordinal labels, ``"first"`` for pairwise labels.

        Parameters
        ----------
        how : {"soft", "majority", "mean"}
            ``soft``: the share of raters who rated positively, weighted by the
            number of raters (every rating counts once). ``majority``: 1 when most
            raters rated positively, 0 when most did not, 0.5 on an exact split;
            weight 1. For pairwise labels ``majority`` takes the most common
            outcome (first 1, second 0, tie per ``ties``; no single most common
            outcome gives 0.5). ``mean`` (ordinal only): 1 when the mean rating is at least
            ``threshold``; weight 1.
        threshold : int, optional
            Ordinal labels only: the lowest level that counts as positive.
        ties : {"half", "drop", "negative"}
            Pairwise labels only: a tie counts as half a preference for the
            first response, is left out (an item whose ratings are all ties gets
            weight 0, it is not removed), or counts as not preferring it.

        Returns
        -------
        y : ndarray of float in [0, 1]
        weight : ndarray of float >= 0
        """
        where = "JudgmentSet.targets"
        check_choice(how, "how", ("soft", "majority", "mean"), where=where)
        check_choice(ties, "ties", ("half", "drop", "negative"), where=where)
        unl = [j.item_id for j in self._items if not j.ratings]
        if unl:
            raise InputError(
                "judgments",
                "judgments that all have ratings (call .labelled() first)",
                f"{len(unl)} without ratings, e.g. item {unl[0]!r}",
                where=where,
            )
        kind = self.label_kind
        if kind == "ordinal":
            assert self.levels is not None
            if (
                threshold is None
                or isinstance(threshold, bool)
                or not isinstance(threshold, int)
                or not 2 <= threshold <= self.levels
            ):
                raise InputError(
                    "threshold",
                    f"an integer level in 2..{self.levels} for ordinal labels",
                    threshold,
                    where=where,
                )
        elif threshold is not None:
            raise InputError("threshold", "None unless labels are ordinal", threshold, where=where)
        if how == "mean" and kind != "ordinal":
            raise InputError("how", "'soft' or 'majority' for non-ordinal labels", how, where=where)
        n = len(self)
        y = np.empty(n)
        w = np.empty(n)
        for i, j in enumerate(self._items):
            vals = [r.value for r in j.ratings]
            if kind == "ordinal" and how == "mean":
                y[i] = float(np.mean([float(v) for v in vals]) >= threshold)  # type: ignore[operator]
                w[i] = 1.0
                continue
            if kind == "pairwise" and how == "majority":
                top = Counter(vals).most_common()
                if len(top) > 1 and top[0][1] == top[1][1]:
                    y[i], w[i] = 0.5, 1.0  # no plurality outcome
                elif top[0][0] == "tie":
                    y[i] = 0.0 if ties == "negative" else 0.5
                    w[i] = 0.0 if ties == "drop" else 1.0
                else:
                    y[i], w[i] = float(top[0][0] == "first"), 1.0
                continue
            pos: list[float] = []
            for v in vals:
                if kind == "binary":
                    pos.append(float(v))
                elif kind == "ordinal":
                    pos.append(float(v >= threshold))  # type: ignore[operator]
                elif v == "tie":
                    if ties == "half":
                        pos.append(0.5)
                    elif ties == "negative":
                        pos.append(0.0)
                else:
                    pos.append(float(v == "first"))
            if not pos:
                y[i], w[i] = 0.5, 0.0
                continue
            share = float(np.mean(pos))
            if how == "soft":
                y[i], w[i] = share, float(len(pos))
            else:
                y[i] = 1.0 if share > 0.5 else 0.0 if share < 0.5 else 0.5
                w[i] = 1.0
        return y, w


def _check_name(name: Any, where: str) -> None:
    if not isinstance(name, str):
        raise InputTypeError("name", "a string", name, where=f"JudgmentSet.{where}")


NDArrayAny = np.ndarray  # type: ignore[type-arg]


class RecordProblem(BaseModel):
    """A row a loader could not turn into a :class:`Judgment` (``on_error="report"``)."""

    model_config = _FROZEN

    row: int
    """Row number in the source (1-based data rows; the header is row 0)."""
    field: str
    """The offending field."""
    expected: str
    """What was expected."""
    got: str
    """What came in."""

    def __str__(self) -> str:
        return (
            f"Row {self.row}: field {self.field!r} must be {self.expected}. Got {self.got} instead."
        )
