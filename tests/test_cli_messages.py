"""CLI messages: errors name the flag, Ctrl-C and closed pipes end quietly, files are atomic."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from judgecal.cli.app import main

CSV = "item_id,stage,gpt4,r1,r2\n" + "".join(
    f"i{i},{'a' if i % 2 else 'b'},{1 + i % 5},{int(i % 5 >= 2)},{int(i % 7 > 2)}\n"
    for i in range(80)
)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    return path


def _fit(data: Path, out: Path, *extra: str) -> list[str]:
    return [
        "fit",
        str(data),
        "--score-col",
        "gpt4",
        "--label-col",
        "r1,r2",
        "--out",
        str(out),
        *extra,
    ]


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("judgecal: error: ")
    return err.removeprefix("judgecal: error: ")


def test_unknown_column_names_the_flag_file_and_columns(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _fit(data, tmp_path / "c.json")
    argv[3] = "judge"
    assert main(argv) == 2
    assert _one_line_error(capsys) == (
        "--score-col: column 'judge' is not in data.csv (columns: item_id, stage, gpt4, r1, r2)"
    )
    assert main([*_fit(data, tmp_path / "c.json"), "--stage-col", "phase"]) == 2
    assert _one_line_error(capsys).startswith("--stage-col: column 'phase'")
    assert main([*_fit(data, tmp_path / "c.json")[:5], "r9", "--out", "x.json"]) == 2
    assert _one_line_error(capsys).startswith("--label-col: column 'r9'")


def test_library_parameter_names_become_flags(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--n-labelled", "5", "--plot", ""]) == 2
    assert _one_line_error(capsys).startswith("--n-labelled: must be")
    assert (
        main(
            [
                "fit",
                str(tmp_path / "nope.csv"),
                "--score-col",
                "s",
                "--label-col",
                "r",
                "--out",
                "o",
            ]
        )
        == 2
    )
    assert _one_line_error(capsys).startswith("DATA: must be")
    assert main(["apply", str(tmp_path / "none.json"), str(data), "--score-col", "gpt4"]) == 2
    assert _one_line_error(capsys).startswith("CALIBRATOR: must be an existing file")


def test_unwritable_out_names_out(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_fit(data, tmp_path / "missing" / "c.json")) == 2
    assert _one_line_error(capsys).startswith("--out: ")


def test_demo_negative_seed_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--seed", "-1", "--plot", ""]) == 2
    assert "--seed" in capsys.readouterr().err


def test_demo_plot_with_unknown_extension_fails_before_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--plot", str(tmp_path / "x.txt")]) == 2
    assert _one_line_error(capsys).startswith("--plot: cannot write a txt file")
    assert not (tmp_path / "x.txt").exists()


def test_apply_with_a_bayesian_calibrator(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cal, out = tmp_path / "bayes.json", tmp_path / "p.csv"
    assert main(_fit(data, cal, "--calibrator", "bayes")) == 0
    assert main(["apply", str(cal), str(data), "--score-col", "gpt4", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 80
    for row in rows:
        low, mid, high = (float(row[k]) for k in ("p_low", "p_agree", "p_high"))
        assert 0 <= low <= mid <= high <= 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bayes.json", "data.csv", "p.csv"]


def test_apply_reuses_the_scale_stored_by_fit(tmp_path: Path) -> None:
    rows = "".join(
        f"i{i},{'yes' if i % 3 else 'no'},{int(i % 3 > 0 or i % 2)}\n" for i in range(60)
    )
    data = tmp_path / "verdicts.csv"
    data.write_text("item_id,judge,human\n" + rows)
    cal, out = tmp_path / "c.json", tmp_path / "p.csv"
    fit = ["fit", str(data), "--score-col", "judge", "--label-col", "human", "--out", str(cal)]
    assert main([*fit, "--scale", "verdict:no,yes"]) == 0
    assert main(["apply", str(cal), str(data), "--score-col", "judge", "--out", str(out)]) == 0
    assert len(list(csv.DictReader(out.open()))) == 60


def test_ctrl_c_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import judgecal.cli.demo as demo

    def interrupted(**_: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "run_demo", interrupted)
    assert main(["demo", "--plot", ""]) == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_ctrl_c_reports_progress_and_cache() -> None:
    from judgecal.cli.errors import interrupted_message

    exc = KeyboardInterrupt()
    exc.finished, exc.total = 3, 10  # type: ignore[attr-defined]
    assert interrupted_message(exc, "calls.sqlite") == (
        "interrupted: 3 of 10 items finished and cached in calls.sqlite; "
        "run the same command again to resume"
    )


_SLOW_DEMO = """
import sys, time
import judgecal.cli.demo as demo
from judgecal.cli.app import main
def slow(**_):
    print("ready", flush=True)
    time.sleep(30)
demo.run_demo = slow
sys.exit(main(["demo", "--plot", ""]))
"""


def test_sigint_to_a_running_command_exits_130_without_traceback() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_DEMO],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130 and err == "interrupted\n"


_LOUD_DEMO = """
import sys
import judgecal.cli.demo as demo
from judgecal.cli.app import main
def loud(**_):
    for i in range(200_000):
        print("line", i)
    return 0
demo.run_demo = loud
sys.exit(main(["demo", "--plot", ""]))
"""


def test_closed_pipe_exits_quietly() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _LOUD_DEMO], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"line 0\n"
    proc.stdout.close()
    err = proc.stderr.read() if proc.stderr else b""
    proc.wait(timeout=30)
    assert proc.returncode in (0, 141) and err == b""


def test_ascii_terminal_does_not_crash() -> None:
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    code = (
        "import sys; from judgecal.cli.app import main; "
        "sys.exit(main(['agree', '--n-resamples', '0']))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-500:]
    assert b"Traceback" not in proc.stderr and proc.stdout


def test_cache_stats_with_a_list_in_the_usage_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from judgecal.judging.cache import JudgeCache

    path = tmp_path / "calls.sqlite"
    with JudgeCache(path):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO calls (key, fingerprint, sample, output, status, usage, created)"
            " VALUES ('k', 'f', 0, '4', 'ok', '[1, 2]', 0)"
        )
    code = main(["cache", "stats", str(path)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    if code == 2:
        assert len(captured.err.strip().splitlines()) == 1 and "PATH" in captured.err
    else:
        assert code == 0 and "1 entries" in captured.out
