"""Command-line errors name the flag the user typed, in one line.

Library errors name Python parameters (``score_col``, ``n_resamples``); here
they are translated, in one place, to the flags of the command line.

Examples
--------
>>> from judgecal._exceptions import InputError
>>> describe(InputError("level", "in (0, 1)", 2.0, where="estimate_rate"))
'--level: must be in (0, 1); got 2.0'
>>> str(FlagError("--plot", "unsupported file type '.txt'"))
"--plot: unsupported file type '.txt'"
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from judgecal._exceptions import InputError, JudgecalError, RecordError

__all__ = ["FlagError", "describe", "interrupted_message"]

#: Library parameter names and the flags that set them.
PARAMETER_FLAGS: dict[str, str] = {
    "score_col": "--score-col",
    "label_col": "--label-col",
    "label_cols": "--label-col",
    "stage_col": "--stage-col",
    "item_col": "--item-col",
    "label_kind": "--label-kind",
    "levels": "--levels",
    "pairwise_codes": "--pairwise-codes",
    "scale": "--scale",
    "threshold": "--threshold",
    "how": "--how",
    "ties": "--ties",
    "min_stage_labels": "--min-stage-labels",
    "calibrator": "--calibrator",
    "method": "--estimator",
    "n_boot": "--n-resamples",
    "n_resamples": "--n-resamples",
    "level": "--level",
    "alpha": "--level",
    "seed": "--seed",
    "n_labelled": "--n-labelled",
    "judge": "--judge",
    "judge_cut": "--judge-cut",
    "strata": "--strata",
    "attributes": "--attributes",
}

#: ``(parameter, where)`` pairs whose flag depends on the function that raised.
_PLACED_FLAGS: dict[tuple[str, str], str] = {
    ("path", "read_csv"): "DATA",
    ("path", "read_jsonl"): "DATA",
    ("path", "load"): "CALIBRATOR",
    ("path", "save"): "--out",
    ("path", "judgecal cache"): "PATH",
}


class FlagError(JudgecalError):
    """A bad value of one command-line flag; the message starts with the flag."""

    def __init__(self, flag: str, message: str) -> None:
        self.flag = flag
        super().__init__(f"{flag}: {message}")


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _column_flags(args: argparse.Namespace | None) -> dict[str, str]:
    if args is None:
        return {}
    flags: dict[str, str] = {}
    for spec in getattr(args, "label_col", None) or ():
        for column in str(spec).split(","):
            flags[column.strip()] = "--label-col"
    for dest in ("item_col", "stage_col", "score_col"):
        name = getattr(args, dest, None)
        if name:
            flags[str(name)] = PARAMETER_FLAGS[dest]
    return flags


def _describe_record(exc: RecordError, args: argparse.Namespace | None) -> str:
    flag = _column_flags(args).get(exc.field, "DATA")
    return (
        f"{flag}: row {exc.row}: column {exc.field!r} must be {exc.expected}; got {_short(exc.got)}"
    )


def describe(exc: BaseException, args: argparse.Namespace | None = None) -> str:
    """One line for ``exc`` that names the flag (``--level: must be ...``)."""
    if isinstance(exc, RecordError):
        return _describe_record(exc, args)
    if isinstance(exc, InputError):
        flag = _PLACED_FLAGS.get((exc.parameter, exc.where or "")) or PARAMETER_FLAGS.get(
            exc.parameter
        )
        if flag is None and exc.parameter.startswith(("-", "DATA", "PATH", "CALIBRATOR")):
            flag = exc.parameter
        if flag is not None:
            return f"{flag}: must be {exc.expected}; got {_short(exc.got)}"
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {exc}"
    return " ".join(str(exc).split())


def interrupted_message(exc: KeyboardInterrupt, cache: str | os.PathLike[str] | None) -> str:
    """What Ctrl-C prints: how far the run got and how to resume, when known.

    Examples
    --------
    >>> interrupted_message(KeyboardInterrupt(), None)
    'interrupted'
    """
    finished, total = getattr(exc, "finished", None), getattr(exc, "total", None)
    if finished is None or total is None:
        return "interrupted"
    if cache is None:
        return f"interrupted: {finished} of {total} items finished"
    return (
        f"interrupted: {finished} of {total} items finished and cached in {cache}; "
        "run the same command again to resume"
    )
