"""``judgecal agree FILE`` with several judge columns: every judge against humans and each other."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from judgecal.cli.app import main

JUDGES = ("gpt4", "claude", "llama")


def _panel_file(folder: Path) -> Path:
    """Humans mark ~20% relevant; the three judges mark more (ratios 1.5-3x)."""
    rng = np.random.default_rng(0)
    lines = ["item_id,stage," + ",".join(JUDGES) + ",r1,r2,r3"]
    for i in range(200):
        relevant = rng.random() < 0.2
        humans = [int(relevant if rng.random() < 0.85 else not relevant) for _ in range(3)]
        judges = [int(relevant or rng.random() < p) for p in (0.3, 0.35, 0.5)]
        stage = "selection" if i % 2 else "extraction"
        lines.append(f"i{i},{stage}," + ",".join(map(str, judges + humans)))
    path = folder / "panel.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_agree_compares_every_judge_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _panel_file(tmp_path)
    argv = ["agree", str(path), "--score-col", ",".join(JUDGES), "--label-col", "r1,r2,r3"]
    assert main([*argv, "--scale", "numeric:0:1", "--n-resamples", "20"]) == 0
    out = capsys.readouterr().out
    for judge in JUDGES:
        assert f"| judge-human ({judge}) |" in out
        assert f"{judge} marks " in out  # the rate at which each judge says yes
    assert "| judge-judge |" in out and "| human-human |" in out


def test_agree_with_one_judge_column_still_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _panel_file(tmp_path)
    argv = ["agree", str(path), "--score-col", "claude", "--label-col", "r1,r2,r3"]
    assert main([*argv, "--scale", "numeric:0:1", "--n-resamples", "0"]) == 0
    out = capsys.readouterr().out
    assert "judge-human (claude)" in out and "judge-judge" not in out


def test_also_is_refused_with_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _panel_file(tmp_path)
    argv = ["agree", str(path), "--score-col", "gpt4", "--label-col", "r1", "--also", "x"]
    assert main(argv) == 2
    assert "--also" in capsys.readouterr().err
