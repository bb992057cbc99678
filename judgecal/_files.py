"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Every file judgecal writes (saved calibrators, CLI outputs, plots) goes through
this module. The recipe:

1. The target is checked with ``os.lstat``. A target that exists and is not a
   regular file (a directory, FIFO, device node or socket) is refused, and so
   is a symbolic link: judgecal never writes through, or replaces, a link
   someone may have planted. A :class:`~judgecal.PersistenceError` names the
   path and what was found there.
2. A fresh temporary file is created with :func:`tempfile.mkstemp` in the
   target's folder (``O_EXCL``: a planted file or link at the temporary name
   cannot redirect the write), written, flushed and ``fsync``-ed.
3. It takes the mode of the file it replaces (or ``0o666`` minus the umask for
   a new file) and is moved onto the target with :func:`os.replace`, which is
   atomic on POSIX and Windows. The folder is ``fsync``-ed where the platform
   allows it, so the rename survives a power loss.
4. On any failure, including ``KeyboardInterrupt``, the temporary file is
   removed and the target is left as it was. ``OSError`` becomes a
   ``PersistenceError`` naming the path, with the cause chained.

Concurrent writers to one path each write their own temporary file; the last
``os.replace`` wins and the file always holds one writer's complete content.

The API
-------
:func:`atomic_write_text` and :func:`atomic_write_bytes` write a whole string
or byte string. :func:`atomic_writer` is a context manager yielding an open file
object, for writers that want one (``csv.writer``, ``json.dump``, matplotlib's
``savefig``, which then needs ``format=`` because it cannot see the file name)::

    with atomic_writer("plot.png", binary=True) as fh:
        fig.savefig(fh, format="png")

The target is replaced only when the ``with`` block ends without an exception.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from judgecal._exceptions import InputTypeError, PersistenceError

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_writer", "check_writable_target"]

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


def _as_path(path: Any, where: str) -> Path:
    if isinstance(path, bytes) or not isinstance(path, str | os.PathLike) or not str(path):
        raise InputTypeError("path", "a file path (str or os.PathLike)", path, where=where)
    return Path(path)


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"  # pragma: no cover - e.g. a Solaris door


def check_writable_target(path: str | os.PathLike[str], *, where: str = "write") -> int | None:
    """Refuse a target that exists and is not a regular file; return its mode.

    Parameters
    ----------
    path : str or os.PathLike
        The file about to be written.
    where : str
        The operation, for messages.

    Returns
    -------
    int or None
        The permission bits of the existing file, or ``None`` when there is none.

    Raises
    ------
    PersistenceError
        The path is a symbolic link, directory, FIFO, device or socket.

    Examples
    --------
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> check_writable_target(os.path.join(folder, "new.json")) is None
    True
    >>> check_writable_target(folder)
    Traceback (most recent call last):
    ...
    judgecal._exceptions.PersistenceError: Refusing to write ...: it is a directory, ...
    """
    target = _as_path(path, where)
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PersistenceError(f"Cannot write {str(target)!r} ({where}): {exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        hint = (
            " Write to the link's destination itself if that is intended."
            if stat.S_ISLNK(info.st_mode)
            else ""
        )
        raise PersistenceError(
            f"Refusing to write {str(target)!r} ({where}): it is {_kind(info.st_mode)}, "
            f"not a regular file.{hint}"
        )
    return stat.S_IMODE(info.st_mode)


def _default_mode() -> int:
    """``0o666`` minus the process umask, read without changing it (thread safe)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o644


def _fsync_folder(folder: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover - folders cannot be opened there
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. a folder we may write but not read
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse it
        pass
    finally:
        os.close(fd)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


@contextlib.contextmanager
def atomic_writer(
    path: str | os.PathLike[str],
    *,
    binary: bool = False,
    encoding: str = "utf-8",
    newline: str | None = None,
    where: str = "write",
) -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; on success, atomically replace ``path`` with it.

    Parameters
    ----------
    path : str or os.PathLike
        The target. It must not exist or be a regular file (see the module docstring).
    binary : bool
        Yield a binary file object (``"wb"``) instead of a text one (``"w"``).
    encoding, newline : str
        For text mode, as in :func:`open`.
    where : str
        The operation, for messages.

    Yields
    ------
    file object
        Write to it; do not close it. The target is replaced when the block ends
        without an exception, and left untouched otherwise.

    Raises
    ------
    PersistenceError
        The target is not a regular file, or the write failed (cause chained).

    Examples
    --------
    >>> import csv, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "rows.csv")
    >>> with atomic_writer(path, newline="") as fh:
    ...     csv.writer(fh).writerows([["a", "b"], [1, 2]])
    >>> open(path).read().splitlines()
    ['a,b', '1,2']
    """
    target = _as_path(path, where)
    mode = check_writable_target(target, where=where)
    folder = target.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise PersistenceError(f"Cannot write {str(target)!r} ({where}): {exc}") from exc
    try:
        if binary:
            fh: IO[Any] = os.fdopen(fd, "wb")
        else:
            fh = os.fdopen(fd, "w", encoding=encoding, newline=newline)
    except BaseException:
        os.close(fd)
        _remove(tmp)
        raise
    try:
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
            os.chmod(fh.fileno(), _default_mode() if mode is None else mode)
        check_writable_target(target, where=where)  # narrow the window for a swap since the check
        os.replace(tmp, target)
    except OSError as exc:
        _remove(tmp)
        raise PersistenceError(f"Cannot write {str(target)!r} ({where}): {exc}") from exc
    except BaseException:
        _remove(tmp)
        raise
    _fsync_folder(folder)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, where: str = "write") -> Path:
    """Write ``data`` to ``path`` atomically; returns the path.

    See the module docstring for what is refused and guaranteed.

    Examples
    --------
    >>> import os, tempfile
    >>> path = atomic_write_bytes(os.path.join(tempfile.mkdtemp(), "x.bin"), b"\\x00\\x01")
    >>> path.read_bytes()
    b'\\x00\\x01'
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InputTypeError("data", "bytes", type(data).__name__, where=where)
    with atomic_writer(path, binary=True, where=where) as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(
    path: str | os.PathLike[str],
    text: str,
    *,
    encoding: str = "utf-8",
    where: str = "write",
) -> Path:
    """Write ``text`` to ``path`` atomically (newlines as given); returns the path.

    Text that cannot be encoded (a lone surrogate in UTF-8) raises
    :class:`~judgecal.PersistenceError` and leaves the target untouched.

    Examples
    --------
    >>> import os, tempfile
    >>> path = atomic_write_text(os.path.join(tempfile.mkdtemp(), "x.txt"), "hello\\n")
    >>> path.read_text()
    'hello\\n'
    """
    if not isinstance(text, str):
        raise InputTypeError("text", "a str", type(text).__name__, where=where)
    try:
        data = text.encode(encoding)
    except (UnicodeEncodeError, LookupError) as exc:
        raise PersistenceError(
            f"Cannot write {str(path)!r} ({where}): the text cannot be encoded as {encoding}: {exc}"
        ) from exc
    return atomic_write_bytes(path, data, where=where)
