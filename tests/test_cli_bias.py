"""``judgecal bias FILE``: preference rates on pairwise files, and the regression's premise."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from judgecal import JudgecalWarning, feature_regression
from judgecal.cli.app import main


def _pairs_file(folder: Path, rates: dict[str, float], n: int = 400, seed: int = 0) -> Path:
    """Pairs of unequal length; each column picks the longer response at its own rate."""
    rng = np.random.default_rng(seed)
    header = ["item_id", "stage", "len_response1", "len_response2", *rates]
    lines = [",".join(header)]
    for i in range(n):
        first, second = rng.choice(np.arange(50, 900), 2, replace=False)
        longer, shorter = ("first", "second") if first > second else ("second", "first")
        picks = [longer if rng.random() < rate else shorter for rate in rates.values()]
        stage = "llmbar" if i % 2 else "mtbench"
        lines.append(",".join([f"p{i}", stage, str(first), str(second), *picks]))
    path = folder / "pairs.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _bias(path: Path, judges: str, *extra: str) -> int:
    return main(
        [
            "bias",
            str(path),
            "--score-col",
            judges,
            "--label-col",
            "gold",
            "--label-kind",
            "pairwise",
            "--n-resamples",
            "300",
            "--stage-col",
            "stage",
            *extra,
        ]
    )


def test_bias_on_pairwise_data_flags_judges_that_prefer_longer_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the case: gold picks the longer output 12% of the time, GPT-4 45%, ChatGPT 76%
    path = _pairs_file(tmp_path, {"gold": 0.12, "gpt4": 0.45, "chatgpt": 0.76})
    assert _bias(path, "gpt4,chatgpt") == 0
    out = capsys.readouterr().out
    assert "gpt4 picks the longer response more often than humans: +3" in out
    assert "chatgpt picks the longer response more often than humans: +5" in out
    assert "gpt4 [llmbar] picks the longer response more often" in out  # per stage too
    assert out.count("| yes (higher) |") == 6 and "| no |" not in out


def test_bias_on_pairwise_data_does_not_flag_judges_that_match_humans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the other case: humans and judges all pick the longer output about 70% of the time
    path = _pairs_file(tmp_path, {"gold": 0.7, "gpt4": 0.7, "chatgpt": 0.7}, seed=1)
    assert _bias(path, "gpt4,chatgpt", "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    overall = [e for e in report["effects"] if e["stage"] == "all"]
    assert len(overall) == 2
    for effect in overall:
        assert effect["low"] < 0 < effect["high"]
        assert abs(effect["judge_value"] - 0.7) < 0.06 and abs(effect["human_value"] - 0.7) < 0.06


def test_bias_pairwise_needs_two_pair_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _pairs_file(tmp_path, {"gold": 0.5, "gpt4": 0.5}, n=20)
    assert _bias(path, "gpt4", "--pair-cols", "len_response1") == 2
    assert "--pair-cols" in capsys.readouterr().err


def _negative_human_data(n: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    length = rng.normal(0, 1, n)
    human = 0.8 * length + rng.normal(0, 0.5, n)  # humans like longer answers...
    judge = 1.5 * length - 0.6 * human + rng.normal(0, 0.5, n)  # ...so does the judge, more so
    return judge, human, length


def test_regression_warns_when_the_human_coefficient_is_not_positive() -> None:
    judge, human, length = _negative_human_data()
    with pytest.warns(JudgecalWarning, match="not clearly positive"):
        report = feature_regression(judge, human, {"length": length})
    assert any(note.startswith("Warning:") for note in report.notes)


def test_regression_route_of_the_cli_prints_the_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    judge, human, length = _negative_human_data()
    rows = ["judge,human,length"] + [
        f"{a},{b},{c}" for a, b, c in zip(judge, human, length, strict=True)
    ]
    path = tmp_path / "scores.csv"
    path.write_text("\n".join(rows) + "\n")
    argv = ["bias", str(path), "--score-col", "judge", "--label-col", "human"]
    assert main([*argv, "--feature-col", "length"]) == 0
    captured = capsys.readouterr()
    assert "warning:" in captured.err and "not clearly positive" in captured.err
    assert "Warning:" in captured.out


def test_bias_demo_says_which_way_each_judge_departs(capsys: pytest.CaptureFixture[str]) -> None:
    # 0.1 flagged GPT-3.5 "yes" for picking the longer answer *less* often than humans
    assert main(["bias", "--judge", "gpt35", "--n-resamples", "200"]) == 0
    out = capsys.readouterr().out
    assert "gpt35 picks the longer response less often than humans: -3.8 points" in out
    assert "| yes (lower) |" in out
