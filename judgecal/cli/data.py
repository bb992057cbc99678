"""Reading the user's data file with the shared options (``--score-col``, ``--scale``, ...).

Columns named by flags are checked against the file's header first, so a typo
is reported against the flag: ``--score-col: column 'judge' is not in
data.csv (columns: id, gpt4)``.

Examples
--------
>>> scale = parse_scale("numeric:0:10")
>>> (scale.kind, scale.low, scale.high)
('numeric', 0.0, 10.0)
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

from judgecal._exceptions import InputError, JudgecalError
from judgecal.cli.errors import FlagError

__all__ = [
    "DEFAULT_SCALE",
    "bundled_or_file",
    "data_path",
    "item_columns",
    "label_columns",
    "load_records",
    "parse_scale",
    "score_columns",
]

DEFAULT_SCALE = "likert:5"
_SUFFIXES = (".csv", ".jsonl", ".ndjson")


def parse_scale(text: str) -> Any:
    """Parse ``--scale``: ``likert:5``, ``numeric:0:10`` or ``verdict:no,yes``."""
    from judgecal.records.core import Scale

    kind, _, rest = text.partition(":")
    try:
        if kind == "likert":
            return Scale.likert(int(rest or 5))
        if kind == "numeric":
            low, high = rest.split(":")
            return Scale.numeric(float(low), float(high))
        if kind == "verdict":
            return Scale.verdict(*[word.strip() for word in rest.split(",")])
    except (ValueError, TypeError, OverflowError, JudgecalError):
        pass
    raise FlagError(
        "--scale", f"expected likert:K, numeric:LOW:HIGH or verdict:W1,W2; got {text!r}"
    )


def data_path(args: argparse.Namespace) -> str | None:
    """The data file given positionally or with ``--data`` (not both)."""
    positional, flag = getattr(args, "data", None), getattr(args, "data_flag", None)
    if positional is not None and flag is not None:
        raise FlagError("--data", "give the data file once (positionally or with --data)")
    return positional if positional is not None else flag


def label_columns(args: argparse.Namespace) -> list[str]:
    """The human label columns of ``--label-col`` (repeated and comma-separated)."""
    return [c.strip() for spec in args.label_col or () for c in spec.split(",") if c.strip()]


def _header(path: Path) -> list[str] | None:
    """The column names of a CSV or JSONL file, or None when they cannot be read cheaply."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            if path.suffix.lower() == ".csv":
                return next(csv.reader(handle), None)
            for line in handle:
                if line.strip():
                    row = json.loads(line)
                    return [str(key) for key in row] if isinstance(row, dict) else None
    except (OSError, UnicodeDecodeError, csv.Error, json.JSONDecodeError):
        return None
    return None


def _check_columns(path: Path, wanted: dict[str, list[str]]) -> None:
    header = _header(path) if path.is_file() else None
    if not header:
        return
    shown = ", ".join(header[:8]) + (", ..." if len(header) > 8 else "")
    for flag, columns in wanted.items():
        for column in columns:
            if column not in header:
                raise FlagError(flag, f"column {column!r} is not in {path.name} (columns: {shown})")


def _number_or_word(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text


def _codes(spec: str, *, flag: str = "--pairwise-codes") -> dict[Any, Any]:
    """``2=first,0=second`` (pairwise codes) or ``yes=1,no=0`` (label words) as a mapping.

    Examples
    --------
    >>> _codes("yes=1,no=0", flag="--labels")
    {'yes': 1, 'no': 0}
    """
    codes: dict[Any, Any] = {}
    for part in spec.split(","):
        raw, _, name = part.partition("=")
        if not raw.strip() or not name.strip():
            raise FlagError(flag, f"expected pairs like yes=1,no=0 or 2=first; got {spec!r}")
        key = _number_or_word(raw.strip())
        codes[key] = _number_or_word(name.strip()) if flag == "--labels" else name.strip()
    return codes


def _label_options(args: argparse.Namespace, labels: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {
        "label_kind": args.label_kind,
        "label_cols": labels,
        "levels": args.levels,
    }
    if args.label_kind == "pairwise" and args.pairwise_codes:
        options["pairwise_codes"] = _codes(args.pairwise_codes)
    if getattr(args, "labels", None):
        options["labels"] = _codes(args.labels, flag="--labels")
    if getattr(args, "label_threshold", None) is not None:
        options["label_threshold"] = args.label_threshold
    return options


def score_columns(args: argparse.Namespace) -> list[str]:
    """The judge columns of ``--score-col`` (comma-separated: several judges).

    Examples
    --------
    >>> score_columns(argparse.Namespace(score_col="gpt4, claude"))
    ['gpt4', 'claude']
    """
    return [c.strip() for c in str(args.score_col or "").split(",") if c.strip()]


def item_columns(args: argparse.Namespace) -> list[str]:
    """The columns of ``--item-col``; several (``story_id,criterion``) make one id together."""
    return [c.strip() for c in str(args.item_col or "item_id").split(",") if c.strip()]


def load_records(
    args: argparse.Namespace,
    path: str,
    *,
    with_labels: bool,
    scale: str | None = None,
    score_col: str | None = None,
    feature_cols: tuple[str, ...] = (),
    on_error: str = "raise",
    panel: bool = False,
) -> Any:
    """Read ``path`` with the record options in ``args`` (a ``JudgmentSet``).

    ``score_col`` reads one of several ``--score-col`` judges (default: the
    first); ``feature_cols`` are kept as numeric features; ``on_error="report"``
    leaves rows with a problem out and lists them in the set's ``problems``;
    ``panel=True`` reads every ``--score-col`` judge into one set (a judge panel).
    """
    file = Path(path)
    if file.suffix.lower() not in _SUFFIXES:
        raise InputError("DATA", "a .csv or .jsonl file", path)
    judges = score_columns(args)
    if not judges:
        raise FlagError("--score-col", f"required with a data file ({file.name})")
    labels = label_columns(args) if with_labels else []
    if with_labels and not labels:
        raise FlagError("--label-col", f"required with a data file ({file.name})")
    wanted = {"--score-col": judges, "--label-col": labels, "--item-col": item_columns(args)}
    if args.stage_col:
        wanted["--stage-col"] = [args.stage_col]
    if feature_cols:
        wanted["CALIBRATOR (its feature columns)"] = list(feature_cols)
    _check_columns(file, wanted)
    options: dict[str, Any] = {
        "scale": parse_scale(scale or args.scale or DEFAULT_SCALE),
        "score_col": score_col or judges[0],
        "stage_col": args.stage_col,
        "item_col": args.item_col,
        "on_error": on_error,
    }
    if feature_cols:
        options["feature_cols"] = list(feature_cols)
    if panel and len(judges) > 1:
        del options["score_col"]
        options["score_cols"] = judges
    if with_labels:
        options.update(_label_options(args, labels))
    if len(item_columns(args)) > 1:
        return _read_joined_ids(file, item_columns(args), options)
    from judgecal.records.io import read_csv, read_jsonl

    reader = read_csv if file.suffix.lower() == ".csv" else read_jsonl
    return reader(file, **options)


_JOINED_ID = "__judgecal_item_id__"


def _read_joined_ids(file: Path, columns: list[str], options: dict[str, Any]) -> Any:
    """Read a file whose item id is several columns together (``story_id,criterion``)."""
    from judgecal.records.io import from_rows

    rows = _file_rows(file)
    for row in rows:
        row[_JOINED_ID] = "/".join(str(row.get(column, "")) for column in columns)
    return from_rows(rows, **{**options, "item_col": _JOINED_ID})


def _file_rows(file: Path) -> list[dict[str, Any]]:
    if file.suffix.lower() == ".csv":
        with file.open(newline="", encoding="utf-8-sig") as handle:
            return [dict(row) for row in csv.DictReader(handle)]
    rows = []
    with file.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise InputError("DATA", "one JSON object per line", f"line {number}")
                rows.append(row)
    return rows


def bundled_or_file(args: argparse.Namespace, default: str) -> Any:
    """The records of the data file, or of a bundled dataset when none is given."""
    path = data_path(args)
    if path is not None:
        return load_records(args, path, with_labels=True)
    from judgecal.records.datasets import load_hanna, load_pandalm

    if (args.dataset or default) == "hanna":
        return load_hanna(args.judge or "ChatGPT_p1")
    return load_pandalm(args.judge or "gpt35", with_texts=False)
