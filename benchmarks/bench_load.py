"""Loading records at scale: judgecal.read_csv against pandas.read_csv on the same file.

The file has one row per item: ``item_id``, ``stage`` (3 stages), ``score``
(a judge score on 1-5) and three wide Likert ratings ``r1, r2, r3``. For each
row count the script writes the file once, then runs every operation in a fresh
subprocess and reports its wall time (for the two loaders: the best of three
loads in that process, and the first load) and its peak resident memory above
the interpreter's baseline after imports (for the loaders: during the first load):

* ``pandas.read_csv``: the reference (pandas' default C parser);
* ``judgecal.read_csv``: load plus validate into a :class:`~judgecal.JudgmentSet`;
* ``targets``: ``JudgmentSet.targets(how="soft", threshold=4)`` on the loaded set;
* ``arrays``: ``scores()`` and ``stages()`` of the loaded set (what every calibrator reads).

The columns' own size is the size of the file's columns as Arrow arrays
(UTF-8 data plus offsets for strings, 8 bytes per number).

Targets (issue 13): load plus validate 10^6 rows in at most 1.5x pandas' time,
with a peak at most 3x the columns' own size.

Run: ``.venv/bin/python benchmarks/bench_load.py [--label before|after] [--rows 200000,1000000]``
(merges its table into benchmarks/results/load.json under the label).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).parent / "results" / "load.json"
OPERATIONS = ("pandas.read_csv", "judgecal.read_csv", "targets", "arrays")

_CHILD = r"""
import json, resource, sys, time
op, path = sys.argv[1], sys.argv[2]
REPEATS = 3
import numpy as np
import pandas as pd
import judgecal
from judgecal import Scale, read_csv
import judgecal.estimate
try:
    import pyarrow, pyarrow.csv, pyarrow.compute  # imports are not timed (nor is pandas)
except ImportError:
    pass


def rss_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024


def peak_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024


def load():
    return read_csv(path, scale=Scale.likert(5), stage_col="stage", label_kind="ordinal",
                    levels=5, label_cols=["r1", "r2", "r3"])


base = rss_mb()
extra = {}
if op in ("pandas.read_csv", "judgecal.read_csv"):
    read = (lambda: pd.read_csv(path)) if op == "pandas.read_csv" else load
    times = []
    for attempt in range(REPEATS):
        t0 = time.perf_counter(); out = read(); times.append(time.perf_counter() - t0)
        if attempt == 0:
            extra["peak_mb_first"] = peak_mb() - base
        extra["n"] = len(out)
        del out
    t = min(times)
    extra["seconds_first"] = times[0]
elif op == "targets":
    js = load(); base = peak_mb()
    t0 = time.perf_counter(); y, w = js.targets(how="soft", threshold=4)
    t = time.perf_counter() - t0
else:
    js = load(); base = peak_mb()
    t0 = time.perf_counter(); x, st = js.scores(), js.stages(); t = time.perf_counter() - t0
print(json.dumps({"seconds": t, "peak_mb": extra.pop("peak_mb_first", peak_mb() - base), **extra}))
"""


def write_file(path: Path, n_rows: int, seed: int = 0) -> float:
    """Write the benchmark CSV; return the columns' own size in MB (as Arrow arrays)."""
    rng = np.random.default_rng(seed)
    stage_names = np.array(["extraction", "selection", "generation"])
    stage = stage_names[rng.integers(0, 3, n_rows)]
    quality = rng.uniform(1, 5, n_rows)
    score = np.round(np.clip(quality + rng.normal(0, 0.8, n_rows), 1, 5), 2)
    ratings = np.clip(np.rint(quality[:, None] + rng.normal(0, 1, (n_rows, 3))), 1, 5)
    ids = np.char.add("item", np.arange(n_rows).astype(str))
    with path.open("w", encoding="utf-8") as fh:
        fh.write("item_id,stage,score,r1,r2,r3\n")
        lines = (
            f"{i},{s},{x},{int(a)},{int(b)},{int(c)}\n"
            for i, s, x, (a, b, c) in zip(ids, stage, score, ratings, strict=True)
        )
        fh.writelines(lines)
    strings = sum(len(v) for v in ids.tolist()) + sum(len(v) for v in stage.tolist())
    return (strings + 2 * 4 * (n_rows + 1) + 4 * 8 * n_rows) / 1e6


def run(op: str, path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, op, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="after")
    parser.add_argument("--rows", default="200000,1000000")
    parser.add_argument("--ops", default=",".join(OPERATIONS))
    args = parser.parse_args()
    table: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n_rows in (int(r) for r in args.rows.split(",")):
            path = Path(tmp) / f"rows_{n_rows}.csv"
            columns_mb = write_file(path, n_rows)
            for op in args.ops.split(","):
                started = time.perf_counter()
                result = run(op, path)
                row = {"rows": n_rows, "operation": op, "columns_mb": round(columns_mb, 1)}
                row |= {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}
                row["wall_incl_startup_s"] = round(time.perf_counter() - started, 2)
                print(json.dumps(row), flush=True)
                table.append(row)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    previous[args.label] = table
    previous.setdefault("notes", {})
    if isinstance(previous["notes"], dict):
        previous["notes"]["machine"] = "2 cores, 24 GB; one run per cell, fresh subprocess"
    RESULTS.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
