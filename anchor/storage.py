"""Writing files safely (core): the one helper every upload anchor stores goes through, the
free-space check, and the start-up sweep of temporary files a killed process left behind.

`write_file` writes into a temporary sibling `.<name>.<random>.part`, flushes it to disk and
renames it into place, so a reader never sees half a file; the temporary file is removed on
every exit path (an error, a full disk, an exception from the caller's thread). Only a
process killed mid-write can leave a `.part` behind: `sweep_parts` removes those at start-up.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from anchor.errors import StorageFullError

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"
_FULL = {errno.ENOSPC, errno.EDQUOT}


def free_bytes(folder: Path) -> int:
    """Bytes free for this process on the file system holding `folder` (its nearest existing parent)."""
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def ensure_room(folder: Path, need_bytes: int) -> None:
    """StorageFullError unless at least `need_bytes` are free where `folder` lives."""
    free = free_bytes(folder)
    if free < need_bytes:
        raise StorageFullError(
            f"the storage at {folder} has {free / 2**20:.1f} MB free; {need_bytes / 2**20:.1f} MB are needed"
        )


def temp_name(path: Path) -> Path:
    """The temporary sibling a write of `path` goes through."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{PART_SUFFIX}")


def write_file(path: Path, data: bytes, *, reserve_bytes: int = 0) -> Path:
    """Write `data` to `path` atomically (temporary sibling, fsync, rename) and return `path`.

    Refuses with StorageFullError, writing nothing, when fewer than len(data) + `reserve_bytes`
    are free, and turns ENOSPC/EDQUOT met while writing into StorageFullError too. The
    temporary file never outlives this call unless the process is killed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ensure_room(path.parent, len(data) + reserve_bytes)
    tmp = temp_name(path)
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(e, OSError) and e.errno in _FULL:
            raise StorageFullError(f"the storage holding {path.parent} is full ({e.strerror})") from e
        raise
    return path


def sweep_parts(root: Path, keep: Callable[[Path], bool] = lambda _: False) -> list[Path]:
    """Remove `*.part` files anywhere under `root` (left by a killed writer) unless `keep(path)`
    says a live writer may own it; returns what was removed."""
    removed: list[Path] = []
    root = Path(root)
    if not root.is_dir():
        return removed
    for part in root.rglob(f"*{PART_SUFFIX}"):
        if not part.is_file() or keep(part):
            continue
        try:
            part.unlink()
        except FileNotFoundError:
            continue
        removed.append(part)
    if removed:
        log.info("removed %d temporary file(s) left by a stopped process under %s", len(removed), root)
    return removed
