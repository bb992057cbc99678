"""``judgecal agree`` and ``judgecal estimate``: agreement report and human-rate estimates.

::

    judgecal agree                                   # bundled HANNA, judge ChatGPT_p1
    judgecal agree --dataset pandalm --also pandalm7b --format html --out report.html
    judgecal agree DATA.csv --score-col judge --label-col r1,r2,r3 --label-kind binary --stage-col stage
    judgecal estimate --dataset pandalm --n-labelled 100 --ties half
    judgecal estimate DATA.csv --score-col judge --label-col human --label-kind binary --stage-col stage
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from judgecal._exceptions import InputError

__all__ = ["register"]


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "data", nargs="?", default=None, help="CSV or JSONL file (default: a bundled dataset)"
    )
    p.add_argument(
        "--dataset",
        choices=("hanna", "pandalm"),
        default=None,
        help="bundled dataset to use when no file is given (agree: hanna, estimate: pandalm)",
    )
    p.add_argument(
        "--judge", default=None, help="bundled judge (HANNA: e.g. ChatGPT_p1; PandaLM: gpt35)"
    )
    p.add_argument("--score-col", default=None, help="file: column with the judge's score")
    p.add_argument(
        "--label-col",
        action="append",
        default=None,
        help="file: human label column(s), one per rater; repeat or comma-separate",
    )
    p.add_argument("--label-kind", choices=("binary", "ordinal", "pairwise"), default="binary")
    p.add_argument("--levels", type=int, default=None, help="file: number of ordinal levels")
    p.add_argument("--pairwise-codes", default=None, help="file: e.g. 1=first,2=second,0=tie")
    p.add_argument("--stage-col", default=None, help="file: column with the stage")
    p.add_argument("--item-col", default="item_id", help="file: column with the item id")
    p.add_argument(
        "--scale", default="likert:5", help="file: likert:K, numeric:LOW:HIGH, verdict:no,yes"
    )
    p.add_argument("--out", default=None, help="write the report here (default: stdout)")


def _load(args: argparse.Namespace, default: str) -> Any:
    if args.data is None:
        from judgecal.records.datasets import load_hanna, load_pandalm

        name = args.dataset or default
        if name == "hanna":
            return load_hanna(args.judge or "ChatGPT_p1")
        return load_pandalm(args.judge or "gpt35", with_texts=False)
    if args.score_col is None or not args.label_col:
        raise InputError("--score-col/--label-col", "both given when reading a file", args.data)
    from judgecal.cli.app import _load as load_file

    return load_file(args.data, args, True)


def _emit(text: str, out: str | None) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        Path(out).write_text(text, encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)


def _cmd_agree(args: argparse.Namespace) -> int:
    from judgecal.agreement import agreement_report
    from judgecal.records.datasets import load_hanna, load_pandalm

    js = _load(args, "hanna")
    others = {}
    for name in args.also or ():
        if args.data is not None:
            raise InputError("--also", "only with a bundled dataset", name, where="judgecal agree")
        ds = args.dataset or "hanna"
        others[name] = load_hanna(name) if ds == "hanna" else load_pandalm(name, with_texts=False)
    rep = agreement_report(
        js,
        judges=others,
        judge_name=args.judge
        or (
            "judge"
            if args.data
            else ("ChatGPT_p1" if (args.dataset or "hanna") == "hanna" else "gpt35")
        ),
        judge_cut=args.judge_cut,
        n_boot=args.n_boot,
        level=args.level,
        seed=args.seed,
    )
    if args.format == "html":
        text = rep.to_html()
    elif args.format == "json":
        text = rep.model_dump_json(indent=2) + "\n"
    else:
        text = rep.to_markdown()
    _emit(text, args.out)
    return 0


def _cmd_estimate(args: argparse.Namespace) -> int:
    from judgecal.estimate.core import estimate_rate, keep_labels

    js = _load(args, "pandalm")
    if args.n_labelled is not None:
        js = keep_labels(
            js, args.n_labelled, by=None if args.strata == "none" else args.strata, seed=args.seed
        )
    elif args.data is None:
        js = keep_labels(js, 100, by=None if args.strata == "none" else args.strata, seed=args.seed)
    threshold = args.threshold
    if threshold is None and js.label_kind == "ordinal":
        threshold = 4
    res = estimate_rate(
        js,
        method=args.method,
        calibrator=args.calibrator,
        strata=None if args.strata == "none" else args.strata,
        threshold=threshold,
        ties=args.ties if js.label_kind == "pairwise" else "half",
        level=args.level,
        seed=args.seed,
    )
    if args.format == "json":
        text = res.model_dump_json(indent=2) + "\n"
    else:
        text = res.to_markdown() + "\n\n" + str(res) + "\n"
        if res.tie_rate is not None:
            text += str(res.tie_rate) + "\n"
    _emit(text, args.out)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``agree`` and ``estimate`` subcommands."""
    agree = subparsers.add_parser(
        "agree", help="agreement report per stage (bundled HANNA by default)"
    )
    _data_args(agree)
    agree.add_argument(
        "--also",
        action="append",
        default=None,
        help="another bundled judge for judge-judge agreement (repeatable)",
    )
    agree.add_argument(
        "--judge-cut", type=float, default=None, help="yes/no labels: judge scores >= this are yes"
    )
    agree.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples (0: none)")
    agree.add_argument("--level", type=float, default=0.9)
    agree.add_argument("--seed", type=int, default=0)
    agree.add_argument("--format", choices=("markdown", "html", "json"), default="markdown")
    agree.set_defaults(func=_cmd_agree)

    est = subparsers.add_parser("estimate", help="human rate from a few labels + the judge (PPI++)")
    _data_args(est)
    est.add_argument(
        "--n-labelled",
        type=int,
        default=None,
        help="keep human labels on this many items only (bundled data: 100)",
    )
    est.add_argument(
        "--method",
        choices=("ppi++", "ppi", "rogan-gladen", "human", "judge", "bayes"),
        default="ppi++",
    )
    est.add_argument("--calibrator", choices=("isotonic", "logistic", "none"), default="isotonic")
    est.add_argument("--strata", default="stage", help="'stage', a meta field, or 'none'")
    est.add_argument(
        "--threshold", type=int, default=None, help="ordinal: lowest positive level (default 4)"
    )
    est.add_argument(
        "--ties", choices=("half", "drop", "separate"), default="half", help="pairwise tie policy"
    )
    est.add_argument("--level", type=float, default=0.9)
    est.add_argument("--seed", type=int, default=0)
    est.add_argument("--format", choices=("markdown", "json"), default="markdown")
    est.set_defaults(func=_cmd_estimate)
