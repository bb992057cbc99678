"""``judgecal report``: one self-contained HTML file (diagrams, metrics, agreement, bias, rate)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from judgecal.cli import options
from judgecal.cli.agree import add_file_options
from judgecal.cli.data import data_path, load_records
from judgecal.cli.errors import FlagError
from judgecal.cli.output import write_text

__all__ = ["register", "run"]

EXAMPLE = """examples:
  judgecal report                                     # bundled HANNA, judge ChatGPT_p1
  judgecal report --dataset pandalm --out pandalm.html
  judgecal report data.csv --score-col judge --label-col r1,r2 --label-kind ordinal \\
      --levels 5 --stage-col stage --calibrator-file calibrator.json --out report.html
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``report`` subcommand."""
    parser = subparsers.add_parser(
        "report",
        help="a self-contained HTML report (bundled HANNA by default)",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_file_options(parser)
    options.add_bundled(parser, default="hanna")
    parser.add_argument(
        "--feature-col",
        action="append",
        default=[],
        help="file: numeric surface-feature column(s) for the bias section (repeatable)",
    )
    parser.add_argument(
        "--calibrator-file",
        default=None,
        help="a fitted calibrator (JSON from 'judgecal fit'); default: fit isotonic on the budget",
    )
    parser.add_argument(
        "--n-labelled",
        type=options.positive_int,
        default=200,
        help="label budget when every item is labelled (default 200)",
    )
    options.add_threshold(parser, help="ordinal: lowest positive level")
    options.add_n_resamples(parser, default=100)
    options.add_level(parser)
    options.add_seed(parser)
    options.add_out(parser, help="the HTML file to write (default judgecal-report.html)")
    parser.set_defaults(func=run)


def _calibrator(path: str | None) -> Any:
    from judgecal.persist import load

    if path is None:
        return None
    if not Path(path).is_file():
        raise FlagError("--calibrator-file", f"expected an existing file; got {path!r}")
    return load(path)


def run(args: argparse.Namespace) -> int:
    """Build the report and write it."""
    from judgecal.report import build_report

    calibrator = _calibrator(args.calibrator_file)
    if args.n_labelled < 10:
        raise FlagError("--n-labelled", f"expected at least 10; got {args.n_labelled}")
    path = data_path(args)
    records = None
    if path is not None:
        features = tuple(c.strip() for spec in args.feature_col for c in spec.split(",") if c)
        records = load_records(args, path, with_labels=True, feature_cols=features)
    report = build_report(
        records,
        calibrator,
        dataset=args.dataset or "hanna",
        judge=args.judge,
        threshold=args.threshold,
        n_labelled=args.n_labelled,
        level=args.level,
        n_resamples=args.n_resamples,
        seed=args.seed,
    )
    out = args.out or "judgecal-report.html"
    write_text(out, report.to_html())
    print(f"report written to {out}", file=sys.stderr)
    return 0
