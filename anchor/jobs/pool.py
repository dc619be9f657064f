"""Embedded mode: an in-process pool of worker threads fed from the SQLite job store.

On start the pool puts jobs that were `processing` when the previous process stopped (or
died) back to `queued` and queues every queued job, oldest first. On stop, jobs still running
are handed back to `queued`: their threads notice at the next progress update and stop, and
the next start runs them again.
"""

from __future__ import annotations

import logging
import os
import queue
import threading

from anchor.jobs.records import JobError, JobRecord, now
from anchor.jobs.runner import JobContext, run_job

log = logging.getLogger(__name__)


def default_pool_size() -> int:
    """One worker per two cores: a render already keeps about two cores busy (render + encoder)."""
    return max(1, (os.cpu_count() or 2) // 2)


class EmbeddedWorkerPool:
    """Owns `size` threads that run jobs by id. Use as a context manager."""

    def __init__(self, ctx: JobContext, size: int = 0) -> None:
        self._ctx = ctx
        self._size = size or default_pool_size()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._running: dict[str, str] = {}  # thread name -> job id
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        return self._size

    def __enter__(self) -> EmbeddedWorkerPool:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        store = self._ctx.store
        for job_id in store.ids_in_states(["processing"]):
            store.mutate(job_id, _requeue)
            log.info("job %s was running when the server stopped: queued again", job_id)
        for job_id in store.ids_in_states(["queued"]):
            self._queue.put(job_id)
        for i in range(self._size):
            t = threading.Thread(target=self._work, name=f"job-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def submit(self, job_id: str) -> None:
        self._queue.put(job_id)

    def stop(self, timeout: float = 10.0) -> None:
        for _ in self._threads:
            self._queue.put(None)
        with self._lock:
            running = list(self._running.values())
        for job_id in running:
            self._ctx.store.mutate(job_id, _requeue)
        for t in self._threads:
            t.join(timeout=timeout)
        self._threads.clear()

    def _work(self) -> None:
        name = threading.current_thread().name
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            with self._lock:
                self._running[name] = job_id
            try:
                run_job(self._ctx, job_id)
            except Exception:  # a bug in one job must not kill the pool; the job is marked below
                log.exception("job %s crashed its worker thread", job_id)
                self._ctx.store.mutate(job_id, _crashed)
            finally:
                with self._lock:
                    self._running.pop(name, None)


def _requeue(r: JobRecord) -> JobRecord | None:
    if r.state != "processing":
        return None
    return r.touch(state="queued", stage="queued", percent=0.0, worker=None)


def _crashed(r: JobRecord) -> JobRecord | None:

    if r.final:
        return None
    return r.touch(
        state="failed", finished_at=now(), error=JobError(message="internal error while rendering", retryable=True)
    )
