"""Atomic writes (judgecal._files) and persist.save through them."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from judgecal import InputError, IsotonicCalibrator, PersistenceError, load, persist, save
from judgecal._files import atomic_write_bytes, atomic_write_text, atomic_writer

ROOT = Path(__file__).resolve().parents[1]
POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file types")


def _cal() -> IsotonicCalibrator:
    rng = np.random.default_rng(0)
    s = rng.uniform(1, 5, 200)
    return IsotonicCalibrator().fit(s, (rng.random(200) < (s - 1) / 4).astype(float))


def test_write_text_bytes_and_writer(tmp_path: Path) -> None:
    p = tmp_path / "a.txt"
    assert atomic_write_text(p, "one\n") == p and p.read_text() == "one\n"
    atomic_write_bytes(p, b"two")
    assert p.read_bytes() == b"two"
    with atomic_writer(p) as fh:
        fh.write("three")
        assert p.read_bytes() == b"two"  # not replaced until the block ends
    assert p.read_text() == "three"
    assert sorted(os.listdir(tmp_path)) == ["a.txt"]
    with pytest.raises(InputError, match="path"):
        atomic_write_text(123, "x")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="text"):
        atomic_write_text(p, b"x")  # type: ignore[arg-type]


@POSIX
def test_mode_kept_and_new_files_follow_umask(tmp_path: Path) -> None:
    p = tmp_path / "m.txt"
    p.write_text("old")
    os.chmod(p, 0o640)
    atomic_write_text(p, "new")
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o640
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "fresh.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "fresh.txt").st_mode) == 0o640


@POSIX
def test_save_never_writes_through_a_planted_tmp_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "cal.json"
    os.symlink(victim, tmp_path / "cal.json.tmp")  # the old fixed temporary name
    save(_cal(), target)
    assert victim.read_text() == "precious"
    assert load(target).predict_proba([2.0]).shape == (1, 2)


@POSIX
def test_symlink_target_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "cal.json"
    os.symlink(victim, link)
    with pytest.raises(PersistenceError, match=r"cal\.json.*symbolic link"):
        save(_cal(), link)
    assert victim.read_text() == "precious" and os.path.islink(link)


@POSIX
def test_fifo_directory_and_socket_are_refused_and_kept(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(PersistenceError, match=r"pipe\.json.*FIFO"):
        save(_cal(), fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    folder = tmp_path / "dir.json"
    folder.mkdir()
    with pytest.raises(PersistenceError, match="directory"):
        save(_cal(), folder)
    assert folder.is_dir()
    sock_path = tmp_path / "s.json"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        with pytest.raises(PersistenceError, match="socket"):
            atomic_write_text(sock_path, "x")
    with pytest.raises(PersistenceError, match="device"):
        atomic_write_text("/dev/null", "x")
    assert sorted(os.listdir(tmp_path)) == ["dir.json", "pipe.json", "s.json"]


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_failure_leaves_no_temp_file_and_target_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    target = tmp_path / "cal.json"
    target.write_text("old")

    def broken(*args: object, **kwargs: object) -> None:
        raise failure

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(PersistenceError if isinstance(failure, OSError) else KeyboardInterrupt):
        save(_cal(), target)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["cal.json"] and target.read_text() == "old"


def test_exception_inside_writer_block_keeps_target(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_writer(target) as fh:
        fh.write("half")
        raise RuntimeError("boom")
    assert sorted(os.listdir(tmp_path)) == ["out.csv"] and target.read_text() == "old"
    with pytest.raises(PersistenceError, match="encoded"):
        atomic_write_text(target, "bad \ud800")
    assert target.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["out.csv"]


def test_missing_folder_is_a_persistence_error(tmp_path: Path) -> None:
    with pytest.raises(PersistenceError, match="nope"):
        atomic_write_text(tmp_path / "nope" / "x.txt", "x")


def _payload(writer: int, size: int = 200_000) -> bytes:
    return (f"{writer:03d}".encode() * size)[:size]


def test_concurrent_thread_saves_leave_one_complete_file(tmp_path: Path) -> None:
    target = tmp_path / "shared.bin"
    valid = {_payload(w) for w in range(6)}
    seen: list[bytes] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            if target.exists():
                seen.append(target.read_bytes())

    def writer(w: int) -> None:
        for _ in range(15):
            atomic_write_bytes(target, _payload(w))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watcher.join()
    assert target.read_bytes() in valid
    assert seen and all(s in valid for s in seen)  # never a torn or empty file
    assert os.listdir(tmp_path) == ["shared.bin"]


def test_concurrent_process_writes_leave_one_complete_file(tmp_path: Path) -> None:
    target = tmp_path / "shared.bin"
    script = textwrap.dedent(
        """
        import sys
        from judgecal._files import atomic_write_bytes
        writer, path = int(sys.argv[1]), sys.argv[2]
        data = (f"{writer:03d}".encode() * 200_000)[:200_000]
        for _ in range(40):
            atomic_write_bytes(path, data)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(w), str(target)], env=env)
        for w in range(3)
    ]
    valid = {_payload(w) for w in range(3)}
    seen = []
    while any(p.poll() is None for p in procs):
        if target.exists():
            seen.append(target.read_bytes())
    assert all(p.wait(timeout=120) == 0 for p in procs)
    assert target.read_bytes() in valid and all(s in valid for s in seen)
    assert os.listdir(tmp_path) == ["shared.bin"]


def test_concurrent_thread_saves_of_calibrators(tmp_path: Path) -> None:
    target = tmp_path / "cal.json"
    rng = np.random.default_rng(1)
    cals = []
    for _ in range(4):
        s = rng.uniform(1, 5, 300)
        cals.append(IsotonicCalibrator().fit(s, (rng.random(300) < (s - 1) / 4).astype(float)))
    texts = {persist.dumps(c) for c in cals}

    def writer(cal: IsotonicCalibrator) -> None:
        for _ in range(10):
            save(cal, target)

    threads = [threading.Thread(target=writer, args=(c,)) for c in cals]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert target.read_text() in texts and os.listdir(tmp_path) == ["cal.json"]
