"""``judgecal apply`` with every calibrator kind, the stored scale, and metrics when labelled."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import judgecal
from judgecal import BayesianCalibrator, FeatureAdjustedCalibrator, Scale
from judgecal.cli.app import main
from judgecal.records.io import read_csv

WORDS = ("second", "tie", "first")


def _likert_file(folder: Path) -> Path:
    """Scores 1-5, a mention count, three binary raters and a 1-5 human level, two stages."""
    rng = np.random.default_rng(0)
    lines = ["item_id,stage,score,mentions,r1,r2,r3,level"]
    for i in range(160):
        quality = rng.normal()
        mentions = int(rng.integers(0, 3))
        score = int(np.clip(np.round(3 + quality + 0.5 * mentions + rng.normal(0, 0.6)), 1, 5))
        raters = [int(quality + rng.normal(0, 0.8) > 0) for _ in range(3)]
        level = int(np.clip(np.round(3 + quality + rng.normal(0, 0.7)), 1, 5))
        stage = "selection" if i % 2 else "generation"
        lines.append(f"i{i},{stage},{score},{mentions},{raters[0]},{raters[1]},{raters[2]},{level}")
    path = folder / "likert.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _pairwise_file(folder: Path) -> Path:
    rng = np.random.default_rng(1)
    lines = ["item_id,verdict,h1,h2"]
    for i in range(150):
        truth = int(rng.integers(0, 3))
        verdict = truth if rng.random() < 0.7 else int(rng.integers(0, 3))
        humans = [truth if rng.random() < 0.6 else int(rng.integers(0, 3)) for _ in range(2)]
        lines.append(f"p{i},{WORDS[verdict]},{WORDS[humans[0]]},{WORDS[humans[1]]}")
    path = folder / "pairs.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _apply(cal: Path, data: Path, out: Path, *extra: str) -> list[dict[str, str]]:
    assert main(["apply", str(cal), str(data), "--out", str(out), *extra]) == 0
    with out.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _check_rows(rows: list[dict[str, str]], n: int, *, interval: bool) -> None:
    assert len(rows) == n
    p = np.array([float(r["p_agree"]) for r in rows])
    assert ((p > 0) & (p < 1)).all()
    if interval:
        low = np.array([float(r["p_low"]) for r in rows])
        high = np.array([float(r["p_high"]) for r in rows])
        assert (low <= p + 1e-9).all() and (p <= high + 1e-9).all() and (low < high).all()


@pytest.mark.parametrize("kind", ["isotonic", "logistic", "bayes"])
def test_apply_after_fit(kind: str, tmp_path: Path) -> None:
    data = _likert_file(tmp_path)
    cal = tmp_path / "cal.json"
    fit = ["fit", str(data), "--score-col", "score", "--label-col", "r1,r2,r3"]
    assert main([*fit, "--stage-col", "stage", "--calibrator", kind, "--out", str(cal)]) == 0
    rows = _apply(cal, data, tmp_path / "out.csv", "--score-col", "score", "--stage-col", "stage")
    _check_rows(rows, 160, interval=kind == "bayes")


def test_apply_feature_adjusted_reads_its_feature_columns(tmp_path: Path) -> None:
    data = _likert_file(tmp_path)
    js = read_csv(
        data,
        scale=Scale.likert(5),
        label_kind="binary",
        label_cols=["r1", "r2", "r3"],
        feature_cols=["mentions"],
    )
    y, w = js.targets()
    x = np.column_stack([js.scores(), js.feature("mentions")])
    cal = FeatureAdjustedCalibrator(features=("mentions",)).fit(x, y, w)
    path = tmp_path / "cal.json"
    judgecal.save(cal, path)
    rows = _apply(path, data, tmp_path / "out.csv", "--score-col", "score")
    _check_rows(rows, 160, interval=False)
    expected = cal.predict_proba(x)[:, 1]
    np.testing.assert_allclose([float(r["p_agree"]) for r in rows], expected, atol=1e-6)


def test_apply_bayesian_ordinal(tmp_path: Path) -> None:
    data = _likert_file(tmp_path)
    js = read_csv(data, scale=Scale.likert(5), label_kind="ordinal", label_cols=["level"], levels=5)
    cal = BayesianCalibrator(
        kind="ordinal", method="laplace", threshold=4, score_range=(1, 5), random_state=0
    )
    cal.fit(js.scores(), [int(j.ratings[0].value) for j in js])
    path = tmp_path / "cal.json"
    judgecal.save(cal, path)
    rows = _apply(path, data, tmp_path / "out.csv", "--score-col", "score")
    _check_rows(rows, 160, interval=True)  # was: IndexError on the (n, 2) interval / 5 columns
    np.testing.assert_allclose(
        [float(r["p_agree"]) for r in rows], cal.predict_agreement(js.scores()), atol=1e-6
    )


def test_apply_bayesian_pairwise_reads_verdict_words_without_a_scale_flag(tmp_path: Path) -> None:
    data = _pairwise_file(tmp_path)
    js = read_csv(
        data,
        scale=Scale.verdict(*WORDS),
        score_col="verdict",
        label_kind="pairwise",
        label_cols=["h1", "h2"],
    )
    _, codes, _ = js.ratings_long(coding="vocabulary")
    scores = np.repeat(js.scores(), 2)
    cal = BayesianCalibrator(kind="pairwise", method="laplace", random_state=0).fit(scores, codes)
    path = tmp_path / "cal.json"
    judgecal.save(cal, path)  # saved from Python: no --scale beside it; the kind says verdicts
    rows = _apply(path, data, tmp_path / "out.csv", "--score-col", "verdict")
    _check_rows(rows, 150, interval=True)
    first = [float(r["p_agree"]) for r in rows if r["score"] == "2.0"]
    second = [float(r["p_agree"]) for r in rows if r["score"] == "0.0"]
    assert min(first) > max(second)


def test_apply_with_labels_prints_metrics_and_writes_a_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _likert_file(tmp_path)
    cal = tmp_path / "cal.json"
    fit = ["fit", str(data), "--score-col", "score", "--label-col", "r1,r2,r3", "--out", str(cal)]
    assert main([*fit, "--calibrator", "logistic"]) == 0
    capsys.readouterr()
    plot = tmp_path / "rel.png"
    _apply(
        cal,
        data,
        tmp_path / "out.csv",
        "--score-col",
        "score",
        "--label-col",
        "r1,r2,r3",
        "--plot",
        str(plot),
    )
    out = capsys.readouterr().out
    assert "| predictor | Brier | ECE | log loss |" in out
    assert "| raw judge |" in out and "| calibrated (LogisticCalibrator) |" in out
    brier = {
        line.split("|")[1].strip(): float(line.split("|")[2])
        for line in out.splitlines()
        if line.startswith("| raw judge") or line.startswith("| calibrated")
    }
    assert brier["calibrated (LogisticCalibrator)"] < brier["raw judge"]
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_apply_keeps_the_ordinal_threshold_of_the_calibrator(tmp_path: Path) -> None:
    data = _likert_file(tmp_path)
    js = read_csv(data, scale=Scale.likert(5), label_kind="ordinal", label_cols=["level"], levels=5)
    cal = BayesianCalibrator(kind="ordinal", method="laplace", threshold=4, score_range=(1, 5))
    cal.fit(js.scores(), [int(j.ratings[0].value) for j in js])
    path = tmp_path / "cal.json"
    judgecal.save(cal, path)
    argv: list[Any] = ["--score-col", "score", "--label-col", "level", "--label-kind", "ordinal"]
    _apply(
        path, data, tmp_path / "o.csv", *argv, "--levels", "5", "--plot", str(tmp_path / "p.png")
    )
    assert (tmp_path / "p.png").exists()


def test_apply_of_one_judge_takes_one_judge_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # several --score-col columns fit a judge panel (tests/test_cli_panel.py); a calibrator of
    # one judge still reads one column
    data = _likert_file(tmp_path)
    cal = tmp_path / "c.json"
    assert (
        main(["fit", str(data), "--score-col", "score", "--label-col", "r1", "--out", str(cal)])
        == 0
    )
    argv = ["apply", str(cal), str(data), "--score-col", "score,mentions", "--out", "x"]
    assert main(argv) == 2
    assert "--score-col" in capsys.readouterr().err
