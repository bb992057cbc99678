"""A resumable, content-addressed judge-call cache in SQLite (the standard library's).

Every finished judge call is stored under a key that hashes *what was asked*:
the judge's fingerprint (its name, version, prompt template and parameters,
see :func:`fingerprint`), the input item and the sample number (for repeated
sampling). Change the prompt or the model and the keys change; change nothing
and a rerun reads every answer back instead of calling the judge again.

Keys are type-faithful (see :func:`item_key`): ``{1: "a"}`` and ``{"1": "a"}``,
a tuple and a list, a set and a list, ``1`` and ``True``, two dataclasses with
the same fields all get different keys. Items made of strings, numbers, lists
and dicts with string keys keep the keys judgecal 0.1.0 gave them, so caches
written by 0.1.0 resume.

What is stored is the judge's raw output (as JSON, never pickle; numpy values
are stored as the equal Python number, string or list), the status it parsed
to at the time, and the usage the per-call hook reported (tokens, cost).
Parsing is redone on every read, so a better parser never needs the judge to
be called again. Calls that raised or timed out are *not* stored: they are
what a rerun should retry.

Whose file it is
----------------
A cache file is either new, empty, or a judgecal cache. Anything else (another
application's SQLite database, a database with tables judgecal did not make, a
directory, a FIFO) is refused with :class:`~judgecal.PersistenceError` before
anything is written: the file is inspected read-only first, so it is left
byte-for-byte unchanged. New caches carry SQLite's ``application_id``
``0x4A43414C`` ("JCAL").

Failures
--------
The cache API (``register``, ``put``, ``get``, ``get_many``, ``stats``,
``prune``, ``len``) raises only :class:`~judgecal.PersistenceError` when the
database fails (locked past ``timeout``, disk full, I/O error, a damaged
file), with the SQLite error chained as ``__cause__``; argument mistakes raise
:class:`~judgecal.InputError`. A stored row that cannot be read back (not
JSON, wrong types) is treated as not cached, with a
:class:`~judgecal.JudgecalWarning`, so the item is judged again. Text with
lone surrogates (``"\\ud800"``) is stored escaped and read back unchanged.

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

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import sqlite3
import stat
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from judgecal._exceptions import (
    InputError,
    InputTypeError,
    JudgecalError,
    JudgecalWarning,
    PersistenceError,
)
from judgecal._validation import check_float

__all__ = ["CacheEntry", "JudgeCache", "fingerprint", "item_key"]

_SCHEMA = 1
_APPLICATION_ID = 0x4A43414C  # "JCAL"
_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS judges (
    fingerprint TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    spec TEXT NOT NULL,
    created REAL NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    sample INTEGER NOT NULL,
    output TEXT NOT NULL,
    status TEXT NOT NULL,
    usage TEXT,
    created REAL NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS calls_fingerprint ON calls (fingerprint)",
    "CREATE INDEX IF NOT EXISTS calls_created ON calls (created)",
)
_COLUMNS = {
    "meta": {"key", "value"},
    "judges": {"fingerprint", "name", "version", "spec", "created"},
    "calls": {"key", "fingerprint", "sample", "output", "status", "usage", "created"},
}
_INDEXES = {"calls_fingerprint", "calls_created"}


# -- canonical forms ------------------------------------------------------------------------
def _legacy_default(obj: Any) -> Any:
    """JSON fallback of judgecal 0.1.0, kept for fingerprints (judge parameters are JSON)."""
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
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_legacy_default
    )


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


#: Marks a tagged value in a canonical item. Plain dicts whose keys start with it are
#: themselves tagged, so no item can spell another item's canonical form.
_TAG = "\x00judgecal:"
_MAX_DEPTH = 500


class _UnkeyableError(Exception):
    def __init__(self, what: str, trail: str) -> None:
        super().__init__(f"{what} at {trail}")


def _tagged(kind: str, value: Any) -> dict[str, Any]:
    return {_TAG + kind: value}


def _sort_key(encoded: Any) -> str:
    return json.dumps(encoded, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _encode_dict(obj: Mapping[Any, Any], trail: str, seen: set[int]) -> Any:
    if all(isinstance(k, str) and not k.startswith(_TAG) for k in obj):
        return {k: _encode(v, f"{trail}[{k!r}]", seen) for k, v in obj.items()}
    pairs = [
        [_encode(k, f"{trail} (a dict key)", seen), _encode(v, f"{trail}[{k!r}]", seen)]
        for k, v in obj.items()
    ]
    pairs.sort(key=lambda pair: _sort_key(pair[0]))
    return _tagged("dict", pairs)


def _encode_container(obj: Any, trail: str, seen: set[int]) -> Any:
    if len(seen) >= _MAX_DEPTH:
        raise _UnkeyableError(f"a value nested more than {_MAX_DEPTH} levels deep", trail)
    if id(obj) in seen:
        raise _UnkeyableError("a circular reference", trail)
    seen.add(id(obj))
    try:
        if isinstance(obj, dict):
            return _encode_dict(obj, trail, seen)
        if isinstance(obj, list):
            return [_encode(v, f"{trail}[{i}]", seen) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return _tagged("tuple", [_encode(v, f"{trail}[{i}]", seen) for i, v in enumerate(obj)])
        items = [_encode(v, f"{trail} (a set element)", seen) for v in obj]
        return _tagged("set", sorted(items, key=_sort_key))
    finally:
        seen.discard(id(obj))


def _encode_object(obj: Any, trail: str, seen: set[int]) -> Any:
    name = f"{type(obj).__module__}.{type(obj).__qualname__}"
    if dataclasses.is_dataclass(obj):
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    else:
        fields = obj.model_dump(mode="json")
    return _tagged("object", [name, _encode_container(fields, trail, seen)])


def _encode(obj: Any, trail: str, seen: set[int]) -> Any:
    """The canonical, type-faithful JSON form of a cache item (see :func:`item_key`)."""
    if obj is None or isinstance(obj, str | bool | int | float):
        return obj
    if isinstance(obj, dict | list | tuple | set | frozenset):
        return _encode_container(obj, trail, seen)
    if isinstance(obj, np.ndarray):
        return _encode(obj.tolist(), trail, seen)
    if isinstance(obj, np.generic):
        return _encode(obj.item(), trail, seen)
    if isinstance(obj, bytes | bytearray):
        return _tagged("bytes", bytes(obj).hex())
    if isinstance(obj, complex):
        return _tagged("complex", [obj.real, obj.imag])
    if (dataclasses.is_dataclass(obj) or hasattr(obj, "model_dump")) and not isinstance(obj, type):
        return _encode_object(obj, trail, seen)
    raise _UnkeyableError(f"an object of type {type(obj).__name__}", trail)


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
    mistaken for the new one's. Parameters are compared as the JSON a judge
    API would receive (a tuple and a list of the same values are the same
    parameter), exactly as in judgecal 0.1.0.

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
    except (TypeError, ValueError, RecursionError) as exc:
        raise InputTypeError(
            "params", "JSON-serializable parameter values", params, where="fingerprint"
        ) from exc


def item_key(judge_fingerprint: str, item: Any, sample: int = 0) -> str:
    """The cache key of one call: hash of the judge fingerprint, the input and the sample number.

    The input is put in a canonical, type-faithful form before hashing: dict
    order does not matter, but types do. Strings, numbers, ``None``, lists and
    dicts with string keys are hashed as their JSON (as in judgecal 0.1.0);
    tuples, sets, bytes, complex numbers, dicts with non-string keys,
    dataclasses and pydantic models (tagged with their class) are tagged, so
    ``(1, 2)`` and ``[1, 2]``, or ``{1: "a"}`` and ``{"1": "a"}``, never share
    an answer. numpy values hash as the equal Python value (``np.int64(3)`` as
    ``3``). Anything else, circular or deeper than 500 levels, raises
    :class:`~judgecal.InputTypeError`: pass a ``key`` function to the runner.

    Examples
    --------
    >>> fp = fingerprint("j")
    >>> item_key(fp, {"q": "hi", "a": "hello"}) == item_key(fp, {"a": "hello", "q": "hi"})
    True
    >>> item_key(fp, "x", sample=0) == item_key(fp, "x", sample=1)
    False
    >>> item_key(fp, {1: "a"}) == item_key(fp, {"1": "a"})
    False
    >>> item_key(fp, (1, 2)) == item_key(fp, [1, 2])
    False
    """
    try:
        canonical = _encode(item, "item", set())
        text = json.dumps(
            [judge_fingerprint, canonical, int(sample)],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
    except _UnkeyableError as exc:
        raise InputTypeError(
            "items",
            "JSON-like items: str, numbers, lists, tuples, dicts, sets, bytes, dataclasses, "
            "pydantic models, numpy values (or pass key=callable to the runner)",
            f"{exc}",
            where="item_key",
        ) from None
    except RecursionError:
        raise InputTypeError(
            "items",
            "items nested less deeply (or pass key=callable to the runner)",
            "an item nested too deeply",
            where="item_key",
        ) from None
    return _sha(text)


def _output_default(obj: Any) -> Any:
    if isinstance(obj, np.generic | np.ndarray):
        return obj.tolist()
    raise TypeError(type(obj).__name__)


def _storable_json(obj: Any, *, default: Any = None) -> str:
    """JSON text SQLite can store: UTF-8 where possible, ``\\u`` escapes for lone surrogates."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=True, default=default)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(obj, ensure_ascii=True, allow_nan=True, default=default)
    return text


def _storable_text(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


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


def _describe_foreign(conn: sqlite3.Connection, path: Path) -> str | None:
    """What makes this database not a judgecal cache, or ``None`` (empty or ours)."""
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    if app_id not in (0, _APPLICATION_ID):
        return f"a database of another application (application_id {app_id:#x})"
    rows = conn.execute("SELECT type, name FROM sqlite_master").fetchall()
    objects = {(str(kind), str(name)) for kind, name in rows if not str(name).startswith("sqlite_")}
    own = {("table", t) for t in _COLUMNS} | {("index", i) for i in _INDEXES}
    others = sorted(objects - own, key=lambda o: o[1])
    if others:
        listed = ", ".join(f"{kind} {name!r}" for kind, name in others[:8])
        more = f" and {len(others) - 8} more" if len(others) > 8 else ""
        return f"a database holding {listed}{more}"
    for kind, table in sorted(objects):
        if kind != "table":
            continue
        columns = {str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")}
        if columns != _COLUMNS[table]:
            return f"a table {table!r} with columns {sorted(columns)}"
    if ("table", "meta") in objects:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is not None and str(row[0]) != str(_SCHEMA):
            raise PersistenceError(
                f"{str(path)!r} is a judgecal cache of schema {row[0]}; this judgecal reads "
                f"schema {_SCHEMA}."
            )
    return None


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class JudgeCache:
    """A judge-call cache in one SQLite file; see the module docstring.

    Parameters
    ----------
    path : str or Path
        The database file (created with its folder when missing). It must be
        new, empty, or a judgecal cache; any other database is refused without
        being changed. ``":memory:"`` is refused: a cache must outlive the process.
    timeout : float
        Seconds to wait for a busy database (another writer) before failing
        with :class:`~judgecal.PersistenceError`.

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
        if isinstance(path, bytes) or not isinstance(path, str | os.PathLike):
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
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []
        self._check_existing()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PersistenceError(f"Cannot create the folder of {self.path}: {exc}") from exc
        self._init_db()

    def __repr__(self) -> str:
        return f"JudgeCache({str(self.path)!r})"

    def _failure(self, action: str, exc: BaseException) -> PersistenceError:
        advice = ""
        if isinstance(exc, sqlite3.Error) and _is_busy(exc):
            advice = f" (another connection held it for more than timeout={self.timeout:g} s)"
        return PersistenceError(f"Judge cache {str(self.path)!r}: cannot {action}: {exc}{advice}.")

    # -- opening --------------------------------------------------------------------
    def _check_existing(self) -> None:
        """Refuse, without changing it, a file that is neither empty nor a judgecal cache."""
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise PersistenceError(f"Cannot open the judge cache {self.path}: {exc}") from exc
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            if stat.S_ISFIFO(info.st_mode):
                kind = "a FIFO (named pipe)"
            raise PersistenceError(f"{str(self.path)!r} is {kind}, not a judge cache file.")
        if info.st_size == 0:
            return
        uri = self.path.absolute().as_uri() + "?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=self.timeout)
            try:
                found = _describe_foreign(conn, self.path)
            finally:
                conn.close()
        except sqlite3.Error as exc:
            if _is_busy(exc):
                return  # a judgecal writer at work; the locked check under the write lock decides
            raise PersistenceError(
                f"{str(self.path)!r} is not a usable SQLite cache: {exc}"
            ) from exc
        if found is not None:
            raise PersistenceError(
                f"{str(self.path)!r} is not a judgecal cache: found {found}. judgecal leaves it "
                "unchanged; give the cache its own file."
            )

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

    def _create_tables(self, conn: sqlite3.Connection) -> None:
        """Under the write lock: check again that the file is empty or ours, then create."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            found = _describe_foreign(conn, self.path)
            if found is not None:
                raise PersistenceError(
                    f"{str(self.path)!r} is not a judgecal cache: found {found}. judgecal leaves "
                    "it unchanged; give the cache its own file."
                )
            for statement in _DDL:
                conn.execute(statement)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(_SCHEMA),))
            if int(conn.execute("PRAGMA application_id").fetchone()[0]) == 0:
                conn.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    def _init_db(self) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                conn = self._conn()
                self._create_tables(conn)
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":  # pragma: no cover - e.g. a network file system
                    raise PersistenceError(f"Cannot use WAL mode on {self.path} (got {mode!r}).")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    self.close()
                    raise PersistenceError(
                        f"{str(self.path)!r} is not a usable SQLite cache: {exc}"
                    ) from exc
                if time.monotonic() > deadline:  # pragma: no cover
                    self.close()
                    raise self._failure("open it", exc) from exc
                time.sleep(0.01)
            except sqlite3.Error as exc:
                self.close()
                raise PersistenceError(
                    f"{str(self.path)!r} is not a usable SQLite cache: {exc}"
                ) from exc
            except BaseException:
                self.close()
                raise

    @contextlib.contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """One write transaction; every database failure becomes a PersistenceError."""
        try:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._failure(action, exc) from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error | ValueError | OverflowError) and not isinstance(
                exc, JudgecalError
            ):
                raise self._failure(action, exc) from exc
            raise

    @contextlib.contextmanager
    def _read(self, action: str) -> Iterator[sqlite3.Connection]:
        try:
            yield self._conn()
        except sqlite3.Error as exc:
            raise self._failure(action, exc) from exc

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
        spec = _storable_json(
            {"prompt_template": prompt_template, "params": dict(params or {})},
            default=_legacy_default,
        )
        row = (fp, _storable_text(name), _storable_text(str(version)), spec, time.time())
        with self._write(f"register judge {name!r}") as conn:
            conn.execute("INSERT OR IGNORE INTO judges VALUES (?, ?, ?, ?, ?)", row)
        return fp

    # -- calls ----------------------------------------------------------------------
    def get(self, key: str) -> CacheEntry | None:
        """The entry stored under ``key``, or ``None`` (also for a row that cannot be read)."""
        return self.get_many([key]).get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, CacheEntry]:
        """Entries for the keys that are stored (missing and unreadable keys are left out).

        A stored row that cannot be read back (damaged JSON, wrong types) counts
        as not cached; one :class:`~judgecal.JudgecalWarning` says how many.
        """
        ks = list(dict.fromkeys(keys))
        out: dict[str, CacheEntry] = {}
        unreadable = 0
        with self._read("read cached answers") as conn:
            for start in range(0, len(ks), 500):
                chunk = ks[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT key, output, status, usage, created FROM calls WHERE key IN ({marks})",
                    chunk,
                ).fetchall()
                for row in rows:
                    entry = _entry(row)
                    if entry is None:
                        unreadable += 1
                    else:
                        out[row[0]] = entry
        if unreadable:
            warnings.warn(
                f"Judge cache {str(self.path)!r}: {unreadable} stored answer(s) could not be read "
                "(damaged rows); they count as not cached and will be judged again.",
                JudgecalWarning,
                stacklevel=2,
            )
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
        """Store one answer (committed at once); ``True`` when stored.

        ``False`` when the output cannot be stored as JSON (nothing stored; numpy
        values are stored as the equal Python values). An existing entry is kept
        (the first answer wins) unless ``replace``.

        Raises
        ------
        PersistenceError
            The database failed (locked past ``timeout``, disk full, I/O error);
            the SQLite error is chained as ``__cause__``.
        """
        try:
            text = _storable_json(output, default=_output_default)
        except (TypeError, ValueError, RecursionError):
            return False
        use = None
        if usage:
            try:
                use = json.dumps({str(k): float(v) for k, v in usage.items()})
            except (TypeError, ValueError) as exc:
                raise InputTypeError(
                    "usage", "a mapping of names to numbers", usage, where="JudgeCache.put"
                ) from exc
        verb = "REPLACE" if replace else "IGNORE"
        row = (key, judge_fingerprint, int(sample), text, _storable_text(status), use, time.time())
        with self._write("store an answer") as conn:
            conn.execute(f"INSERT OR {verb} INTO calls VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        return True

    def __len__(self) -> int:
        with self._read("count entries") as conn:
            return int(conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        with self._read("look up a key") as conn:
            return conn.execute("SELECT 1 FROM calls WHERE key = ?", (key,)).fetchone() is not None

    # -- inspect and prune -------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Entries, size on disk, counts by status, and one row per judge fingerprint.

        Damaged values (a usage that is not a JSON object, a time that is not a
        number) are skipped, never fatal.

        Returns
        -------
        dict
            ``entries``, ``size_bytes`` (database plus WAL), ``by_status``
            ``{status: count}``, ``judges``: a list of ``{fingerprint, name,
            version, entries, first, last}`` (times as Unix seconds), and
            ``usage`` (summed hook values).
        """
        with self._read("read statistics") as conn:
            entries = int(conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0])
            by_status: dict[str, int] = {}
            for status, count in conn.execute("SELECT status, COUNT(*) FROM calls GROUP BY status"):
                label = _as_text(status)
                by_status[label] = by_status.get(label, 0) + int(count)
            rows = conn.execute(
                "SELECT c.fingerprint, j.name, j.version, COUNT(*), MIN(c.created), "
                "MAX(c.created) FROM calls c LEFT JOIN judges j ON j.fingerprint = c.fingerprint "
                "GROUP BY c.fingerprint ORDER BY MAX(c.created) DESC"
            ).fetchall()
            usage: dict[str, float] = {}
            for (text,) in conn.execute("SELECT usage FROM calls WHERE usage IS NOT NULL"):
                for k, v in _usage(text).items():
                    usage[k] = usage.get(k, 0.0) + v
        judges = [
            {
                "fingerprint": _as_text(fp),
                "name": "?" if name is None else _as_text(name),
                "version": "" if version is None else _as_text(version),
                "entries": int(n),
                "first": _as_time(first),
                "last": _as_time(last),
            }
            for fp, name, version, n, first, last in rows
        ]
        size = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        return {
            "path": str(self.path),
            "entries": entries,
            "size_bytes": size,
            "by_status": dict(sorted(by_status.items())),
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
            with self._read("count entries") as conn:
                return int(conn.execute(f"SELECT COUNT(*) FROM calls{clause}", args).fetchone()[0])
        with self._write("delete entries") as conn:
            n = conn.execute(f"DELETE FROM calls{clause}", args).rowcount
            conn.execute(
                "DELETE FROM judges WHERE fingerprint NOT IN "
                "(SELECT DISTINCT fingerprint FROM calls)"
            )
        if vacuum:
            with self._read("vacuum") as conn:
                conn.execute("VACUUM")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(n)


def _as_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


def _as_time(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _entry(row: tuple[Any, ...]) -> CacheEntry | None:
    """A stored row as an entry, or ``None`` when it cannot be read back."""
    _, output, status, usage, created = row
    if not isinstance(output, str) or not isinstance(status, str):
        return None
    try:
        value = json.loads(output)
    except (ValueError, RecursionError):
        return None
    when = _as_time(created)
    return CacheEntry(value, status, _usage(usage), 0.0 if when is None else when)


def _usage(text: Any) -> dict[str, float]:
    """Summable usage values of a stored row; anything damaged reads as nothing."""
    if not isinstance(text, str) or not text:
        return {}
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(k): float(v)
        for k, v in data.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }
