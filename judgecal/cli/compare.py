"""``judgecal compare``: calibrators x label budgets x repeated random splits on the user's file.

For every split, a random ``budget`` of the labelled items is the human
sample a calibrator is fitted on; every other labelled item is held out. On
the held-out items, per stage and over all stages, the command reports the
mean Brier score, ECE and log loss of the raw judge (its score rescaled to
[0, 1]) and of each calibrator, and the share of splits in which the
calibrator's Brier score beats the raw judge's on the same items. It writes a
reliability diagram of the first split at the largest budget.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from judgecal._exceptions import InputError, JudgecalWarning
from judgecal.cli import options
from judgecal.cli.data import DEFAULT_SCALE, load_records, parse_scale, score_columns
from judgecal.cli.errors import FlagError
from judgecal.cli.output import check_plot_path, emit
from judgecal.cli.scoring import MetricRow, metric_rows, reliability_plot

__all__ = ["register", "run"]

RAW = "raw judge"

EXAMPLE = """examples:
  judgecal compare labels.csv --score-col gpt4 --label-col r1,r2,r3 --stage-col stage
  judgecal compare judgecal/data/hanna_long.csv --item-col story_id,criterion \\
      --stage-col criterion --score-col ChatGPT_p1 --scale numeric:1:5 \\
      --label-col human_1,human_2,human_3 --label-kind ordinal --levels 5 --threshold 4 \\
      --budgets 50,200 --n-splits 20
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``compare`` subcommand."""
    parser = subparsers.add_parser(
        "compare",
        help="held-out Brier/ECE/log loss of calibrators vs the raw judge, per stage and budget",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    options.add_data(parser)
    options.add_record_cols(parser)
    options.add_label_cols(parser)
    options.add_threshold(parser, help="ordinal labels: lowest level counted as yes")
    options.add_ties(parser, help="pairwise labels: tie policy of the targets (default half)")
    options.add_calibrators(parser)
    options.add_budgets(parser, default=(50, 100, 200))
    parser.add_argument(
        "--n-splits",
        type=options.positive_int,
        default=20,
        help="random splits per budget (default 20)",
    )
    parser.add_argument("--min-stage-labels", type=options.positive_int, default=30)
    options.add_seed(parser)
    options.add_format(parser, ("markdown", "json"))
    options.add_out(parser)
    parser.add_argument(
        "--plot",
        default="judgecal-compare.png",
        help="reliability diagram of the first split at the largest budget "
        "(default judgecal-compare.png)",
    )
    parser.set_defaults(func=run)


@dataclass
class _Labelled:
    """The labelled items of the file as arrays."""

    scores: Any
    raw: Any
    y: Any
    weight: Any
    stages: Any
    stage_given: bool
    scale_range: tuple[float, float]
    left_out: list[str]


@dataclass
class _Tally:
    """Metric rows per (stage, budget, predictor), one per split, and Brier wins over raw."""

    rows: dict[tuple[str, int, str], list[MetricRow]] = field(
        default_factory=lambda: defaultdict(list)
    )
    wins: dict[tuple[str, int, str], list[bool]] = field(default_factory=lambda: defaultdict(list))
    warnings: int = 0


def _labelled(args: argparse.Namespace) -> _Labelled:
    records = load_records(args, args.data, with_labels=True, on_error="report")
    problems = [str(problem) for problem in getattr(records, "problems", ())]
    labelled = records.scored().labelled()
    left_out = [*problems, f"{len(records) - len(labelled)} items without a score or a label"]
    threshold = args.threshold if labelled.label_kind == "ordinal" else None
    if labelled.label_kind == "ordinal" and threshold is None:
        raise FlagError("--threshold", "required with ordinal labels (lowest level counted as yes)")
    y, weight = labelled.targets(how="soft", threshold=threshold, ties=args.ties)
    keep = weight > 0
    scale = parse_scale(args.scale or DEFAULT_SCALE)
    scores = labelled.scores()[keep]
    stages = labelled.stages()[keep] if args.stage_col else np.full(int(keep.sum()), "all")
    return _Labelled(
        scores=scores,
        raw=scale.to_unit(scores),
        y=y[keep],
        weight=weight[keep],
        stages=stages,
        stage_given=bool(args.stage_col),
        scale_range=(float(scale.low), float(scale.high)),
        left_out=left_out,
    )


def _calibrator(name: str, args: argparse.Namespace, data: _Labelled) -> Any:
    if name == "bayes":
        from judgecal.calibration.bayes.calibrator import BayesianCalibrator

        return BayesianCalibrator(score_range=data.scale_range, random_state=args.seed)
    from judgecal.cli.fit import make_calibrator

    return make_calibrator(name, min_stage_labels=args.min_stage_labels, seed=args.seed)


def _fit_predict(
    name: str, args: argparse.Namespace, data: _Labelled, train: Any, test: Any, tally: _Tally
) -> Any:
    calibrator = _calibrator(name, args, data)
    train_stages = data.stages[train] if data.stage_given else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", JudgecalWarning)
        calibrator.fit(data.scores[train], data.y[train], data.weight[train], stages=train_stages)
    tally.warnings += len(caught)
    test_stages = data.stages[test] if data.stage_given else None
    probability = calibrator.predict_proba(data.scores[test], stages=test_stages)[:, 1]
    return np.clip(np.asarray(probability, dtype=np.float64), 0.0, 1.0)


def _score(
    tally: _Tally, budget: int, data: _Labelled, test: Any, predictions: dict[str, Any]
) -> None:
    """Metrics of every predictor on the held-out items, per stage and over all of them."""
    stages = data.stages[test]
    names = ["all", *dict.fromkeys(stages.tolist())] if data.stage_given else ["all"]
    for stage in names:
        rows = stages == stage if stage != "all" else np.ones(len(test), dtype=bool)
        if data.weight[test][rows].sum() <= 0:
            continue
        found = metric_rows(
            data.y[test][rows],
            data.weight[test][rows],
            {name: p[rows] for name, p in predictions.items()},
        )
        raw = found[0]
        for row in found:
            tally.rows[(stage, budget, row.name)].append(row)
            if row.name != RAW:
                tally.wins[(stage, budget, row.name)].append(row.brier < raw.brier)


def _splits(args: argparse.Namespace, data: _Labelled) -> tuple[_Tally, Any]:
    size = len(data.y)
    if max(args.budgets) >= size:
        raise FlagError(
            "--budgets", f"each budget below the {size} labelled items; got {max(args.budgets)}"
        )
    rng = np.random.default_rng(args.seed)
    tally, plot_data = _Tally(), None
    for split in range(args.n_splits):
        order = rng.permutation(size)
        for budget in args.budgets:
            train, test = order[:budget], order[budget:]
            predictions = {RAW: data.raw[test]}
            for name in args.calibrators:
                predictions[name] = _fit_predict(name, args, data, train, test, tally)
            _score(tally, budget, data, test, predictions)
            if split == 0 and budget == max(args.budgets):
                plot_data = (data.y[test], data.weight[test], predictions)
    return tally, plot_data


def _summary_rows(tally: _Tally) -> list[dict[str, Any]]:
    stage_order = {key[0]: i for i, key in reversed(list(enumerate(tally.rows)))}
    name_order = {key[2]: i for i, key in reversed(list(enumerate(tally.rows)))}
    keys = sorted(tally.rows, key=lambda k: (stage_order[k[0]], k[1], name_order[k[2]]))
    out = []
    for stage, budget, name in keys:
        rows = tally.rows[(stage, budget, name)]
        wins = tally.wins.get((stage, budget, name))
        out.append(
            {
                "stage": stage,
                "labels": budget,
                "predictor": name,
                "brier": float(np.mean([r.brier for r in rows])),
                "ece": float(np.mean([r.ece for r in rows])),
                "log_loss": float(np.mean([r.log_loss for r in rows])),
                "beats_raw": None if wins is None else float(np.mean(wins)),
                "splits": len(rows),
            }
        )
    return out


def _markdown(title: str, rows: list[dict[str, Any]], notes: list[str]) -> str:
    lines = [
        f"### {title}",
        "",
        "| stage | labels | predictor | Brier | ECE | log loss | beats raw (Brier) |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        wins = "" if row["beats_raw"] is None else f"{row['beats_raw']:.0%}"
        lines.append(
            f"| {row['stage']} | {row['labels']} | {row['predictor']} | {row['brier']:.4f} | "
            f"{row['ece']:.4f} | {row['log_loss']:.4f} | {wins} |"
        )
    return "\n".join([*lines, "", *notes]) + "\n"


def _left_out_note(left_out: list[str]) -> str:
    """How many rows the file reader left out, with the first problem as an example."""
    *problems, unscored = left_out
    if not problems:
        return f"Not used: {unscored}."
    return f"Not used: {len(problems)} rows with a problem (e.g. {problems[0]}); {unscored}."


def run(args: argparse.Namespace) -> int:
    """Print (or write) the comparison table and write the reliability diagram."""
    if len(score_columns(args)) > 1:
        raise FlagError("--score-col", "one judge column (compare runs one judge at a time)")
    check_plot_path("--plot", args.plot)
    data = _labelled(args)
    if len(data.y) < 10:
        raise InputError("DATA", "at least 10 labelled items with a judge score", len(data.y))
    tally, plot_data = _splits(args, data)
    rows = _summary_rows(tally)
    title = (
        f"judgecal compare: {Path(args.data).name}, judge {score_columns(args)[0]}, "
        f"{len(data.y)} labelled items, {args.n_splits} splits"
    )
    notes = [
        "Held-out means over splits (lower is better); 'beats raw': share of splits in which "
        "the calibrator's Brier score is below the raw judge's on the same held-out items. "
        "The raw judge is its score rescaled to [0, 1].",
        f"{tally.warnings} calibrator warnings during the fits (small stages use the pooled fit).",
        _left_out_note(data.left_out),
    ]
    if args.format == "json":
        text = json.dumps({"title": title, "rows": rows, "notes": notes}, indent=2) + "\n"
    else:
        text = _markdown(title, rows, notes)
    emit(text, args.out)
    if plot_data is not None:
        y, weight, predictions = plot_data
        reliability_plot(args.plot, y, weight, predictions, title="held-out reliability")
        print(f"reliability diagram written to {args.plot}", file=sys.stderr)
    return 0
