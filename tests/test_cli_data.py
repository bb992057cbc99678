"""Reading the user's file from the command line: label words, averaged scores, joined ids."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from judgecal.cli.app import main


def _words_file(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    lines = ["item_id,gpt4,r1,r2,mean_human"]
    for i in range(120):
        quality = rng.normal()
        score = int(np.clip(np.round(3 + quality + rng.normal(0, 0.7)), 1, 5))
        words = ["yes" if quality + rng.normal(0, 0.8) > 0 else "no" for _ in range(2)]
        mean = float(np.clip(3 + quality + rng.normal(0, 0.5), 1, 5))
        lines.append(f"i{i},{score},{words[0]},{words[1]},{mean:.2f}")
    path = folder / "words.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_label_words_are_declared_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, cal = _words_file(tmp_path), tmp_path / "cal.json"
    base = ["--score-col", "gpt4", "--label-col", "r1,r2"]
    assert main(["fit", str(data), *base, "--out", str(cal)]) == 2  # 'yes' is not a 0/1 label
    assert "--label-col" in capsys.readouterr().err
    assert main(["fit", str(data), *base, "--labels", "yes=1,no=0", "--out", str(cal)]) == 0
    out = tmp_path / "out.csv"
    argv = ["apply", str(cal), str(data), *base, "--labels", "yes=1,no=0", "--out", str(out)]
    assert main([*argv, "--plot", str(tmp_path / "p.png")]) == 0
    assert "| raw judge |" in capsys.readouterr().out
    assert len(list(csv.DictReader(out.open()))) == 120


def test_averaged_human_scores_with_a_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, cal = _words_file(tmp_path), tmp_path / "cal.json"
    argv = ["fit", str(data), "--score-col", "gpt4", "--label-col", "mean_human"]
    assert main([*argv, "--label-threshold", "3.5", "--out", str(cal)]) == 0
    assert "fitted" in capsys.readouterr().out


def test_bad_label_words_name_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _words_file(tmp_path)
    argv = ["fit", str(data), "--score-col", "gpt4", "--label-col", "r1", "--labels", "yes"]
    assert main([*argv, "--out", str(tmp_path / "c.json")]) == 2
    assert "--labels" in capsys.readouterr().err


def test_an_item_id_made_of_several_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ["story,criterion,judge,h1"] + [
        f"s{i // 2},{'a' if i % 2 else 'b'},{1 + i % 5},{int(i % 5 > 1)}" for i in range(80)
    ]
    data = tmp_path / "long.csv"
    data.write_text("\n".join(lines) + "\n")
    argv = ["fit", str(data), "--score-col", "judge", "--label-col", "h1", "--stage-col"]
    assert main([*argv, "criterion", "--out", str(tmp_path / "c.json")]) == 2  # no item_id
    assert "--item-col: column 'item_id' is not in long.csv" in capsys.readouterr().err
    assert main([*argv, "criterion", "--item-col", "story", "--out", "x.json"]) == 2  # repeats
    assert main([*argv, "criterion", "--item-col", "story,criterion", "--out",
                 str(tmp_path / "d.json")]) == 0  # fmt: skip
