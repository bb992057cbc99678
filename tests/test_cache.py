"""The SQLite judge-call cache: content addressing, resuming after SIGKILL, concurrent writers, CLI.

Also: foreign databases refused unchanged, type-faithful keys, every failure a PersistenceError.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
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
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from judgecal import InputError, JudgecalWarning, PersistenceError, Scale
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

    cache_path, side_path = sys.argv[1], sys.argv[2]
    n, conc, nap = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    fd = os.open(side_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    def judge(item):
        os.write(fd, f"{item}\\n".encode())
        # slower after a third: time to kill it mid-run
        time.sleep(nap if item < n // 3 else 10 * nap)
        return f"Score: {item % 5 + 1}"

    runner = JudgeRunner(
        judge, scale=Scale.likert(5), cache=cache_path, concurrency=conc,
        name="kill-test", version="1",
    )
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
    # nothing missing, nothing duplicated: one entry per item;
    # real invocations = n + lost in-flight calls
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


# ----------------------------------------------------------------------------------------
# another application's database is refused and never changed
# ----------------------------------------------------------------------------------------
def _foreign_db(path: Path, journal: str = "delete") -> str:
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA journal_mode = {journal}")
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    con.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, user INTEGER)")
    con.executemany("INSERT INTO users (name) VALUES (?)", [("ann",), ("bob",)])
    con.commit()
    con.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_foreign_database_refused_and_unchanged(tmp_path: Path, capsys) -> None:
    path = tmp_path / "app.db"
    digest = _foreign_db(path)
    with pytest.raises(PersistenceError, match=r"app\.db.*not a judgecal cache.*orders.*users"):
        JudgeCache(path)
    assert cli_main(["cache", "stats", str(path)]) == 2
    assert "not a judgecal cache" in capsys.readouterr().err
    assert cli_main(["cache", "prune", str(path), "--all"]) == 2
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert sorted(os.listdir(tmp_path)) == ["app.db"]  # no -wal, -shm or -journal left behind
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    con.close()


def test_foreign_wal_database_gets_no_tables(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    _foreign_db(path, journal="wal")
    with pytest.raises(PersistenceError, match="not a judgecal cache"):
        JudgeCache(path)
    con = sqlite3.connect(path)
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    con.close()
    assert names == {"users", "orders"}


def test_judgecal_tables_plus_foreign_table_refused(tmp_path: Path) -> None:
    path = tmp_path / "mixed.sqlite"
    JudgeCache(path).close()
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE extra (x)")
    con.commit()
    con.close()
    with pytest.raises(PersistenceError, match="extra"):
        JudgeCache(path)


def test_other_application_id_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    con = sqlite3.connect(path)
    con.execute("PRAGMA application_id = 1234")
    con.commit()
    con.close()
    with pytest.raises(PersistenceError, match="application_id"):
        JudgeCache(path)


def test_empty_files_are_fine(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.sqlite"
    con = sqlite3.connect(blank)
    con.execute("PRAGMA user_version = 3")
    con.commit()
    con.close()
    for path in (empty, blank, tmp_path / "sub" / "new.sqlite"):
        with JudgeCache(path) as cache:
            fp = cache.register("j")
            assert cache.put(item_key(fp, "x"), fp, "1", status="ok")
        with JudgeCache(path) as cache:
            assert len(cache) == 1


@pytest.mark.skipif(sys.platform == "win32", reason="FIFO")
def test_fifo_and_directory_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.sqlite"
    os.mkfifo(fifo)
    with pytest.raises(PersistenceError, match="FIFO"):
        JudgeCache(fifo)
    with pytest.raises(PersistenceError, match="directory"):
        JudgeCache(tmp_path)


# ----------------------------------------------------------------------------------------
# keys: type-faithful, no collisions, 0.1.0 keys of plain items unchanged
# ----------------------------------------------------------------------------------------
FP_010 = "83abbea22226be802ea2c0d568ee1cc9f9fd3067c07ce042438e8887a6be74dd"
KEYS_010 = [  # computed with judgecal 0.1.0 (sample 0)
    ("hello", "4e461d2f0be254d767b95e16969b435cd0b2b914a54a222bd0b53465ba4f5a86"),
    ("héllo ✓", "407662e67819274eac95895632f9507334d43477598cdcac74fdb89f83dcd9a3"),
    (3, "49e2c86a2e4f341f2668a766d805b8373c3f62f93efbbcb8fa1402aaaa204200"),
    (2.5, "a415c2ed93f00f0d0b941d983f0a210ea3f6d64ee4b815758a927f83a82f7f8d"),
    (None, "68abeaf1b31702cd7b53cb5c715a75614ddfe1e87436f79e50d035ec2aa3636f"),
    (True, "c6405c8748507f0ec390db6ec02aa7b2ca4427866d7eda46561b69df305637a8"),
    (["a", 1, 2.0], "678a56b8c9a7f77452d51400e23725a2804c620ea59bd840d1d96d0448b40d15"),
    (
        {"q": "hi", "a": ["x", {"n": 1}]},
        "8da93cb00e29f8b1686cdd480fad66f09000b1b348f6586d6bec676501142a09",
    ),
    (np.float64(0.5), "d7e5d88d7ea802efdf40c68aaa15ccbdb7bc2aeec3904fddd4133a900996496d"),
    (np.int64(3), "49e2c86a2e4f341f2668a766d805b8373c3f62f93efbbcb8fa1402aaaa204200"),
    (np.str_("s"), "050e305271638bfbf6eb8a28f99f79c975a30744bf4a03b442b3491effbe0463"),
    (np.array([1.0, 2.0]), "029a7c5793faa7e6ef7f5c71085977c36fbc097b2afb9300e91c15eaecea0337"),
]


def test_keys_of_plain_items_unchanged_since_0_1_0() -> None:
    fp = fingerprint(
        "judge", version="1", prompt_template="Rate {x}", params={"temperature": 0, "model": "m"}
    )
    assert fp == FP_010
    for item, key in KEYS_010:
        assert item_key(fp, item) == key, item
    assert item_key(fp, "hello", 2) == (
        "bfc0807edf51f2c4f786096a35d18f281ca88ca9ea31c81390c2d8a413407eb5"
    )


@dataclasses.dataclass
class _Question:
    text: str


@dataclasses.dataclass
class _Answer:
    text: str


COLLIDING = [
    ({1: "a"}, {"1": "a"}),
    ({True: "a"}, {"true": "a"}),
    ({None: "a"}, {"null": "a"}),
    ({1.5: "a"}, {"1.5": "a"}),
    ((1, 2), [1, 2]),
    ({1, 2}, [1, 2]),
    (frozenset({"a"}), ["a"]),
    (b"ab", "ab"),
    (_Question("x"), _Answer("x")),
    (_Question("x"), {"text": "x"}),
    ({"\x00judgecal:tuple": [1, 2]}, (1, 2)),
    ({"\x00judgecal:dict": [[1, "a"]]}, {1: "a"}),
    ("\ud800", "\ufffd"),
    ({(1, 2): "a"}, {"[1, 2]": "a"}),
    (1, True),
    (0, 0.0),
    (0.0, -0.0),
]


@pytest.mark.parametrize("pair", COLLIDING, ids=repr)
def test_distinct_items_get_distinct_keys(pair: tuple[Any, Any]) -> None:
    fp = fingerprint("j")
    first, second = pair
    assert item_key(fp, first) != item_key(fp, second)
    assert item_key(fp, first) == item_key(fp, copy.deepcopy(first))  # stable


def test_dict_keys_of_mixed_types_are_order_free() -> None:
    fp = fingerprint("j")
    assert item_key(fp, {1: "a", "b": 2, (3,): None}) == item_key(fp, {(3,): None, "b": 2, 1: "a"})


def test_unkeyable_items_name_the_item_and_key(tmp_path: Path) -> None:
    fp = fingerprint("j")
    with pytest.raises(InputError, match=r"key=.*object at item\[1\]\['x'\]"):
        item_key(fp, ["ok", {"x": object()}])
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(InputError, match="circular"):
        item_key(fp, loop)
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(InputError, match="nested"):
        item_key(fp, deep)


# ----------------------------------------------------------------------------------------
# numpy answers are cached; any write failure is a PersistenceError with its cause
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "answer", [np.float64(4.0), np.int64(4), np.str_("Score: 4"), np.float32(4.0)], ids=repr
)
def test_numpy_answers_are_cached(tmp_path: Path, answer: Any) -> None:
    calls: list[int] = []

    def judge(x: int) -> Any:
        calls.append(x)
        return answer

    def run() -> Any:
        return JudgeRunner(judge, scale=Scale.likert(5), cache=tmp_path / "c.sqlite", name="n").run(
            [1, 2]
        )

    with JudgeCache(tmp_path / "direct.sqlite") as cache:  # the cache itself takes numpy values
        fp = cache.register("direct")
        assert cache.put(item_key(fp, 1), fp, answer, status="ok")
        assert cache.put(item_key(fp, 2), fp, np.array([answer, answer]), status="ok")
        assert cache.get(item_key(fp, 1)).output == answer.item()
        assert cache.get(item_key(fp, 2)).output == [answer.item()] * 2
    first = run()
    assert first.status_counts() == {"ok": 2}
    again = run()
    assert len(calls) == 2 and again.cached == 2
    assert [r.score for r in again.results] == [4.0, 4.0]


def test_lone_surrogates_are_stored_and_read_back(tmp_path: Path) -> None:
    with JudgeCache(tmp_path / "c.sqlite") as cache:
        fp = cache.register("sur\ud800", version="\udfff")
        key = item_key(fp, "item \ud800")
        assert cache.put(key, fp, {"answer": "bad \ud800 text", "n": 1}, status="ok")
        assert cache.get(key).output == {"answer": "bad \ud800 text", "n": 1}
        assert cache.stats()["judges"][0]["entries"] == 1


def test_locked_database_is_a_persistence_error(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    cache = JudgeCache(path, timeout=0.1)
    fp = cache.register("j")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(PersistenceError, match=r"c\.sqlite.*locked") as info:
            cache.put(item_key(fp, 1), fp, "4", status="ok")
        assert isinstance(info.value.__cause__, sqlite3.OperationalError)
        with pytest.raises(PersistenceError):
            cache.register("k")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert cache.put(item_key(fp, 1), fp, "4", status="ok")  # usable again
    cache.close()


def test_full_disk_is_a_persistence_error(tmp_path: Path) -> None:
    with JudgeCache(tmp_path / "c.sqlite") as cache:
        fp = cache.register("j")
        conn = cache._conn()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 1}")
        with pytest.raises(PersistenceError, match="full") as info:
            for i in range(200):
                cache.put(item_key(fp, i), fp, "x" * 5000, status="ok")
        assert isinstance(info.value.__cause__, sqlite3.Error)


def test_corrupt_rows_are_misses_with_a_warning(tmp_path: Path, capsys) -> None:
    path = tmp_path / "c.sqlite"
    with JudgeCache(path) as cache:
        fp = cache.register("j")
        good, bad_json, bad_blob, bad_usage = (item_key(fp, i) for i in range(4))
        cache.put(good, fp, "4", status="ok", usage={"tokens": 3})
    con = sqlite3.connect(path)
    con.executemany(
        "INSERT INTO calls VALUES (?, ?, 0, ?, ?, ?, ?)",
        [
            (bad_json, fp, "not json {", "ok", None, time.time()),
            (bad_blob, fp, b"\xff\xfe", 7, "{", "yesterday"),
            (bad_usage, fp, '"3"', "ok", "[1, 2]", time.time()),
        ],
    )
    con.commit()
    con.close()
    with JudgeCache(path) as cache:
        with pytest.warns(JudgecalWarning, match="2 stored answer"):
            hits = cache.get_many([good, bad_json, bad_blob, bad_usage])
        assert set(hits) == {good, bad_usage} and hits[bad_usage].usage == {}
        with pytest.warns(JudgecalWarning):
            assert cache.get(bad_json) is None
        st = cache.stats()
        assert st["entries"] == 4 and st["usage"] == {"tokens": 3.0}
    assert cli_main(["cache", "stats", str(path)]) == 0
    assert cli_main(["cache", "stats", str(path), "--json"]) == 0
    assert "4 entries" in capsys.readouterr().out


def test_corrupt_database_file_is_a_persistence_error(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with JudgeCache(path) as cache:
        fp = cache.register("j")
        for i in range(300):
            cache.put(item_key(fp, i), fp, "x" * 200, status="ok")
        cache._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[4096 * 3 : 4096 * 6] = b"\xa5" * (4096 * 3)
    path.write_bytes(bytes(data))
    try:
        cache = JudgeCache(path)
    except PersistenceError:
        return
    with cache:
        for op in (
            lambda: cache.get_many([item_key(fp, i) for i in range(300)]),
            lambda: cache.put(item_key(fp, 1000), fp, "y", status="ok"),
            cache.stats,
            lambda: len(cache),
        ):
            try:
                op()
            except PersistenceError as exc:
                assert exc.__cause__ is not None


def test_cli_stats_on_a_json_list_usage_column(tmp_path: Path, capsys) -> None:
    path = tmp_path / "c.sqlite"
    with JudgeCache(path) as cache:
        fp = cache.register("j")
        cache.put(item_key(fp, 1), fp, "4", status="ok", usage={"tokens": 2})
    con = sqlite3.connect(path)
    con.execute("UPDATE calls SET usage = '[1, 2]'")
    con.commit()
    con.close()
    assert cli_main(["cache", "stats", str(path)]) == 0
    assert "1 entries" in capsys.readouterr().out
