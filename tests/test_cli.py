from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from judgecal.cli.app import main

CSV = "item_id,stage,score,r1,r2,r3\n" + "\n".join(
    f"i{i},{'selection' if i % 2 else 'generation'},{1 + i % 5},"
    f"{int(i % 5 >= 2)},{int(i % 5 >= 3)},{int(i % 7 > 2)}"
    for i in range(120)
)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    p = tmp_path / "labels.csv"
    p.write_text(CSV + "\n")
    return p


@pytest.mark.parametrize("method", ["isotonic", "logistic"])
def test_fit_then_apply(
    data: Path, tmp_path: Path, method: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cal.json"
    code = main(
        [
            "fit",
            str(data),
            "--score-col",
            "score",
            "--label-col",
            "r1,r2",
            "--label-col",
            "r3",
            "--stage-col",
            "stage",
            "--calibrator",
            method,
            "--out",
            str(out),
        ]
    )
    assert code == 0 and out.exists()
    assert "fitted" in capsys.readouterr().out
    preds = tmp_path / "preds.csv"
    assert (
        main(
            [
                "apply",
                str(out),
                str(data),
                "--score-col",
                "score",
                "--stage-col",
                "stage",
                "--out",
                str(preds),
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(preds.open()))
    assert len(rows) == 120 and all(0 < float(r["p_agree"]) < 1 for r in rows)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (
            ["fit", "missing.csv", "--score-col", "s", "--label-col", "y", "--out", "x.json"],
            "existing file",
        ),
        (
            ["fit", "DATA", "--score-col", "nope", "--label-col", "r1", "--out", "OUT"],
            "--score-col: column 'nope' is not in labels.csv",
        ),
        (
            [
                "fit",
                "DATA",
                "--score-col",
                "score",
                "--label-col",
                "r1",
                "--calibrator",
                "platt",
                "--out",
                "OUT",
            ],
            "invalid choice",
        ),
        (
            [
                "fit",
                "DATA",
                "--score-col",
                "score",
                "--label-col",
                "r1",
                "--scale",
                "likert:x",
                "--out",
                "OUT",
            ],
            "--scale",
        ),
        (["apply", "DATA", "DATA", "--score-col", "score"], "Not a judgecal calibrator"),
        (["bogus"], "invalid choice"),
        ([], ""),
    ],
)
def test_errors_are_one_line_exit_2(
    argv: list[str], needle: str, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        str(data) if a == "DATA" else str(tmp_path / "o.json") if a == "OUT" else a for a in argv
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    if needle:
        assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_demo_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "demo.png"
    assert main(["demo", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "| Coherence" in out and png.stat().st_size > 5000
    # the calibrated judge beats the raw judge overall on held-out stories
    last = next(line for line in out.splitlines() if line.startswith("| all"))
    raw_ece, cal_ece, raw_b, cal_b = (float(v) for v in last.strip("|").split("|")[2:6])
    assert cal_b < raw_b and cal_ece < raw_ece


def test_console_script_entry_point() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "judgecal.cli.app", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0 and r.stdout.startswith("judgecal ")
