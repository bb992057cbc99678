"""The ``judgecal`` command line.

``judgecal fit DATA ...``     fit a calibrator on a CSV/JSONL file and save it as JSON
``judgecal apply CAL DATA``   add calibrated probabilities to a CSV/JSONL file
``judgecal demo``             calibrate a real judge on the bundled HANNA data
``judgecal bias``             surface-feature bias of a judge (default: bundled PandaLM)
``judgecal agree``            agreement report per stage (default: bundled HANNA)
``judgecal estimate``         human rate with a valid interval (default: bundled PandaLM)
``judgecal cache``            inspect and prune a judge-call cache

Errors are one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from judgecal._exceptions import InputError, JudgecalError, JudgecalWarning
from judgecal._version import __version__

__all__ = ["main"]

_PLUGINS = (
    "judgecal.cli.bias",
    "judgecal.cli.agree",
    "judgecal.cli.cache",
    "judgecal._cli_bayes",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2
        raise _UsageError(f"{self.prog}: {message}")


class _UsageError(Exception):
    pass


def parse_scale(text: str) -> Any:
    """Parse ``--scale``: ``likert:5``, ``numeric:0:10`` or ``verdict:no,yes``."""
    from judgecal.records.core import Scale

    kind, _, rest = text.partition(":")
    try:
        if kind == "likert":
            return Scale.likert(int(rest or 5))
        if kind == "numeric":
            lo, hi = rest.split(":")
            return Scale.numeric(float(lo), float(hi))
        if kind == "verdict":
            return Scale.verdict(*[v.strip() for v in rest.split(",")])
    except (ValueError, TypeError, JudgecalError):
        pass
    raise InputError("--scale", "likert:K, numeric:LOW:HIGH or verdict:W1,W2[,...]", text)


def _load(path: str, args: argparse.Namespace, with_labels: bool) -> Any:
    from judgecal.records.io import read_csv, read_jsonl

    p = Path(path)
    if p.suffix.lower() not in (".csv", ".jsonl", ".ndjson"):
        raise InputError("DATA", "a .csv or .jsonl file", path)
    cols: dict[str, Any] = {
        "scale": parse_scale(args.scale),
        "score_col": args.score_col,
        "stage_col": args.stage_col,
        "item_col": args.item_col,
    }
    if with_labels:
        labels = [c for spec in args.label_col for c in spec.split(",") if c]
        cols.update(label_kind=args.label_kind, label_cols=labels, levels=args.levels)
        if args.label_kind == "pairwise" and args.pairwise_codes:
            cols["pairwise_codes"] = _codes(args.pairwise_codes)
    reader = read_csv if p.suffix.lower() == ".csv" else read_jsonl
    return reader(p, **cols)


def _codes(spec: str) -> dict[Any, str]:
    out: dict[Any, str] = {}
    for part in spec.split(","):
        raw, _, name = part.partition("=")
        if not name:
            raise InputError("--pairwise-codes", "pairs like 1=first,2=second,0=tie", spec)
        key: Any = raw.strip()
        try:
            key = int(key)
        except ValueError:
            pass
        out[key] = name.strip()
    return out


def _cmd_fit(args: argparse.Namespace) -> int:
    from judgecal.calibration import stagewise as calibration
    from judgecal.persist import save

    js = _load(args.data, args, with_labels=True)
    use = js.scored().labelled()
    if len(use) == 0:
        raise InputError("DATA", "rows with a judge score and at least one human label", "none")
    threshold = args.threshold if args.label_kind == "ordinal" else None
    y, w = use.targets(how=args.how, threshold=threshold, ties=args.ties)
    cls: dict[str, Any] = {
        "isotonic": calibration.IsotonicCalibrator,
        "logistic": calibration.LogisticCalibrator,
    }
    if args.method == "bayes":
        from judgecal.calibration.bayes.calibrator import BayesianCalibrator  # type: ignore[import-not-found,unused-ignore]

        cal = BayesianCalibrator()
    else:
        cal = cls[args.method](min_stage_labels=args.min_stage_labels)
    stages = use.stages() if args.stage_col else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", JudgecalWarning)
        cal.fit(use.scores(), y, w, stages=stages)
    for wrn in caught:
        print(f"warning: {wrn.message}", file=sys.stderr)
    save(cal, args.out)
    print(
        f"fitted {type(cal).__name__} on {len(use)} labelled items "
        f"({len(js) - len(use)} rows without score or labels not used); saved to {args.out}"
    )
    return 0


def _cmd_apply(args: argparse.Namespace) -> int:
    from judgecal.persist import load

    cal = load(args.calibrator)
    js = _load(args.data, args, with_labels=False)
    scores = js.scores()
    stages = js.stages() if args.stage_col else None
    p = cal.predict_proba(scores, stages=stages)[:, 1]
    out = (
        sys.stdout if args.out in (None, "-") else open(args.out, "w", newline="", encoding="utf-8")  # noqa: SIM115
    )
    try:
        writer = csv.writer(out)
        interval = None
        if hasattr(cal, "predict_interval"):
            interval = cal.predict_interval(scores, stages=stages)
            writer.writerow(["item_id", "stage", "score", "p_agree", "p_low", "p_high"])
        else:
            writer.writerow(["item_id", "stage", "score", "p_agree"])
        for i, j in enumerate(js):
            row = [j.item_id, j.stage, repr(j.score), f"{p[i]:.6f}"]
            if interval is not None:
                row += [f"{interval[0][i]:.6f}", f"{interval[1][i]:.6f}"]
            writer.writerow(row)
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from judgecal.cli.demo import run_demo

    return run_demo(
        judge=args.judge,
        n_labelled=args.n_labelled,
        seed=args.seed,
        plot=args.plot,
        method=args.method,
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with plug-in subcommands registered."""
    parser = _Parser(prog="judgecal", description="Calibrate LLM judges against human labels.")
    parser.add_argument("--version", action="version", version=f"judgecal {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def data_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--score-col", required=True, help="column with the judge's score")
        p.add_argument(
            "--stage-col", default=None, help="column with the pipeline stage (one fit per stage)"
        )
        p.add_argument(
            "--item-col", default="item_id", help="column with the item id (default item_id)"
        )
        p.add_argument(
            "--scale",
            default="likert:5",
            help="judge scale: likert:K, numeric:LOW:HIGH, verdict:no,yes",
        )

    fit = sub.add_parser("fit", help="fit a calibrator and save it as JSON")
    fit.add_argument("data", help="CSV or JSONL file")
    data_args(fit)
    fit.add_argument(
        "--label-col",
        action="append",
        required=True,
        help="human label column(s), one per rater; repeat or comma-separate",
    )
    fit.add_argument("--label-kind", choices=("binary", "ordinal", "pairwise"), default="binary")
    fit.add_argument("--levels", type=int, default=None, help="number of ordinal levels")
    fit.add_argument(
        "--threshold", type=int, default=None, help="ordinal: lowest level counted as agreement"
    )
    fit.add_argument("--pairwise-codes", default=None, help="e.g. 1=first,2=second,0=tie")
    fit.add_argument(
        "--how",
        choices=("soft", "majority", "mean"),
        default="soft",
        help="how several raters make a target",
    )
    fit.add_argument(
        "--ties", choices=("half", "drop", "negative"), default="half", help="pairwise tie policy"
    )
    fit.add_argument("--method", choices=("isotonic", "logistic", "bayes"), default="isotonic")
    fit.add_argument("--min-stage-labels", type=int, default=30)
    fit.add_argument("--out", required=True, help="where to write the calibrator JSON")
    fit.set_defaults(func=_cmd_fit)

    apply = sub.add_parser("apply", help="calibrate the scores in a file")
    apply.add_argument("calibrator", help="JSON file written by 'judgecal fit'")
    apply.add_argument("data", help="CSV or JSONL file")
    data_args(apply)
    apply.add_argument("--out", default=None, help="output CSV (default: stdout)")
    apply.set_defaults(func=_cmd_apply)

    demo = sub.add_parser("demo", help="calibrate an LLM judge on the bundled HANNA data")
    demo.add_argument(
        "--judge", default="ChatGPT_p1", help="HANNA judge column (default ChatGPT_p1)"
    )
    demo.add_argument(
        "--n-labelled", type=int, default=200, help="stories with human labels used for fitting"
    )
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--method", choices=("isotonic", "logistic", "bayes"), default="isotonic")
    demo.add_argument(
        "--plot", default="judgecal-demo.png", help="where to write the reliability diagram"
    )
    demo.set_defaults(func=_cmd_demo)

    for name in _PLUGINS:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 error)."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if getattr(args, "func", None) is None:
            parser.print_help()
            return 2
        return int(args.func(args))
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except JudgecalError as exc:
        print(f"judgecal: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, json.JSONDecodeError) as exc:
        print(f"judgecal: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("judgecal: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
