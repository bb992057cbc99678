"""``judgecal fit`` and ``apply`` with several judge columns (a judge panel)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import judgecal
from judgecal.cli.app import main


def _panel_file(folder: Path) -> Path:
    """Three judges on 1-5 (two informative, one noise; one blank cell), binary labels, stages."""
    rng = np.random.default_rng(0)
    lines = ["item_id,stage,gpt,small,noise,human"]
    for i in range(240):
        quality = rng.normal()
        gpt = int(np.clip(np.round(3 + quality + rng.normal(0, 0.7)), 1, 5))
        small = int(np.clip(np.round(3 + quality + rng.normal(0, 1.0)), 1, 5))
        noise = int(rng.integers(1, 6))
        human = int(quality + rng.normal(0, 0.6) > 0)
        stage = "selection" if i % 2 else "generation"
        cell = "" if i == 7 else str(small)
        lines.append(f"i{i},{stage},{gpt},{cell},{noise},{human}")
    path = folder / "panel.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("name", ["logistic", "isotonic", "bayes"])
def test_fit_and_apply_a_panel(tmp_path: Path, name: str) -> None:
    data = _panel_file(tmp_path)
    cal = tmp_path / f"{name}.json"
    cols = ["--score-col", "gpt,small,noise", "--stage-col", "stage", "--label-col", "human"]
    assert main(["fit", str(data), *cols, "--calibrator", name, "--out", str(cal)]) == 0
    fitted = judgecal.load(cal)
    assert fitted.n_features_in_ == 3
    document = json.loads(cal.read_text())
    assert document["data_options"]["score_cols"] == "gpt,small,noise"
    out = tmp_path / "out.csv"
    # the judge columns come from the calibrator file when --score-col is not given
    assert main(["apply", str(cal), str(data), "--stage-col", "stage", "--out", str(out)]) == 0
    rows = _rows(out)
    assert len(rows) == 240 and {"gpt", "small", "noise", "p_agree"} <= set(rows[0])
    assert rows[7]["p_agree"] == "" and rows[7]["status"] != "ok"
    p = np.array([float(r["p_agree"]) for i, r in enumerate(rows) if i != 7])
    assert ((p > 0) & (p < 1)).all()
    if name == "bayes":
        low = np.array([float(r["p_low"]) for i, r in enumerate(rows) if i != 7])
        assert (low <= p).all()
    X = np.array([[float(r[c]) for c in ("gpt", "small", "noise")] for r in rows[:3]])
    stages = [r["stage"] for r in rows[:3]]
    expected = fitted.predict_agreement(X, stages=stages)
    np.testing.assert_allclose(p[:3], expected, atol=1e-6)


def test_apply_a_panel_with_labels_prints_metrics(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    data = _panel_file(tmp_path)
    cal = tmp_path / "cal.json"
    cols = ["--score-col", "gpt,small", "--label-col", "human"]
    assert main(["fit", str(data), *cols, "--calibrator", "logistic", "--out", str(cal)]) == 0
    out = tmp_path / "out.csv"
    assert main(["apply", str(cal), str(data), *cols, "--out", str(out)]) == 0
    assert "calibrated (LogisticCalibrator)" in capsys.readouterr().out


def test_apply_refuses_another_number_of_judge_columns(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    data = _panel_file(tmp_path)
    cal = tmp_path / "cal.json"
    fit = ["fit", str(data), "--score-col", "gpt,small", "--label-col", "human"]
    assert main([*fit, "--out", str(cal)]) == 0
    out = tmp_path / "out.csv"
    assert main(["apply", str(cal), str(data), "--score-col", "gpt", "--out", str(out)]) != 0
    assert "--score-col" in capsys.readouterr().err
    assert not out.exists()
