"""Scale: estimates and calibration on 10^5..10^8 judged items, in memory and on a LocalCluster.

Every in-memory operation runs in a fresh subprocess, which reports its wall time
(the operation alone, after the data exist) and its peak resident memory above
the interpreter's baseline (``VmHWM - VmRSS`` before the operation):

* ``estimate_rate``: PPI++ with a 5-fold cross-fitted isotonic calibrator, two
  strata, 2,000 labelled items, on prepared arrays (what ``estimate_rate`` runs
  once the records are loaded);
* ``apply_calibrator``: ``IsotonicCalibrator.predict_agreement`` on continuous scores;
* ``pandas.read_csv`` / ``judgecal.read_csv``: a 10^6-row CSV (item_id, stage,
  score, three Likert ratings), loaded (and validated, for judgecal).

``--before PATH`` runs the estimate and calibration steps against another copy
of the package (e.g. ``git archive 2fb05df judgecal | tar -x -C PATH``) and
records them under ``before``.

Dask: a ``LocalCluster`` with 2 worker processes of one thread each. The rows
are generated inside the partitions (:func:`judgecal.scale.partitions.synthetic_partition`,
10^6 rows each), so nothing but seeds travels; ``dask_estimate_rate`` collects
the labelled rows, cross-fits on them, and sums the other rows per partition;
``dask_apply_calibrator`` maps the calibrator's JSON over the partitions and
averages the probabilities. Memory: the largest worker's ``ru_maxrss`` in a
fresh cluster after the imports (``worker_baseline_mb``) and after one run
(``peak_worker_mb``), and the peak of both workers' resident memory above its
value at the start, sampled every 0.1 s (``cluster_peak_above_start_mb``).
Throughput per core is rows / (seconds x cores).

Targets (issue 13, 2 cores): estimate_rate on 10^7 rows <= 10 s; applying a
calibrator to 10^7 rows <= 1 s; Dask throughput per core within 2x of the
in-memory path. The CSV targets are bench_load.py's (records).

Run: ``.venv/bin/python benchmarks/bench_scale.py [--before PATH] [--dask-rows 1e6,1e7,1e8]``
(writes benchmarks/results/scale.json and docs/scale.png).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "scale.json"
PLOT = ROOT / "docs" / "scale.png"
LABELS = 2000

_CHILD = r"""
import json, sys, time
op, rows, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
import numpy as np
import pandas as pd
import judgecal
from judgecal import IsotonicCalibrator, Scale, read_csv
from judgecal.estimate._prepared import data_from_arrays
from judgecal.estimate.rates import rate_from_data


def status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1]) / 1024


rng = np.random.default_rng(0)
if op == "estimate_rate":
    truth = rng.random(rows) < 0.3
    score = np.clip(np.rint(1 + 2.5 * truth + rng.normal(1.0, 1.0, rows)), 1, 5)
    labelled = np.zeros(rows, dtype=bool)
    labelled[rng.choice(rows, LABELS, replace=False)] = True
    stage = np.array(["stage0", "stage1"])[rng.integers(0, 2, rows)]
    data = data_from_arrays(score, 1.0, 5.0, truth.astype(float), labelled, stage)
    del truth, score, labelled, stage
    run = lambda: rate_from_data(data, strata=True)
elif op == "apply_calibrator":
    calibrator = IsotonicCalibrator().fit(rng.uniform(1, 5, 500), rng.random(500) < 0.4)
    scores = rng.uniform(0, 6, rows)
    run = lambda: calibrator.predict_agreement(scores)
elif op == "pandas.read_csv":
    run = lambda: pd.read_csv(path)
else:
    run = lambda: read_csv(path, scale=Scale.likert(5), stage_col="stage",
                           label_kind="ordinal", levels=5, label_cols=["r1", "r2", "r3"])
base = status("VmRSS")
start = time.perf_counter()
out = run()
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_mb": status("VmHWM") - base}))
""".replace("LABELS", str(LABELS))


def _child(op: str, rows: int, path: str = "", package: str | None = None) -> dict[str, Any]:
    env = dict(os.environ)
    if package is not None:
        env["PYTHONPATH"] = package
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, op, str(rows), path],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tempfile.gettempdir(),
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return {"operation": op, "rows": rows, **{k: round(v, 3) for k, v in result.items()}}


def _write_csv(path: Path, rows: int) -> float:
    """A CSV of ``rows`` items; returns the columns' own size in MB."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "item_id": [f"item{i}" for i in range(rows)],
            "stage": np.array(["extraction", "selection", "generation"])[rng.integers(0, 3, rows)],
            "score": rng.integers(1, 6, rows),
            **{f"r{k}": rng.integers(1, 6, rows) for k in (1, 2, 3)},
        }
    )
    frame.to_csv(path, index=False)
    strings = sum(frame[c].str.len().sum() + 4 * rows for c in ("item_id", "stage"))
    return round(float(strings + 8 * 4 * rows) / 2**20, 1)


def in_memory(
    rows_list: list[int], packages: dict[str, str | None], repeats: int
) -> dict[str, list[dict[str, Any]]]:
    """Each operation ``repeats`` times per package, interleaved; the fastest run is kept.

    The machine is shared, so single runs vary by 2-3x; the minimum is the
    least disturbed one, and interleaving exposes before and after to the same load.
    """
    tables: dict[str, list[dict[str, Any]]] = {label: [] for label in packages}
    for rows in rows_list:
        for op in ("estimate_rate", "apply_calibrator"):
            runs: dict[str, list[dict[str, Any]]] = {label: [] for label in packages}
            for _ in range(repeats):
                for label, package in packages.items():
                    runs[label].append(_child(op, rows, package=package))
            for label, results in runs.items():
                best = min(results, key=lambda r: r["seconds"])
                tables[label].append({**best, "runs": [r["seconds"] for r in results]})
                print(label, tables[label][-1], flush=True)
    return tables


def csv_table(rows: int, repeats: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "judged.csv"
        columns_mb = _write_csv(path, rows)
        table = []
        for op in ("pandas.read_csv", "judgecal.read_csv"):
            runs = [_child(op, rows, str(path)) for _ in range(repeats)]
            best = min(runs, key=lambda r: r["seconds"])
            table.append({**best, "columns_mb": columns_mb, "runs": [r["seconds"] for r in runs]})
    for row in table:
        print(row, flush=True)
    return table


def _worker_peak_mb(client: Any) -> float:
    peaks = client.run(resource.getrusage, resource.RUSAGE_SELF)
    return round(max(usage.ru_maxrss for usage in peaks.values()) / 1024, 1)


def _dask_step(op: str, frame: Any, calibrator: Any, scale: Any) -> Any:
    if op == "dask_estimate_rate":
        return scale.estimate_rate(frame, scale=(1, 5))
    if op == "dask_apply_calibrator":
        return float(scale.apply_calibrator(frame, calibrator)["p_agree"].mean().compute())
    return int(frame["score"].count().compute())


def dask_table(rows_list: list[int], per_partition: int) -> list[dict[str, Any]]:
    import dask.dataframe as dd
    import distributed
    import numpy as np
    import pandas as pd
    from distributed.diagnostics import MemorySampler

    from judgecal import IsotonicCalibrator, scale
    from judgecal.scale.partitions import synthetic_partition

    calibrator = IsotonicCalibrator().fit(np.arange(1, 6).repeat(20), np.tile([0, 1], 50))
    meta = synthetic_partition(0, 0, seed=0, labelled_share=0.0)
    table = []
    for rows in rows_list:
        n_parts = max(1, rows // per_partition)
        for op in ("dask_estimate_rate", "dask_apply_calibrator", "dask_generate_only"):
            with (
                distributed.LocalCluster(  # a fresh cluster: the peak of this step alone
                    n_workers=2,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    memory_limit="8GiB",
                ) as cluster,
                distributed.Client(cluster) as client,
            ):
                frame = dd.from_map(
                    synthetic_partition,
                    range(n_parts),
                    rows=rows // n_parts,
                    seed=13,
                    labelled_share=LABELS / rows,
                    meta=meta,
                )
                client.run(importlib.import_module, "judgecal.scale.frames")  # warm imports
                baseline = _worker_peak_mb(client)
                sampler = MemorySampler()
                with sampler.sample(op, interval=0.1):
                    start = time.perf_counter()
                    result = _dask_step(op, frame, calibrator, scale)
                    seconds = time.perf_counter() - start
                sampled = sampler.to_pandas()[op]
                sampled_peak = round(float(sampled.max() - sampled.iloc[0]) / 2**20, 1)
                row = {
                    "operation": op,
                    "rows": rows,
                    "partitions": n_parts,
                    "seconds": round(seconds, 3),
                    "peak_worker_mb": _worker_peak_mb(client),
                    "worker_baseline_mb": baseline,
                    "cluster_peak_above_start_mb": sampled_peak,
                    "rows_per_s_per_core": round(rows / seconds / 2),
                }
                if op == "dask_estimate_rate":
                    row.update(
                        estimate=round(result.estimate, 5),
                        low=round(result.low, 5),
                        high=round(result.high, 5),
                        n_labelled=result.n_labelled,
                    )
                table.append(row)
                print(row, flush=True)
    del pd
    return table


def plot(results: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_time, ax_mem) = plt.subplots(1, 2, figsize=(10, 4))
    series = {
        "estimate_rate (in memory, 1 core)": ("after", "estimate_rate", "peak_mb"),
        "apply_calibrator (in memory, 1 core)": ("after", "apply_calibrator", "peak_mb"),
        "estimate_rate (Dask, 2 workers)": (
            "dask",
            "dask_estimate_rate",
            "peak_worker_mb",
        ),
        "apply_calibrator (Dask, 2 workers)": (
            "dask",
            "dask_apply_calibrator",
            "peak_worker_mb",
        ),
    }
    for label, (group, op, memory) in series.items():
        rows = [r for r in results.get(group, []) if r["operation"] == op]
        if not rows:
            continue
        xs = [r["rows"] for r in rows]
        ax_time.plot(xs, [r["seconds"] for r in rows], "o-", label=label)
        if memory == "peak_worker_mb":
            used = [max(r["peak_worker_mb"] - r["worker_baseline_mb"], 1.0) for r in rows]
        else:
            used = [r[memory] for r in rows]
        ax_mem.plot(xs, used, "o-", label=label)
    for ax, ylabel in (
        (ax_time, "seconds"),
        (ax_mem, "peak MB above imports (Dask: largest worker)"),
    ):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("rows (judged items)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    ax_time.legend(fontsize=7)
    fig.suptitle("judgecal at scale: time and memory against rows (2 cores)")
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)


def markdown_table(results: dict[str, Any]) -> str:
    """The results as one markdown table: rows x operation x time x memory (before and after)."""
    lines = [
        "| rows | operation | before: s | before: peak MB | after: s | after: peak MB |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    before = {(r["rows"], r["operation"]): r for r in results.get("before", [])}
    for row in results.get("after", []) + results.get("csv", []):
        old = before.get((row["rows"], row["operation"]))
        old_cells = f"{old['seconds']:.3f} | {old['peak_mb']:.0f}" if old else "- | -"
        lines.append(
            f"| {row['rows']:.0e} | {row['operation']} (in memory, 1 core) | {old_cells} "
            f"| {row['seconds']:.3f} | {row['peak_mb']:.0f} |"
        )
    for row in results.get("dask", []):
        lines.append(
            f"| {row['rows']:.0e} | {row['operation']} ({row['partitions']} partitions, "
            f"2 workers) | - | - | {row['seconds']:.2f} | "
            f"{row['peak_worker_mb']:.0f} per worker ({row['worker_baseline_mb']:.0f} "
            "after imports) |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="path holding an older judgecal package")
    parser.add_argument("--rows", default="1e5,1e6,1e7")
    parser.add_argument("--dask-rows", default="1e6,1e7,1e8")
    parser.add_argument("--csv-rows", default="1e6")
    parser.add_argument("--per-partition", default="1e6")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(float(x)) for x in args.rows.split(",") if x]
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if sizes:  # an empty --rows keeps the recorded in-memory and CSV tables
        packages = {"after": None} if not args.before else {"before": args.before, "after": None}
        results.update(in_memory(sizes, packages, args.repeats))
        results["csv"] = csv_table(int(float(args.csv_rows)), args.repeats)
    dask_sizes = [int(float(x)) for x in args.dask_rows.split(",") if x]
    if dask_sizes:
        results["dask"] = dask_table(dask_sizes, int(float(args.per_partition)))
    results["machine"] = {"cores": os.cpu_count(), "python": sys.version.split()[0]}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    plot(results)
    print(markdown_table(results))


if __name__ == "__main__":
    main()
