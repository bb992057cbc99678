"""``judgecal apply``: add calibrated probabilities to the scores in a file."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

from judgecal._exceptions import InputError
from judgecal.cli import options
from judgecal.cli.data import load_records
from judgecal.cli.output import open_output

__all__ = ["register", "run", "stored_scale"]

EXAMPLE = """example:
  judgecal apply calibrator.json judged.csv --score-col gpt4 --stage-col stage --out calibrated.csv
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``apply`` subcommand."""
    parser = subparsers.add_parser(
        "apply",
        help="calibrate the scores in a file",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "calibrator_path", metavar="CALIBRATOR", help="JSON file written by 'judgecal fit'"
    )
    options.add_data(parser)
    options.add_record_cols(parser)
    options.add_level(parser)
    options.add_out(parser, help="output CSV (default: stdout)")
    parser.set_defaults(func=run)


def stored_scale(text: str) -> str | None:
    """The ``--scale`` that ``judgecal fit`` stored beside the calibrator, if any.

    Examples
    --------
    >>> stored_scale('{"data_options": {"scale": "verdict:no,yes"}}')
    'verdict:no,yes'
    >>> stored_scale('{}') is None
    True
    """
    try:
        document = json.loads(text)
    except ValueError:
        return None
    extra = document.get("data_options") if isinstance(document, dict) else None
    scale = extra.get("scale") if isinstance(extra, dict) else None
    return scale if isinstance(scale, str) else None


def _load_calibrator(path: str) -> tuple[Any, str | None]:
    from judgecal.persist import loads

    file = Path(path)
    if not file.is_file():
        raise InputError("CALIBRATOR", "an existing file", path)
    text = file.read_bytes()
    calibrator = loads(text)
    return calibrator, stored_scale(text.decode("utf-8", errors="replace"))


def _rows(records: Any, calibrator: Any, stages: Any, level: float) -> Any:
    """Yield the output rows: id, stage, score, p_agree (and the interval, when there is one)."""
    scores = records.scores()
    probability = calibrator.predict_proba(scores, stages=stages)[:, 1]
    interval = None
    if hasattr(calibrator, "predict_interval"):
        interval = calibrator.predict_interval(scores, stages=stages, level=level)
    yield ["item_id", "stage", "score", "p_agree"] + (
        ["p_low", "p_high"] if interval is not None else []
    )
    for index, judgment in enumerate(records):
        row = [judgment.item_id, judgment.stage, repr(judgment.score), f"{probability[index]:.6f}"]
        if interval is not None:
            row += [f"{interval[index, 0]:.6f}", f"{interval[index, 1]:.6f}"]
        yield row


def run(args: argparse.Namespace) -> int:
    """Write one CSV row per item; the whole file appears at once (atomic)."""
    calibrator, scale = _load_calibrator(args.calibrator_path)
    records = load_records(args, args.data, with_labels=False, scale=args.scale or scale)
    stages = records.stages() if args.stage_col else None
    rows = list(_rows(records, calibrator, stages, args.level))
    with open_output(args.out, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return 0
