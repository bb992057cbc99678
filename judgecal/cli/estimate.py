"""``judgecal estimate``: the human rate from a few labels and the judge, with an interval."""

from __future__ import annotations

import argparse
from typing import Any

from judgecal.cli import options
from judgecal.cli.agree import add_file_options
from judgecal.cli.data import bundled_or_file, data_path
from judgecal.cli.output import emit

__all__ = ["ESTIMATORS", "register", "run"]

ESTIMATORS = ("ppi++", "ppi", "rogan-gladen", "human", "judge", "bayes")

EXAMPLE = """examples:
  judgecal estimate --dataset pandalm --n-labelled 100 --ties half
  judgecal estimate data.csv --score-col judge --label-col human --stage-col stage \\
      --estimator ppi++ --calibrator isotonic --format json
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
    parser.add_argument(
        "--threshold", type=int, default=None, help="ordinal: lowest positive level (default 4)"
    )
    parser.add_argument(
        "--ties",
        choices=("half", "drop", "separate"),
        default="half",
        help="pairwise tie policy (default half)",
    )
    options.add_level(parser)
    options.add_seed(parser)
    options.add_format(parser, ("markdown", "json"))
    options.add_out(parser)
    parser.set_defaults(func=run)


def _labelled_subset(records: Any, args: argparse.Namespace, strata: str | None) -> Any:
    from judgecal.estimate.core import keep_labels

    count = args.n_labelled
    if count is None and data_path(args) is None:
        count = 100
    if count is None:
        return records
    return keep_labels(records, count, by=strata, seed=args.seed)


def run(args: argparse.Namespace) -> int:
    """Print or write the estimate."""
    from judgecal.estimate.core import estimate_rate

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
    )
    if args.format == "json":
        text = result.model_dump_json(indent=2) + "\n"
    else:
        text = result.to_markdown() + "\n\n" + str(result) + "\n"
        if result.tie_rate is not None:
            text += str(result.tie_rate) + "\n"
    emit(text, args.out)
    return 0
