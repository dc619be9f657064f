"""Video-avatar builds for POST /v1/avatars: a job-like record per build, polled with GET.

Building takes minutes, so an upload with a `video` file is checked at the edge (type from the
bytes, size, a decodable clip of the right length, a dozen sampled frames with one large
face), answered 202 with a build record, and built by one background thread, one build at a
time. The record (`avb_<20 hex>`, JSON beside the upload under storage_dir/avatar_builds/)
carries state (queued, processing, completed, failed), stage, percent and the error a user
can act on. A build left unfinished by a stopped process reads as failed on the next start.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.datastructures import UploadFile

from anchor.api.errors import ApiError
from anchor.errors import InputError

BUILD_ID_RE = re.compile(r"^avb_[0-9a-f]{20}$")
CHUNK = 1 << 20
Build = Callable[[Callable[[str, float], None]], None]

# Stage -> (start, end) share of the whole build, for one percent figure.
STAGE_SPAN = {"check": (0, 5), "analyse": (5, 55), "footage": (55, 97), "store": (97, 100)}


def sniff_video(head: bytes) -> str | None:
    """'mp4' (also MOV, 3GP, M4V) | 'mkv' (also WebM) | 'avi' from the first bytes, else None."""
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "mkv"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    return None


async def save_capped(upload: UploadFile, path: Path, cap_bytes: int, field: str = "video") -> int:
    """Stream an upload to `path`, refusing (413) past `cap_bytes` and non-videos (415) at the first chunk."""
    total = 0
    with open(path, "wb") as fh:
        while chunk := await upload.read(CHUNK):
            if total == 0 and sniff_video(chunk[:16]) is None:
                raise ApiError(
                    415, f"{field} is not a video (MP4, MOV, MKV, WebM or AVI), whatever its name says", field=field
                )
            total += len(chunk)
            if total > cap_bytes:
                raise ApiError(413, f"{field} is larger than the {cap_bytes / 2**20:.0f} MB limit", field=field)
            fh.write(chunk)
    if total == 0:
        raise ApiError(422, f"{field} is empty (0 bytes)", field=field)
    return total


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class BuildRegistry:
    """Build records on disk and the one thread that runs the builds."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[str, Build]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._host = socket.gethostname()

    def dir_of(self, build_id: str) -> Path:
        if not BUILD_ID_RE.match(build_id):
            raise ApiError(404, f"no avatar build {build_id!r}", field="build")
        return self.root / build_id

    def new(self, name: str) -> dict[str, Any]:
        """A queued record (and its folder) for a build of avatar `name`."""
        build_id = f"avb_{uuid.uuid4().hex[:20]}"
        (self.root / build_id).mkdir()
        record = {
            "id": build_id, "object": "avatar_build", "name": name, "state": "queued", "stage": "check",
            "percent": 0, "error": None, "created_at": _now(), "finished_at": None,
            "pid": os.getpid(), "host": self._host,
        }  # fmt: skip
        self._write(record)
        return record

    def _write(self, record: dict[str, Any]) -> None:
        d = self.root / record["id"]
        tmp = d / "build.json.tmp"
        tmp.write_text(json.dumps(record), encoding="utf-8")
        tmp.replace(d / "build.json")

    def get(self, build_id: str) -> dict[str, Any]:
        path = self.dir_of(build_id) / "build.json"
        if not path.is_file():
            raise ApiError(404, f"no avatar build {build_id!r}", field="build")
        with self._lock:
            record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            if record["state"] in ("queued", "processing") and record.get("host") == self._host:
                if not _alive(int(record.get("pid", 0))) or (record["pid"] == os.getpid() and not self._running()):
                    record.update(state="failed", finished_at=_now(),
                                  error={"message": "the build was interrupted (the server stopped); upload again",
                                         "field": None})  # fmt: skip
                    self._write(record)
        return record

    def _running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def update(self, build_id: str, **fields: Any) -> None:
        with self._lock:
            path = self.root / build_id / "build.json"
            record = json.loads(path.read_text(encoding="utf-8"))
            record.update(fields)
            self._write(record)

    def discard(self, build_id: str) -> None:
        shutil.rmtree(self.root / build_id, ignore_errors=True)

    def submit(self, build_id: str, build: Build) -> None:
        """Run `build(progress)` on the build thread; its outcome goes into the record."""
        self._queue.put((build_id, build))
        with self._lock:
            if not self._running():
                self._thread = threading.Thread(target=self._work, name="avatar-builds", daemon=True)
                self._thread.start()

    def _work(self) -> None:
        while True:
            try:
                build_id, build = self._queue.get(timeout=5.0)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            self._run(build_id, build)

    def _run(self, build_id: str, build: Build) -> None:
        last = [-1]

        def progress(stage: str, done: float) -> None:
            a, b = STAGE_SPAN.get(stage, (0, 100))
            percent = int(a + (b - a) * max(0.0, min(1.0, done)))
            if percent != last[0]:
                last[0] = percent
                self.update(build_id, state="processing", stage=stage, percent=percent)

        self.update(build_id, state="processing")
        try:
            build(progress)
        except InputError as e:
            self.update(build_id, state="failed", finished_at=_now(), error={"message": str(e), "field": e.field})
        except Exception as e:  # any failure underneath is reported on the record, not lost
            self.update(build_id, state="failed", finished_at=_now(),
                        error={"message": f"the build failed: {e.__class__.__name__}: {e}", "field": None})  # fmt: skip
        else:
            self.update(build_id, state="completed", stage="done", percent=100, finished_at=_now())
        finally:
            upload = self.root / build_id / "upload"
            if upload.exists():
                upload.unlink()


_REGISTRY_LOCK = threading.Lock()


def registry_of(state: Any, storage_dir: Path) -> BuildRegistry:
    """The app's BuildRegistry (made on first use)."""
    with _REGISTRY_LOCK:
        reg = getattr(state, "avatar_builds", None)
        if reg is None:
            reg = BuildRegistry(Path(storage_dir) / "avatar_builds")
            state.avatar_builds = reg
        return reg


def public(record: dict[str, Any]) -> dict[str, Any]:
    """The record as the API shows it."""
    return {k: v for k, v in record.items() if k not in ("pid", "host")}
