"""``judgecal bias``: measure what surface features a judge rewards beyond what humans do.

Without a file it runs on the bundled PandaLM data (999 pairwise comparisons,
three human raters, two LLM judges): how much more often each judge than the
humans picks the longer response, and a regression of the judge's verdict on
the human verdict plus length and markdown differences.

With a CSV or JSONL file of pairwise judgments (``--label-kind pairwise``)
it compares preference rates: for every judge column of ``--score-col`` and
every stage, how much more (or less) often the judge than the humans picks
the response with more of a feature (by default the longer one, from the
columns ``len_response1``/``len_response2``), with a bootstrap interval and a
sentence saying which way it goes.

With any other CSV or JSONL file it runs the observational regression: the
judge score on the mean human score plus the given feature columns, and the
surface features of a text column (length, markdown, mentions of
``--attributes``). That regression rests on the judge tracking the human
score; when the human coefficient is not clearly positive it says so.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any

from judgecal._exceptions import InputError, JudgecalWarning
from judgecal.cli import options
from judgecal.cli.data import data_path, label_columns, load_records, score_columns
from judgecal.cli.errors import FlagError
from judgecal.cli.output import check_plot_path, save_plot
from judgecal.vocabulary import PAIRWISE_CODES

__all__ = ["file_report", "pairwise_report", "register"]

#: The feature columns ``preference_gap`` reads by default (response lengths).
DEFAULT_PAIR_COLS = ("len_response1", "len_response2")


EXAMPLE = """examples:
  judgecal bias --judge gpt35 --n-resamples 500          # bundled PandaLM
  judgecal bias pairs.csv --score-col gpt4,chatgpt --label-col h1,h2,h3 --label-kind pairwise \
      --pair-cols len1,len2 --stage-col source
  judgecal bias data.csv --score-col judge --label-col h1,h2 --text-col response \\
      --attributes vegan,runner --format json
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``bias`` subcommand."""
    parser = subparsers.add_parser(
        "bias",
        help="which surface features (length, markdown, mentions) a judge rewards beyond humans",
        description=(
            "Without DATA: a demo on the bundled PandaLM data. With DATA (CSV/JSONL): regress the "
            "judge score on the human score plus surface features, with robust intervals."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    options.add_data(parser, optional=True, help="CSV or JSONL file (default: bundled PandaLM)")
    parser.add_argument(
        "--judge",
        choices=("gpt35", "pandalm7b", "both"),
        default="both",
        help="PandaLM judge(s) (demo only)",
    )
    options.add_record_cols(parser, file_only=True)
    options.add_label_cols(parser, file_only=True)
    options.add_deprecated(parser, "--human-col", "--label-col", "label_col", append=True)
    _add_pairwise_options(parser)
    _add_feature_options(parser)
    options.add_level(parser)
    options.add_n_resamples(parser, default=2000)
    options.add_seed(parser)
    options.add_format(parser, ("markdown", "json"))
    parser.add_argument("--plot", default=None, help="write a forest plot of the effects (PNG)")
    parser.set_defaults(func=run)


def _add_pairwise_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pair-cols",
        default=",".join(DEFAULT_PAIR_COLS),
        help="pairwise: the feature columns of the first and second response "
        f"(default {','.join(DEFAULT_PAIR_COLS)}: lengths)",
    )
    options.add_ties(
        parser,
        help="pairwise: a tie counts half a pick, is left out, or counts as no pick (default half)",
    )


def _add_feature_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--feature-col", action="append", default=[], help="numeric feature column(s) (DATA)"
    )
    parser.add_argument(
        "--group-col",
        default=None,
        help="cluster column (rows of one item/story): cluster-robust intervals (DATA)",
    )
    parser.add_argument(
        "--text-col",
        default=None,
        help="text column: adds length, markdown (and mentions) features (DATA)",
    )
    parser.add_argument(
        "--attributes",
        default=None,
        help="comma-separated attribute names to count mentions of (with --text-col)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``judgecal bias`` and print the report."""
    if args.plot:
        check_plot_path("--plot", args.plot)
    if data_path(args) is None:
        report = pandalm_report(args)
    elif args.label_kind == "pairwise":
        report = pairwise_report(args)
    else:
        report = file_report(args)
    if args.format == "json":
        print(report.model_dump_json(indent=2))
    else:
        print(report.to_markdown())
    if args.plot:
        save_plot(args.plot, lambda temporary: report.plot(path=temporary))
        print(f"\nforest plot written to {args.plot}")
    return 0


def _pandalm_regression(js: Any, judge: str, args: argparse.Namespace) -> Any:
    """The judge's verdict on the raters' mean verdict plus length and markdown differences."""
    import numpy as np

    from judgecal.bias.ablations import markdown_count
    from judgecal.bias.observational import feature_regression

    ok = js.scored()
    idx, codes, _ = ok.ratings_long()
    vals = codes - PAIRWISE_CODES["tie"]  # preference for the first response: -1, 0, +1
    human = np.bincount(idx, weights=vals, minlength=len(ok)) / np.maximum(
        np.bincount(idx, minlength=len(ok)), 1
    )
    verdict = ok.scores() - 1.0  # second -1, tie 0, first +1
    l1, l2 = ok.feature("len_response1"), ok.feature("len_response2")
    md = np.array(
        [markdown_count(j.texts["response1"]) - markdown_count(j.texts["response2"]) for j in ok],
        dtype=float,
    )
    return feature_regression(
        verdict,
        human,
        {
            f"{judge}: log length ratio": np.log((l1 + 1) / (l2 + 1)),
            f"{judge}: markdown difference": md,
        },
        level=args.level,
        alpha=1 - args.level,
    )


def pandalm_report(args: argparse.Namespace) -> Any:
    """Length preference and style regression for the PandaLM judges."""
    from judgecal.bias.observational import preference_gap
    from judgecal.bias.report import BiasReport
    from judgecal.records.datasets import load_pandalm

    judges = ("gpt35", "pandalm7b") if args.judge == "both" else (args.judge,)
    report = BiasReport(
        title="PandaLM: surface-feature bias of LLM judges vs 3 human raters", alpha=1 - args.level
    )
    for judge in judges:
        js = load_pandalm(judge)
        rows = [
            preference_gap(
                js,
                ties=ties,
                level=args.level,
                n_resamples=args.n_resamples,
                seed=args.seed,
                name=f"{judge}: picks longer" + (" (decisive)" if ties == "drop" else ""),
            )
            for ties in ("half", "drop")
        ]
        reg = _pandalm_regression(js, judge, args)
        sentences = tuple(
            e.model_copy(update={"name": "picks the longer response"}).summary(
                judge + (" (decisive verdicts)" if e.unit.endswith("(decisive only)") else "")
            )
            for e in rows
        )
        report = (
            report
            + BiasReport(effects=tuple(rows), notes=(*sentences, f"{judge}: " + reg.notes[0]))
            + reg.model_copy(update={"notes": ()})
        )
    legend = (
        "preference rows: judge rate minus human rate of picking the longer response, on the "
        "same pairs of unequal length (tie = half a pick; 'decisive': pairs where the judge and "
        "at least one rater are decisive, ties left out); bootstrap over items. "
        "regression rows: the judge's verdict (-1 second, 0 tie, +1 first) on the raters' mean "
        "verdict plus first-minus-second features; a positive coefficient rewards the feature "
        "beyond the humans."
    )
    return report.model_copy(update={"notes": (*report.notes, legend)})


def _pair_columns(args: argparse.Namespace) -> tuple[str, str]:
    columns = [c.strip() for c in str(args.pair_cols).split(",") if c.strip()]
    if len(columns) != 2:
        raise FlagError("--pair-cols", f"expected two columns FIRST,SECOND; got {args.pair_cols!r}")
    return columns[0], columns[1]


def _pick_phrase(first: str, second: str) -> str:
    if (first, second) == DEFAULT_PAIR_COLS:
        return "picks the longer response"
    return f"picks the response with more {first}/{second}"


def pairwise_report(args: argparse.Namespace) -> Any:
    """Preference rates of every judge column against the humans', per stage, with directions."""
    from judgecal.bias.observational import preference_gap
    from judgecal.bias.report import BiasReport

    path = str(data_path(args))
    first, second = _pair_columns(args)
    phrase = _pick_phrase(first, second)
    scale = args.scale or "verdict:second,tie,first"
    effects, sentences = [], []
    for judge in score_columns(args):
        records = load_records(
            args, path, with_labels=True, scale=scale, score_col=judge, feature_cols=(first, second)
        )
        stages = records.stage_names() if args.stage_col else []
        for stage in [None, *stages] if len(stages) > 1 else [None]:
            effect = preference_gap(
                records,
                first,
                second,
                ties=args.ties,
                name=phrase,
                stage=stage,
                level=args.level,
                n_resamples=max(args.n_resamples, 10),
                seed=args.seed,
            )
            effects.append(effect.model_copy(update={"name": f"{judge}: {phrase}"}))
            subject = judge if stage is None else f"{judge} [{stage}]"
            sentences.append(effect.summary(subject))
    legend = (
        "Judge rate minus human rate of picking the response with more of the feature, on the "
        f"same items (ties: {args.ties}); bootstrap interval over items; 'higher' means the judge "
        "picks it more often than the humans."
    )
    return BiasReport(
        effects=tuple(effects),
        title=f"Preference rates against humans: {Path(path).name}",
        alpha=1 - args.level,
        notes=(*sentences, legend),
    )


def _rows(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    if suffix in (".jsonl", ".ndjson"):
        out = []
        with path.open(encoding="utf-8") as fh:
            for k, line in enumerate(fh, start=1):
                if line.strip():
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise InputError(
                            "DATA", "one JSON object per line", f"line {k}: {exc.msg}"
                        ) from exc
                    if not isinstance(row, dict):
                        raise InputError(
                            "DATA", "one JSON object per line", f"line {k}: {type(row).__name__}"
                        )
                    out.append(row)
        return out
    raise InputError("DATA", "a .csv or .jsonl file", str(path))


def _number(v: Any) -> float | None:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _file_columns(args: argparse.Namespace, path: Path) -> tuple[list[str], list[str]]:
    if not path.is_file():
        raise InputError("DATA", "an existing file", str(path))
    if not args.score_col:
        raise FlagError("--score-col", f"required with a data file ({path.name})")
    human_cols = label_columns(args)
    if not human_cols:
        raise FlagError("--label-col", f"required with a data file ({path.name})")
    feature_cols = [c for spec in args.feature_col for c in spec.split(",") if c]
    if not feature_cols and not args.text_col:
        raise FlagError("--feature-col", "give a feature column or a --text-col")
    return human_cols, feature_cols


def _check_header(rows: list[dict[str, Any]], args: argparse.Namespace, path: Path) -> None:
    if not rows:
        return
    wanted = {
        "--score-col": [args.score_col],
        "--label-col": label_columns(args),
        "--feature-col": [c for spec in args.feature_col for c in spec.split(",") if c],
        "--text-col": [args.text_col] if args.text_col else [],
        "--group-col": [args.group_col] if args.group_col else [],
    }
    shown = ", ".join(list(rows[0])[:8]) + (", ..." if len(rows[0]) > 8 else "")
    for flag, columns in wanted.items():
        for column in columns:
            if column not in rows[0]:
                raise FlagError(flag, f"column {column!r} is not in {path.name} (columns: {shown})")


def _columns(
    rows: list[dict[str, Any]], args: argparse.Namespace, human_cols: list[str], features: list[str]
) -> tuple[dict[str, list[Any]], int]:
    """The usable rows as columns; rows without a judge score or a human rating are counted."""
    out: dict[str, list[Any]] = {"score": [], "human": [], "features": [], "text": [], "group": []}
    skipped = 0
    for number, row in enumerate(rows, start=1):
        score = _number(row[args.score_col])
        humans = [h for h in (_number(row[c]) for c in human_cols) if h is not None]
        values = [_number(row[c]) for c in features]
        if score is None or not humans:
            skipped += 1  # no judge score (a failed call) or no human rating: counted, not used
            continue
        if any(value is None for value in values):
            bad = features[[value is None for value in values].index(True)]
            raise FlagError("--feature-col", f"row {number}: column {bad!r} is not a number")
        out["score"].append(score)
        out["human"].append(sum(humans) / len(humans))
        out["features"].append(values)
        if args.text_col:
            out["text"].append(str(row[args.text_col] or ""))
        if args.group_col:
            out["group"].append(str(row[args.group_col]))
    return out, skipped


def _surface(args: argparse.Namespace, texts: list[str]) -> dict[str, Any]:
    import numpy as np

    from judgecal.bias.ablations import surface_features

    attributes = None
    if args.attributes:
        attributes = [a.strip() for a in args.attributes.split(",") if a.strip()]
    return {
        name: column
        for name, column in surface_features(texts, attributes).items()
        if np.ptp(column) > 0
    }


def file_report(args: argparse.Namespace) -> Any:
    """Observational regression on a user's file."""
    import numpy as np

    from judgecal.bias.observational import feature_regression

    path = Path(str(data_path(args)))
    human_cols, feature_cols = _file_columns(args, path)
    rows = _rows(path)
    _check_header(rows, args, path)
    columns, skipped = _columns(rows, args, human_cols, feature_cols)
    used = len(columns["score"])
    if used < 3:
        raise InputError("DATA", "at least 3 rows with a judge score and a human rating", used)
    matrix = np.asarray(columns["features"], dtype=float).reshape(used, len(feature_cols))
    features = {c: matrix[:, j] for j, c in enumerate(feature_cols)}
    if args.text_col:
        features.update(_surface(args, columns["text"]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", JudgecalWarning)
        report = feature_regression(
            columns["score"],
            columns["human"],
            features,
            groups=columns["group"] or None,
            level=args.level,
            alpha=1 - args.level,
            title=f"Feature regression: {path.name}",
        )
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    note = f"{used} rows used; {skipped} without a judge score or a human rating left out."
    return report.model_copy(update={"notes": (*report.notes, note)})
