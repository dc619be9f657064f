"""The one storage-write helper: atomic, refuses when the disk is full, leaves no temporary file on
any exit path; the start-up sweep removes what a killed writer left. A real full disk is a small
tmpfs this test mounts (root only, as in CI)."""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from anchor.api.errors import is_disk_full
from anchor.errors import StorageFullError
from anchor.jobs.records import JobRecord, VideoSpec
from anchor.jobs.store import SqliteJobStore
from anchor.storage import sweep_parts, write_file


@contextlib.contextmanager
def tmpfs(where: Path, size_kb: int) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.fail("this test mounts a tmpfs and must run as root (as CI does)", pytrace=False)
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def parts(folder: Path) -> list[Path]:
    return list(folder.rglob("*.part"))


def test_write_file_is_atomic_and_refuses_a_full_disk_before_writing(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", 512) as disk:
        target = write_file(disk / "a" / "one.bin", b"x" * 1000)
        assert target.read_bytes() == b"x" * 1000 and not parts(disk)
        with pytest.raises(StorageFullError):
            write_file(disk / "big.bin", b"y" * (1 << 20))  # more than the disk holds: refused up front
        with pytest.raises(StorageFullError):
            write_file(disk / "reserved.bin", b"z", reserve_bytes=1 << 20)
        assert not (disk / "big.bin").exists() and not (disk / "reserved.bin").exists() and not parts(disk)


def test_a_disk_that_fills_up_mid_write_leaves_no_temporary_file(tmp_path: Path, monkeypatch) -> None:
    with tmpfs(tmp_path / "disk", 256) as disk:
        monkeypatch.setattr("anchor.storage.ensure_room", lambda folder, need: None)  # space vanishes after the check
        with pytest.raises(StorageFullError, match="full"):
            write_file(disk / "big.bin", b"y" * (1 << 20))
        assert not (disk / "big.bin").exists() and not parts(disk)


def test_an_interrupted_write_leaves_no_temporary_file(tmp_path: Path, monkeypatch) -> None:
    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("anchor.storage.os.fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_file(tmp_path / "x.bin", b"data")
    assert not (tmp_path / "x.bin").exists() and not parts(tmp_path)


def test_the_sweep_removes_left_temporary_files_except_those_a_live_writer_owns(tmp_path: Path) -> None:
    for job in ("vid_a", "vid_b"):
        (tmp_path / job).mkdir()
        (tmp_path / job / ".video.mp4.1234abcd.part").write_bytes(b"half a video")
        (tmp_path / job / "video.mp4").write_bytes(b"a whole video")
    removed = sweep_parts(tmp_path, keep=lambda p: p.parent.name == "vid_b")
    assert [p.parent.name for p in removed] == ["vid_a"]
    assert parts(tmp_path) == [tmp_path / "vid_b" / ".video.mp4.1234abcd.part"]
    assert (tmp_path / "vid_a" / "video.mp4").exists()


def test_a_full_disk_under_sqlite_is_recognised_and_the_store_survives_it(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", 1024) as disk:
        store = SqliteJobStore(disk / "anchor.db")
        filler = disk / "filler"
        with open(filler, "wb") as f:
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
        failure: BaseException | None = None
        for i in range(2000):
            record = JobRecord(id=f"vid_{i:020x}", owner="k", spec=VideoSpec(text="x" * 4000))
            try:
                store.create(record)
            except (sqlite3.OperationalError, OSError) as e:
                failure = e
                break
        assert failure is not None and is_disk_full(failure), failure
        filler.unlink()
        stored, created = store.create(JobRecord(id="vid_" + "f" * 20, owner="k", spec=VideoSpec(text="after")))
        assert created and store.get(stored.id) is not None  # no transaction left dangling
        store.close()


def test_enospc_and_edquot_are_disk_full_other_errors_are_not() -> None:
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(sqlite3.OperationalError("database is locked"))
