"""``judgecal estimate``: the human rate from a few labels and the judge, with an interval."""

from __future__ import annotations

import argparse
import json
from typing import Any

from judgecal.cli import options
from judgecal.cli.agree import add_file_options
from judgecal.cli.data import bundled_or_file, data_path
from judgecal.cli.output import emit

__all__ = ["ESTIMATORS", "register", "run", "worth_line"]

ESTIMATORS = ("ppi++", "ppi", "rogan-gladen", "human", "judge", "bayes")

EXAMPLE = """examples:
  judgecal estimate --dataset pandalm --n-labelled 100 --ties half
  judgecal estimate data.csv --score-col judge --label-col human --stage-col stage \\
      --estimator ppi++ --calibrator isotonic --format json
  judgecal estimate data.csv --score-col judge --label-col human --until-width 0.1
      (says "stop" or "label 10 more": 90% anytime-valid interval, any stopping time)
  judgecal estimate data.csv --score-col judge --label-col human --inclusion-col inclusion_prob
      (labels chosen with known inclusion probabilities, e.g. by choose_labels)
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``estimate`` subcommand."""
    parser = subparsers.add_parser(
        "estimate",
        help="human rate from a few labels + the judge (PPI++)",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_file_options(parser)
    options.add_bundled(parser, default="pandalm")
    parser.add_argument(
        "--n-labelled",
        type=options.positive_int,
        default=None,
        help="keep human labels on this many items only (bundled data: 100)",
    )
    parser.add_argument(
        "--estimator", choices=ESTIMATORS, default="ppi++", help="estimator (default ppi++)"
    )
    options.add_deprecated(parser, "--method", "--estimator", "estimator", choices=ESTIMATORS)
    options.add_calibrator(
        parser, choices=("isotonic", "logistic", "none"), default="isotonic", old_method=False
    )
    parser.add_argument("--strata", default="stage", help="'stage', a meta field, or 'none'")
    options.add_threshold(parser, help="ordinal: lowest positive level (default 4)")
    options.add_ties(parser, allowed=("half", "drop", "separate"))
    _add_labelling_options(parser)
    options.add_level(parser)
    options.add_seed(parser)
    options.add_format(parser, ("markdown", "json"))
    options.add_out(parser)
    parser.set_defaults(func=run)


def _add_labelling_options(parser: argparse.ArgumentParser) -> None:
    """``--until-width``, ``--batch``, ``--budget``, ``--inclusion-col``, ``--round-col``."""
    parser.add_argument(
        "--until-width",
        type=options.finite_float,
        default=None,
        help="say 'stop' or 'label K more': is the anytime-valid interval narrower than this?",
    )
    parser.add_argument(
        "--batch", type=options.positive_int, default=10, help="labels per round (default 10)"
    )
    parser.add_argument(
        "--budget", type=options.positive_int, default=None, help="stop at this many labels"
    )
    parser.add_argument(
        "--planned-n",
        type=options.positive_int,
        default=None,
        help="labels the anytime interval is tuned for (fix it before labelling)",
    )
    parser.add_argument(
        "--inclusion-col",
        default=None,
        help="file: column with each labelled row's inclusion probability (IPW estimate)",
    )
    parser.add_argument(
        "--round-col", default=None, help="file: column with each labelled row's labelling round"
    )


def _file_column(args: argparse.Namespace, column: str | None, flag: str, size: int) -> Any:
    """One numeric column of the data file, row by row (empty cells: NaN)."""
    if column is None:
        return None
    import csv
    import json
    from pathlib import Path

    import numpy as np

    from judgecal.cli.errors import FlagError

    path = data_path(args)
    if path is None:
        raise FlagError(flag, "needs a data file")
    file = Path(path)
    with file.open(newline="", encoding="utf-8") as handle:
        if file.suffix.lower() == ".csv":
            rows = list(csv.DictReader(handle))
        else:
            rows = [json.loads(line) for line in handle if line.strip()]
    if rows and column not in rows[0]:
        raise FlagError(flag, f"column {column!r} is not in {file.name}")
    if len(rows) != size:
        raise FlagError(flag, f"needs one row per item ({size} items, {len(rows)} rows)")
    cells = [row.get(column) for row in rows]
    try:
        return np.array([np.nan if c in (None, "") else float(c) for c in cells])
    except ValueError as exc:
        raise FlagError(flag, f"column {column!r} must hold numbers ({exc})") from None


def _labelled_subset(records: Any, args: argparse.Namespace, strata: str | None) -> Any:
    from judgecal.estimate.design import keep_labels

    count = args.n_labelled
    if count is None and data_path(args) is None:
        count = 100
    if count is None:
        return records
    return keep_labels(records, count, by=strata, seed=args.seed)


def run(args: argparse.Namespace) -> int:
    """Print or write the estimate."""
    from judgecal.estimate.rates import estimate_rate

    strata = None if args.strata == "none" else args.strata
    records = _labelled_subset(bundled_or_file(args, "pandalm"), args, strata)
    threshold = args.threshold
    if threshold is None and records.label_kind == "ordinal":
        threshold = 4
    result = estimate_rate(
        records,
        method=args.estimator,
        calibrator=args.calibrator,
        strata=strata,
        threshold=threshold,
        ties=args.ties if records.label_kind == "pairwise" else "half",
        level=args.level,
        seed=args.seed,
        inclusion=_file_column(args, args.inclusion_col, "--inclusion-col", len(records)),
        rounds=_file_column(args, args.round_col, "--round-col", len(records)),
    )
    decision = _decision(result, args)
    if args.format == "json":
        document = json.loads(result.model_dump_json())
        if decision is not None:
            document["decision"] = json.loads(decision.model_dump_json())
        text = json.dumps(document, indent=2) + "\n"
    else:
        text = result.to_markdown() + "\n\n" + str(result) + "\n"
        if result.tie_rate is not None:
            text += str(result.tie_rate) + "\n"
        text += worth_line(result) + "\n"
        if decision is not None:
            text += str(decision) + "\n"
    emit(text, args.out)
    return 0


def worth_line(result: Any) -> str:
    """How many human labels the judge was worth, in words."""
    return (
        f"the judge was worth {result.labels_gained:.0f} human labels: "
        f"{result.n_labelled} labels with the judge give the width of "
        f"{result.effective_labels:.0f} labels alone"
    )


def _decision(result: Any, args: argparse.Namespace) -> Any:
    if args.until_width is None:
        return None
    from judgecal.estimate.sequential import decide

    return decide(
        result,
        args.until_width,
        batch=args.batch,
        budget=args.budget,
        planned_n=args.planned_n,
    )
