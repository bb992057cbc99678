"""``judgecal bias``: measure what surface features a judge rewards beyond what humans do.

Without a file it runs on the bundled PandaLM data (999 pairwise comparisons,
three human raters, two LLM judges): how much more often each judge than the
humans picks the longer response, and a regression of the judge's verdict on
the human verdict plus length and markdown differences.

With a CSV or JSONL file it runs the observational regression: the judge
score on the mean human score plus the given feature columns, and the
surface features of a text column (length, markdown, mentions of
``--attributes``).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path
from typing import Any

from judgecal._exceptions import InputError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``bias`` subcommand."""
    p = subparsers.add_parser(
        "bias",
        help="which surface features (length, markdown, mentions) a judge rewards beyond humans",
        description=(
            "Without DATA: a demo on the bundled PandaLM data. With DATA (CSV/JSONL): regress the "
            "judge score on the human score plus surface features, with robust intervals."
        ),
    )
    p.add_argument(
        "data", nargs="?", default=None, help="CSV or JSONL file (default: bundled PandaLM)"
    )
    p.add_argument(
        "--judge",
        choices=("gpt35", "pandalm7b", "both"),
        default="both",
        help="PandaLM judge(s) (demo only)",
    )
    p.add_argument("--score-col", default=None, help="column with the judge's score (DATA)")
    p.add_argument(
        "--human-col",
        action="append",
        default=[],
        help="human rating column(s); several are averaged (DATA)",
    )
    p.add_argument(
        "--feature-col", action="append", default=[], help="numeric feature column(s) (DATA)"
    )
    p.add_argument(
        "--group-col",
        default=None,
        help="cluster column (rows of one item/story): cluster-robust intervals (DATA)",
    )
    p.add_argument(
        "--text-col",
        default=None,
        help="text column: adds length, markdown (and mentions) features (DATA)",
    )
    p.add_argument(
        "--attributes",
        default=None,
        help="comma-separated attribute names to count mentions of (with --text-col)",
    )
    p.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    p.add_argument(
        "--n-resamples", type=int, default=2000, help="bootstrap resamples (default 2000)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--format", choices=("markdown", "json"), default="markdown")
    p.add_argument("--plot", default=None, help="write a forest plot of the effects (PNG)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``judgecal bias`` and print the report."""
    report = pandalm_report(args) if args.data is None else file_report(args)
    if args.format == "json":
        print(report.model_dump_json(indent=2))
    else:
        print(report.to_markdown())
    if args.plot:
        report.plot(path=args.plot)
        print(f"\nforest plot written to {args.plot}")
    return 0


def pandalm_report(args: argparse.Namespace) -> Any:
    """Length preference and style regression for the PandaLM judges."""
    import numpy as np

    from judgecal.bias.ablations import markdown_count
    from judgecal.bias.probes import BiasReport, feature_regression, preference_gap
    from judgecal.records.datasets import load_pandalm

    judges = ("gpt35", "pandalm7b") if args.judge == "both" else (args.judge,)
    report = BiasReport(
        title="PandaLM: surface-feature bias of LLM judges vs 3 human raters", alpha=1 - args.level
    )
    for judge in judges:
        js = load_pandalm(judge)
        rows = []
        for ties in ("half", "drop"):
            e = preference_gap(
                js,
                ties=ties,
                level=args.level,
                n_resamples=args.n_resamples,
                seed=args.seed,
                name=f"{judge}: picks longer" + (" (decisive)" if ties == "drop" else ""),
            )
            rows.append(e)
        ok = js.scored()
        idx, vals, _ = ok.ratings_long()
        human = np.bincount(idx, weights=vals, minlength=len(ok)) / np.maximum(
            np.bincount(idx, minlength=len(ok)), 1
        )
        verdict = ok.scores() - 1.0  # second -1, tie 0, first +1
        l1, l2 = ok.feature("len_response1"), ok.feature("len_response2")
        md = np.array(
            [
                markdown_count(j.texts["response1"]) - markdown_count(j.texts["response2"])
                for j in ok
            ],
            dtype=float,
        )
        reg = feature_regression(
            verdict,
            human,
            {
                f"{judge}: log length ratio": np.log((l1 + 1) / (l2 + 1)),
                f"{judge}: markdown difference": md,
            },
            level=args.level,
            alpha=1 - args.level,
        )
        report = (
            report
            + BiasReport(effects=tuple(rows), notes=(f"{judge}: " + reg.notes[0],))
            + reg.model_copy(update={"notes": ()})
        )
    legend = (
        "preference rows: judge rate minus human rate of picking the longer response, on pairs of unequal "
        "length (tie = half a pick; 'decisive': ties left out); bootstrap over items. regression rows: the "
        "judge's verdict (-1 second, 0 tie, +1 first) on the raters' mean verdict plus first-minus-second "
        "features; a positive coefficient rewards the feature beyond the humans."
    )
    return report.model_copy(update={"notes": (*report.notes, legend)})


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


def file_report(args: argparse.Namespace) -> Any:
    """Observational regression on a user's file."""
    import numpy as np

    from judgecal.bias.ablations import surface_features
    from judgecal.bias.probes import feature_regression

    path = Path(args.data)
    if not path.is_file():
        raise InputError("DATA", "an existing file", str(path))
    if not args.score_col or not args.human_col:
        raise InputError(
            "--score-col/--human-col",
            "both given with a DATA file",
            f"score-col={args.score_col!r}, human-col={args.human_col!r}",
        )
    human_cols = [c for spec in args.human_col for c in spec.split(",") if c]
    feature_cols = [c for spec in args.feature_col for c in spec.split(",") if c]
    if not feature_cols and not args.text_col:
        raise InputError(
            "--feature-col/--text-col", "at least one feature column or a text column", "neither"
        )
    rows = _rows(path)
    needed = [args.score_col, *human_cols, *feature_cols] + [
        c for c in (args.text_col, args.group_col) if c
    ]
    if rows:
        missing = [c for c in needed if c not in rows[0]]
        if missing:
            raise InputError("DATA", f"columns {needed}", f"missing {missing}")
    scores, humans, feats, texts, groups = [], [], [], [], []
    skipped = 0
    for k, row in enumerate(rows, start=1):
        s = _number(row[args.score_col])
        hs = [h for h in (_number(row[c]) for c in human_cols) if h is not None]
        fs = [_number(row[c]) for c in feature_cols]
        if s is None or not hs:
            skipped += 1  # no judge score (a failed call) or no human rating: counted, not used
            continue
        if any(f is None for f in fs):
            bad = feature_cols[[f is None for f in fs].index(True)]
            raise InputError("DATA", f"a number in column {bad!r}", f"row {k}: {row[bad]!r}")
        scores.append(s)
        humans.append(sum(hs) / len(hs))
        feats.append(fs)
        if args.text_col:
            texts.append(str(row[args.text_col] or ""))
        if args.group_col:
            groups.append(str(row[args.group_col]))
    if len(scores) < 3:
        raise InputError(
            "DATA", "at least 3 rows with a judge score and a human rating", len(scores)
        )
    F = np.asarray(feats, dtype=float).reshape(len(scores), len(feature_cols))
    features = {c: F[:, j] for j, c in enumerate(feature_cols)}
    if args.text_col:
        attrs = (
            [a.strip() for a in args.attributes.split(",") if a.strip()]
            if args.attributes
            else None
        )
        for name, col in surface_features(texts, attrs).items():
            if np.ptp(col) > 0:
                features[name] = col
    report = feature_regression(
        scores,
        humans,
        features,
        groups=groups or None,
        level=args.level,
        alpha=1 - args.level,
        title=f"Feature regression: {path.name}",
    )
    note = f"{len(scores)} rows used; {skipped} without a judge score or a human rating left out."
    return report.model_copy(update={"notes": (*report.notes, note)})
