"""A resumable, content-addressed judge-call cache in SQLite (the standard library's).

Every finished judge call is stored under a key that hashes *what was asked*:
the judge's fingerprint (its name, version, prompt template and parameters,
see :func:`fingerprint`), the input item and the sample number (for repeated
sampling). Change the prompt or the model and the keys change; change nothing
and a rerun reads every answer back instead of calling the judge again.

What is stored is the judge's raw output (as JSON, never pickle), the status
it parsed to at the time, and the usage the per-call hook reported (tokens,
cost). Parsing is redone on every read, so a better parser never needs the
judge to be called again. Calls that raised or timed out are *not* stored:
they are what a rerun should retry.

Durability and concurrency
--------------------------
The database runs in WAL mode with ``synchronous=NORMAL``: each call's answer
is committed as soon as it arrives, and a committed answer survives the
process being killed (only a power loss can drop the last few commits).
Writers in several threads or processes are safe: each thread gets its own
connection, SQLite serializes writes, a busy database is waited on (``timeout``
seconds), and ``INSERT OR IGNORE`` makes the first answer for a key win.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from judgecal._exceptions import InputError, InputTypeError, PersistenceError
from judgecal._validation import check_float

__all__ = ["CacheEntry", "JudgeCache", "fingerprint", "item_key"]

_SCHEMA = 1
_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS judges (
    fingerprint TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    spec TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    sample INTEGER NOT NULL,
    output TEXT NOT NULL,
    status TEXT NOT NULL,
    usage TEXT,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_fingerprint ON calls (fingerprint);
CREATE INDEX IF NOT EXISTS calls_created ON calls (created);
"""


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "model_dump"):  # pydantic models
        return obj.model_dump(mode="json")
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, np.generic | np.ndarray):
        return obj.tolist()
    if isinstance(obj, set | frozenset):
        return sorted(obj, key=repr)
    raise TypeError(type(obj).__name__)


def _canonical(obj: Any) -> str:
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_jsonable
    )


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fingerprint(
    name: str,
    *,
    version: str = "",
    prompt_template: str = "",
    params: Mapping[str, Any] | None = None,
) -> str:
    """A stable hash of what defines a judge: name, version, prompt template, parameters.

    Any change (a new model version, an edited prompt, another temperature)
    gives a new fingerprint, so cached answers of the old judge are never
    mistaken for the new one's.

    Examples
    --------
    >>> a = fingerprint("gpt-judge", version="2024-06", params={"temperature": 0})
    >>> b = fingerprint("gpt-judge", version="2024-06", params={"temperature": 0.7})
    >>> len(a), a == b, a == fingerprint("gpt-judge", version="2024-06", params={"temperature": 0})
    (64, False, True)
    """
    if not isinstance(name, str) or not name:
        raise InputError("name", "a non-empty judge name", name, where="fingerprint")
    spec = {
        "name": name,
        "version": str(version),
        "prompt_template": str(prompt_template),
        "params": dict(params or {}),
    }
    try:
        return _sha(_canonical(spec))
    except TypeError as exc:
        raise InputTypeError(
            "params", "JSON-serializable parameter values", params, where="fingerprint"
        ) from exc


def item_key(judge_fingerprint: str, item: Any, sample: int = 0) -> str:
    """The cache key of one call: hash of the judge fingerprint, the input and the sample number.

    Items must be JSON-serializable (str, numbers, lists, tuples, dicts,
    dataclasses, pydantic models, numpy values); pass a ``key`` function to the
    runner for anything else.

    Examples
    --------
    >>> fp = fingerprint("j")
    >>> item_key(fp, {"q": "hi", "a": "hello"}) == item_key(fp, {"a": "hello", "q": "hi"})
    True
    >>> item_key(fp, "x", sample=0) == item_key(fp, "x", sample=1)
    False
    """
    try:
        text = _canonical([judge_fingerprint, item, int(sample)])
    except (TypeError, ValueError) as exc:
        raise InputTypeError(
            "items",
            "JSON-serializable items (or pass key=callable to the runner)",
            type(item).__name__,
            where="item_key",
        ) from exc
    return _sha(text)


@dataclass(frozen=True)
class CacheEntry:
    """One cached judge answer."""

    output: Any
    """The judge's raw output (as it was returned, round-tripped through JSON)."""
    status: str
    """The status it parsed to when it was stored."""
    usage: dict[str, float]
    """What the per-call hook reported (tokens, cost, ...); empty when nothing."""
    created: float
    """Unix time it was stored."""


class JudgeCache:
    """A judge-call cache in one SQLite file; see the module docstring.

    Parameters
    ----------
    path : str or Path
        The database file (created with its folder when missing). ``":memory:"``
        is refused: a cache must outlive the process.
    timeout : float
        Seconds to wait for a busy database (another writer) before failing.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "calls.sqlite")
    >>> cache = JudgeCache(path)
    >>> fp = cache.register("toy-judge", version="1")
    >>> key = item_key(fp, "some answer")
    >>> cache.put(key, fp, "Score: 4", status="ok", usage={"tokens": 12})
    True
    >>> cache.get(key).output, cache.get(key).usage
    ('Score: 4', {'tokens': 12.0})
    >>> cache.stats()["entries"], cache.prune(judge="toy-judge"), len(cache)
    (1, 1, 0)
    >>> cache.close()
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        if not isinstance(path, str | os.PathLike):
            raise InputTypeError(
                "path", "a file path (str or os.PathLike)", path, where="JudgeCache"
            )
        if str(path) == ":memory:" or not str(path):
            raise InputError(
                "path",
                "a file path (a cache must outlive the process)",
                str(path),
                where="JudgeCache",
            )
        self.path = Path(path)
        self.timeout = check_float(
            timeout, "timeout", low=0.0, high=86_400.0, low_open=True, where="JudgeCache"
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []
        self._init_db()

    def __repr__(self) -> str:
        return f"JudgeCache({str(self.path)!r})"

    # -- connections -------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        pid = getattr(self._local, "pid", None)
        if conn is None or pid != os.getpid():
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
            self._local.pid = os.getpid()
            with self._lock:
                self._conns.append(conn)
        return conn

    def _init_db(self) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                conn = self._conn()
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":  # pragma: no cover - e.g. a network file system
                    raise PersistenceError(f"Cannot use WAL mode on {self.path} (got {mode!r}).")
                conn.executescript(_DDL)
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                if row is None:
                    conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(_SCHEMA),))
                elif int(row[0]) != _SCHEMA:
                    raise PersistenceError(
                        f"{self.path} is a judgecal cache of schema {row[0]}; this judgecal reads schema {_SCHEMA}."
                    )
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise PersistenceError(
                        f"{self.path} is not a usable SQLite cache: {exc}"
                    ) from exc
                if time.monotonic() > deadline:  # pragma: no cover
                    raise PersistenceError(
                        f"{self.path} stayed locked for {self.timeout} s"
                    ) from exc
                time.sleep(0.01)
            except sqlite3.DatabaseError as exc:
                raise PersistenceError(f"{self.path} is not a usable SQLite cache: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection this object opened (it reopens on next use)."""
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            try:
                c.close()
            except sqlite3.Error:  # pragma: no cover - closed from another thread
                pass
        self._local = threading.local()

    def __enter__(self) -> JudgeCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- judges --------------------------------------------------------------------
    def register(
        self,
        name: str,
        *,
        version: str = "",
        prompt_template: str = "",
        params: Mapping[str, Any] | None = None,
    ) -> str:
        """Record a judge's description and return its :func:`fingerprint`."""
        fp = fingerprint(name, version=version, prompt_template=prompt_template, params=params)
        spec = _canonical({"prompt_template": prompt_template, "params": dict(params or {})})
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO judges VALUES (?, ?, ?, ?, ?)",
                (fp, name, str(version), spec, time.time()),
            )
        return fp

    # -- calls ----------------------------------------------------------------------
    def get(self, key: str) -> CacheEntry | None:
        """The entry stored under ``key``, or ``None``."""
        return self.get_many([key]).get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, CacheEntry]:
        """Entries for the keys that are stored (missing keys are left out)."""
        ks = list(dict.fromkeys(keys))
        out: dict[str, CacheEntry] = {}
        conn = self._conn()
        for start in range(0, len(ks), 500):
            chunk = ks[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT key, output, status, usage, created FROM calls WHERE key IN ({marks})",
                chunk,
            ).fetchall()
            for key, output, status, usage, created in rows:
                out[key] = CacheEntry(json.loads(output), status, _usage(usage), created)
        return out

    def put(
        self,
        key: str,
        judge_fingerprint: str,
        output: Any,
        *,
        status: str,
        sample: int = 0,
        usage: Mapping[str, float] | None = None,
        replace: bool = False,
    ) -> bool:
        """Store one answer (committed at once). ``False`` when the output is not
        JSON-serializable (nothing stored). An existing entry is kept (the first
        answer wins) unless ``replace``."""
        try:
            text = json.dumps(output, ensure_ascii=False, allow_nan=True)
        except (TypeError, ValueError):
            return False
        use = None if not usage else json.dumps({str(k): float(v) for k, v in usage.items()})
        with self._write() as conn:
            conn.execute(
                f"INSERT OR {'REPLACE' if replace else 'IGNORE'} INTO calls VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, judge_fingerprint, int(sample), text, status, use, time.time()),
            )
        return True

    def __len__(self) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def __contains__(self, key: object) -> bool:
        return (
            self._conn().execute("SELECT 1 FROM calls WHERE key = ?", (key,)).fetchone() is not None
        )

    # -- inspect and prune -------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Entries, size on disk, counts by status, and one row per judge fingerprint.

        Returns
        -------
        dict
            ``entries``, ``size_bytes`` (database plus WAL), ``by_status``
            ``{status: count}``, ``judges``: a list of ``{fingerprint, name,
            version, entries, first, last}`` (times as Unix seconds), and
            ``usage`` (summed hook values).
        """
        conn = self._conn()
        entries = int(conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0])
        by_status = dict(
            conn.execute(
                "SELECT status, COUNT(*) FROM calls GROUP BY status ORDER BY status"
            ).fetchall()
        )
        judges = []
        rows = conn.execute(
            "SELECT c.fingerprint, COALESCE(j.name, '?'), COALESCE(j.version, ''), COUNT(*), MIN(c.created), "
            "MAX(c.created) FROM calls c LEFT JOIN judges j ON j.fingerprint = c.fingerprint "
            "GROUP BY c.fingerprint ORDER BY MAX(c.created) DESC"
        ).fetchall()
        for fp, name, version, n, first, last in rows:
            judges.append(
                {
                    "fingerprint": fp,
                    "name": name,
                    "version": version,
                    "entries": int(n),
                    "first": first,
                    "last": last,
                }
            )
        usage: dict[str, float] = {}
        for (u,) in conn.execute("SELECT usage FROM calls WHERE usage IS NOT NULL"):
            for k, v in _usage(u).items():
                usage[k] = usage.get(k, 0.0) + v
        size = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        return {
            "path": str(self.path),
            "entries": entries,
            "size_bytes": size,
            "by_status": by_status,
            "judges": judges,
            "usage": usage,
        }

    def prune(
        self,
        *,
        older_than: float | None = None,
        judge: str | None = None,
        fingerprint: str | None = None,
        status: str | None = None,
        everything: bool = False,
        vacuum: bool = False,
        dry_run: bool = False,
    ) -> int:
        """Delete entries matching *all* the given criteria; return how many.

        Parameters
        ----------
        older_than : float, optional
            Only entries stored more than this many seconds ago.
        judge : str, optional
            Only entries of judges with this name (any version).
        fingerprint : str, optional
            Only entries of this judge fingerprint (a unique prefix is enough).
        status : str, optional
            Only entries that parsed to this status (e.g. ``"unparseable"``).
        everything : bool
            Allow deleting with no criterion (empties the cache).
        vacuum : bool
            Give the freed space back to the file system afterwards.
        dry_run : bool
            Only count.
        """
        where: list[str] = []
        args: list[Any] = []
        if older_than is not None:
            age = check_float(older_than, "older_than", low=0.0, where="JudgeCache.prune")
            where.append("created < ?")
            args.append(time.time() - age)
        if judge is not None:
            where.append("fingerprint IN (SELECT fingerprint FROM judges WHERE name = ?)")
            args.append(judge)
        if fingerprint is not None:
            if not isinstance(fingerprint, str) or len(fingerprint) < 4:
                raise InputError(
                    "fingerprint",
                    "a fingerprint or a prefix of >= 4 characters",
                    fingerprint,
                    where="JudgeCache.prune",
                )
            where.append("fingerprint LIKE ?")
            args.append(fingerprint.replace("%", "").replace("_", "") + "%")
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if not where and not everything:
            raise InputError(
                "criteria",
                "at least one of older_than, judge, fingerprint, status (or everything=True)",
                "none",
                where="JudgeCache.prune",
            )
        clause = " WHERE " + " AND ".join(where) if where else ""
        if dry_run:
            return int(
                self._conn().execute(f"SELECT COUNT(*) FROM calls{clause}", args).fetchone()[0]
            )
        with self._write() as conn:
            n = conn.execute(f"DELETE FROM calls{clause}", args).rowcount
            conn.execute(
                "DELETE FROM judges WHERE fingerprint NOT IN (SELECT DISTINCT fingerprint FROM calls)"
            )
        if vacuum:
            conn = self._conn()
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(n)


def _usage(text: str | None) -> dict[str, float]:
    if not text:
        return {}
    data = json.loads(text)
    return {
        str(k): float(v) for k, v in data.items() if isinstance(v, int | float) and math.isfinite(v)
    }
