"""Loaders: records from rows, pandas DataFrames, CSV and JSONL files.

All loaders share one column mapping (:class:`ColumnMap`, the keyword
arguments of :func:`from_rows`) and one error policy: a bad row raises
:class:`~judgecal.RecordError` naming its row number, the field, what was
expected and what came in (``on_error="raise"``, the default), or is listed in
the returned set's ``problems`` (``on_error="report"``), every problem of the
file in one pass. Nothing is dropped or coerced silently.

Rows are numbered from 1 (the first data row; a CSV header is row 0). In a
JSONL file a row's number is its line number.

Human labels come in one of two layouts:

*wide* (``label_cols``)
    one column per rater; the column name is the rater id and an empty cell
    means that rater did not rate the item. One row per item. A single name
    (``label_cols="human"``) is one rater's column.
*long* (``label_col``, optionally with ``rater_col``)
    one rating per row; rows with the same item id are merged and must agree on
    everything else (stage, score, features, texts, meta). A rater who rates an
    item twice is a problem of the second row.

What a CSV file can hide is a problem too: a header that names a used column
twice, a row with fewer cells than the header (it would read as "not rated"),
a row with extra non-empty cells (they would be dropped). A UTF-8 byte order
mark is stripped, and the delimiter (``,``, ``;``, tab or ``|``) is detected
from the header line unless ``delimiter=`` is given.
"""

from __future__ import annotations

import csv
import functools
import itertools
import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, NoReturn, TypedDict, Unpack

from judgecal._exceptions import InputError, InputTypeError, RecordError
from judgecal._validation import NAME_TEXT, Verbatim, check_choice, check_float, check_int
from judgecal._validation import has_control_characters as _has_control
from judgecal.records._arrow import pyarrow_or_none, store_from_table
from judgecal.records._store import panel_from_cells
from judgecal.records.core import (
    PAIRWISE_OUTCOMES,
    Judgment,
    JudgmentSet,
    LabelKind,
    Rating,
    RecordProblem,
    Scale,
)
from judgecal.vocabulary import check_order_policy

__all__ = ["ColumnMap", "from_dataframe", "from_rows", "read_csv", "read_jsonl", "read_parquet"]

OnError = Literal["raise", "report"]
#: Delimiters tried when a CSV file's delimiter is detected from its header line.
CSV_DELIMITERS = ",;\t|"


class ColumnMap(TypedDict, total=False):
    """The column mapping every loader takes (all keys optional).

    ``item_col`` and ``score_col`` name the item id and judge score columns
    (default ``"item_id"`` and ``"score"``); ``stage_col`` the stage column
    (without it every row gets ``stage``, default ``"default"``);
    ``allowed_stages`` makes any other stage a problem. ``label_kind`` is
    required with labels; ``label_cols`` (wide) or ``label_col`` with
    ``rater_col`` (long) name the label columns; ``levels`` is the number of
    ordinal levels; ``pairwise_codes`` maps raw pairwise labels to
    ``"first"``, ``"second"``, ``"tie"``. ``labels`` declares the human label
    words once, for any kind (``{"yes": 1, "no": 0}``, ``{"A": "first", "B":
    "second", "tie": "tie"}``); ``label_threshold`` turns averaged human
    scores (2.2 on a 1-5 scale) into binary labels (1 when the score is at
    least the threshold; ``label_kind="binary"``). ``judges`` (``{"gpt4":
    "gpt4_col", ...}``) or ``score_cols`` (the column names are the judge names)
    load a panel of several judges (the first is the main score); a blank
    judge cell is status ``missing``, a word off a verdict scale
    ``unparseable``. ``swapped_col`` holds the verdict on the pair shown in
    the other order; ``order_policy`` (``tie``, ``first``, ``drop``) decides
    an order-inconsistent pair. ``feature_cols``, ``text_cols`` and
    ``meta_cols`` are kept as numeric features, texts and grouping metadata.
    """

    item_col: str
    score_col: str
    stage_col: str | None
    stage: str
    label_kind: LabelKind | None
    label_cols: str | Sequence[str]
    label_col: str | None
    rater_col: str | None
    levels: int | None
    pairwise_codes: Mapping[Any, str] | None
    labels: Mapping[Any, Any] | None
    label_threshold: float | None
    judges: Mapping[str, str] | Sequence[str]
    score_cols: Sequence[str]
    swapped_col: str | None
    order_policy: str
    feature_cols: Sequence[str]
    text_cols: Sequence[str]
    meta_cols: Sequence[str]
    allowed_stages: Sequence[str] | None


@dataclass(frozen=True)
class _Columns:
    """A checked column mapping."""

    item: str = "item_id"
    score: str = "score"
    stage_col: str | None = None
    stage: str = "default"
    label_kind: LabelKind | None = None
    wide: tuple[str, ...] = ()
    long: str | None = None
    rater: str | None = None
    levels: int | None = None
    codes: Mapping[Any, str] | None = None
    labels: Mapping[Any, Any] | None = None
    threshold: float | None = None
    judges: tuple[tuple[str, str], ...] = ()
    swapped: str | None = None
    order_policy: str = "tie"
    features: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()
    meta: tuple[str, ...] = ()
    allowed: frozenset[str] | None = None

    @property
    def has_labels(self) -> bool:
        return bool(self.wide) or self.long is not None

    @property
    def needed(self) -> tuple[str, ...]:
        """Every column a row must have, in the order problems are named."""
        optional = tuple(c for c in (self.stage_col, self.long, self.rater) if c)
        judges = tuple(column for _, column in self.judges)
        names = (
            self.item,
            self.score,
            *([self.swapped] if self.swapped else []),
            *judges,
            *optional,
            *self.wide,
            *self.features,
            *self.texts,
        )
        return tuple(dict.fromkeys((*names, *self.meta)))


_NAME_KEYS = ("item_col", "score_col")
_OPTIONAL_NAME_KEYS = ("stage_col", "label_col", "rater_col")
_LIST_KEYS = ("feature_cols", "text_cols", "meta_cols")


def _column_names(columns: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Check the names in a column mapping; return them under _Columns' field names."""
    unknown = sorted(set(columns) - set(ColumnMap.__annotations__))
    if unknown:
        expected = f"a column-mapping keyword ({', '.join(ColumnMap.__annotations__)})"
        raise InputTypeError(unknown[0], expected, columns[unknown[0]], where=where)
    for key in _NAME_KEYS:
        if key in columns and not isinstance(columns[key], str):
            raise InputTypeError(key, "a column name (str)", columns[key], where=where)
    for key in _OPTIONAL_NAME_KEYS:
        if columns.get(key) is not None and not isinstance(columns[key], str):
            raise InputTypeError(key, "a column name (str) or None", columns[key], where=where)
    stage = columns.get("stage", "default")
    if not isinstance(stage, str) or not stage or _has_control(stage):
        raise InputTypeError("stage", f"a non-empty stage name: {NAME_TEXT}", stage, where=where)
    lists = {key: _name_list(columns.get(key, ()), key, where) for key in _LIST_KEYS}
    allowed = columns.get("allowed_stages")
    judges = _judge_columns(columns, where)
    swapped = columns.get("swapped_col")
    if swapped is not None and not isinstance(swapped, str):
        raise InputTypeError("swapped_col", "a column name (str) or None", swapped, where=where)
    policy = check_order_policy(columns.get("order_policy", "tie"), where=where,
                                name="order_policy")  # fmt: skip
    return dict(
        swapped=swapped,
        order_policy=policy,
        item=columns.get("item_col", "item_id"),
        score=judges[0][1] if judges else columns.get("score_col", "score"),
        judges=judges,
        stage_col=columns.get("stage_col"),
        stage=stage,
        features=lists["feature_cols"],
        texts=lists["text_cols"],
        meta=lists["meta_cols"],
        allowed=None
        if allowed is None
        else frozenset(_name_list(allowed, "allowed_stages", where)),
    )


def _judge_columns(columns: Mapping[str, Any], where: str) -> tuple[tuple[str, str], ...]:
    """A judge panel: ``judges={"name": "column"}`` or ``score_cols=[...]`` (name = column)."""
    judges, score_cols = columns.get("judges"), columns.get("score_cols")
    if judges is not None and score_cols is not None:
        expected = "None when judges is given (one way to name the judges)"
        raise InputError("score_cols", expected, score_cols, where=where)
    if judges is None and score_cols is None:
        return ()
    if "score_col" in columns:
        expected = "not given with a judge panel (the first judge is the main score)"
        raise InputError("score_col", expected, columns["score_col"], where=where)
    if isinstance(judges, Mapping):
        pairs = tuple(judges.items())
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in pairs):
            expected = "a mapping of judge name to column name (str to str)"
            raise InputTypeError("judges", expected, judges, where=where)
    else:
        key = "judges" if judges is not None else "score_cols"
        names = _name_list(judges if judges is not None else score_cols, key, where)
        pairs = tuple((name, name) for name in names)
    bad = next((name for name, _ in pairs if not name or _has_control(name)), None)
    if not pairs or bad is not None or len({c for _, c in pairs}) != len(pairs):
        expected = f"at least one judge, each on its own column, named by {NAME_TEXT}"
        raise InputError("judges", expected, judges or score_cols, where=where)
    return pairs


def _name_list(value: Any, key: str, where: str) -> tuple[str, ...]:
    if (
        isinstance(value, str | bytes)
        or not isinstance(value, Sequence)
        or not all(isinstance(c, str) for c in value)
    ):
        raise InputTypeError(key, "a sequence of column names (str)", value, where=where)
    return tuple(value)


def _label_spec(columns: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Check the label part of a column mapping (layout, kind, levels, codes)."""
    wide = columns.get("label_cols", ())
    wide = (wide,) if isinstance(wide, str) else _name_list(wide, "label_cols", where)
    long, rater = columns.get("label_col"), columns.get("rater_col")
    if wide and long is not None:
        expected = "None when label_cols is given (wide or long labels, not both)"
        raise InputError("label_col", expected, long, where=where)
    if rater is not None and long is None:
        raise InputError("rater_col", "None unless label_col is given", rater, where=where)
    kind, levels = columns.get("label_kind"), columns.get("levels")
    if wide or long is not None:
        if kind is None:  # required with labels: say so, not "got None"
            expected = "one of 'binary', 'ordinal', 'pairwise' (required with label columns)"
            raise InputError("label_kind", expected, None, where=where)
        check_choice(kind, "label_kind", ("binary", "ordinal", "pairwise"), where=where)
    if kind == "ordinal":
        levels = check_int(levels, "levels", low=2, where=where, integral_float=True)
    codes = columns.get("pairwise_codes")
    if codes is not None and (
        not isinstance(codes, Mapping) or not set(codes.values()) <= set(PAIRWISE_OUTCOMES)
    ):
        expected = f"a mapping of raw label to one of {PAIRWISE_OUTCOMES}"
        raise InputTypeError("pairwise_codes", expected, codes, where=where)
    labels, threshold = _label_words(columns, kind, levels, where)
    if not (wide or long is not None):
        kind, levels = None, None
    return dict(
        wide=wide,
        long=long,
        rater=rater,
        label_kind=kind,
        levels=levels,
        codes=codes,
        labels=labels,
        threshold=threshold,
    )


def _label_words(
    columns: Mapping[str, Any], kind: Any, levels: Any, where: str
) -> tuple[dict[Any, Any] | None, float | None]:
    """Check ``labels`` (label words declared once) and ``label_threshold``."""
    labels, threshold = columns.get("labels"), columns.get("label_threshold")
    if threshold is not None:
        threshold = check_float(threshold, "label_threshold", where=where)
        if kind != "binary":
            expected = "None unless label_kind='binary' (averaged scores become 0/1)"
            raise InputError("label_threshold", expected, threshold, where=where)
    if labels is None:
        return None, threshold
    if not isinstance(labels, Mapping) or not labels:
        raise InputTypeError("labels", "a mapping of label word to label", labels, where=where)
    out: dict[Any, Any] = {}
    for word, value in labels.items():
        try:
            label = _parse_label(value, kind, levels, None)
        except ValueError as exc:
            expected = f"a mapping of label word to {exc} ({kind} labels)"
            raise InputError("labels", expected, f"{word!r}: {value!r}", where=where) from None
        out[word.strip() if isinstance(word, str) else word] = label
    return out, threshold


def _resolve_columns(columns: Mapping[str, Any], where: str) -> _Columns:
    return _Columns(**_column_names(columns, where), **_label_spec(columns, where))


class _RowLeftOutError(Exception):
    """Internal: the current row has a reported problem and is left out."""


@dataclass
class _Problems:
    """Where problems go: raised at once, or collected for the returned set."""

    on_error: OnError
    found: list[RecordProblem] = field(default_factory=list)

    def report(self, row: int, column: str, expected: str, got: Any) -> None:
        if self.on_error == "raise":
            raise RecordError(row, column, expected, got)
        self.found.append(RecordProblem(row=row, field=column, expected=expected, got=repr(got)))

    def reject(self, row: int, column: str, expected: str, got: Any) -> NoReturn:
        """Report a problem and leave the row out."""
        self.report(row, column, expected, got)
        raise _RowLeftOutError


def _check_on_error(on_error: Any, scale: Any, where: str) -> _Problems:
    check_choice(on_error, "on_error", ("raise", "report"), where=where)
    if not isinstance(scale, Scale):
        raise InputTypeError("scale", "a judgecal.Scale", type(scale).__name__, where=where)
    return _Problems(on_error)


def from_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    scale: Scale,
    on_error: OnError = "raise",
    first_row: int = 1,
    **columns: Unpack[ColumnMap],
) -> JudgmentSet:
    """Build a :class:`~judgecal.JudgmentSet` from mappings (one per row).

    Parameters
    ----------
    rows : iterable of mappings
        One mapping per row, e.g. ``csv.DictReader`` output.
    scale : Scale
        The judge's scale; scores off it are problems.
    on_error : {"raise", "report"}
        Raise on the first problem, or keep going and list every problem in
        the returned set's ``problems`` (rows with a problem are left out).
    first_row : int
        Number of the first row in messages (1 = first data row).
    **columns
        The column mapping (:class:`ColumnMap`):

        item_col, score_col : str
            Item id and judge score (a number, or a verdict word).
        stage_col : str, optional
            Stage column; without it every row gets ``stage``.
        label_kind : {"binary", "ordinal", "pairwise"}, optional
            Kind of the human labels; required when label columns are given.
        label_cols : str or sequence of str
            Wide labels: one column per rater (the column name is the rater id).
        label_col, rater_col : str, optional
            Long labels: one rating per row, rows of one item merged.
        levels : int, optional
            Number of ordinal levels (ordinal labels).
        pairwise_codes : mapping, optional
            Raw pairwise label to ``"first"``/``"second"``/``"tie"``, e.g.
            ``{1: "first", 2: "second", 0: "tie"}``.
        labels, label_threshold, judges, score_cols, swapped_col, order_policy
            Label words, averaged human scores, a judge panel, pairs judged
            in both orders: see :class:`ColumnMap`.
        feature_cols, text_cols, meta_cols : sequence of str
            Columns kept as numeric features, texts, and grouping metadata.
        allowed_stages : sequence of str, optional
            When given, any other stage is a problem.

    Examples
    --------
    >>> rows = [{"item_id": "a", "score": "4", "r1": "1", "r2": "0"},
    ...         {"item_id": "b", "score": "nan", "r1": "1", "r2": ""}]
    >>> from_rows(rows, scale=Scale.likert(5), label_kind="binary", label_cols=["r1", "r2"])
    Traceback (most recent call last):
    ...
    judgecal._exceptions.RecordError: Row 2: field 'score' must be a finite number in [1, 5]. ...
    >>> js = from_rows(rows, scale=Scale.likert(5), label_kind="binary",
    ...                label_cols=["r1", "r2"], on_error="report")
    >>> len(js), [str(p) for p in js.problems]
    (1, ["Row 2: field 'score' must be a finite number in [1, 5]. Got 'nan' instead."])
    """
    where = "from_rows"
    problems = _check_on_error(on_error, scale, where)
    if isinstance(rows, str | bytes | Mapping) or not isinstance(rows, Iterable):
        expected = "an iterable of mappings (one per row)"
        raise InputTypeError("rows", expected, type(rows).__name__, where=where)
    start = check_int(first_row, "first_row", where=where)
    cols = _resolve_columns(columns, where)
    return _load(enumerate(rows, start=start), cols, scale, problems)


@dataclass
class _Item:
    """One item being read: its fields, and the rows it came from."""

    row: int
    fields: dict[str, Any]
    ratings: list[Rating]
    raters: dict[str, int] = field(default_factory=dict)


def _load(
    rows: Iterable[tuple[int, Any]], cols: _Columns, scale: Scale, problems: _Problems
) -> JudgmentSet:
    """Parse numbered rows, merge the rows of each item, build the judgments."""
    items: dict[str, _Item] = {}
    for rownum, row in rows:
        try:
            item = _parse_row(row, rownum, cols, scale, problems)
            _add_item(items, item, cols, problems)
        except _RowLeftOutError:
            continue
    judgments: list[Judgment] = []
    panels: list[tuple[tuple[str, float | None], ...]] = []
    for item in items.values():
        try:
            judgments.append(_build(item, cols))
            panels.append(item.fields["panel"])
        except RecordError as exc:
            problems.report(item.row, exc.field, exc.expected, exc.got)
    out = JudgmentSet(judgments, scale=scale, problems=problems.found)
    if not cols.judges:
        return out
    return out._with_panel(panel_from_cells(tuple(name for name, _ in cols.judges), panels))


def _parse_row(row: Any, rownum: int, cols: _Columns, scale: Scale, problems: _Problems) -> _Item:
    if not isinstance(row, Mapping):
        problems.reject(rownum, "<row>", "a mapping of column to value", type(row).__name__)
    missing = next((c for c in cols.needed if c not in row), None)
    if missing is not None:
        problems.reject(rownum, missing, "a column present in every row", "no such column")
    item_id = _parse_item_id(row[cols.item], rownum, cols.item, problems)
    stage = _parse_stage(row, rownum, cols, problems)
    raw = row[cols.score]
    status, score = _judge_cell(raw, scale, rownum, cols.score, problems)
    if cols.swapped is not None:
        swapped = _judge_cell(row[cols.swapped], scale, rownum, cols.swapped, problems)
        status, score = _combine_orders(
            status, score, swapped, high=scale.high, policy=cols.order_policy
        )
    panel = tuple(
        _judge_cell(row[column], scale, rownum, column, problems) for _, column in cols.judges
    )
    fields = dict(
        item_id=item_id,
        stage=stage,
        score=score,
        judge_status=status,
        panel=panel,
        judge_output=raw
        if isinstance(raw, str | float | int) and not isinstance(raw, bool) and status != "missing"
        else None,
        features=_parse_features(row, rownum, cols, problems),
        texts={c: "" if row[c] is None else str(row[c]) for c in cols.texts},
        meta={c: str(row[c]) for c in cols.meta},
    )
    return _Item(rownum, fields, _collect_ratings(row, rownum, cols, problems))


def _judge_cell(
    raw: Any, scale: Scale, rownum: int, column: str, problems: _Problems
) -> tuple[str, float | None]:
    """A judge's cell as ``(status, score)``: blank is ``missing``, words off the scale are
    ``unparseable``; a number off the scale (or a decimal comma) is a problem of the row."""
    if _is_missing(raw):
        return "missing", None
    if scale.kind != "verdict" and isinstance(raw, str) and _DECIMAL_COMMA.match(raw):
        problems.reject(rownum, column, _scale_text(scale) + " (with a decimal point)", raw)
    try:
        return "ok", scale.check(raw if scale.kind == "verdict" else _to_number(raw))
    except (InputError, ValueError, TypeError):
        pass
    if isinstance(raw, str) and not _looks_numeric(raw):
        return "unparseable", None
    problems.reject(rownum, column, _scale_text(scale), raw)


_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,\d+\s*$")


def _looks_numeric(text: str) -> bool:
    try:
        float(text.strip())
    except ValueError:
        return False
    return True


def _combine_orders(
    status: str,
    score: float | None,
    swapped: tuple[str, float | None],
    *,
    high: float,
    policy: str,
) -> tuple[str, float | None]:
    """One verdict from a pair judged in both orders (the swapped verdict mapped back).

    A verdict that changes with the order follows ``policy``
    (:mod:`judgecal.vocabulary`): ``tie`` scores it as a tie, ``first`` keeps
    the verdict of the original order, ``drop`` leaves it unscored
    (``unparseable``). A failed order passes its status on.
    """
    if status != "ok" or swapped[0] != "ok":
        return (status, None) if status != "ok" else (swapped[0], None)
    assert score is not None and swapped[1] is not None
    back = high - swapped[1]
    if back == score or policy == "first":
        return "ok", score
    return ("ok", high / 2.0) if policy == "tie" else ("unparseable", None)


def _scale_text(scale: Scale) -> str:
    if scale.kind == "verdict":
        return f"one of the verdicts {scale.verdicts}"
    return f"a finite number in [{scale.low:g}, {scale.high:g}]"


def _parse_item_id(value: Any, rownum: int, column: str, problems: _Problems) -> str:
    if _is_missing(value):
        problems.reject(rownum, column, "a non-empty item id", value)
    if isinstance(value, float):
        item_id = str(int(value)) if value.is_integer() else repr(value)
    else:
        item_id = str(value).strip()
    if _has_control(item_id):
        problems.reject(rownum, column, f"an item id: {NAME_TEXT}", value)
    return item_id


def _parse_stage(row: Mapping[str, Any], rownum: int, cols: _Columns, problems: _Problems) -> str:
    column = cols.stage_col or "stage"
    value = row[cols.stage_col] if cols.stage_col else cols.stage
    if _is_missing(value) or not isinstance(value, str):
        problems.reject(rownum, column, "a non-empty stage name", value)
    stage = value.strip()
    if _has_control(stage):
        problems.reject(rownum, column, f"a stage name: {NAME_TEXT}", value)
    if cols.allowed is not None and stage not in cols.allowed:
        problems.reject(rownum, column, f"one of the stages {sorted(cols.allowed)}", stage)
    return stage


def _parse_features(
    row: Mapping[str, Any], rownum: int, cols: _Columns, problems: _Problems
) -> dict[str, float]:
    features: dict[str, float] = {}
    for column in cols.features:
        try:
            number = _to_number(row[column])
        except (ValueError, TypeError):
            number = math.nan
        if not math.isfinite(number):
            problems.reject(rownum, column, "a finite number (feature)", row[column])
        features[column] = number
    return features


def _collect_ratings(
    row: Mapping[str, Any], rownum: int, cols: _Columns, problems: _Problems
) -> list[Rating]:
    """The ratings in one row: one per non-empty wide column, or the long label."""
    ratings: list[Rating] = []
    for column in (*cols.wide, *([cols.long] if cols.long else [])):
        value = row[column]
        if _is_missing(value):
            continue
        try:
            label = _parse_label(
                value, cols.label_kind, cols.levels, cols.codes, cols.labels, cols.threshold
            )
        except ValueError as exc:
            problems.reject(rownum, column, str(exc), value)
        rater = column if column != cols.long else _long_rater(row, rownum, cols, problems)
        ratings.append(Rating(value=label, rater=rater))
    return ratings


def _long_rater(
    row: Mapping[str, Any], rownum: int, cols: _Columns, problems: _Problems
) -> str | None:
    if cols.rater is None or _is_missing(row[cols.rater]):
        return None
    rater = str(row[cols.rater]).strip()
    if _has_control(rater):
        problems.reject(rownum, cols.rater, f"a rater id: {NAME_TEXT}", row[cols.rater])
    return rater


def _add_item(items: dict[str, _Item], item: _Item, cols: _Columns, problems: _Problems) -> None:
    """Add a parsed row: a new item, or (long labels) more ratings of a known item."""
    item_id = item.fields["item_id"]
    known = items.get(item_id)
    if known is None:
        items[item_id] = item
        _note_raters(item, item, problems, item_id)
        return
    if cols.long is None:
        expected = "a unique item id (use label_col/rater_col for one rating per row)"
        problems.reject(item.row, cols.item, expected, item_id)
    for key in ("stage", "score", "judge_status", "panel", "features", "texts", "meta"):
        if known.fields[key] != item.fields[key]:
            expected = f"the same value as earlier rows of item {item_id!r} ({known.fields[key]!r})"
            problems.reject(item.row, key, expected, item.fields[key])
    _note_raters(known, item, problems, item_id, column=cols.rater)
    known.ratings.extend(item.ratings)


def _note_raters(
    known: _Item, new: _Item, problems: _Problems, item_id: str, column: str | None = None
) -> None:
    """Record who rated the item; a rater seen before is a problem of the new row."""
    for rating in new.ratings:
        if rating.rater is None:
            continue
        first = known.raters.get(rating.rater)
        if first is not None and first != new.row:
            got = Verbatim(
                f"rater {rating.rater!r} rates item {item_id!r} twice (first at row {first})"
            )
            problems.reject(new.row, column or "<ratings>", "one rating per rater", got)
        known.raters[rating.rater] = new.row


def _build(item: _Item, cols: _Columns) -> Judgment:
    fields = {k: v for k, v in item.fields.items() if k != "panel"}
    return Judgment(
        **fields,
        label_kind=cols.label_kind,
        levels=cols.levels,
        ratings=tuple(item.ratings),
    )


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    return isinstance(value, float) and math.isnan(value)


def _to_number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("a number, not a bool")
    try:
        return float(value.strip() if isinstance(value, str) else value)
    except OverflowError:  # an integer too large for a float
        raise ValueError("number too large") from None


def _parse_label(
    value: Any,
    kind: LabelKind | None,
    levels: int | None,
    codes: Mapping[Any, str] | None,
    labels: Mapping[Any, Any] | None = None,
    threshold: float | None = None,
) -> int | str:
    if labels is not None:
        found = _declared(value, labels)
        if found is not None:
            return found  # type: ignore[no-any-return]
    if threshold is not None:
        try:
            number = _to_number(value)
        except (ValueError, TypeError):
            number = math.nan
        if not math.isfinite(number):
            raise ValueError(f"a number (an averaged score, 1 when >= {threshold:g})")
        return int(number >= threshold)
    if kind == "pairwise":
        return _parse_pairwise(value, codes)
    try:
        number = _to_number(value)
    except (ValueError, TypeError):
        raise ValueError("an integer label") from None
    if not number.is_integer():
        raise ValueError("an integer label")
    label = int(number)
    if kind == "binary" and label not in (0, 1):
        raise ValueError("0 or 1")
    if kind == "ordinal" and (levels is None or not 1 <= label <= levels):
        raise ValueError(f"an integer level in 1..{levels}")
    return label


def _declared(value: Any, labels: Mapping[Any, Any]) -> Any:
    """The label a declared word stands for (exact, then case-insensitive), or None."""
    key = value.strip() if isinstance(value, str) else value
    try:
        if key in labels:
            return labels[key]
    except TypeError:  # an unhashable cell
        return None
    if isinstance(key, str):
        folded = {k.casefold(): v for k, v in labels.items() if isinstance(k, str)}
        return folded.get(key.casefold())
    return None


def _parse_pairwise(value: Any, codes: Mapping[Any, str] | None) -> str:
    key = value.strip() if isinstance(value, str) else value
    if codes is None:
        if isinstance(key, str) and key.lower() in PAIRWISE_OUTCOMES:
            return key.lower()
        raise ValueError(f"one of {PAIRWISE_OUTCOMES} (or pass pairwise_codes=)")
    try:
        if key in codes:
            return codes[key]
    except TypeError:  # an unhashable label
        pass
    if isinstance(key, str):
        try:
            number = _to_number(key)
        except ValueError:
            number = math.nan
        if number.is_integer() and int(number) in codes:
            return codes[int(number)]
    raise ValueError(f"one of the coded values {sorted(map(str, codes))}")


def from_dataframe(df: Any, **options: Any) -> JudgmentSet:
    """Build a :class:`~judgecal.JudgmentSet` from a pandas DataFrame.

    Takes the same keyword arguments as :func:`from_rows` (``scale``,
    ``on_error`` and the column mapping). A frame with two columns of one name
    is refused.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"id": ["a", "b"], "judge": [4.0, 2.0], "human": [1, 0]})
    >>> js = from_dataframe(df, item_col="id", score_col="judge", scale=Scale.likert(5),
    ...                     label_kind="binary", label_cols="human")
    >>> js.scores().tolist(), js.targets()[0].tolist()
    ([4.0, 2.0], [1.0, 0.0])
    """
    where = "from_dataframe"
    polars = _is_polars(df)
    if not (polars or (hasattr(df, "to_dict") and hasattr(df, "columns"))):
        expected = "a pandas or polars DataFrame"
        raise InputError("df", expected, type(df).__name__, where=where)
    counts = Counter(str(c) for c in df.columns)
    repeated = sorted(name for name, count in counts.items() if count > 1)
    if repeated:
        expected = "a frame whose columns are named once"
        raise InputError("df", expected, repeated, where=where)
    fast = _fast_frame(df, polars, options)
    if fast is not None:
        return fast
    return from_rows(df.to_dicts() if polars else df.to_dict(orient="records"), **options)


def _is_polars(df: Any) -> bool:
    return type(df).__module__.startswith("polars") and hasattr(df, "to_arrow")


def _fast_frame(df: Any, polars: bool, options: dict[str, Any]) -> JudgmentSet | None:
    """The frame's columns through pyarrow, or None when its rows must be read one by one."""
    pa = pyarrow_or_none()
    scale = options.get("scale")
    if pa is None or not isinstance(scale, Scale):
        return None
    check_choice(options.get("on_error", "raise"), "on_error", ("raise", "report"),
                 where="from_dataframe")  # fmt: skip
    mapping = {k: v for k, v in options.items() if k not in ("scale", "on_error")}
    cols = _resolve_columns(mapping, "from_dataframe")
    names = list(cols.needed)
    if cols.long is not None or not all(name in list(df.columns) for name in names):
        return None
    try:
        if polars:
            table = df.select(names).to_arrow()
        else:
            table = pa.Table.from_pandas(df[names], preserve_index=False)
    except (pa.ArrowException, ValueError, TypeError, KeyError):
        return None
    return _from_table(table, cols, scale)


def read_csv(
    path: str | os.PathLike[str],
    *,
    scale: Scale,
    on_error: OnError = "raise",
    delimiter: str | None = None,
    **columns: Unpack[ColumnMap],
) -> JudgmentSet:
    """Load records from a CSV file with a header row (see :func:`from_rows`).

    A UTF-8 byte order mark is stripped. ``delimiter=None`` detects ``,``,
    ``;``, tab or ``|`` from the header line alone (``csv.Sniffer``); pass the
    delimiter to be explicit. A header that names a used column twice or lacks
    one, a row with fewer cells than the header and a row with extra non-empty
    cells are problems: raised, or reported with every other problem.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "labels.csv"
    >>> _ = path.write_text("item_id;score;r1;r2\\na;4;1;0\\nb;2;1\\n", encoding="utf-8-sig")
    >>> js = read_csv(path, scale=Scale.likert(5), label_kind="binary", label_cols=["r1", "r2"],
    ...               on_error="report")
    >>> len(js), [p.row for p in js.problems]
    (1, [2])
    >>> print(js.problems[0])
    Row 2: field 'r2' must be present (the header has 4 columns). Got a row of 3 cells instead.
    """
    where = "read_csv"
    problems = _check_on_error(on_error, scale, where)
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise InputError("delimiter", "None (detect) or one character", delimiter, where=where)
    cols = _resolve_columns(columns, where)
    path_ = _existing(path, where)
    fast = _fast_csv(path_, delimiter, cols, scale)
    if fast is not None:
        return fast
    try:
        with path_.open(newline="", encoding="utf-8-sig") as handle:
            return _read_csv_rows(handle, delimiter, cols, scale, problems)
    except UnicodeDecodeError as exc:
        got = f"{path_} (undecodable byte at position {exc.start})"
        raise InputError("path", "a UTF-8 text file", got, where=where) from None
    except csv.Error as exc:
        raise InputError("path", "a readable CSV file", f"{path_} ({exc})", where=where) from None


def _fast_csv(
    path: Path, delimiter: str | None, cols: _Columns, scale: Scale
) -> JudgmentSet | None:
    """The whole file through pyarrow, or None when the rows must be read one by one."""
    pa = pyarrow_or_none()
    if pa is None or cols.long is not None:
        return None
    import pyarrow.csv as pa_csv

    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header_line = handle.readline()
    except (UnicodeDecodeError, OSError):
        return None
    if not header_line.strip():
        return None
    sep = delimiter or _detect_delimiter(header_line)
    header = next(csv.reader([header_line], delimiter=sep), [])
    if any(header.count(name) != 1 for name in cols.needed) or len(set(header)) != len(header):
        return None
    text_types = _csv_types(pa, cols, scale)
    number_types = text_types | _numeric_label_types(pa, cols)
    attempts = [(number_types, [""]), (text_types, None)]
    for types, nulls in attempts[1:] if number_types == text_types else attempts:
        try:  # labels as small integers first; any cell that is not one: all as text
            table = _arrow_csv(pa_csv, path, sep, cols, types, nulls)
        except (pa.ArrowException, OSError, ValueError):
            continue
        # the parser's blocks are freed but kept by arrow's allocator: give them back
        # before the checks allocate their own arrays (the peak is then the larger, not the sum)
        pa.default_memory_pool().release_unused()
        return _from_table(table, cols, scale)
    return None


def _arrow_csv(
    pa_csv: Any,
    path: Path,
    sep: str,
    cols: _Columns,
    types: dict[str, Any],
    null_values: list[str] | None,
) -> Any:
    """The used columns of a CSV file as a pyarrow table of the given types.

    ``null_values=[""]``: only a blank number cell is null ("NA" is no number).
    """
    size = path.stat().st_size
    nulls = {} if null_values is None else {"null_values": null_values}
    return pa_csv.read_csv(
        path,
        # a few large blocks: fewer chunks for the checks to walk, still one per core
        read_options=pa_csv.ReadOptions(block_size=min(max(size // 8, 1 << 20), 1 << 22)),
        parse_options=pa_csv.ParseOptions(delimiter=sep),
        convert_options=pa_csv.ConvertOptions(
            include_columns=list(cols.needed),
            column_types=types,
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            **nulls,
        ),
    )


def _csv_types(pa: Any, cols: _Columns, scale: Scale) -> dict[str, Any]:
    """Every used column as text; columns of few distinct values as dictionaries."""
    types = dict.fromkeys(cols.needed, pa.string())
    coded = pa.dictionary(pa.int32(), pa.string())
    few = [cols.stage_col] if cols.stage_col else []  # labels: one byte each, mostly
    if scale.kind == "verdict":
        few.append(cols.score)
    types.update(dict.fromkeys(few, coded))
    return types


def _numeric_label_types(pa: Any, cols: _Columns) -> dict[str, Any]:
    """Wide binary or ordinal label columns, parsed by pyarrow as 8-bit integers.

    Only where a label is its integer (no declared words, codes or threshold)
    and the column has no other role; a blank cell is a null, as it is no label.
    """
    plain = cols.labels is None and cols.codes is None and cols.threshold is None
    if not plain or cols.label_kind not in ("binary", "ordinal"):
        return {}
    others = [c for c in cols.needed if c not in cols.wide]
    return {c: pa.int8() for c in cols.wide if c not in others and cols.wide.count(c) == 1}


def _from_table(table: Any, cols: _Columns, scale: Scale) -> JudgmentSet | None:
    """A set from a pyarrow table when every column checks out as arrays, else None."""
    parse = functools.partial(
        _parse_label,
        kind=cols.label_kind,
        levels=cols.levels,
        codes=cols.codes,
        labels=cols.labels,
        threshold=cols.threshold,
    )
    store = store_from_table(table, cols, scale, parse)
    if store is None:
        return None
    return JudgmentSet._from_store(store, scale=scale, levels=cols.levels)


def _read_csv_rows(
    handle: IO[str], delimiter: str | None, cols: _Columns, scale: Scale, problems: _Problems
) -> JudgmentSet:
    header_line = handle.readline()
    if not header_line.strip():
        raise InputError("path", "a CSV file with a header row", handle.name, where="read_csv")
    sep = delimiter or _detect_delimiter(header_line)
    reader = csv.reader(itertools.chain([header_line], handle), delimiter=sep)
    header = next(reader)
    usable = _check_header(header, header_line, sep, cols, problems)
    rows = _csv_rows(reader, header, problems)
    if not usable:  # still read every row, for the problems of its shape
        for _ in rows:
            pass
        return JudgmentSet([], scale=scale, problems=problems.found)
    return _load(rows, cols, scale, problems)


def _detect_delimiter(header_line: str) -> str:
    try:
        return csv.Sniffer().sniff(header_line, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:  # one column, or no candidate: the default
        return ","


def _check_header(
    header: list[str], header_line: str, sep: str, cols: _Columns, problems: _Problems
) -> bool:
    """Report used columns that are missing or named twice; whether the rows can be read."""
    usable = True
    positions: dict[str, list[int]] = {}
    for position, name in enumerate(header, start=1):
        positions.setdefault(name, []).append(position)
    for name in cols.needed:
        found = positions.get(name, [])
        if len(found) > 1:
            where = " and ".join(map(str, found))
            got = Verbatim(f"columns {where} both named {name!r}")
            problems.report(0, name, "a column named once in the header", got)
            usable = False
        elif not found:
            listed = ", ".join(header[:20]) + (", ..." if len(header) > 20 else "")
            expected = f"a column of the header (columns: {listed})"
            hint = _delimiter_hint(header_line, sep, name)
            problems.report(0, name, expected + hint, Verbatim("no such column"))
            usable = False
    return usable


def _delimiter_hint(header_line: str, sep: str, name: str) -> str:
    for other in CSV_DELIMITERS:
        if other != sep and name in next(csv.reader([header_line], delimiter=other), []):
            return f"; the header looks {other!r}-delimited: pass delimiter={other!r}"
    return ""


def _csv_rows(
    reader: Iterator[list[str]], header: list[str], problems: _Problems
) -> Iterator[tuple[int, dict[str, str]]]:
    """Numbered rows as mappings; rows of the wrong length are problems, not rows."""
    width = len(header)
    rownum = 0
    for cells in reader:
        if not cells:  # a blank line: not a row (as in csv.DictReader)
            continue
        rownum += 1
        if len(cells) < width:
            expected = f"present (the header has {width} columns)"
            got = Verbatim(f"a row of {len(cells)} cells")
            problems.report(rownum, header[len(cells)], expected, got)
            continue
        if any(cell.strip() for cell in cells[width:]):
            expected = f"a row of at most {width} cells (one per header column)"
            got = Verbatim(f"{len(cells)} cells, the extra ones {cells[width:]!r}")
            problems.report(rownum, "<row>", expected, got)
            continue
        yield rownum, dict(zip(header, cells, strict=False))


def read_jsonl(
    path: str | os.PathLike[str],
    *,
    scale: Scale,
    on_error: OnError = "raise",
    **columns: Unpack[ColumnMap],
) -> JudgmentSet:
    """Load records from a JSON-lines file, one object per line (see :func:`from_rows`).

    A row's number is its line number. A line that is not valid JSON, not an
    object, or gives one key twice is a problem (raised, or reported). A UTF-8
    byte order mark is stripped.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "labels.jsonl"
    >>> _ = path.write_text('{"item_id": "a", "score": 4}\\n[1, 2]\\n', encoding="utf-8")
    >>> js = read_jsonl(path, scale=Scale.likert(5), on_error="report")
    >>> len(js), [str(p) for p in js.problems]
    (1, ["Row 2: field '<line>' must be a JSON object ({...}). Got a list: [1, 2] instead."])
    """
    where = "read_jsonl"
    problems = _check_on_error(on_error, scale, where)
    cols = _resolve_columns(columns, where)
    path_ = _existing(path, where)
    try:
        with path_.open(encoding="utf-8-sig") as handle:
            return _load(_jsonl_rows(handle, problems), cols, scale, problems)
    except UnicodeDecodeError as exc:
        got = f"{path_} (undecodable byte at position {exc.start})"
        raise InputError("path", "a UTF-8 text file", got, where=where) from None


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _DuplicateKeyError(next(k for k, n in Counter(k for k, _ in pairs).items() if n > 1))
    return out


def _jsonl_rows(handle: IO[str], problems: _Problems) -> Iterator[tuple[int, Any]]:
    for lineno, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line, object_pairs_hook=_unique_keys)
        except _DuplicateKeyError as dup:
            got = Verbatim(f"{dup.key!r} given twice")
            problems.report(lineno, dup.key, "a key given once in the object", got)
            continue
        except (ValueError, RecursionError):  # bad JSON, an over-long integer, deep nesting
            problems.report(lineno, "<line>", "a JSON object", line.strip()[:60])
            continue
        if not isinstance(value, dict):
            got = Verbatim(f"a {type(value).__name__}: {line.strip()[:60]}")
            problems.report(lineno, "<line>", "a JSON object ({...})", got)
            continue
        yield lineno, value


def _existing(path: Any, where: str) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise InputError("path", "a file path", path, where=where)
    path_ = Path(path)
    if not path_.is_file():
        raise InputError("path", "an existing file", str(path_), where=where)
    return path_


def read_parquet(
    path: str | os.PathLike[str],
    *,
    scale: Scale,
    on_error: OnError = "raise",
    **columns: Unpack[ColumnMap],
) -> JudgmentSet:
    """Load records from a Parquet file (see :func:`from_rows`; rows are numbered from 1).

    Only the mapped columns are read. A clean file is validated as whole
    columns; a file with problems is read row by row so that every problem
    names its row (raised, or reported with ``on_error="report"``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pyarrow as pa, pyarrow.parquet as pq
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "labels.parquet"
    >>> pq.write_table(pa.table({"item_id": ["a", "b"], "score": [4.0, 2.0],
    ...                          "human": ["yes", "no"]}), path)
    >>> js = read_parquet(path, scale=Scale.likert(5), label_kind="binary",
    ...                   label_cols="human", labels={"yes": 1, "no": 0})
    >>> js.targets()[0].tolist()
    [1.0, 0.0]
    """
    where = "read_parquet"
    problems = _check_on_error(on_error, scale, where)
    cols = _resolve_columns(columns, where)
    path_ = _existing(path, where)
    pa = pyarrow_or_none()
    if pa is None:  # pragma: no cover - pyarrow is a dependency
        raise InputError("path", "a Parquet file (pip install pyarrow)", str(path_), where=where)
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path_)
        present = [name for name in cols.needed if name in schema.names]
        table = pq.read_table(path_, columns=present)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(
            "path", "a readable Parquet file", f"{path_} ({exc})", where=where
        ) from None
    if len(present) == len(cols.needed):
        fast = _from_table(table, cols, scale)
        if fast is not None:
            return fast
    return _load(enumerate(table.to_pylist(), start=1), cols, scale, problems)
