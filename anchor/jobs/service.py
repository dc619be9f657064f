"""The job operations the API offers (create, get, list, cancel, delete), independent of mode.

A `JobBackend` bundles the store, the file layout and a dispatcher: the embedded pool or the
distributed queue. `open_backend(settings)` picks one from `settings.api.mode`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from anchor.config import Settings
from anchor.errors import InputError, NotFoundError
from anchor.jobs.files import BACKGROUND_STEM, JobFiles
from anchor.jobs.pool import EmbeddedWorkerPool
from anchor.jobs.records import JobRecord, VideoSpec, new_job_id, now
from anchor.jobs.runner import JobContext
from anchor.jobs.store import JobStore, SqliteJobStore
from anchor.jobs.webhooks import WebhookSender
from anchor.storage import ensure_room, write_file

log = logging.getLogger(__name__)


class Dispatcher(Protocol):
    """Hands a stored, queued job to whatever runs jobs."""

    def submit(self, job_id: str) -> None: ...


@dataclass
class JobBackend:
    """What the API needs to run jobs in one mode. `dependencies` name the services it needs
    (e.g. "redis") with a check that raises when one does not answer (for /healthz and /readyz);
    `reserve_bytes` is the free space a new job must leave (api.min_free_mb)."""

    mode: str
    store: JobStore
    files: JobFiles
    dispatcher: Dispatcher
    dependencies: dict[str, Callable[[], object]] = field(default_factory=dict)
    reserve_bytes: int = 0


class JobService:
    """Create, read, cancel and delete video jobs; jobs are visible only to their owner (API key)."""

    def __init__(self, backend: JobBackend) -> None:
        self.backend = backend
        self.store = backend.store
        self.files = backend.files

    def create(
        self,
        owner: str,
        spec: VideoSpec,
        *,
        callback_url: str | None = None,
        idempotency: tuple[str, str] | None = None,
        audio: tuple[bytes, str] | None = None,
        background_image: tuple[bytes, str] | None = None,
    ) -> tuple[JobRecord, bool]:
        """Store and queue a job; with an idempotency (key, request hash) seen before, return that job.
        `audio` / `background_image` are (bytes, extension) written into the job folder."""
        job_id = new_job_id()
        uploads = {"audio_file": ("input", audio), "background_image_file": (BACKGROUND_STEM, background_image)}
        reserve = self.backend.reserve_bytes
        ensure_room(self.files.root, reserve)  # the video needs room too: refuse before storing anything
        try:
            for spec_field, (stem, upload) in uploads.items():
                if upload is not None:
                    data, ext = upload
                    name = f"{stem}.{ext}"
                    write_file(self.files.job_dir(job_id, create=True) / name, data, reserve_bytes=reserve)
                    spec = spec.model_copy(update={spec_field: name})
            record = JobRecord(id=job_id, owner=owner, spec=spec, callback_url=callback_url)
            stored, created = self.store.create(record, idempotency)
        except BaseException:
            self.files.remove(job_id)
            raise
        if not created:
            self.files.remove(job_id)
            return stored, False
        self.backend.dispatcher.submit(job_id)
        return stored, True

    def get(self, owner: str | None, job_id: str) -> JobRecord:
        record = self.store.get(job_id) if job_id else None
        if record is None or (owner is not None and record.owner != owner):
            raise NotFoundError(f"no video job {job_id!r}", field="id")
        return record

    def page(self, owner: str | None, limit: int, offset: int) -> tuple[list[JobRecord], int]:
        return self.store.page(owner, limit, offset)

    def cancel(self, owner: str | None, job_id: str) -> JobRecord:
        """Cancel a queued or running job (a running one stops at its next progress update)."""
        self.get(owner, job_id)

        def cancel(r: JobRecord) -> JobRecord | None:
            if r.final:
                return None
            return r.touch(state="cancelled", finished_at=now())

        record = self.store.mutate(job_id, cancel)
        if record is None:
            raise NotFoundError(f"no video job {job_id!r}", field="id")
        if record.state != "cancelled":
            raise InputError(
                f"video job {job_id} is already {record.state}; only queued or processing jobs can be cancelled",
                field="id",
            )
        return record

    def delete(self, owner: str | None, job_id: str) -> None:
        """Remove the job's files, then forget the job (a running job stops at its next progress
        update). Files go first: on a full disk that frees the room the record's deletion needs."""
        self.get(owner, job_id)
        self.files.remove(job_id)
        self.store.delete(job_id)


@contextlib.contextmanager
def open_backend(settings: Settings) -> Iterator[JobBackend]:
    """Start the mode's machinery (embedded pool + webhooks, or a Redis connection) and stop it after.
    Temporary files a killed process left in job folders are swept first."""
    files = JobFiles(settings.api.storage_dir)
    files.root.mkdir(parents=True, exist_ok=True)
    reserve = int(settings.api.min_free_mb * 2**20)
    if settings.api.mode == "distributed":
        from anchor.jobs.distributed import RedisDispatcher, RedisJobStore  # redis + dramatiq: only when used

        redis_store = RedisJobStore.from_settings(settings)
        store: JobStore = redis_store
        dispatcher = RedisDispatcher(settings)
        try:
            sweep_stale_parts(files, store, others_may_run=True)
        except Exception as e:  # Redis down at start-up: the API still starts and says so in /readyz
            log.warning("could not sweep temporary files (job store unreachable): %s", e)
        try:
            yield JobBackend(
                "distributed", store, files, dispatcher, {"redis": redis_store.ping}, reserve_bytes=reserve
            )
        finally:
            dispatcher.close()
            store.close()
        return

    store = SqliteJobStore(files.db_path)
    sweep_stale_parts(files, store, others_may_run=False)
    api = settings.api
    sender = WebhookSender.from_settings(store, api)
    ctx = JobContext(settings, store, files, on_final=sender.notify)
    try:
        with sender, EmbeddedWorkerPool(ctx, api.workers) as pool:
            yield JobBackend("embedded", store, files, pool, reserve_bytes=reserve)
    finally:
        store.close()


def sweep_stale_parts(files: JobFiles, store: JobStore, *, others_may_run: bool) -> int:
    """Remove `.part` files left by killed writers. When other processes may be rendering
    (distributed mode), the folders of jobs in `processing` are left alone."""

    def busy(job_id: str) -> bool:
        if not others_may_run:
            return False
        record = store.get(job_id)
        return record is not None and record.state == "processing"

    return files.sweep_parts(busy)
