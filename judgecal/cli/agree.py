"""``judgecal agree``: agreement per stage, human-human, judge-human and judge-judge.

With a file, ``--score-col`` may name several judge columns (``gpt4,claude``):
every judge is compared with the humans and with every other judge.
"""

from __future__ import annotations

import argparse
import inspect
from typing import Any

from judgecal._exceptions import InputError
from judgecal.cli import options
from judgecal.cli.data import bundled_or_file, data_path, load_records, score_columns
from judgecal.cli.output import emit

__all__ = ["register", "run"]

EXAMPLE = """examples:
  judgecal agree                                      # bundled HANNA, judge ChatGPT_p1
  judgecal agree --dataset pandalm --also pandalm7b --format html --out report.html
  judgecal agree data.csv --score-col judge --label-col r1,r2,r3 --stage-col stage
  judgecal agree data.csv --score-col gpt4,claude,llama --label-col r1,r2,r3 --judge-cut 0.5
"""


def add_file_options(parser: argparse.ArgumentParser) -> None:
    """The data file and the options that read it (shared by ``agree`` and ``estimate``)."""
    options.add_data(parser, optional=True, help="CSV or JSONL file (default: a bundled dataset)")
    options.add_record_cols(parser, file_only=True)
    options.add_label_cols(parser, file_only=True)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``agree`` subcommand."""
    parser = subparsers.add_parser(
        "agree",
        help="agreement report per stage (bundled HANNA by default)",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_file_options(parser)
    options.add_bundled(parser, default="hanna")
    parser.add_argument(
        "--also",
        action="append",
        default=None,
        help="another bundled judge for judge-judge agreement (repeatable)",
    )
    parser.add_argument(
        "--judge-cut",
        type=options.finite_float,
        default=None,
        help="yes/no labels: judge scores >= this are yes",
    )
    options.add_n_resamples(parser, default=200)
    options.add_level(parser)
    options.add_seed(parser)
    options.add_format(parser, ("markdown", "html", "json"))
    options.add_out(parser)
    parser.set_defaults(func=run)


def _other_judges(args: argparse.Namespace) -> dict[str, Any]:
    """The judges besides the first: more ``--score-col`` columns, or bundled ``--also`` judges."""
    from judgecal.records.datasets import load_hanna, load_pandalm

    path = data_path(args)
    others: dict[str, Any] = {}
    if path is not None:
        for column in score_columns(args)[1:]:
            others[column] = load_records(args, path, with_labels=True, score_col=column)
        return others
    for name in args.also or ():
        hanna = (args.dataset or "hanna") == "hanna"
        others[name] = load_hanna(name) if hanna else load_pandalm(name, with_texts=False)
    return others


def _judge_name(args: argparse.Namespace) -> str:
    if args.judge:
        return str(args.judge)
    if data_path(args) is not None:
        columns = score_columns(args)
        return columns[0] if columns else "judge"
    return "ChatGPT_p1" if (args.dataset or "hanna") == "hanna" else "gpt35"


def resample_keyword(function: Any) -> str:
    """``n_resamples``, or ``n_boot`` for a library function not yet renamed."""
    names = inspect.signature(function).parameters
    return "n_boot" if "n_boot" in names and "n_resamples" not in names else "n_resamples"


def run(args: argparse.Namespace) -> int:
    """Print or write the agreement report."""
    from judgecal.agreement import agreement_report

    if data_path(args) is not None and args.also:
        raise InputError("--also", "only with a bundled dataset", args.also[0])
    records = bundled_or_file(args, "hanna")
    report = agreement_report(
        records,
        judges=_other_judges(args),
        judge_name=_judge_name(args),
        judge_cut=args.judge_cut,
        level=args.level,
        seed=args.seed,
        **{resample_keyword(agreement_report): args.n_resamples},
    )
    if args.format == "html":
        text = report.to_html()
    elif args.format == "json":
        text = report.model_dump_json(indent=2) + "\n"
    else:
        text = report.to_markdown()
    emit(text, args.out)
    return 0
