"""Where the commands write: stdout, or files replaced atomically.

Every file goes through :mod:`judgecal._files`: written to a temporary name in
the same folder and moved into place, so an interrupted command never leaves
half a file. A file that cannot be written is reported against its flag.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_text(folder / "out.txt", "hello\\n")
>>> (folder / "out.txt").read_text()
'hello\\n'
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from judgecal._exceptions import PersistenceError
from judgecal._files import atomic_write_bytes, atomic_write_text, atomic_writer
from judgecal.cli.errors import FlagError

__all__ = [
    "check_plot_path",
    "emit",
    "open_output",
    "save_plot",
    "write_text",
]


def write_text(path: str | os.PathLike[str], text: str, *, flag: str = "--out") -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; a failure names ``flag``."""
    try:
        atomic_write_text(path, text, where=flag)
    except PersistenceError as exc:
        raise FlagError(flag, _reason(exc)) from None


def _reason(exc: PersistenceError) -> str:
    return " ".join(str(exc).split())


@contextlib.contextmanager
def open_output(
    out: str | None, *, newline: str | None = None, flag: str = "--out"
) -> Iterator[IO[str]]:
    """stdout when ``out`` is None or ``-``, else a text file replaced atomically."""
    if out in (None, "-"):
        yield sys.stdout
        return
    try:
        with atomic_writer(out, newline=newline, where=flag) as handle:
            yield handle
    except PersistenceError as exc:
        raise FlagError(flag, _reason(exc)) from None


def emit(text: str, out: str | None) -> None:
    """Print ``text`` or write it to ``out`` (and say so on stderr)."""
    if out in (None, "-"):
        sys.stdout.write(text)
        return
    write_text(out, text)
    print(f"wrote {out}", file=sys.stderr)


def check_plot_path(flag: str, path: str) -> None:
    """Refuse a plot file whose type matplotlib cannot write, before any work is done."""
    from matplotlib.backend_bases import FigureCanvasBase

    supported = FigureCanvasBase.get_supported_filetypes()
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in supported:
        kinds = ", ".join(sorted(supported))
        raise FlagError(flag, f"cannot write a {suffix or 'suffix-less'} file {path!r} ({kinds})")
    folder = Path(path).parent
    if not folder.is_dir():
        raise FlagError(flag, f"folder {str(folder)!r} does not exist")


def save_plot(path: str, draw: Callable[[str], object], *, flag: str = "--plot") -> None:
    """Call ``draw(temporary_path)``, then write that file onto ``path`` atomically."""
    with tempfile.TemporaryDirectory() as folder:
        temporary = Path(folder) / f"plot{Path(path).suffix}"
        draw(str(temporary))
        try:
            atomic_write_bytes(path, temporary.read_bytes(), where=flag)
        except PersistenceError as exc:
            raise FlagError(flag, _reason(exc)) from None
