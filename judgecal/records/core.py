"""Validated judgment records: what the judge said and what humans said.

A :class:`Judgment` holds one judged item: its id, its pipeline stage, the
judge's parsed score (or why there is none), and zero or more human
:class:`Rating` s of one :data:`LabelKind`. A :class:`JudgmentSet` holds many
judgments on one judge :class:`Scale` and turns them into numpy arrays. Turning
several ratings per item into one training target is always an explicit call
(:meth:`JudgmentSet.targets`), never implicit.

Every invalid record raises :class:`RecordValidationError` (a
:class:`~judgecal.RecordError`, so also a ``ValueError``) naming the record
class, the field, what was expected and what came in; pydantic's own
``ValidationError`` never escapes.

Label kinds and their codes
---------------------------
``binary``
    ``0`` (the human disagrees / rejects) or ``1`` (agrees / accepts).
``ordinal``
    an integer level ``1..levels`` (a Likert rating).
``pairwise``
    one of :data:`judgecal.vocabulary.PAIRWISE_OUTCOMES` (``"second"``,
    ``"tie"``, ``"first"``): which of two responses the human prefers. As a
    calibration target ``first`` is 1, ``second`` is 0 and a tie follows the tie
    policy (``ties=``, see :mod:`judgecal.vocabulary`).

Names
-----
Item ids, stage names, rater ids and meta values may not hold control
characters (NUL, tab, newline, ...): numpy's string arrays drop trailing NULs,
so ``"a\\0"`` and ``"a"`` would silently become one item, stage or rater. They
are refused where a record is made, with a message that says so.

One rater rates an item once: a :class:`Judgment` whose ratings name the same
rater twice is refused (anonymous ratings, ``rater=None``, are distinct people).
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from judgecal._exceptions import InputError, InputTypeError, RecordError
from judgecal._validation import (
    NAME_TEXT,
    FloatArray,
    IntArray,
    StrArray,
    Verbatim,
    check_choice,
    check_float,
    check_int,
    has_control_characters,
)
from judgecal.records._store import KINDS, Panel, Store, compact_stages, store_from_items
from judgecal.vocabulary import (
    PAIRWISE_CODES,
    PAIRWISE_OUTCOMES,
    STATUSES,
    JudgeStatus,
    check_ties,
)

__all__ = [
    "PAIRWISE_OUTCOMES",
    "STAGES",
    "JudgeStatus",
    "Judgment",
    "JudgmentSet",
    "LabelKind",
    "Rating",
    "RecordProblem",
    "RecordValidationError",
    "Scale",
]

#: The three stages of a personalization pipeline (any other string is allowed too).
STAGES: tuple[str, str, str] = ("extraction", "selection", "generation")

LabelKind = Literal["binary", "ordinal", "pairwise"]
_FROZEN = ConfigDict(frozen=True, extra="forbid", strict=False)


class RecordValidationError(RecordError):
    """A record built in code is invalid.

    Like :class:`~judgecal.RecordError` it names the field, what was expected
    and what came in; ``row`` holds the record class instead of a row number.

    Examples
    --------
    >>> try:
    ...     Rating(value=1.5)
    ... except RecordValidationError as err:
    ...     print(err)
    Rating: field 'value' must be an integer label (0/1, or a level 1..K) or ... Got 1.5 instead.
    """

    def __init__(self, row: int | str, field: str, expected: str, got: Any):
        super().__init__(row, field, expected, got)
        self.args = (str(self).removeprefix("Row "),)


def _invalid(field: str, expected: str, got: Any) -> PydanticCustomError:
    """An error raised inside a validator, turned into a RecordValidationError on the way out."""
    return PydanticCustomError(
        "judgecal_record",
        "{field} must be {expected}",
        {"field": field, "expected": expected, "got": got},
    )


#: What a field must be, for pydantic's own type errors on it.
_EXPECTED: dict[str, str] = {
    "item_id": f"a non-empty string: {NAME_TEXT}",
    "stage": f"a non-empty string: {NAME_TEXT}",
    "rater": f"None or a non-empty string: {NAME_TEXT}",
    "score": "a finite number, or None when the judge gave no score",
    "levels": "None or an integer >= 2 (ordinal labels only)",
    "low": "a finite number",
    "high": "a finite number",
}


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<record>"


def _as_record_error(record: str, exc: ValidationError, fields: Iterable[str]) -> RecordError:
    """The first error of a pydantic ``ValidationError`` as a judgecal error."""
    err = exc.errors(include_url=False)[0]
    ctx = err.get("ctx") or {}
    if err["type"] == "judgecal_record":
        return RecordValidationError(record, ctx["field"], ctx["expected"], ctx["got"])
    field = _location(err["loc"])
    leaf = next((p for p in reversed(err["loc"]) if isinstance(p, str)), "")
    if err["type"] == "missing":
        return RecordValidationError(record, field, "given (it is required)", Verbatim("nothing"))
    if err["type"] == "extra_forbidden":
        expected = f"one of the fields of {record} ({', '.join(fields)})"
        return RecordValidationError(record, field, expected, Verbatim(f"{field}={err['input']!r}"))
    msg = str(err["msg"])
    expected = _EXPECTED.get(leaf) or msg.removeprefix("Input should be ").removeprefix(
        "Value error, "
    )
    return RecordValidationError(record, field, expected, err["input"])


class _Record(BaseModel):
    """A frozen pydantic model whose validation errors are judgecal errors."""

    model_config = _FROZEN

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _as_record_error(type(self).__name__, exc, type(self).model_fields) from None

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Validate a mapping or object (errors are :class:`RecordValidationError`)."""
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            raise _as_record_error(cls.__name__, exc, cls.model_fields) from None

    @classmethod
    def model_validate_json(cls, json_data: Any, *args: Any, **kwargs: Any) -> Any:
        """Validate a JSON document (errors are :class:`RecordValidationError`)."""
        try:
            return super().model_validate_json(json_data, *args, **kwargs)
        except ValidationError as exc:
            raise _as_record_error(cls.__name__, exc, cls.model_fields) from None


def _check_name(value: str, field: str) -> str:
    if has_control_characters(value):
        raise _invalid(field, NAME_TEXT, value)
    return value


class Scale(_Record):
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
    >>> Scale.verdict("only")
    Traceback (most recent call last):
    ...
    judgecal.records.core.RecordValidationError: Scale: field 'verdicts' must be at least two ...
    """

    kind: Literal["numeric", "likert", "verdict"]
    """``numeric`` (any real in range), ``likert`` (levels, means allowed) or ``verdict``."""
    low: float
    """Lowest possible score (0 for verdicts)."""
    high: float
    """Highest possible score (``len(verdicts) - 1`` for verdicts)."""
    verdicts: tuple[str, ...] = ()
    """Verdict words, least to most favourable (verdict scales only)."""

    @model_validator(mode="after")
    def _check(self) -> Scale:
        if self.kind == "verdict":
            words = {v.strip().lower() for v in self.verdicts}
            if len(self.verdicts) < 2 or len(words) != len(self.verdicts) or "" in words:
                raise _invalid("verdicts", "at least two distinct words", self.verdicts)
            if self.low != 0 or self.high != len(self.verdicts) - 1:
                raise _invalid("high", "len(verdicts) - 1, with low 0", (self.low, self.high))
        elif self.verdicts:
            raise _invalid("verdicts", "empty unless kind='verdict'", self.verdicts)
        if not math.isfinite(self.low):
            raise _invalid("low", "a finite number", self.low)
        if not (math.isfinite(self.high) and self.low < self.high):
            raise _invalid("high", f"a finite number above low={self.low:g}", self.high)
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
        n_levels = check_int(levels, "levels", low=2, high=10**6, where="Scale.likert")
        lowest = check_int(low, "low", low=-(10**15), high=10**15, where="Scale.likert")
        return cls(kind="likert", low=lowest, high=lowest + n_levels - 1)

    @classmethod
    def verdict(cls, *verdicts: str) -> Scale:
        """Verdict words ordered from least to most favourable, e.g. ``("no", "yes")``."""
        return cls(kind="verdict", low=0, high=max(len(verdicts) - 1, 1), verdicts=verdicts)

    def check(self, value: Any) -> float:
        """Validate one judge output and return it as a number on this scale.

        Raises :class:`~judgecal.InputError` for NaN, off-scale numbers and unknown verdicts.
        """
        if self.kind == "verdict":
            return self._check_verdict(value)
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
            raise InputError("score", f"a number in [{self.low:g}, {self.high:g}]", value)
        number = _as_float(value)
        if not math.isfinite(number) or number < self.low or number > self.high:
            raise InputError("score", f"a finite number in [{self.low:g}, {self.high:g}]", value)
        return number

    def _check_verdict(self, value: Any) -> float:
        if isinstance(value, str):
            words = [v.lower() for v in self.verdicts]
            key = value.strip().lower()
            if key in words:
                return float(words.index(key))
            raise InputError("score", f"one of the verdicts {self.verdicts}", value)
        if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
            number = _as_float(value)
            if number.is_integer() and self.low <= number <= self.high:
                return number
        raise InputError("score", f"one of the verdicts {self.verdicts} or its index", value)

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


_RATING_VALUE = (
    f"an integer label (0/1, or a level 1..K) or a pairwise outcome {tuple(PAIRWISE_OUTCOMES)}"
)


class Rating(_Record):
    """One human label of one item.

    Examples
    --------
    >>> import numpy as np
    >>> Rating(value=np.int64(1), rater="r1")
    Rating(value=1, rater='r1')
    """

    value: int | str
    """The label: 0/1 (binary), a level 1..K (ordinal) or second/tie/first (pairwise)."""
    rater: str | None = Field(default=None, min_length=1)
    """Who gave it, when known (several raters per item are first class)."""

    @field_validator("value", mode="before")
    @classmethod
    def _label_value(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
            number = _as_float(value)
            if number.is_integer():
                return int(value) if isinstance(value, numbers.Integral) else int(number)
        raise _invalid("value", _RATING_VALUE, value)

    @field_validator("rater")
    @classmethod
    def _rater_name(cls, value: str | None) -> str | None:
        return None if value is None else _check_name(value, "rater")


class Judgment(_Record):
    """One judged item, with the human ratings it has (possibly none).

    Examples
    --------
    >>> j = Judgment(item_id="a1", stage="selection", score=4.0,
    ...              label_kind="binary", ratings=[Rating(value=1, rater="r1"),
    ...                                            Rating(value=0, rater="r2")])
    >>> j.n_ratings, j.stage
    (2, 'selection')
    >>> Judgment(item_id="a1", score=4.0, label_kind="binary",
    ...          ratings=[Rating(value=1, rater="r1"), Rating(value=0, rater="r1")])
    Traceback (most recent call last):
    ...
    judgecal.records.core.RecordValidationError: Judgment: field 'ratings' must be one rating ...
    """

    item_id: str = Field(min_length=1)
    """Identifier of the judged item (no control characters)."""
    stage: str = Field(default="default", min_length=1)
    """Pipeline stage (``extraction``, ``selection``, ``generation`` or any name)."""
    score: float | None
    """The judge's parsed score on the set's :class:`Scale`; ``None`` when the judge failed."""
    judge_status: JudgeStatus = "ok"
    """``ok`` when ``score`` is set; otherwise why the judge gave no score
    (:data:`judgecal.vocabulary.STATUSES`)."""
    judge_output: str | float | None = None
    """The judge's raw output, kept for audit."""
    label_kind: LabelKind | None = None
    """Kind of the human ratings (required when there are ratings)."""
    levels: int | None = Field(default=None, ge=2)
    """Number of ordinal levels (ordinal labels only)."""
    ratings: tuple[Rating, ...] = ()
    """Human ratings, at most one per named rater."""
    features: Mapping[str, float] = Field(default_factory=dict)
    """Surface features (length, mention count, ...)."""
    texts: Mapping[str, str] = Field(default_factory=dict)
    """Texts (prompt, response, ...), optional."""
    meta: Mapping[str, str] = Field(default_factory=dict)
    """Free grouping information (system, model pairing, ...)."""

    @field_validator("item_id", "stage")
    @classmethod
    def _names(cls, value: str, info: Any) -> str:
        return _check_name(value, str(info.field_name))

    @field_validator("score")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise _invalid("score", _EXPECTED["score"], value)
        return value

    @field_validator("features")
    @classmethod
    def _finite_features(cls, value: Mapping[str, float]) -> Mapping[str, float]:
        for name, number in value.items():
            if not math.isfinite(number):
                raise _invalid(f"features[{name!r}]", "a finite number", number)
        return value

    @field_validator("meta")
    @classmethod
    def _meta_names(cls, value: Mapping[str, str]) -> Mapping[str, str]:
        for name, text in value.items():
            _check_name(text, f"meta[{name!r}]")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Judgment:
        if (self.score is None) != (self.judge_status != "ok"):
            got = Verbatim(f"score={self.score!r} with judge_status={self.judge_status!r}")
            raise _invalid("score", "set exactly when judge_status is 'ok'", got)
        if self.ratings and self.label_kind is None:
            raise _invalid("label_kind", "given when ratings are given", None)
        if self.label_kind == "ordinal" and self.levels is None:
            raise _invalid("levels", "an integer >= 2 for ordinal labels", None)
        if self.label_kind != "ordinal" and self.levels is not None:
            raise _invalid("levels", "None unless label_kind='ordinal'", self.levels)
        for index, rating in enumerate(self.ratings):
            _check_rating(rating.value, self.label_kind, self.levels, index)
        _check_one_rating_per_rater(self.ratings, self.item_id)
        return self

    @property
    def n_ratings(self) -> int:
        """Number of human ratings."""
        return len(self.ratings)


def _check_rating(value: int | str, kind: LabelKind | None, levels: int | None, index: int) -> None:
    field = f"ratings[{index}].value"
    if kind == "binary" and (isinstance(value, str) or value not in (0, 1)):
        raise _invalid(field, "0 or 1 (a binary rating)", value)
    if kind == "ordinal" and (isinstance(value, str) or not 1 <= value <= (levels or 0)):
        raise _invalid(field, f"an integer level in 1..{levels} (an ordinal rating)", value)
    if kind == "pairwise" and value not in PAIRWISE_OUTCOMES:
        raise _invalid(field, f"one of {PAIRWISE_OUTCOMES} (a pairwise rating)", value)


def _check_one_rating_per_rater(ratings: Sequence[Rating], item_id: str) -> None:
    seen: set[str] = set()
    for rating in ratings:
        if rating.rater is None:
            continue
        if rating.rater in seen:
            got = Verbatim(f"rater {rating.rater!r} rates item {item_id!r} twice")
            raise _invalid("ratings", "one rating per rater", got)
        seen.add(rating.rater)


TargetHow = Literal["soft", "majority", "mean"]
#: The tie policies :meth:`JudgmentSet.targets` accepts (see :mod:`judgecal.vocabulary`).
TargetTies = Literal["half", "drop", "loss"]
_TARGET_TIES: tuple[str, ...] = ("half", "drop", "loss")
#: Target of each pairwise outcome before the tie policy: first 1, second 0, tie 0.5.
_PAIRWISE_TARGET = np.array([0.0, 0.5, 1.0])  # indexed by the vocabulary's code


class JudgmentSet(Sequence[Judgment]):
    """An ordered collection of :class:`Judgment` s on one judge scale, stored as columns.

    It is immutable; selection methods return new sets. ``problems`` lists rows a
    loader reported instead of raising (``on_error="report"``). The set holds
    one array per field (scores, statuses, stage codes, ragged ratings with
    rater codes, features, texts, meta); a :class:`Judgment` is built only when
    one is asked for (indexing or iteration), so the loaders can validate and
    keep millions of rows without one Python object per row.

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
    >>> js[1].item_id, js[-1].judge_status
    ('b', 'unparseable')
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
        store = store_from_items(items)
        bad = _off_scale(store.scores, scale)
        if bad is not None:
            j = items[bad]
            try:
                scale.check(j.score)
            except InputError as exc:
                raise InputError(
                    "judgments",
                    f"scores on the scale [{scale.low:g}, {scale.high:g}]",
                    f"score {j.score!r} for item {j.item_id!r} at index {bad}",
                ) from exc
        kinds = {j.label_kind for j in items if j.ratings}
        if len(kinds) > 1:
            raise InputError("judgments", "one label kind for the whole set", sorted(kinds))
        levels = {j.levels for j in items if j.label_kind == "ordinal"}
        if len(levels) > 1:
            raise InputError("judgments", "one number of ordinal levels", sorted(levels))
        self._init(store, scale, problems, next(iter(levels), None))

    def _init(
        self, store: Store, scale: Scale, problems: Sequence[RecordProblem], levels: int | None
    ) -> None:
        self._store = store
        self.scale = scale
        self.problems: tuple[RecordProblem, ...] = tuple(problems)
        labelled = store.kind_codes[store.offsets[1:] > store.offsets[:-1]]
        codes = np.flatnonzero(np.bincount(labelled, minlength=len(KINDS)))
        self.label_kind: LabelKind | None = KINDS[int(codes[0])] if codes.size else None  # type: ignore[assignment]
        has_ordinal = bool((store.kind_codes == KINDS.index("ordinal")).any())
        self.levels: int | None = levels if has_ordinal else None

    @classmethod
    def _from_store(
        cls,
        store: Store,
        *,
        scale: Scale,
        problems: Sequence[RecordProblem] = (),
        levels: int | None = None,
    ) -> JudgmentSet:
        """A set over validated columns (the loaders' fast path; nothing is checked)."""
        out = cls.__new__(cls)
        out._init(store, scale, problems, levels)
        return out

    # Sequence protocol -------------------------------------------------------
    def __len__(self) -> int:
        return len(self._store)

    @overload
    def __getitem__(self, index: int) -> Judgment: ...
    @overload
    def __getitem__(self, index: slice) -> JudgmentSet: ...
    def __getitem__(self, index: int | slice) -> Judgment | JudgmentSet:
        if isinstance(index, slice):
            return self._subset(np.arange(len(self), dtype=np.int64)[index])
        position = operator.index(index)
        if not -len(self) <= position < len(self):
            raise IndexError(f"JudgmentSet index {position} out of range (length {len(self)})")
        return self._view(position % len(self))

    def __iter__(self) -> Iterator[Judgment]:
        return (self._view(i) for i in range(len(self)))

    def __repr__(self) -> str:
        kind = self.label_kind or "unlabelled"
        return (
            f"JudgmentSet(n={len(self)}, stages={self.stage_names()}, labels={kind}, "
            f"scale={self.scale.kind}[{self.scale.low:g}, {self.scale.high:g}])"
        )

    def _view(self, i: int) -> Judgment:
        """The :class:`Judgment` at position ``i`` (built from the columns, not validated again)."""
        st = self._store
        kind = KINDS[int(st.kind_codes[i])]
        start, stop = int(st.offsets[i]), int(st.offsets[i + 1])
        ratings = tuple(
            Rating.model_construct(
                value=PAIRWISE_OUTCOMES[int(v)] if kind == "pairwise" else int(v),
                rater=None if r < 0 else st.rater_names[int(r)],
            )
            for v, r in zip(
                st.rating_values[start:stop].tolist(),
                st.rater_codes[start:stop].tolist(),
                strict=True,
            )
        )
        status = STATUSES[int(st.status_codes[i])]
        return Judgment.model_construct(
            item_id=st.id_at(i),
            stage=st.stage_names[int(st.stage_codes[i])],
            score=float(st.scores[i]) if status == "ok" else None,
            judge_status=status,  # type: ignore[arg-type]
            judge_output=st.output_at(i),
            label_kind=kind,  # type: ignore[arg-type]
            levels=self.levels if kind == "ordinal" else None,
            ratings=ratings,
            features={k: float(v[i]) for k, v in st.features.items() if not np.isnan(v[i])},
            texts={k: v[i] for k, v in st.texts.items() if v[i] is not None},
            meta={k: v[i] for k, v in st.meta.items() if v[i] is not None},
        )

    def _subset(self, idx: IntArray) -> JudgmentSet:
        store = compact_stages(self._store.take(np.asarray(idx, dtype=np.int64)))
        return JudgmentSet._from_store(
            store, scale=self.scale, problems=self.problems, levels=self.levels
        )

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
        idx = idx.astype(np.int64) if idx.size else np.zeros(0, dtype=np.int64)
        return self._subset(np.where(idx < 0, idx + len(self), idx))

    def scored(self, judge: str | None = None) -> JudgmentSet:
        """Only the judgments whose judge returned a usable score.

        With a judge panel, ``judge`` names the judge whose score must be there
        (default: the main judge, the panel's first).
        """
        return self._subset(np.flatnonzero(self._statuses(judge) == 0))

    def labelled(self) -> JudgmentSet:
        """Only the judgments that have at least one human rating."""
        return self._subset(np.flatnonzero(self._store.n_ratings() > 0))

    def unlabelled(self) -> JudgmentSet:
        """Only the judgments with no human rating."""
        return self._subset(np.flatnonzero(self._store.n_ratings() == 0))

    def stage(self, name: str) -> JudgmentSet:
        """Only the judgments of one stage."""
        _check_name_arg(name, "stage")
        names = self._store.stage_names
        code = names.index(name) if name in names else -1
        return self._subset(np.flatnonzero(self._store.stage_codes == code))

    # Judge panels ---------------------------------------------------------------
    @property
    def judges(self) -> tuple[str, ...]:
        """Names of the judges of a panel, main judge first (``()`` for a single judge)."""
        panel = self._store.panel
        return () if panel is None else panel.names

    def panel_scores(self) -> FloatArray:
        """The panel's scores, shape ``(n, k)``: one column per judge, NaN where a judge gave none.

        This is the judge-signal matrix ``X`` that panel calibrators take; keep
        the rows every judge scored with
        ``js.take(~np.isnan(js.panel_scores()).any(axis=1))``.
        """
        panel = self._store.panel
        if panel is None:
            expected = "a set loaded with a judge panel (judges= or score_cols=)"
            raise InputError("judgments", expected, "a set with one judge", where="panel_scores")
        return panel.scores.copy()

    def _judge_position(self, judge: str | None) -> int | None:
        if judge is None:
            return None
        if not isinstance(judge, str) or judge not in self.judges:
            expected = f"one of the set's judges {self.judges}" if self.judges else "None"
            raise InputError("judge", expected, judge, where="JudgmentSet")
        return self.judges.index(judge)

    def _statuses(self, judge: str | None) -> NDArray[np.int8]:
        position = self._judge_position(judge)
        if position is None:
            return self._store.status_codes
        assert self._store.panel is not None
        return self._store.panel.statuses[:, position]

    def _with_panel(self, panel: Panel) -> JudgmentSet:
        return JudgmentSet._from_store(
            replace(self._store, panel=panel),
            scale=self.scale,
            problems=self.problems,
            levels=self.levels,
        )

    # Arrays --------------------------------------------------------------------
    def scores(self, judge: str | None = None) -> FloatArray:
        """Judge scores as floats; raises if any judgment has no score (use :meth:`scored`).

        ``judge`` names one judge of a panel (default: the main judge).
        """
        position = self._judge_position(judge)
        missing = np.flatnonzero(self._statuses(judge) != 0)
        if missing.size:
            call = ".scored()" if judge is None else f".scored(judge={judge!r})"
            raise InputError(
                "judgments",
                f"judgments that all have a score (call {call} first)",
                f"{missing.size} without a score, e.g. item {self._store.id_at(int(missing[0]))!r}",
            )
        if position is None:
            return self._store.scores.copy()
        assert self._store.panel is not None
        return self._store.panel.scores[:, position].copy()

    def stages(self) -> StrArray:
        """Stage of each judgment."""
        names = np.asarray(self._store.stage_names or ("",), dtype=str)
        if not len(self):
            return np.asarray([], dtype=str)
        return names[self._store.stage_codes]

    def stage_names(self) -> list[str]:
        """Distinct stages in order of first appearance."""
        return list(self._store.stage_names)

    def item_ids(self) -> StrArray:
        """Item id of each judgment."""
        return self._store.ids_as_str()

    def feature(self, name: str) -> FloatArray:
        """One surface feature for every judgment (raises when an item lacks it)."""
        _check_name_arg(name, "feature")
        column = self._store.features.get(name)
        missing = np.isnan(column) if column is not None else np.ones(len(self), dtype=bool)
        if missing.any():
            first = self._store.id_at(int(np.flatnonzero(missing)[0]))
            got = f"{name!r} (missing on item {first!r})"
            raise InputError("name", "a feature every judgment has", got)
        return np.zeros(0) if column is None else column.copy()

    def meta(self, name: str) -> StrArray:
        """One meta field for every judgment (raises when an item lacks it)."""
        _check_name_arg(name, "meta")
        column = self._store.meta.get(name)
        if column is None:
            missing = np.ones(len(self), dtype=bool)
        else:
            missing = np.fromiter((v is None for v in column), bool, len(self))
        if missing.any():
            first = self._store.id_at(int(np.flatnonzero(missing)[0]))
            got = f"{name!r} (missing on item {first!r})"
            raise InputError("name", "a meta field every judgment has", got)
        return np.asarray([] if column is None else column, dtype=str)

    def status_counts(self, judge: str | None = None) -> dict[str, int]:
        """How many judgments ended in each judge status (in order of first appearance).

        ``judge`` names one judge of a panel (default: the main judge).
        """
        codes, first, counts = np.unique(
            self._statuses(judge), return_index=True, return_counts=True
        )
        order = np.argsort(first)
        return {STATUSES[int(codes[k])]: int(counts[k]) for k in order}

    def ratings_long(
        self, *, coding: Literal["vocabulary"] = "vocabulary"
    ) -> tuple[IntArray, IntArray, StrArray]:
        """Every rating as its own row: ``(item_index, value, rater)``.

        Values are ints for binary and ordinal labels. Pairwise outcomes are
        coded with the one coding of :mod:`judgecal.vocabulary`
        (``second=0, tie=1, first=2``; 0.1 used ``first=1, tie=0, second=-1``
        here). Unknown raters are ``""`` (a named rater is never ``""``).

        Examples
        --------
        >>> js = JudgmentSet([Judgment(item_id="a", score=2.0, label_kind="pairwise",
        ...     ratings=[Rating(value="first"), Rating(value="tie", rater="r2")])],
        ...     scale=Scale.verdict("second", "tie", "first"))
        >>> [v.tolist() for v in js.ratings_long(coding="vocabulary")]
        [[0, 0], [2, 1], ['', 'r2']]
        """
        check_choice(coding, "coding", ("vocabulary",), where="JudgmentSet.ratings_long")
        st = self._store
        names = np.asarray((*st.rater_names, ""), dtype=str)
        return st.rating_items, st.rating_values.astype(np.int64), names[st.rater_codes]

    def targets(
        self,
        *,
        how: TargetHow = "soft",
        threshold: int | None = None,
        ties: TargetTies = "half",
    ) -> tuple[FloatArray, FloatArray]:
        """Binary calibration targets ``(y, weight)`` from the human ratings.

        What is modelled is the probability that a human rates the item
        *positively*: a ``1`` for binary labels, a level ``>= threshold`` for
        ordinal labels, ``"first"`` for pairwise labels. Pairwise outcomes map to
        targets in one way everywhere: ``first`` is 1, ``second`` is 0, and a tie
        follows ``ties``.

        Parameters
        ----------
        how : {"soft", "majority", "mean"}
            ``soft``: the share of raters who rated positively, weighted by the
            number of raters (every rating counts once). ``majority``: 1 when most
            raters rated positively, 0 when most did not, 0.5 on an exact split;
            weight 1. For pairwise labels ``majority`` takes the most common
            outcome (first 1, second 0, tie per ``ties``; no single most common
            outcome gives 0.5). ``mean`` (ordinal only): 1 when the mean rating
            is at least ``threshold``; weight 1.
        threshold : int, optional
            Ordinal labels only: the lowest level that counts as positive (a
            Python or numpy integer, or a float with an integral value).
        ties : {"half", "drop", "loss"}
            Pairwise labels only (tie policies of :mod:`judgecal.vocabulary`): a
            tie counts as half a preference for the first response, is left out
            (an item whose ratings are all ties gets weight 0, it is not
            removed), or counts as not preferring it. ``"negative"`` (0.1's name
            for ``"loss"``) still works with a :class:`DeprecationWarning`.

        Returns
        -------
        y : ndarray of float in [0, 1]
        weight : ndarray of float >= 0

        Examples
        --------
        >>> js = JudgmentSet([Judgment(item_id="a", score=2.0, label_kind="pairwise",
        ...     ratings=[Rating(value="first"), Rating(value="tie")])],
        ...     scale=Scale.verdict("second", "tie", "first"))
        >>> [js.targets(ties=t)[0].tolist() for t in ("half", "drop", "loss")]
        [[0.75], [1.0], [0.5]]
        """
        ties = check_ties(ties, where="JudgmentSet.targets", allowed=_TARGET_TIES)  # type: ignore[assignment]
        level = self._check_target_args(how, threshold)
        item, codes, _ = self.ratings_long(coding="vocabulary")
        n = len(self)
        if how == "mean":
            return _mean_targets(item, codes, n, level)
        if self.label_kind == "pairwise" and how == "majority":
            return _pairwise_majority(item, codes, n, ties)
        positive, weight = _rating_targets(self.label_kind, codes, level, ties)
        return _aggregate(item, positive, weight, n, how)

    def _check_target_args(self, how: Any, threshold: Any) -> int:
        """Validate ``how`` and ``threshold``; the threshold as an int (0 unless ordinal)."""
        where = "JudgmentSet.targets"
        check_choice(how, "how", ("soft", "majority", "mean"), where=where)
        unlabelled = np.flatnonzero(self._store.n_ratings() == 0)
        if unlabelled.size:
            first = self._store.id_at(int(unlabelled[0]))
            raise InputError(
                "judgments",
                "judgments that all have ratings (call .labelled() first)",
                f"{unlabelled.size} without ratings, e.g. item {first!r}",
                where=where,
            )
        if how == "mean" and self.label_kind != "ordinal":
            raise InputError("how", "'soft' or 'majority' for non-ordinal labels", how, where=where)
        if self.label_kind != "ordinal":
            if threshold is not None:
                raise InputError(
                    "threshold", "None unless labels are ordinal", threshold, where=where
                )
            return 0
        assert self.levels is not None
        if threshold is None:
            raise InputError(
                "threshold",
                f"an integer level in 2..{self.levels} for ordinal labels",
                None,
                where=where,
            )
        return check_int(threshold, "threshold", low=2, high=self.levels, where=where,
                         integral_float=True)  # fmt: skip


def _rating_targets(
    kind: LabelKind | None, codes: IntArray, level: int, ties: str
) -> tuple[FloatArray, FloatArray]:
    """Per rating: how positive it is and its weight (0 for a dropped tie)."""
    weight = np.ones(codes.size)
    if kind == "binary":
        return codes.astype(np.float64), weight
    if kind == "ordinal":
        return (codes >= level).astype(np.float64), weight
    positive = _PAIRWISE_TARGET[codes] if codes.size else np.zeros(0)
    is_tie = codes == PAIRWISE_CODES["tie"]
    if ties == "loss":
        positive[is_tie] = 0.0
    elif ties == "drop":
        weight[is_tie] = 0.0
    return positive, weight


def _aggregate(
    item: IntArray, positive: FloatArray, weight: FloatArray, n: int, how: str
) -> tuple[FloatArray, FloatArray]:
    """Per item: the weighted share of positive ratings (``soft``) or its majority."""
    total = np.bincount(item, weights=weight, minlength=n)
    positive_total = np.bincount(item, weights=positive * weight, minlength=n)
    share = np.full(n, 0.5)
    np.divide(positive_total, total, out=share, where=total > 0)
    if how == "soft":
        return share, total.astype(np.float64)
    majority = np.where(share > 0.5, 1.0, np.where(share < 0.5, 0.0, 0.5))
    return majority, (total > 0).astype(np.float64)


def _mean_targets(
    item: IntArray, levels: IntArray, n: int, threshold: int
) -> tuple[FloatArray, FloatArray]:
    """Per item: 1 when the mean ordinal rating reaches ``threshold``."""
    counts = np.bincount(item, minlength=n)
    sums = np.bincount(item, weights=levels.astype(np.float64), minlength=n)
    return (sums / counts >= threshold).astype(np.float64), np.ones(n)


def _pairwise_majority(
    item: IntArray, codes: IntArray, n: int, ties: str
) -> tuple[FloatArray, FloatArray]:
    """Per item: the target of the most common outcome (0.5 when none is most common)."""
    counts = np.bincount(item * 3 + codes, minlength=3 * n).reshape(n, 3)
    top = counts.max(axis=1, initial=0)
    split = (counts == top[:, None]).sum(axis=1) > 1
    winner = counts.argmax(axis=1)
    y = _PAIRWISE_TARGET[winner]
    weight = np.ones(n)
    tie_wins = ~split & (winner == PAIRWISE_CODES["tie"])
    if ties == "loss":
        y[tie_wins] = 0.0
    elif ties == "drop":
        weight[tie_wins] = 0.0
    y[split] = 0.5
    return y, weight


def _off_scale(scores: FloatArray, scale: Scale) -> int | None:
    """Position of the first score (NaN = none) that is off ``scale``, or None."""
    given = ~np.isnan(scores)
    bad = given & ((scores < scale.low) | (scores > scale.high) | ~np.isfinite(scores))
    if scale.kind == "verdict":
        bad |= given & (scores != np.floor(scores))
    found = np.flatnonzero(bad)
    return int(found[0]) if found.size else None


def _check_name_arg(name: Any, where: str) -> None:
    if not isinstance(name, str):
        raise InputTypeError("name", "a string", name, where=f"JudgmentSet.{where}")


class RecordProblem(_Record):
    """A row a loader could not turn into a :class:`Judgment` (``on_error="report"``)."""

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
