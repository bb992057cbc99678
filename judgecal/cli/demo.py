"""``judgecal demo``: calibrate a real LLM judge on HANNA and show what changes.

HANNA's stories each have three human Likert ratings (1-5) on six criteria and
an LLM judge's rating. The demo asks: *how likely is a human to rate the story
4 or higher on this criterion, given the judge's score?* It labels
``n_labelled`` random stories (all six criteria, one calibrator stage per
criterion), fits on them, and compares, on the held-out stories, the raw
judge (its score rescaled to [0, 1]) with the calibrated probability.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from judgecal.cli import options
from judgecal.cli.output import check_plot_path

if TYPE_CHECKING:
    import numpy as np

    from judgecal._validation import FloatArray

__all__ = ["DemoRow", "hanna_split", "register", "run", "run_demo"]


@dataclass(frozen=True)
class DemoRow:
    """Held-out metrics for one criterion."""

    stage: str
    n_test: int
    raw_ece: float
    cal_ece: float
    raw_brier: float
    cal_brier: float


def hanna_split(
    judge: str = "ChatGPT_p1", *, n_labelled: int = 200, seed: int = 0
) -> tuple[
    tuple[FloatArray, FloatArray, FloatArray, np.ndarray],
    tuple[FloatArray, FloatArray, FloatArray, np.ndarray],
    dict[str, int],
]:  # type: ignore[type-arg]
    """Split HANNA by story into a labelled part and a held-out part.

    Returns ``(train, test, status_counts)`` where each part is
    ``(scores, soft_targets, weights, stages)`` for the target "human rating >= 4".
    """
    import numpy as np

    from judgecal._validation import check_int
    from judgecal.records.datasets import load_hanna

    check_int(n_labelled, "n_labelled", low=10, high=1000, where="hanna_split")
    check_int(seed, "seed", low=0, where="hanna_split")
    js = load_hanna(judge)
    counts = js.status_counts()
    js = js.scored()
    story = js.meta("story_id")
    stories = np.unique(story)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(stories, size=n_labelled, replace=False)
    is_train = np.isin(story, chosen)
    y, w = js.targets(how="soft", threshold=4)
    s, st = js.scores(), js.stages()
    train = (s[is_train], y[is_train], w[is_train], st[is_train])
    test = (s[~is_train], y[~is_train], w[~is_train], st[~is_train])
    return train, test, counts


def _fit(calibrator: str, seed: int, train: tuple[Any, ...]) -> Any:
    scores, targets, weights, stages = train
    model: Any
    if calibrator == "bayes":
        from judgecal.calibration.bayes.calibrator import BayesianCalibrator

        model = BayesianCalibrator(score_range=(1.0, 5.0), random_state=seed)
    else:
        from judgecal.calibration.isotonic import IsotonicCalibrator
        from judgecal.calibration.logistic import LogisticCalibrator

        model = IsotonicCalibrator() if calibrator == "isotonic" else LogisticCalibrator()
    return model.fit(scores, targets, weights, stages=stages)


def _row(stage: str, targets: Any, raw: Any, calibrated: Any, weights: Any) -> DemoRow:
    from judgecal.metrics import brier_score, expected_calibration_error

    return DemoRow(
        stage=stage,
        n_test=len(targets),
        raw_ece=expected_calibration_error(targets, raw, sample_weight=weights),
        cal_ece=expected_calibration_error(targets, calibrated, sample_weight=weights),
        raw_brier=brier_score(targets, raw, sample_weight=weights),
        cal_brier=brier_score(targets, calibrated, sample_weight=weights),
    )


def _table(rows: list[DemoRow]) -> list[str]:
    head = (
        f"| {'criterion':<11}| {'n test':>6} | {'raw ECE':>7} | {'cal ECE':>7} "
        f"| {'raw Brier':>9} | {'cal Brier':>9} |"
    )
    rule = f"|{'-' * 12}|{'-' * 8}|{'-' * 9}|{'-' * 9}|{'-' * 11}|{'-' * 11}|"
    lines = [head, rule]
    for row in rows:
        lines.append(
            f"| {row.stage:<11}| {row.n_test:>6} | {row.raw_ece:>7.3f} | {row.cal_ece:>7.3f} "
            f"| {row.raw_brier:>9.3f} | {row.cal_brier:>9.3f} |"
        )
    return lines


def run_demo(
    *,
    judge: str = "ChatGPT_p1",
    n_labelled: int = 200,
    seed: int = 0,
    plot: str | None = "judgecal-demo.png",
    calibrator: str = "isotonic",
) -> int:
    """Run the demo, print the table, write the reliability diagram; returns 0."""
    from judgecal.records.core import Scale

    train, (s_te, y_te, w_te, st_te), counts = hanna_split(judge, n_labelled=n_labelled, seed=seed)
    model = _fit(calibrator, seed, train)
    raw = Scale.likert(5).to_unit(s_te)
    calibrated = model.predict_proba(s_te, stages=st_te)[:, 1]
    rows = []
    for name in dict.fromkeys(st_te.tolist()):
        mask = st_te == name
        rows.append(_row(name, y_te[mask], raw[mask], calibrated[mask], w_te[mask]))
    rows.append(_row("all", y_te, raw, calibrated, w_te))
    print(f"judgecal demo: HANNA, judge {judge}, target P(human rating >= 4)")
    print(f"judge outputs: {counts} (unparseable outputs are counted, never scored)")
    print(
        f"{calibrator} calibrator fitted on {n_labelled} labelled stories "
        f"({len(train[0])} story-criterion items, 3 raters each); held out: {len(s_te)} items\n"
    )
    print("\n".join(_table(rows)))
    if plot:
        _plot(
            plot,
            judge,
            calibrator,
            y_te,
            {"raw judge": raw, f"calibrated ({calibrator})": calibrated},
            w_te,
        )
        print(f"\nreliability diagram written to {plot}")
    return 0


def _plot(path: str, judge: str, calibrator: str, targets: Any, curves: Any, weights: Any) -> None:
    from judgecal.cli.output import save_plot
    from judgecal.plotting import reliability_diagram

    def draw(temporary: str) -> None:
        reliability_diagram(
            targets,
            curves,
            sample_weight=weights,
            title=f"HANNA, {judge}: P(human rating >= 4)",
            path=temporary,
        )

    save_plot(path, draw)


EXAMPLE = """example:
  judgecal demo --judge ChatGPT_p1 --n-labelled 100 --calibrator logistic --plot demo.png
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="calibrate an LLM judge on the bundled HANNA data",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--judge", default="ChatGPT_p1", help="HANNA judge column (default ChatGPT_p1)"
    )
    parser.add_argument(
        "--n-labelled",
        type=options.positive_int,
        default=200,
        help="stories with human labels used for fitting (default 200)",
    )
    options.add_seed(parser)
    options.add_calibrator(parser)
    parser.add_argument(
        "--plot",
        default="judgecal-demo.png",
        help="where to write the reliability diagram (png, pdf, svg, ...; '' for none)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``judgecal demo``."""
    if args.plot:
        check_plot_path("--plot", args.plot)
    return run_demo(
        judge=args.judge,
        n_labelled=args.n_labelled,
        seed=args.seed,
        plot=args.plot,
        calibrator=args.calibrator,
    )
