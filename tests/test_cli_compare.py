"""``judgecal compare FILE``: calibrators x budgets x splits, held-out metrics vs the raw judge."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from judgecal.cli.app import main

HANNA = str(resources.files("judgecal") / "data" / "hanna_long.csv")
HANNA_ARGS = [
    "--item-col", "story_id,criterion", "--stage-col", "criterion", "--score-col", "ChatGPT_p1",
    "--scale", "numeric:1:5", "--label-col", "human_1,human_2,human_3", "--label-kind",
    "ordinal", "--levels", "5", "--threshold", "4",
]  # fmt: skip


def test_compare_on_bundled_hanna(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plot = tmp_path / "rel.png"
    argv = ["compare", HANNA, *HANNA_ARGS, "--budgets", "50", "--n-splits", "2"]
    assert main([*argv, "--plot", str(plot), "--format", "json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    rows = {(r["stage"], r["labels"], r["predictor"]): r for r in report["rows"]}
    stages = {r["stage"] for r in report["rows"]}
    assert stages == {"all", "Relevance", "Coherence", "Empathy", "Surprise", "Engagement",
                      "Complexity"}  # fmt: skip
    for budget in (50,):
        raw = rows[("all", budget, "raw judge")]
        assert raw["beats_raw"] is None and raw["splits"] == 2
        for name in ("isotonic", "logistic", "bayes"):
            row = rows[("all", budget, name)]
            assert row["brier"] < raw["brier"] and row["ece"] < raw["ece"]
            assert row["log_loss"] < raw["log_loss"] and row["beats_raw"] == 1.0
    assert "3 rows with a problem" in " ".join(report["notes"])  # HANNA's unparseable scores
    assert plot.read_bytes()[:4] == b"\x89PNG" and "reliability diagram" in captured.err


def test_compare_markdown_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plot = tmp_path / "rel.png"
    argv = ["compare", HANNA, *HANNA_ARGS, "--budgets", "200", "--n-splits", "1"]
    assert main([*argv, "--calibrators", "logistic", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "| stage | labels | predictor | Brier | ECE | log loss | beats raw (Brier) |" in out
    assert "| all | 200 | logistic |" in out and "| Coherence | 200 | raw judge |" in out


@pytest.mark.parametrize(
    ("extra", "flag"),
    [
        (["--budgets", "7000"], "--budgets"),
        (["--calibrators", "platt"], "--calibrators"),
        (["--plot", "x.nope"], "--plot"),
    ],
)
def test_compare_refuses_bad_flags(
    extra: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", HANNA, *HANNA_ARGS, "--n-splits", "1", *extra]) == 2
    assert flag in capsys.readouterr().err
