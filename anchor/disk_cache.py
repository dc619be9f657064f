"""A faster cold start: results that are slow to compute and never change, kept on disk.

Used for what a one-word clip would otherwise redo in every process: hibari's G2P parsing four
gzipped JSON files (~0.45 s), the `onnx` import needed to add the durations output to the voice's
graph (~0.2 s), and the face mesh's Delaunay triangulation (scipy.spatial, ~0.3 s to import).
Entries live in the user's cache directory (`$ANCHOR_CACHE_DIR`, else `$XDG_CACHE_HOME/anchor`,
else `~/.cache/anchor`), named by what they were derived from: a source file's size and
modification time (`file_key`) or a digest of the input (`digest_key`), and for marshal files the
Python version. A missing, stale, unreadable or unwritable cache only means the slow path.
"""

from __future__ import annotations

import logging
import marshal
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """Where anchor keeps rebuildable caches."""
    if env := os.environ.get("ANCHOR_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "anchor"


def file_key(source: Path) -> str:
    """A key that changes whenever `source` is replaced or edited."""
    st = source.stat()
    return f"{st.st_size}-{st.st_mtime_ns}"


def machine_key() -> str:
    """A key for results that depend on this machine's CPU (an optimised inference graph)."""
    import platform

    flags = ""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = next((line for line in f if line.startswith(("flags", "Features"))), "")
    except OSError:
        pass
    return digest_key(platform.machine().encode(), flags.encode())[:12]


def digest_key(*parts: bytes) -> str:
    """A key naming exactly these input bytes."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def _write(path: Path, data: bytes) -> None:
    """Write `path` atomically (a reader never sees half a file); failures are only logged."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as e:
        log.debug("cache %s not written: %s", path, e)


def cached_bytes(name: str, key: str, build: Callable[[], bytes]) -> bytes:
    """`build()`, read from the cache when an entry `name` with this `key` exists."""
    path = cache_dir() / f"{name}-{key}"
    try:
        return path.read_bytes()
    except OSError:
        pass
    data = build()
    _write(path, data)
    return data


def cached_value(name: str, key: str, build: Callable[[], Any]) -> Any:
    """A plain value (dicts, lists, strings, numbers, bytes) from `build()`, cached with marshal."""
    tag = f"py{sys.version_info.major}{sys.version_info.minor}-m{marshal.version}"
    path = cache_dir() / f"{name}-{tag}-{key}.marshal"
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError) as e:
        if not isinstance(e, FileNotFoundError):
            log.info("cache %s unreadable (%s): rebuilding it", path, e)
    value = build()
    try:
        data = marshal.dumps(value)
    except ValueError as e:  # holds something marshal cannot keep: just do not cache it
        log.debug("%s not cached: %s", name, e)
        return value
    _write(path, data)
    return value
