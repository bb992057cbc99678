"""``judgecal fit``: fit a calibrator on a labelled file and save it as JSON."""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any

import numpy as np

from judgecal._exceptions import InputError, JudgecalWarning
from judgecal.cli import options
from judgecal.cli.data import DEFAULT_SCALE, load_records, score_columns
from judgecal.cli.output import write_text

__all__ = ["register", "run"]

EXAMPLE = """examples:
  judgecal fit labels.csv --score-col gpt4 --label-col r1,r2,r3 --stage-col stage \\
      --calibrator isotonic --out calibrator.json
  judgecal fit labels.csv --score-col gpt4,claude --label-col human --calibrator bayes \\
      --out panel.json        # a judge panel: one monotone slope per judge
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``fit`` subcommand."""
    parser = subparsers.add_parser(
        "fit",
        help="fit a calibrator and save it as JSON",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    options.add_data(parser)
    options.add_record_cols(parser)
    options.add_label_cols(parser)
    options.add_threshold(parser, help="ordinal: lowest level counted as agreement")
    parser.add_argument(
        "--how",
        choices=("soft", "majority", "mean"),
        default="soft",
        help="how several raters make a target (default soft)",
    )
    options.add_ties(parser, old_names=True)
    options.add_calibrator(parser)
    parser.add_argument("--min-stage-labels", type=options.positive_int, default=30)
    options.add_seed(parser)
    options.add_out(parser, required=True, help="where to write the calibrator JSON")
    parser.set_defaults(func=run)


def _targets(labelled: Any, args: argparse.Namespace) -> Any:
    threshold = args.threshold if args.label_kind == "ordinal" else None
    ties = "loss" if args.ties == "negative" else args.ties
    try:
        return labelled.targets(how=args.how, threshold=threshold, ties=ties)
    except InputError as exc:  # records that still call the loss policy "negative"
        if ties != "loss" or exc.parameter != "ties":
            raise
        return labelled.targets(how=args.how, threshold=threshold, ties="negative")


def make_calibrator(name: str, *, min_stage_labels: int, seed: int) -> Any:
    """A fresh calibrator called ``name`` (one of :data:`options.CALIBRATORS`)."""
    if name == "bayes":
        from judgecal.calibration.bayes.calibrator import BayesianCalibrator

        return BayesianCalibrator(random_state=seed)
    from judgecal.calibration.isotonic import IsotonicCalibrator
    from judgecal.calibration.logistic import LogisticCalibrator

    kind = IsotonicCalibrator if name == "isotonic" else LogisticCalibrator
    return kind(min_stage_labels=min_stage_labels)


def calibrator_document(calibrator: Any, scale: str, columns: list[str] | None = None) -> str:
    """The saved JSON, plus the scale (and a panel's judge columns) ``apply`` reuses."""
    from judgecal.persist import dumps

    data_options = {"scale": scale}
    if columns is not None and len(columns) > 1:
        data_options["score_cols"] = ",".join(columns)
    try:
        return dumps(calibrator, data_options=data_options)
    except TypeError:  # a persist module without data_options
        return dumps(calibrator)


def fit_rows(records: Any, panel: bool) -> Any:
    """The labelled records every judge scored (a panel: every ``--score-col`` judge)."""
    labelled = records.labelled()
    if panel:
        labelled = labelled.take(np.flatnonzero(~np.isnan(labelled.panel_scores()).any(axis=1)))
    else:
        labelled = labelled.scored()
    if len(labelled) == 0:
        raise InputError("DATA", "rows with a judge score and at least one human label", "none")
    return labelled


def _panel_words(columns: list[str]) -> str:
    return f" (a panel of {len(columns)} judges: {', '.join(columns)})" if len(columns) > 1 else ""


def run(args: argparse.Namespace) -> int:
    """Fit, report warnings on stderr, save atomically.

    Several ``--score-col`` columns fit a judge panel (X of shape (n, k)) on the
    rows every judge scored; the columns are stored beside the calibrator.
    """
    columns = score_columns(args)
    panel = len(columns) > 1
    records = load_records(args, args.data, with_labels=True, panel=panel)
    labelled = fit_rows(records, panel)
    targets, weights = _targets(labelled, args)
    calibrator = make_calibrator(
        args.calibrator, min_stage_labels=args.min_stage_labels, seed=args.seed
    )
    stages = labelled.stages() if args.stage_col else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", JudgecalWarning)
        scores = labelled.panel_scores() if panel else labelled.scores()
        calibrator.fit(scores, targets, weights, stages=stages)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    document = calibrator_document(calibrator, args.scale or DEFAULT_SCALE, columns)
    write_text(args.out, document)
    print(
        f"fitted {type(calibrator).__name__}{_panel_words(columns)} on {len(labelled)} "
        "labelled items "
        f"({len(records) - len(labelled)} rows without score or labels not used); "
        f"saved to {args.out}"
    )
    return 0
