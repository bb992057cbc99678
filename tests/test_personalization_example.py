"""examples/personalization_pipeline.py: the known truth falls inside every interval it prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent.parent / "examples" / "personalization_pipeline.py"
INTERVAL = re.compile(r"\[([-+]?[\d.]+)%?, ([-+]?[\d.]+)%?\]")
TRUTH = re.compile(r"truth ([-+]?[\d.]+)")


@pytest.fixture(scope="module")
def out() -> str:
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"MPLBACKEND": "Agg", "PATH": ""},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_every_printed_interval_covers_the_known_truth(out: str) -> None:
    checked = 0
    for line in out.splitlines():
        interval = INTERVAL.search(line)
        if interval is None:
            continue
        truth = TRUTH.search(line)
        assert truth is not None, f"an interval without the truth beside it: {line}"
        low, high, value = (float(x) for x in (*interval.groups(), truth.group(1)))
        assert low <= value <= high, line
        checked += 1
    assert checked == 4  # three stage rates and the mention probe


def test_the_study_shape_and_the_raw_judge_gap(out: str) -> None:
    kappa = dict(re.findall(r"\| (human-human|judge-human \(gpt-4o\)) \| ([\d.]+) \|", out))
    assert abs(float(kappa["human-human"]) - 0.43) < 0.05
    assert abs(float(kappa["judge-human (gpt-4o)"]) - 0.30) < 0.05
    said = dict(re.findall(r"(people|gpt-4o|claude|llama) (\d+)%", out.split("says relevant:")[1]))
    assert all(2 <= int(said[j]) / int(said["people"]) <= 3 for j in ("gpt-4o", "claude", "llama"))
    for stage in ("selection", "generation"):  # the raw judge's share lies outside the interval
        row = next(
            line for line in out.splitlines() if line.startswith(f"| {stage} |") and "[" in line
        )
        raw = float(row.split("|")[3].strip().rstrip("%"))
        low, high = (float(x) for x in INTERVAL.search(row).groups())  # type: ignore[union-attr]
        assert not low <= raw <= high
