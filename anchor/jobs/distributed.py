"""Distributed mode: job records in Redis, jobs queued through Dramatiq's Redis broker,
run by `anchor worker` processes that share the storage directory.

Why a worker killed mid-job does not lose it: Dramatiq acknowledges a message only after the
actor returns. Every broker process writes a heartbeat to Redis on each poll; when a worker's
heartbeat is older than `api.heartbeat_timeout_s`, the next queue maintenance (a share
`api.maintenance_chance` of polls) puts its unacknowledged messages back on the queue, and an
idle worker runs the job again. The job record counts the attempts; a worker that was only
presumed dead notices at its next progress update that the job was claimed by another and stops.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from typing import cast

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import TimeLimitExceeded

from anchor.config import Settings
from anchor.jobs.files import JobFiles
from anchor.jobs.records import JobError, JobRecord, now
from anchor.jobs.runner import JobContext, run_job
from anchor.jobs.store import Mutator, conflict
from anchor.jobs.webhooks import WebhookSender

log = logging.getLogger(__name__)

QUEUE_NAME = "anchor-videos"
ACTOR_NAME = "anchor_render_video"
IDEMPOTENCY_TTL_S = 7 * 24 * 3600
REDIS_TIMEOUT_S = 2.0


class RedisJobStore:
    """Job records as JSON strings in Redis, indexed by creation time per owner.

    Keys: `<ns>:job:<id>`, `<ns>:jobs` and `<ns>:jobs:owner:<owner>` (sorted sets by created_at),
    `<ns>:webhooks` (sorted set of the jobs whose webhook is outstanding, updated in the same
    transaction as the record), `<ns>:idem:<owner>:<key>` ("<request hash> <job id>", expires after a week).
    """

    def __init__(self, client: redis.Redis, namespace: str = "anchor") -> None:
        self._r = client
        self._ns = namespace

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisJobStore:
        """A store on `api.redis_url` with short timeouts: a Redis that hangs or is gone turns into
        a quick RedisError (the API answers 503), and the next command reconnects by itself."""
        client = redis.Redis.from_url(
            settings.api.redis_url,
            decode_responses=True,
            health_check_interval=30,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            socket_timeout=REDIS_TIMEOUT_S,
        )
        return cls(client, settings.api.redis_namespace)

    def ping(self) -> None:
        """Raise a RedisError unless Redis answers."""
        self._r.ping()

    def _job(self, job_id: str) -> str:
        return f"{self._ns}:job:{job_id}"

    def _index(self, owner: str | None) -> str:
        return f"{self._ns}:jobs" if owner is None else f"{self._ns}:jobs:owner:{owner}"

    def _webhooks(self) -> str:
        return f"{self._ns}:webhooks"

    def _index_webhook(self, p: redis.client.Pipeline, record: JobRecord) -> None:
        """Queue (in `p`'s transaction) the update of the outstanding-webhook index for `record`."""
        if record.webhook_outstanding:
            p.zadd(self._webhooks(), {record.id: record.created_at})
        else:
            p.zrem(self._webhooks(), record.id)

    def create(self, record: JobRecord, idempotency: tuple[str, str] | None = None) -> tuple[JobRecord, bool]:
        idem_key = f"{self._ns}:idem:{record.owner}:{idempotency[0]}" if idempotency else None
        with self._r.pipeline() as p:
            while True:
                try:
                    if idem_key is not None and idempotency is not None:
                        p.watch(idem_key)
                        seen = cast(str | None, p.get(idem_key))
                        if seen:
                            digest, _, job_id = seen.partition(" ")
                            if digest != idempotency[1]:
                                raise conflict(idempotency[0])
                            existing = self.get(job_id)
                            if existing is not None:
                                p.reset()
                                return existing, False
                    p.multi()
                    p.set(self._job(record.id), record.to_json())
                    p.zadd(self._index(None), {record.id: record.created_at})
                    p.zadd(self._index(record.owner), {record.id: record.created_at})
                    self._index_webhook(p, record)
                    if idem_key is not None and idempotency is not None:
                        p.set(idem_key, f"{idempotency[1]} {record.id}", ex=IDEMPOTENCY_TTL_S)
                    p.execute()
                    return record, True
                except redis.WatchError:
                    continue

    def get(self, job_id: str) -> JobRecord | None:
        data = self._r.get(self._job(job_id))
        return JobRecord.from_json(data) if data else None

    def idempotency_known(self, owner: str, key: str) -> bool:
        seen = cast(str | None, self._r.get(f"{self._ns}:idem:{owner}:{key}"))
        if not seen:
            return False
        return int(self._r.exists(self._job(seen.partition(" ")[2]))) > 0

    def page(self, owner: str | None, limit: int, offset: int) -> tuple[list[JobRecord], int]:
        index = self._index(owner)
        total = int(self._r.zcard(index))
        ids = cast(list[str], self._r.zrevrange(index, offset, offset + limit - 1))
        rows = self._r.mget([self._job(i) for i in ids]) if ids else []
        return [JobRecord.from_json(r) for r in rows if r], total

    def mutate(self, job_id: str, fn: Mutator) -> JobRecord | None:
        key = self._job(job_id)
        with self._r.pipeline() as p:
            while True:
                try:
                    p.watch(key)
                    data = p.get(key)
                    if not data:
                        p.reset()
                        return None
                    current = JobRecord.from_json(data)
                    new = fn(current)
                    if new is None:
                        p.reset()
                        return current
                    p.multi()
                    p.set(key, new.to_json())
                    self._index_webhook(p, new)
                    p.execute()
                    return new
                except redis.WatchError:
                    continue

    def delete(self, job_id: str) -> bool:
        record = self.get(job_id)
        with self._r.pipeline() as p:
            p.delete(self._job(job_id))
            p.zrem(self._index(None), job_id)
            p.zrem(self._webhooks(), job_id)
            if record is not None:
                p.zrem(self._index(record.owner), job_id)
            removed = p.execute()[0]
        return bool(removed)

    def ids_in_states(self, states: Iterable[str]) -> list[str]:
        wanted = set(states)
        ids = cast(list[str], self._r.zrange(self._index(None), 0, -1))
        return [r.id for r in (self.get(i) for i in ids) if r is not None and r.state in wanted]

    def webhook_backlog(self, limit: int = 500) -> list[JobRecord]:
        ids = cast(list[str], self._r.zrange(self._webhooks(), 0, limit - 1))
        rows = self._r.mget([self._job(i) for i in ids]) if ids else []
        records = (JobRecord.from_json(r) for r in rows if r)
        return [r for r in records if r.webhook_outstanding]

    def close(self) -> None:
        self._r.close()


def make_broker(settings: Settings, **redis_options: float) -> RedisBroker:
    """A Dramatiq Redis broker tuned from settings.api (heartbeat timeout, maintenance share);
    `redis_options` go to its Redis connection pool (e.g. socket_timeout)."""
    api = settings.api
    return RedisBroker(
        url=api.redis_url,
        namespace=f"{api.redis_namespace}-dramatiq",
        heartbeat_timeout=int(api.heartbeat_timeout_s * 1000),
        maintenance_chance=max(1, int(api.maintenance_chance * 1_000_000)),
        **redis_options,
    )


def declare_render_actor(broker: RedisBroker, settings: Settings, fn: Callable[[str], None]) -> dramatiq.Actor:
    """The one actor: render job <id>. No Dramatiq retries: a failed job is reported, not repeated;
    only a job whose worker vanished is delivered again."""
    return dramatiq.actor(  # type: ignore[call-overload]  # dramatiq's stubs omit broker/options
        fn,
        broker=broker,
        actor_name=ACTOR_NAME,
        queue_name=QUEUE_NAME,
        max_retries=0,
        time_limit=settings.api.job_time_limit_s * 1000,
    )


class RedisDispatcher:
    """Puts job ids on the Dramatiq queue (the API side)."""

    def __init__(self, settings: Settings) -> None:
        # the API side only enqueues: short timeouts, so a Redis outage is a quick 503
        self._broker = make_broker(settings, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S)
        self._actor = declare_render_actor(self._broker, settings, _runs_only_in_workers)

    def submit(self, job_id: str) -> None:
        self._actor.send(job_id)

    def close(self) -> None:
        self._broker.close()


def _runs_only_in_workers(job_id: str) -> None:  # pragma: no cover - never called in the API process
    raise RuntimeError("video jobs run in `anchor worker` processes")


def run_worker(settings: Settings, *, stop: threading.Event | None = None, install_signals: bool = True) -> None:
    """Run jobs from the queue until SIGTERM/SIGINT (or `stop` is set), then finish the running ones."""

    api = settings.api
    store = RedisJobStore.from_settings(settings)
    files = JobFiles(api.storage_dir)

    def busy(job_id: str) -> bool:  # another worker may be writing into this job's folder right now
        record = store.get(job_id)
        return record is not None and record.state == "processing"

    files.sweep_parts(busy)
    sender = WebhookSender.from_settings(store, api)
    ctx = JobContext(settings, store, files, on_final=sender.notify)

    def render(job_id: str) -> None:
        try:
            run_job(ctx, job_id)
        except TimeLimitExceeded:
            store.mutate(job_id, _failed(f"the job ran longer than the {api.job_time_limit_s} s limit"))
        except Exception:  # keep the worker alive; the job is reported failed
            log.exception("job %s crashed", job_id)
            store.mutate(job_id, _failed("internal error while rendering"))

    broker = make_broker(settings)
    declare_render_actor(broker, settings, render)
    worker = dramatiq.Worker(broker, worker_threads=api.worker_threads, worker_timeout=500)
    worker.queue_prefetch = api.worker_threads  # never hold a job another idle worker could run
    stop = stop or threading.Event()
    if install_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    try:
        with sender:  # also re-sends webhooks left outstanding by workers that died
            worker.start()
            log.info(
                "anchor worker started (%d thread(s), queue %s, storage %s)", api.worker_threads, QUEUE_NAME, files.root
            )
            try:
                while not stop.wait(0.5):
                    pass
            finally:
                worker.stop(timeout=int(api.job_time_limit_s * 1000))
                broker.close()
    finally:
        store.close()  # after the sender released its claims


def _failed(message: str) -> Mutator:
    def fail(r: JobRecord) -> JobRecord | None:
        if r.final:
            return None
        return r.touch(state="failed", finished_at=now(), error=JobError(message=message, retryable=True))

    return fail


def wait_for_redis(url: str, timeout_s: float = 10.0) -> None:
    """Block until Redis answers PING (raises the last error after `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    client = redis.Redis.from_url(url)
    try:
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        client.close()
