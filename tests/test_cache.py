"""The SQLite judge-call cache: content addressing, resumability after SIGKILL, concurrent writers, CLI."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from judgecal import InputError, PersistenceError, Scale
from judgecal import parsers as jp
from judgecal.cli.app import main as cli_main
from judgecal.cli.cache import parse_duration
from judgecal.judging.cache import JudgeCache, fingerprint, item_key
from judgecal.judging.runner import JudgeRunner

ROOT = Path(__file__).resolve().parents[1]

# A worker process: judges N items through a cache; every real judge invocation appends one line
# "<item>" to a side file (O_APPEND, one write per line, so lines never interleave).
WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    from judgecal import Scale
    from judgecal.judging.runner import JudgeRunner

    cache_path, side_path, n, conc, nap = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    fd = os.open(side_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    def judge(item):
        os.write(fd, f"{item}\\n".encode())
        time.sleep(nap if item < n // 3 else 10 * nap)  # slower after a third: time to kill it mid-run
        return f"Score: {item % 5 + 1}"

    runner = JudgeRunner(judge, scale=Scale.likert(5), cache=cache_path, concurrency=conc, name="kill-test", version="1")
    report = runner.run(range(n))
    print(json.dumps(report.summary()))
    """
)


def _spawn(
    tmp_path: Path, cache: Path, side: Path, n: int, conc: int, nap: float
) -> subprocess.Popen[str]:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(script), str(cache), str(side), str(n), str(conc), str(nap)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _lines(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def test_killed_run_restarts_without_redoing_or_losing_anything(tmp_path):
    n, conc = 300, 4
    cache_path, side1, side2 = (
        tmp_path / "calls.sqlite",
        tmp_path / "run1.txt",
        tmp_path / "run2.txt",
    )
    proc = _spawn(tmp_path, cache_path, side1, n, conc, 0.004)
    deadline = time.monotonic() + 60
    while len(_lines(side1)) < 100:  # let it judge about a third, then kill it hard
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    run1 = _lines(side1)
    assert len(run1) == len(set(run1))  # nothing judged twice within the run

    cache = JudgeCache(cache_path)
    fp = fingerprint("kill-test", version="1")
    keys = {i: item_key(fp, i) for i in range(n)}
    hits = cache.get_many(keys.values())
    done = {i for i, k in keys.items() if k in hits}
    assert 50 < len(done) < n
    assert done <= set(run1)
    in_flight = set(run1) - done  # started but not committed when the signal hit
    assert len(in_flight) <= conc

    proc2 = _spawn(tmp_path, cache_path, side2, n, conc, 0.0)
    out, err = proc2.communicate(timeout=120)
    assert proc2.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    run2 = _lines(side2)
    # the restart judged exactly the items that had not finished, each once; none finished is redone
    assert sorted(run2) == sorted(set(range(n)) - done)
    assert not set(run2) & done
    assert (
        summary["ok"] == n and summary["calls"] == n - len(done) and summary["cached"] == len(done)
    )
    # nothing missing, nothing duplicated: one entry per item; real invocations = n + lost in-flight calls
    assert len(cache) == n and set(cache.get_many(keys.values())) == set(keys.values())
    assert len(run1) + len(run2) == n + len(in_flight)
    cache.close()


def test_concurrent_writers_processes_and_threads(tmp_path):
    n = 150
    cache_path = tmp_path / "shared.sqlite"
    procs = [_spawn(tmp_path, cache_path, tmp_path / f"side{k}.txt", n, 4, 0.001) for k in range(3)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1])["ok"] == n
    with JudgeCache(cache_path) as cache:
        assert len(cache) == n
        # many threads writing distinct and overlapping keys through one JudgeCache object
        fp = cache.register("threads")

        def write(t):
            for i in range(60):
                cache.put(
                    item_key(fp, i % 40 + (t + 1) * 1000 * (i >= 40)), fp, f"{i}", status="ok"
                )

        ts = [threading.Thread(target=write, args=(t,)) for t in range(6)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert len(cache) == n + 40 + 6 * 20


def test_fingerprint_separates_judges_and_parsing_is_redone(tmp_path):
    calls = []

    def judge(x):
        calls.append(x)
        return f"<{x}>"

    path = tmp_path / "c.sqlite"
    base = dict(
        cache=path, name="j", version="1", prompt_template="Rate {x}", params={"temperature": 0}
    )
    r1 = JudgeRunner(judge, scale=Scale.likert(5), **base).run([1, 2, 3])
    assert r1.calls == 3 and r1.status_counts() == {
        "unparseable": 3
    }  # "<1>" is not a likert answer
    # a better parser reads the cached answers: no new calls
    better = jp.regex(r"<(\d)>", Scale.likert(5))
    r2 = JudgeRunner(judge, parser=better, **base).run([1, 2, 3])
    assert r2.calls == 0 and r2.cached == 3 and [r.score for r in r2.results] == [1.0, 2.0, 3.0]
    for change in (
        {"version": "2"},
        {"prompt_template": "Score {x}"},
        {"params": {"temperature": 0.7}},
        {"name": "k"},
    ):
        r = JudgeRunner(judge, parser=better, **{**base, **change}).run([1])
        assert r.calls == 1, change
    assert len(calls) == 3 + 4


def test_errors_and_timeouts_are_not_cached_and_unjsonable_outputs_skipped(tmp_path):
    path = tmp_path / "c.sqlite"
    state = {"fail": True}

    def judge(x):
        if state["fail"] and x == 1:
            raise ConnectionError("down")
        return object() if x == 2 else "4"

    r1 = JudgeRunner(judge, scale=Scale.likert(5), cache=path, name="e").run([0, 1, 2])
    assert [r.status for r in r1.results] == ["ok", "error", "unparseable"]
    state["fail"] = False
    r2 = JudgeRunner(judge, scale=Scale.likert(5), cache=path, name="e").run([0, 1, 2])
    assert r2.cached == 1 and r2.calls == 2 and r2.results[1].ok


def test_identical_items_judged_once_and_repeats_keyed_by_sample(tmp_path):
    calls = []
    runner = JudgeRunner(
        lambda x: calls.append(x) or "3",
        scale=Scale.likert(5),
        cache=tmp_path / "c.sqlite",
        name="d",
    )
    rep = runner.run(["a", "b", "a", "a"])
    assert sorted(calls) == ["a", "b"] and rep.status_counts() == {"ok": 4}
    rep3 = runner.run(["a"], repeats=3)  # sample 0 is cached, samples 1 and 2 are new
    assert rep3.cached == 1 and rep3.calls == 2


def test_key_function_for_unjsonable_items(tmp_path):
    class Item:
        def __init__(self, uid):
            self.uid = uid

    r = JudgeRunner(lambda it: "2", scale=Scale.likert(5), cache=tmp_path / "c.sqlite", name="k")
    with pytest.raises(InputError, match="key="):
        r.run([Item(1)])
    r2 = JudgeRunner(
        lambda it: "2",
        scale=Scale.likert(5),
        cache=tmp_path / "c.sqlite",
        name="k",
        key=lambda it: it.uid,
    )
    assert r2.run([Item(1), Item(2)]).calls == 2 and r2.run([Item(1)]).calls == 0


def test_retry_refresh_replaces_cached_unparseable(tmp_path):
    answers = iter(["junk", "Score: 4"])
    runner = JudgeRunner(
        lambda x: next(answers), scale=Scale.likert(5), cache=tmp_path / "c.sqlite", name="r"
    )
    first = runner.run(["x"])
    assert first.status_counts() == {"unparseable": 1}
    again = runner.retry(first)
    assert again.results[0].score == 4.0
    assert runner.run(["x"]).results[0].score == 4.0  # the new answer replaced the old one


def test_stats_and_prune(tmp_path):
    cache = JudgeCache(tmp_path / "c.sqlite")
    fa, fb = cache.register("a", version="1"), cache.register("b")
    for i in range(5):
        cache.put(
            item_key(fa, i),
            fa,
            f"{i}",
            status="ok" if i < 3 else "unparseable",
            usage={"tokens": 10},
        )
        cache.put(item_key(fb, i), fb, f"{i}", status="ok")
    st = cache.stats()
    assert (
        st["entries"] == 10
        and st["by_status"] == {"ok": 8, "unparseable": 2}
        and st["usage"] == {"tokens": 50.0}
    )
    assert {j["name"]: j["entries"] for j in st["judges"]} == {"a": 5, "b": 5}
    assert st["size_bytes"] > 0
    assert cache.prune(status="unparseable", dry_run=True) == 2 and len(cache) == 10
    assert cache.prune(judge="a", status="unparseable") == 2
    assert cache.prune(fingerprint=fb[:8]) == 5
    assert cache.prune(older_than=3600) == 0
    time.sleep(0.02)
    assert cache.prune(older_than=0.01, vacuum=True) == 3 and len(cache) == 0
    with pytest.raises(InputError, match="criteria"):
        cache.prune()
    with pytest.raises(InputError, match="fingerprint"):
        cache.prune(fingerprint="ab")
    assert cache.prune(everything=True) == 0
    cache.close()


def test_bad_files(tmp_path):
    with pytest.raises(InputError, match="path"):
        JudgeCache(":memory:")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(PersistenceError):
        JudgeCache(junk)
    newer = tmp_path / "new.sqlite"
    JudgeCache(newer).close()
    con = sqlite3.connect(newer)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    con.commit()
    con.close()
    with pytest.raises(PersistenceError, match="schema 99"):
        JudgeCache(newer)
    with pytest.raises(InputError, match="params"):
        fingerprint("x", params={"f": object()})


def test_cli_stats_and_prune(tmp_path, capsys):
    path = tmp_path / "c.sqlite"
    JudgeRunner(
        lambda x: "3" if x else "junk",
        scale=Scale.likert(5),
        cache=path,
        name="cli-judge",
        version="7",
    ).run([0, 1, 2])
    assert cli_main(["cache", "stats", str(path)]) == 0
    out = capsys.readouterr().out
    assert "3 entries" in out and "cli-judge" in out and "unparseable=1" in out
    assert cli_main(["cache", "stats", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["entries"] == 3
    assert cli_main(["cache", "prune", str(path), "--status", "unparseable", "--dry-run"]) == 0
    assert "would delete 1 entries; 3 left" in capsys.readouterr().out
    assert (
        cli_main(["cache", "prune", str(path), "--judge", "cli-judge", "--status", "unparseable"])
        == 0
    )
    assert "deleted 1 entries; 2 left" in capsys.readouterr().out
    assert cli_main(["cache", "prune", str(path)]) == 2
    assert "at least one of" in capsys.readouterr().err
    assert cli_main(["cache", "prune", str(path), "--older-than", "soon"]) == 2
    assert cli_main(["cache", "stats", str(tmp_path / "missing.sqlite")]) == 2
    assert cli_main(["cache", "prune", str(path), "--all", "--vacuum"]) == 0
    assert parse_duration("2w") == 1209600.0


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**9), 10**9)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=10,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(item=_json, output=_json)
def test_put_get_roundtrip_property(tmp_path, item, output):
    with JudgeCache(tmp_path / "prop.sqlite") as cache:
        fp = cache.register("prop")
        key = item_key(fp, item)
        assert key == item_key(fp, json.loads(json.dumps(item)))  # stable across a JSON round trip
        cache.put(key, fp, output, status="ok", replace=True)
        assert cache.get(key).output == output
