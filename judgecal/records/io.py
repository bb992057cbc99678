"""Loaders: records from rows, pandas DataFrames, CSV and JSONL files.

All loaders share one column mapping (keyword arguments of :func:`from_rows`)
and one error policy: a bad row raises :class:`~judgecal.RecordError` naming
its row number, the field, what was expected and what came in
(``on_error="raise"``, the default), or is listed in the returned set's
``problems`` (``on_error="report"``). Nothing is dropped or coerced silently.

Human labels come either *wide* (``label_cols``: one column per rater, the
column name is the rater id, an empty cell means that rater did not rate the
item) or *long* (``label_col`` plus ``rater_col``: one row per rating; rows of
the same item are merged and must agree on everything else).
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from judgecal._exceptions import InputError, InputTypeError, RecordError
from judgecal._validation import check_choice
from judgecal.records.core import (
    PAIRWISE_OUTCOMES,
    Judgment,
    JudgmentSet,
    LabelKind,
    Rating,
    RecordProblem,
    Scale,
)

__all__ = ["from_dataframe", "from_rows", "read_csv", "read_jsonl"]

OnError = Literal["raise", "report"]


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return v.strip() == ""
    return isinstance(v, float) and math.isnan(v)


def _to_number(v: Any) -> float:
    if isinstance(v, bool):
        raise ValueError
    try:
        if isinstance(v, str):
            return float(v.strip())
        return float(v)
    except OverflowError:  # an integer too large for a float
        raise ValueError("number too large") from None


def _parse_label(
    v: Any, kind: LabelKind | None, levels: int | None, codes: Mapping[Any, str] | None
) -> int | str:
    if kind == "pairwise":
        key = v.strip() if isinstance(v, str) else v
        if codes is not None:
            if key in codes:
                return codes[key]
            if isinstance(key, str):
                try:
                    num = _to_number(key)
                except ValueError:
                    num = None
                if num is not None and num.is_integer() and int(num) in codes:
                    return codes[int(num)]
            raise ValueError(f"one of the coded values {sorted(map(str, codes))}")
        if isinstance(key, str) and key.lower() in PAIRWISE_OUTCOMES:
            return key.lower()
        raise ValueError(f"one of {PAIRWISE_OUTCOMES} (or pass pairwise_codes=)")
    try:
        f = _to_number(v)
    except (ValueError, TypeError):
        raise ValueError("an integer label") from None
    if not f.is_integer():
        raise ValueError("an integer label")
    iv = int(f)
    if kind == "binary" and iv not in (0, 1):
        raise ValueError("0 or 1")
    if kind == "ordinal" and (levels is None or not 1 <= iv <= levels):
        raise ValueError(f"an integer level in 1..{levels}")
    return iv


def from_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    scale: Scale,
    item_col: str = "item_id",
    score_col: str = "score",
    stage_col: str | None = None,
    stage: str = "default",
    label_kind: LabelKind | None = None,
    label_cols: Sequence[str] = (),
    label_col: str | None = None,
    rater_col: str | None = None,
    levels: int | None = None,
    pairwise_codes: Mapping[Any, str] | None = None,
    feature_cols: Sequence[str] = (),
    text_cols: Sequence[str] = (),
    meta_cols: Sequence[str] = (),
    allowed_stages: Sequence[str] | None = None,
    on_error: OnError = "raise",
    first_row: int = 1,
) -> JudgmentSet:
    """Build a :class:`~judgecal.JudgmentSet` from mappings (one per row).

    Parameters
    ----------
    rows : iterable of mappings
        One mapping per row, e.g. ``csv.DictReader`` output.
    scale : Scale
        The judge's scale; scores off it are errors.
    item_col, score_col : str
        Columns with the item id and the judge's score (a number, or a verdict word).
    stage_col : str, optional
        Column with the stage; without it every row gets ``stage``.
    label_kind : {"binary", "ordinal", "pairwise"}, optional
        Kind of the human labels; required when label columns are given.
    label_cols : sequence of str
        Wide labels: one column per rater (the column name is the rater id).
    label_col, rater_col : str, optional
        Long labels: one rating per row; rows with the same item id are merged.
    levels : int, optional
        Number of ordinal levels (ordinal labels).
    pairwise_codes : mapping, optional
        How raw pairwise labels map to ``"first"``, ``"second"``, ``"tie"``,
        e.g. ``{1: "first", 2: "second", 0: "tie"}``.
    feature_cols, text_cols, meta_cols : sequence of str
        Columns kept as numeric features, texts, and grouping metadata.
    allowed_stages : sequence of str, optional
        When given, any other stage is an error.
    on_error : {"raise", "report"}
        Raise on the first bad row, or keep going and list bad rows in ``problems``.
    first_row : int
        Number of the first row in messages (1 = first data row).

    Examples
    --------
    >>> rows = [{"item_id": "a", "score": "4", "r1": "1", "r2": "0"},
    ...         {"item_id": "b", "score": "nan", "r1": "1", "r2": ""}]
    >>> from_rows(rows, scale=Scale.likert(5), label_kind="binary", label_cols=["r1", "r2"])
    Traceback (most recent call last):
    ...
    judgecal._exceptions.RecordError: Row 2: field 'score' must be a finite number in [1, 5]. Got 'nan' instead.
    >>> js = from_rows(rows, scale=Scale.likert(5), label_kind="binary",
    ...                label_cols=["r1", "r2"], on_error="report")
    >>> len(js), [str(p) for p in js.problems]
    (1, ["Row 2: field 'score' must be a finite number in [1, 5]. Got 'nan' instead."])
    """
    where = "from_rows"
    check_choice(on_error, "on_error", ("raise", "report"), where=where)
    if not isinstance(scale, Scale):
        raise InputError("scale", "a judgecal.Scale", type(scale).__name__, where=where)
    if isinstance(rows, str | bytes | Mapping) or not isinstance(rows, Iterable):
        raise InputTypeError(
            "rows", "an iterable of mappings (one per row)", type(rows).__name__, where=where
        )
    for cname, cval in (("item_col", item_col), ("score_col", score_col)):
        if not isinstance(cval, str):
            raise InputTypeError(cname, "a column name (str)", cval, where=where)
    for cname, opt in (
        ("stage_col", stage_col),
        ("label_col", label_col),
        ("rater_col", rater_col),
    ):
        if opt is not None and not isinstance(opt, str):
            raise InputTypeError(cname, "a column name (str) or None", opt, where=where)
    if not isinstance(stage, str) or not stage:
        raise InputTypeError("stage", "a non-empty stage name", stage, where=where)
    for cname, cols in (
        ("label_cols", label_cols),
        ("feature_cols", feature_cols),
        ("text_cols", text_cols),
        ("meta_cols", meta_cols),
    ):
        if (
            isinstance(cols, str | bytes)
            or not isinstance(cols, Sequence)
            or not all(isinstance(c, str) for c in cols)
        ):
            raise InputTypeError(cname, "a sequence of column names (str)", cols, where=where)
    if pairwise_codes is not None and not isinstance(pairwise_codes, Mapping):
        raise InputTypeError(
            "pairwise_codes",
            "a mapping of raw label to first/second/tie",
            pairwise_codes,
            where=where,
        )
    if label_cols and label_col:
        raise InputError(
            "label_col",
            "None when label_cols is given (wide or long, not both)",
            label_col,
            where=where,
        )
    if rater_col and not label_col:
        raise InputError("rater_col", "None unless label_col is given", rater_col, where=where)
    has_labels = bool(label_cols) or label_col is not None
    if has_labels:
        check_choice(label_kind, "label_kind", ("binary", "ordinal", "pairwise"), where=where)
    if label_kind == "ordinal" and (
        isinstance(levels, bool) or not isinstance(levels, int) or levels < 2
    ):
        raise InputError("levels", "an integer >= 2 for ordinal labels", levels, where=where)
    if isinstance(label_cols, str):
        raise InputError("label_cols", "a sequence of column names", label_cols, where=where)
    allowed = None if allowed_stages is None else set(allowed_stages)

    problems: list[RecordProblem] = []
    merged: dict[str, dict[str, Any]] = {}
    order: list[str] = []

    def fail(row: int, field: str, expected: str, got: Any) -> None:
        if on_error == "raise":
            raise RecordError(row, field, expected, got)
        problems.append(RecordProblem(row=row, field=field, expected=expected, got=repr(got)))

    scale_desc = (
        f"one of the verdicts {scale.verdicts}"
        if scale.kind == "verdict"
        else f"a finite number in [{scale.low:g}, {scale.high:g}]"
    )
    for rownum, row in enumerate(rows, start=first_row):
        if not isinstance(row, Mapping):
            fail(rownum, "<row>", "a mapping of column to value", type(row).__name__)
            continue
        needed = [item_col, score_col, *label_cols, *feature_cols, *text_cols, *meta_cols]
        needed += [c for c in (stage_col, label_col, rater_col) if c]
        missing = [c for c in needed if c not in row]
        if missing:
            fail(rownum, missing[0], "a column present in every row", "no such column")
            continue
        item = row[item_col]
        if _is_missing(item):
            fail(rownum, item_col, "a non-empty item id", item)
            continue
        item_id = str(item).strip() if not isinstance(item, float) else repr(item)
        if isinstance(item, float) and item.is_integer():
            item_id = str(int(item))
        st: Any = row[stage_col] if stage_col else stage
        if _is_missing(st) or not isinstance(st, str):
            fail(rownum, stage_col or "stage", "a non-empty stage name", st)
            continue
        st = st.strip()
        if allowed is not None and st not in allowed:
            fail(rownum, stage_col or "stage", f"one of the stages {sorted(allowed)}", st)
            continue
        raw = row[score_col]
        try:
            val: Any = raw
            if scale.kind != "verdict":
                val = _to_number(raw)
            score = scale.check(val)
        except (InputError, ValueError, TypeError):
            fail(rownum, score_col, scale_desc, raw)
            continue
        ratings: list[Rating] = []
        bad = False
        if label_cols:
            for c in label_cols:
                v = row[c]
                if _is_missing(v):
                    continue
                try:
                    ratings.append(
                        Rating(
                            value=_parse_label(v, label_kind, levels, pairwise_codes), rater=str(c)
                        )
                    )
                except ValueError as exc:
                    fail(rownum, c, str(exc), v)
                    bad = True
                    break
        elif label_col:
            v = row[label_col]
            if not _is_missing(v):
                try:
                    rater = (
                        None
                        if rater_col is None or _is_missing(row[rater_col])
                        else str(row[rater_col])
                    )
                    ratings.append(
                        Rating(
                            value=_parse_label(v, label_kind, levels, pairwise_codes), rater=rater
                        )
                    )
                except ValueError as exc:
                    fail(rownum, label_col, str(exc), v)
                    bad = True
        if bad:
            continue
        feats: dict[str, float] = {}
        for c in feature_cols:
            try:
                f = _to_number(row[c])
                if not math.isfinite(f):
                    raise ValueError
            except (ValueError, TypeError):
                fail(rownum, c, "a finite number (feature)", row[c])
                bad = True
                break
            feats[c] = f
        if bad:
            continue
        texts = {c: "" if row[c] is None else str(row[c]) for c in text_cols}
        meta = {c: str(row[c]) for c in meta_cols}
        rec = dict(
            item_id=item_id,
            stage=st,
            score=score,
            judge_output=raw
            if isinstance(raw, str | float | int) and not isinstance(raw, bool)
            else None,
            label_kind=label_kind if has_labels else None,
            levels=levels if label_kind == "ordinal" and has_labels else None,
            ratings=ratings,
            features=feats,
            texts=texts,
            meta=meta,
            _row=rownum,
        )
        if label_col and item_id in merged:
            prev = merged[item_id]
            for key in ("stage", "score", "features", "texts", "meta"):
                if prev[key] != rec[key]:
                    fail(
                        rownum,
                        key,
                        f"the same value as earlier rows of item {item_id!r} ({prev[key]!r})",
                        rec[key],
                    )
                    bad = True
                    break
            if not bad:
                prev["ratings"] = [*prev["ratings"], *ratings]
            continue
        if item_id in merged:
            fail(
                rownum,
                item_col,
                "a unique item id (use label_col/rater_col for one rating per row)",
                item_id,
            )
            continue
        merged[item_id] = rec
        order.append(item_id)

    out: list[Judgment] = []
    for key in order:
        rec = merged[key]
        rownum = rec.pop("_row")
        try:
            out.append(Judgment(**rec))
        except ValidationError as exc:  # pragma: no cover - fields were checked above
            err = exc.errors()[0]
            fail(rownum, ".".join(map(str, err["loc"])) or "<row>", err["msg"], err.get("input"))
    return JudgmentSet(out, scale=scale, problems=problems)


def from_dataframe(df: Any, **columns: Any) -> JudgmentSet:
    """Build a :class:`~judgecal.JudgmentSet` from a pandas DataFrame.

    Takes the same keyword arguments as :func:`from_rows` (the column mapping).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"id": ["a", "b"], "judge": [4.0, 2.0], "human": [1, 0]})
    >>> js = from_dataframe(df, item_col="id", score_col="judge", scale=Scale.likert(5),
    ...                     label_kind="binary", label_cols=["human"])
    >>> js.scores().tolist(), js.targets()[0].tolist()
    ([4.0, 2.0], [1.0, 0.0])
    """
    if not (hasattr(df, "to_dict") and hasattr(df, "columns")):
        raise InputError("df", "a pandas DataFrame", type(df).__name__, where="from_dataframe")
    return from_rows(df.to_dict(orient="records"), **columns)


def read_csv(path: str | os.PathLike[str], **columns: Any) -> JudgmentSet:
    """Load records from a CSV file with a header row (see :func:`from_rows`)."""
    p = _existing(path, "read_csv")
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None:
                raise InputError("path", "a CSV file with a header row", str(p), where="read_csv")
            return from_rows(reader, **columns)
    except UnicodeDecodeError as exc:
        raise InputError(
            "path",
            "a UTF-8 text file",
            f"{p} (undecodable byte at position {exc.start})",
            where="read_csv",
        ) from None
    except csv.Error as exc:
        raise InputError("path", "a readable CSV file", f"{p} ({exc})", where="read_csv") from None


def read_jsonl(path: str | os.PathLike[str], **columns: Any) -> JudgmentSet:
    """Load records from a JSON-lines file, one object per line (see :func:`from_rows`)."""
    p = _existing(path, "read_jsonl")
    rows: list[Any] = []
    try:
        with p.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except (
                    json.JSONDecodeError,
                    ValueError,
                ) as exc:  # ValueError: an over-long integer
                    raise RecordError(n, "<line>", "a JSON object", line.strip()[:60]) from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            "path",
            "a UTF-8 text file",
            f"{p} (undecodable byte at position {exc.start})",
            where="read_jsonl",
        ) from None
    return from_rows(rows, **columns)


def _existing(path: Any, where: str) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise InputError("path", "a file path", path, where=where)
    p = Path(path)
    if not p.is_file():
        raise InputError("path", "an existing file", str(p), where=where)
    return p
