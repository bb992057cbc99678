"""``judgecal apply``: add calibrated probabilities to the scores in a file.

Works with every calibrator ``judgecal`` saves: isotonic, logistic,
feature-adjusted (its feature columns are read from the file) and Bayesian
(binary, monotone, ordinal, pairwise; with a credible interval per row). The
scores are read on the scale the calibrator was fitted on: the one ``judgecal
fit`` stored beside it, else what the calibrator itself records (a pairwise
Bayesian calibrator reads ``second``/``tie``/``first``), else ``--scale``.

A judge panel (a calibrator fitted on several ``--score-col`` columns) reads
the same columns: the ones ``judgecal fit`` stored beside it, or ``--score-col``
with as many columns. Items some judge did not score keep a row without a
probability.

When ``--label-col`` names human labels, the raw judge and the calibrated
judge are scored against them (Brier, ECE, log loss) and a reliability
diagram is written.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from judgecal._exceptions import InputError
from judgecal.cli import options
from judgecal.cli.data import (
    DEFAULT_SCALE,
    label_columns,
    load_records,
    parse_scale,
    score_columns,
)
from judgecal.cli.errors import FlagError
from judgecal.cli.output import check_plot_path, open_output
from judgecal.cli.scoring import (
    agreement,
    calibrator_inputs,
    feature_names,
    interval,
    metric_rows,
    metrics_table,
    reliability_plot,
)

__all__ = ["calibrator_scale", "register", "run", "stored_columns", "stored_scale"]

EXAMPLE = """examples:
  judgecal apply calibrator.json judged.csv --score-col gpt4 --stage-col stage --out calibrated.csv
  judgecal apply calibrator.json labelled.csv --score-col gpt4 --label-col r1,r2 \\
      --out calibrated.csv --plot reliability.png       # also: Brier, ECE, log loss
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``apply`` subcommand."""
    parser = subparsers.add_parser(
        "apply",
        help="calibrate the scores in a file (and score the calibration when it has labels)",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "calibrator_path", metavar="CALIBRATOR", help="JSON file written by 'judgecal fit'"
    )
    options.add_data(parser)
    options.add_record_cols(parser)
    options.add_label_cols(parser)
    options.add_threshold(parser, help="ordinal labels: lowest level counted as yes")
    options.add_level(parser)
    options.add_out(parser, help="output CSV (default: stdout)")
    parser.add_argument(
        "--plot",
        default=None,
        help="with labels: reliability diagram here (default: OUT.reliability.png, "
        "or judgecal-reliability.png)",
    )
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


def stored_columns(text: str) -> list[str]:
    """The judge columns of a panel that ``judgecal fit`` stored beside the calibrator.

    Examples
    --------
    >>> stored_columns('{"data_options": {"score_cols": "gpt4,claude"}}')
    ['gpt4', 'claude']
    >>> stored_columns('{}')
    []
    """
    try:
        document = json.loads(text)
    except ValueError:
        return []
    extra = document.get("data_options") if isinstance(document, dict) else None
    columns = extra.get("score_cols") if isinstance(extra, dict) else None
    return [c.strip() for c in columns.split(",") if c.strip()] if isinstance(columns, str) else []


def _panel_columns(args: argparse.Namespace, calibrator: Any, stored: list[str]) -> list[str]:
    """The judge columns to read: one judge (empty list), or a panel's k columns."""
    given = score_columns(args)
    width = 1 if feature_names(calibrator) else int(getattr(calibrator, "n_features_in_", 1))
    if width == 1:
        if len(given) > 1:
            raise FlagError(
                "--score-col",
                "one judge column: the calibrator was fitted on one judge "
                "(agree, bias and compare take several)",
            )
        return []
    columns = given or stored
    if len(columns) != width:
        named = f" ({','.join(stored)})" if stored else ""
        raise FlagError(
            "--score-col",
            f"{width} judge columns, as the calibrator was fitted on{named}; got {len(given)}",
        )
    args.score_col = ",".join(columns)
    return columns


def calibrator_scale(calibrator: Any) -> str | None:
    """The scale a calibrator records itself (Bayesian kinds), as a ``--scale`` text.

    Examples
    --------
    >>> from judgecal import BayesianCalibrator
    >>> calibrator_scale(BayesianCalibrator(kind="pairwise"))
    'verdict:second,tie,first'
    >>> calibrator_scale(BayesianCalibrator(score_range=(1, 7)))
    'numeric:1:7'
    """
    if getattr(calibrator, "kind", None) == "pairwise":
        return "verdict:second,tie,first"  # the pairwise coding of judgecal.vocabulary
    score_range = getattr(calibrator, "score_range", None)
    if score_range is not None:
        low, high = (float(value) for value in score_range)
        return f"numeric:{low:g}:{high:g}"
    return None


def _load_calibrator(path: str) -> tuple[Any, str | None, list[str]]:
    from judgecal.persist import loads

    file = Path(path)
    if not file.is_file():
        raise InputError("CALIBRATOR", "an existing file", path)
    text = file.read_bytes()
    calibrator = loads(text)
    decoded = text.decode("utf-8", errors="replace")
    scale = stored_scale(decoded) or calibrator_scale(calibrator)
    return calibrator, scale, stored_columns(decoded)


def _features(records: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: records.feature(name) for name in names}


def _predict(
    calibrator: Any, records: Any, stages: Any, level: float, panel: bool = False
) -> tuple[Any, Any | None]:
    """Agreement and interval of the scored records (a panel: every judge's score)."""
    if panel:
        inputs = records.panel_scores()
    else:
        inputs = calibrator_inputs(
            calibrator, records.scores(), _features(records, feature_names(calibrator))
        )
    return agreement(calibrator, inputs, stages), interval(calibrator, inputs, stages, level)


def _panel_scored(records: Any) -> Any:
    """Whether every judge of the panel scored each item, shape (n,)."""
    return ~np.isnan(records.panel_scores()).any(axis=1)


def _panel_rows(records: Any, columns: list[str], probability: Any, bounds: Any | None) -> Any:
    """The output rows of a panel: every judge's score, then as :func:`_rows`."""
    interval_cols = ["p_low", "p_high"] if bounds is not None else []
    yield ["item_id", "stage", *columns, "p_agree", *interval_cols, "status"]
    scores = records.panel_scores()
    scored = 0
    for judgment, row_scores in zip(records, scores, strict=True):
        cells = ["" if np.isnan(v) else f"{v:g}" for v in row_scores]
        missing = [c for c, v in zip(columns, row_scores, strict=True) if np.isnan(v)]
        if missing:
            empty = ["", ""] if bounds is not None else []
            status = "no score from " + ",".join(missing)
            yield [judgment.item_id, judgment.stage, *cells, "", *empty, status]
            continue
        row = [judgment.item_id, judgment.stage, *cells, f"{probability[scored]:.6f}"]
        if bounds is not None:
            row += [f"{bounds[scored, 0]:.6f}", f"{bounds[scored, 1]:.6f}"]
        yield [*row, "ok"]
        scored += 1


def _rows(records: Any, probability: Any, bounds: Any | None) -> Any:
    """The output rows: id, stage, status, score, p_agree (and the interval, when there is one)."""
    yield (
        ["item_id", "stage", "score", "p_agree"]
        + (["p_low", "p_high"] if bounds is not None else [])
        + ["status"]
    )
    scored = 0
    for judgment in records:
        if judgment.score is None:  # a failed or missing judge output: kept, never scored
            empty = ["", ""] if bounds is not None else []
            yield [judgment.item_id, judgment.stage, "", "", *empty, judgment.judge_status]
            continue
        row = [judgment.item_id, judgment.stage, repr(judgment.score)]
        row.append(f"{probability[scored]:.6f}")
        if bounds is not None:
            row += [f"{bounds[scored, 0]:.6f}", f"{bounds[scored, 1]:.6f}"]
        yield [*row, judgment.judge_status]
        scored += 1


def _targets(labelled: Any, args: argparse.Namespace, calibrator: Any) -> Any:
    threshold = args.threshold
    if labelled.label_kind == "ordinal" and threshold is None:
        threshold = getattr(calibrator, "threshold", None)
        if threshold is None:
            raise InputError("--threshold", "the lowest level counted as yes", "nothing")
    return labelled.targets(how="soft", threshold=threshold)


def _report_metrics(
    args: argparse.Namespace, records: Any, calibrator: Any, scale: str, stages_given: bool
) -> None:
    """Score raw and calibrated judge on the labelled items; write the reliability plot."""
    panel = bool(getattr(records, "judges", ())) and len(records.judges) > 1
    labelled = records.labelled()
    labelled = labelled.take(_panel_scored(labelled)) if panel else labelled.scored()
    stream = sys.stdout if args.out not in (None, "-") else sys.stderr
    if len(labelled) == 0:
        print("no labelled items with a judge score: no metrics", file=stream)
        return
    y, weight = _targets(labelled, args, calibrator)
    stages = labelled.stages() if stages_given else None
    calibrated, _ = _predict(calibrator, labelled, stages, args.level, panel)
    raw = parse_scale(scale).to_unit(labelled.scores())
    predictions = {"raw judge": raw, f"calibrated ({type(calibrator).__name__})": calibrated}
    print(f"calibration on {len(labelled)} labelled items (lower is better):", file=stream)
    print(metrics_table(metric_rows(y, weight, predictions)), file=stream)
    plot = _plot_path(args)
    reliability_plot(plot, y, weight, predictions, title="judgecal apply: reliability")
    print(f"reliability diagram written to {plot}", file=stream)


def _plot_path(args: argparse.Namespace) -> str:
    if args.plot:
        return str(args.plot)
    if args.out not in (None, "-"):
        return str(Path(args.out).with_suffix(".reliability.png"))
    return "judgecal-reliability.png"


def run(args: argparse.Namespace) -> int:
    """Write one CSV row per item; the whole file appears at once (atomic)."""
    calibrator, stored, stored_cols = _load_calibrator(args.calibrator_path)
    columns = _panel_columns(args, calibrator, stored_cols)
    scale = args.scale or stored or DEFAULT_SCALE
    with_labels = bool(label_columns(args))
    if with_labels:
        check_plot_path("--plot", _plot_path(args))
    records = load_records(
        args,
        args.data,
        with_labels=with_labels,
        scale=scale,
        feature_cols=feature_names(calibrator),
        panel=bool(columns),
    )
    scored = records.take(_panel_scored(records)) if columns else records.scored()
    stages = scored.stages() if args.stage_col else None
    if len(scored):
        probability, bounds = _predict(calibrator, scored, stages, args.level, bool(columns))
    else:
        probability, bounds = np.empty(0), None
    if columns:
        rows = list(_panel_rows(records, columns, probability, bounds))
    else:
        rows = list(_rows(records, probability, bounds))
    with open_output(args.out, newline="") as handle:
        csv.writer(handle).writerows(rows)
    if with_labels:
        _report_metrics(args, records, calibrator, scale, bool(args.stage_col))
    return 0
