"""The job operations the API offers (create, get, list, cancel, delete), independent of mode.

A `JobBackend` bundles the store, the file layout and a dispatcher: the embedded pool or the
distributed queue. `open_backend(settings)` picks one from `settings.api.mode`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from anchor.config import ApiSettings, Settings
from anchor.errors import InputError, NotFoundError
from anchor.jobs.files import BACKGROUND_STEM, CAPTION_FILES, VIDEO_FILE, JobFiles
from anchor.jobs.records import JobRecord, VideoSpec, new_job_id, now
from anchor.jobs.store import JobStore

log = logging.getLogger(__name__)


WEBHOOK_INTERNAL = {"claimed_by", "claimed_until"}
"""Webhook fields that coordinate senders and are not shown to API clients."""


class Dispatcher(Protocol):
    """Hands a stored, queued job to whatever runs jobs."""

    def submit(self, job_id: str) -> None: ...


def api_base_url(api: ApiSettings) -> str:
    """Base URL of the API in links and webhooks: `public_url`, else http://host:port."""
    return (api.public_url or f"http://{api.host}:{api.port}").rstrip("/")


def base_url(settings: Settings) -> str:
    return api_base_url(settings.api)


def job_document(record: JobRecord, base: str) -> dict[str, Any]:
    """The job as the API shows it (and webhooks send it)."""
    url = f"{base}/v1/videos/{record.id}"
    links: dict[str, str] = {"self": url}
    if record.state == "completed":
        if VIDEO_FILE in record.outputs:
            links["video"] = f"{url}/{VIDEO_FILE}"
        for kind, name in CAPTION_FILES.items():
            if name in record.outputs:
                links[f"captions_{kind}"] = f"{url}/{name}"
    spec = record.spec.model_dump(exclude_none=True)
    return {
        "id": record.id,
        "object": "video",
        "state": record.state,
        "stage": record.stage,
        "percent": record.percent,
        "created_at": record.created_at,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "attempts": record.attempts,
        "worker": record.worker,
        "error": record.error.model_dump() if record.error else None,
        "duration_s": record.duration_s,
        "frames": record.frames,
        "request": spec,
        "callback_url": record.callback_url,
        "webhook": record.webhook.model_dump(exclude=WEBHOOK_INTERNAL) if record.webhook else None,
        "links": links,
    }


@dataclass
class JobBackend:
    """What the API needs to run jobs in one mode."""

    mode: str
    store: JobStore
    files: JobFiles
    dispatcher: Dispatcher


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
        try:
            for spec_field, (stem, upload) in uploads.items():
                if upload is not None:
                    data, ext = upload
                    name = f"{stem}.{ext}"
                    (self.files.job_dir(job_id, create=True) / name).write_bytes(data)
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

    def list(self, owner: str | None, limit: int, offset: int) -> tuple[list[JobRecord], int]:
        return self.store.list(owner, limit, offset)

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
        """Forget the job and remove its files (a running job is stopped first)."""
        self.get(owner, job_id)
        self.store.delete(job_id)
        self.files.remove(job_id)


@contextlib.contextmanager
def open_backend(settings: Settings) -> Iterator[JobBackend]:
    """Start the mode's machinery (embedded pool + webhooks, or a Redis connection) and stop it after."""
    files = JobFiles(settings.api.storage_dir)
    files.root.mkdir(parents=True, exist_ok=True)
    if settings.api.mode == "distributed":
        from anchor.jobs.distributed import RedisDispatcher, RedisJobStore

        store: JobStore = RedisJobStore.from_settings(settings)
        dispatcher = RedisDispatcher(settings)
        try:
            yield JobBackend("distributed", store, files, dispatcher)
        finally:
            dispatcher.close()
            store.close()
        return

    from anchor.jobs.pool import EmbeddedWorkerPool
    from anchor.jobs.runner import JobContext
    from anchor.jobs.store import SqliteJobStore
    from anchor.jobs.webhooks import WebhookSender

    store = SqliteJobStore(files.db_path)
    api = settings.api
    sender = WebhookSender.from_settings(store, api)
    ctx = JobContext(settings, store, files, on_final=sender.notify)
    try:
        with sender, EmbeddedWorkerPool(ctx, api.workers) as pool:
            yield JobBackend("embedded", store, files, pool)
    finally:
        store.close()
