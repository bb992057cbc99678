"""Runner and cache overhead: what the wrapper costs per call, next to calling the judge bare.

Run: ``.venv/bin/python benchmarks/bench_runner.py`` (writes ``benchmarks/results/runner.json``).

Rows
----
- bare sync call / bare sync call + parse: the floor (a loop calling the judge, then also parsing).
- JudgeRunner, concurrency 1 (inline) and 8 (thread pool): per-call time of ``run`` over N items.
- bare await / AsyncJudgeRunner, concurrency 1 and 64.
- 1 ms async judge, 2000 items, concurrency 64: wall time against the ideal 2000 * 1 ms / 64.
- cache: one ``get`` of a stored key, one ``put`` (a committed transaction), and a run over
  10^4 items fully answered from the cache (items per second), against the same run's first,
  uncached pass.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from judgecal import Scale
from judgecal.judging.cache import JudgeCache, item_key
from judgecal.judging.judge import parse_score
from judgecal.judging.runner import AsyncJudgeRunner, JudgeRunner

N = 20_000
SCALE = Scale.likert(5)


def judge(x: int) -> str:
    return "Score: 3"


async def ajudge(x: int) -> str:
    return "Score: 3"


def best_of(fn, repeat: int = 3) -> float:
    return min(_timed(fn) for _ in range(repeat))


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    rows: list[dict[str, object]] = []
    items = list(range(N))

    def add(name: str, seconds: float, n: int, floor: float | None = None) -> None:
        per = seconds / n * 1e6
        row = {"case": name, "n": n, "us_per_call": round(per, 2)}
        if floor is not None:
            row["overhead_us"] = round(per - floor, 2)
            row["ratio_vs_bare"] = round(per / floor, 1)
        rows.append(row)

    bare = best_of(lambda: [judge(x) for x in items])
    bare_us = bare / N * 1e6
    add("bare sync call", bare, N)
    bare_parse = best_of(lambda: [parse_score(judge(x), SCALE) for x in items])
    bp_us = bare_parse / N * 1e6
    add("bare sync call + parse_score", bare_parse, N)
    add(
        "JudgeRunner c=1 (inline)",
        best_of(lambda: JudgeRunner(judge, scale=SCALE, concurrency=1).run(items)),
        N,
        bp_us,
    )
    add(
        "JudgeRunner c=8 (threads)",
        best_of(lambda: JudgeRunner(judge, scale=SCALE, concurrency=8).run(items)),
        N,
        bp_us,
    )

    async def bare_async() -> None:
        for x in items:
            parse_score(await ajudge(x), SCALE)

    ab = best_of(lambda: asyncio.run(bare_async()))
    ab_us = ab / N * 1e6
    add("bare await + parse_score", ab, N)
    add(
        "AsyncJudgeRunner c=1",
        best_of(
            lambda: asyncio.run(AsyncJudgeRunner(ajudge, scale=SCALE, concurrency=1).run(items))
        ),
        N,
        ab_us,
    )
    add(
        "AsyncJudgeRunner c=64",
        best_of(
            lambda: asyncio.run(AsyncJudgeRunner(ajudge, scale=SCALE, concurrency=64).run(items))
        ),
        N,
        ab_us,
    )

    async def slow(x: int) -> str:
        await asyncio.sleep(0.001)
        return "Score: 3"

    m = 2000
    wall = best_of(
        lambda: asyncio.run(AsyncJudgeRunner(slow, scale=SCALE, concurrency=64).run(range(m))), 2
    )
    ideal = m * 0.001 / 64
    rows.append(
        {
            "case": "1 ms async judge, c=64",
            "n": m,
            "wall_s": round(wall, 3),
            "ideal_s": round(ideal, 3),
            "ratio_vs_ideal": round(wall / ideal, 2),
        }
    )

    with tempfile.TemporaryDirectory() as tmp:
        cache = JudgeCache(Path(tmp) / "bench.sqlite")
        fp = cache.register("bench")
        keys = [item_key(fp, i) for i in range(2000)]
        t0 = time.perf_counter()
        for k in keys:
            cache.put(k, fp, "Score: 3", status="ok")
        put_us = (time.perf_counter() - t0) / len(keys) * 1e6
        lat = []
        for k in keys[:1000]:
            t1 = time.perf_counter()
            cache.get(k)
            lat.append(time.perf_counter() - t1)
        rows.append(
            {"case": "cache put (one commit)", "n": len(keys), "us_per_call": round(put_us, 1)}
        )
        rows.append(
            {
                "case": "cache get (hit)",
                "n": 1000,
                "us_per_call": round(statistics.median(lat) * 1e6, 1),
            }
        )

        big = 10_000
        path = Path(tmp) / "run.sqlite"
        cold = _timed(
            lambda: JudgeRunner(judge, scale=SCALE, cache=path, name="bench-run").run(range(big))
        )
        warm_reports = []

        def warm() -> None:
            warm_reports.append(
                JudgeRunner(judge, scale=SCALE, cache=path, name="bench-run").run(range(big))
            )

        hot = best_of(warm)
        assert warm_reports[-1].calls == 0 and warm_reports[-1].cached == big
        rows.append(
            {
                "case": "10^4 items, first run (judge + cache writes)",
                "n": big,
                "wall_s": round(cold, 3),
                "items_per_s": round(big / cold),
            }
        )
        rows.append(
            {
                "case": "10^4 items, all cached",
                "n": big,
                "wall_s": round(hot, 3),
                "items_per_s": round(big / hot),
                "us_per_item": round(hot / big * 1e6, 1),
            }
        )
        cache.close()

    print(f"{'case':<46} {'n':>6}  numbers")
    for r in rows:
        rest = ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("case", "n"))
        print(f"{r['case']:<46} {r['n']:>6}  {rest}")
    out = Path(__file__).parent / "results" / "runner.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "bare_sync_us": round(bare_us, 3)}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
