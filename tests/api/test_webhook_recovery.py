"""Webhooks survive their sender: a new sender on the same store (SQLite or a real Redis)
sends what the old one left waiting, continuing the attempt count; delivered, exhausted,
refused and cancelled ones are not sent again; two senders never send one delivery twice,
and a dead sender's claim is taken over once it expires."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_harness import (
    WEBHOOK_SECRET,
    ApiServer,
    HookReceiver,
    Proc,
    RedisServer,
    anchor_cmd,
    wait_for,
    wait_job,
    write_config,
)

from anchor.jobs.documents import job_document
from anchor.jobs.records import JobRecord, VideoSpec, WebhookStatus, new_job_id
from anchor.jobs.store import JobStore, SqliteJobStore
from anchor.jobs.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    WebhookSender,
    verify_signature,
)

LOOPBACK = ["127.0.0.0/8"]
BASE = "http://api.example"


def document(record: JobRecord) -> dict:
    return job_document(record, BASE)


def sender(store: JobStore, **kw) -> WebhookSender:
    options = {"retries": 3, "backoff_s": 0.05, "timeout_s": 5.0, "private_networks": LOOPBACK, "document": document}
    return WebhookSender(store, WEBHOOK_SECRET, **(options | kw))


def final_job(store: JobStore, url: str, webhook: WebhookStatus | None = None, state: str = "completed") -> JobRecord:
    record = JobRecord(
        id=new_job_id(),
        owner="alice",
        spec=VideoSpec(text="Hi."),
        callback_url=url,
        state=state,  # type: ignore[arg-type]
        stage="done",
        percent=100.0,
        attempts=1,
        finished_at=time.time(),
        duration_s=1.2,
        frames=30,
        webhook=webhook,
    )
    return store.create(record)[0]


def hook_of(store: JobStore, job_id: str) -> WebhookStatus:
    record = store.get(job_id)
    assert record is not None and record.webhook is not None
    return record.webhook


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.proc.stop()


def redis_store(url: str, namespace: str | None = None) -> JobStore:
    """A RedisJobStore with its own connection (as one process has), in a fresh namespace by default."""
    import redis

    from anchor.jobs.distributed import RedisJobStore

    return RedisJobStore(redis.Redis.from_url(url, decode_responses=True), namespace or "t-" + secrets.token_hex(4))


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    s: JobStore = (
        SqliteJobStore(tmp_path / "anchor.db")
        if request.param == "sqlite"
        else redis_store(request.getfixturevalue("redis_url"))
    )
    yield s
    s.close()


@pytest.fixture()
def receiver() -> Iterator[HookReceiver]:
    r = HookReceiver(fail_first=1)
    yield r
    r.close()


def test_a_retry_left_by_a_stopped_sender_is_sent_by_the_next_one(store: JobStore, receiver: HookReceiver) -> None:
    running = JobRecord(
        id=new_job_id(), owner="alice", spec=VideoSpec(text="Hi."), callback_url=receiver.url(), state="processing"
    )
    store.create(running)
    first = sender(store, backoff_s=600)  # its retry would come in 10 minutes
    first.start()
    try:
        final = store.mutate(
            running.id,
            lambda r: r.touch(
                state="completed", stage="done", percent=100.0, finished_at=time.time(), outputs=["video.mp4"]
            ),
        )
        assert final is not None
        first.notify(final)
        wait_for(lambda: hook_of(store, running.id).attempts == 1, timeout=20, what="the first attempt")
        assert hook_of(store, running.id).claimed_by == first.sender_id
    finally:
        first.stop()  # the process goes away with the retry still waiting
    failed = hook_of(store, running.id)
    assert (failed.attempts, failed.last_status, failed.delivered, failed.claimed_by) == (1, 500, False, None)

    with sender(store) as second:
        assert running.id in second.holding
        wait_for(lambda: hook_of(store, running.id).delivered, timeout=20, what="the re-send")
    hook = hook_of(store, running.id)
    assert (hook.attempts, hook.last_status, hook.given_up, hook.claimed_by) == (2, 200, False, None)

    sent = receiver.to("/hook")
    assert len(sent) == 2, "one failed attempt before the stop, one after"
    (h1, b1), (h2, b2) = sent
    e1, e2 = json.loads(b1), json.loads(b2)
    assert e1["type"] == e2["type"] == h1[EVENT_HEADER] == h2[EVENT_HEADER] == "video.completed"
    assert e1["data"] == e2["data"] and e2["data"]["id"] == running.id and e2["data"]["state"] == "completed"
    assert e2["data"]["links"]["video"] == f"{BASE}/v1/videos/{running.id}/video.mp4"
    assert e1["id"] == e2["id"] == h2[DELIVERY_HEADER] == hook.delivery_id, "the delivery id is kept on the record"
    assert verify_signature(WEBHOOK_SECRET, b2, h2[SIGNATURE_HEADER])


def test_delivered_exhausted_refused_and_cancelled_events_are_not_sent_again(
    store: JobStore, receiver: HookReceiver
) -> None:
    receiver.fail_first = 0
    url = receiver.url
    long_ago = time.time() - 100
    jobs = {
        "delivered": final_job(
            store,
            url("/delivered"),
            WebhookStatus(url=url("/delivered"), event="video.completed", attempts=1, delivered=True, last_status=200),
        ),
        "exhausted": final_job(
            store,
            url("/exhausted"),
            WebhookStatus(
                url=url("/exhausted"),
                event="video.completed",
                attempts=4,
                last_status=500,
                last_error="HTTP 500",
                last_attempt_at=long_ago,
            ),
        ),
        "given_up": final_job(
            store,
            url("/given_up"),
            WebhookStatus(url=url("/given_up"), event="video.failed", attempts=2, given_up=True, last_error="HTTP 500"),
            state="failed",
        ),
        "refused": final_job(
            store,
            url("/refused"),
            WebhookStatus(
                url=url("/refused"),
                event="video.completed",
                attempts=1,
                last_error="refused: callback_url host resolves to 10.0.0.1",
            ),
        ),
        "cancelled": final_job(store, url("/cancelled"), None, state="cancelled"),
        "held": final_job(
            store,
            url("/held"),
            WebhookStatus(
                url=url("/held"),
                event="video.completed",
                attempts=1,
                last_error="HTTP 500",
                last_attempt_at=long_ago,
                claimed_by="live-worker",
                claimed_until=time.time() + 3600,
            ),
        ),
        "pending": final_job(
            store,
            url("/pending"),
            WebhookStatus(
                url=url("/pending"),
                event="video.failed",
                attempts=3,
                last_status=500,
                last_error="HTTP 500",
                last_attempt_at=long_ago,
            ),
            state="failed",
        ),
    }
    before = {name: store.get(job.id) for name, job in jobs.items()}
    with sender(store, retries=3) as s:
        assert s.holding == {jobs["pending"].id}, "only the one with attempts left is queued"
        wait_for(lambda: hook_of(store, jobs["pending"].id).delivered, timeout=20, what="the pending event")
    assert [p for p, _, _ in receiver.requests] == ["/pending"]
    pending = hook_of(store, jobs["pending"].id)
    assert (pending.attempts, pending.last_status, pending.event) == (4, 200, "video.failed")
    assert json.loads(receiver.to("/pending")[0][1])["type"] == "video.failed"
    exhausted = hook_of(store, jobs["exhausted"].id)
    assert exhausted.given_up and exhausted.attempts == 4, "marked given up, not sent"
    refused = hook_of(store, jobs["refused"].id)
    assert refused.given_up and refused.attempts == 1
    for name in ("delivered", "given_up", "cancelled", "held"):
        assert store.get(jobs[name].id) == before[name], f"{name} is left as it was"
    assert store.webhook_backlog() == [store.get(jobs["held"].id)], "only the held one stays outstanding"


def test_two_senders_starting_at_once_send_each_event_once(redis_url: str) -> None:
    receiver = HookReceiver(fail_first=1)
    namespace = "t-" + secrets.token_hex(4)
    stores = [redis_store(redis_url, namespace) for _ in range(2)]  # two worker processes, one namespace
    ids = [final_job(stores[0], receiver.url(f"/job{i}")).id for i in range(8)]
    senders = [sender(s, rescan_s=0.1) for s in stores]
    try:
        starts = [threading.Thread(target=s.start) for s in senders]
        for t in starts:
            t.start()
        for t in starts:
            t.join()
        assert not (senders[0].holding & senders[1].holding), "a delivery is claimed by one sender only"
        wait_for(lambda: all(hook_of(stores[0], i).delivered for i in ids), timeout=30, what="all events")
    finally:
        for s in senders:
            s.stop()
        receiver.close()
    for i in range(8):
        assert len(receiver.to(f"/job{i}")) == 2, "one 500, then one 200; nothing sent twice"
    assert all(hook_of(stores[0], i).attempts == 2 for i in ids)
    for s in stores:
        s.close()


def test_a_dead_senders_claim_is_taken_over_once_it_expires(store: JobStore, receiver: HookReceiver) -> None:
    receiver.fail_first = 0
    # what a sender killed after a failed attempt leaves behind: its claim, valid a little longer
    url = receiver.url("/orphan")
    orphan = final_job(
        store,
        url,
        WebhookStatus(
            url=url,
            event="video.completed",
            delivery_id="evt_0123456789abcdef",
            attempts=1,
            last_status=500,
            last_error="HTTP 500",
            last_attempt_at=time.time(),
            claimed_by="host:4242:dead00",
            claimed_until=time.time() + 3,
        ),
    )
    with sender(store, rescan_s=0.1) as live:
        assert orphan.id not in live.holding, "not taken while the claim is valid"
        wait_for(lambda: hook_of(store, orphan.id).delivered, timeout=20, what="the take-over")
        assert orphan.id not in live.holding
    hook = hook_of(store, orphan.id)
    assert (hook.attempts, hook.last_status, hook.claimed_by) == (2, 200, None)
    ((headers, body),) = receiver.to("/orphan")
    assert json.loads(body)["id"] == headers[DELIVERY_HEADER] == "evt_0123456789abcdef"


def test_serve_killed_while_a_webhook_waits_sends_it_after_the_restart(tmp_path: Path) -> None:
    """Real `anchor serve` (embedded): the job completes, its webhook gets a 500 and waits for a
    retry; the server is SIGKILLed; a server started on the same storage delivers it."""
    receiver = HookReceiver(fail_first=1)
    api = {
        "storage_dir": str(tmp_path / "storage"),
        "workers": 1,
        "webhook_secret": WEBHOOK_SECRET,
        "webhook_private_networks": LOOPBACK,
        # links in the event come from the public URL, not from whichever port each server got
        "public_url": "https://news.example",
    }
    # the first server would retry only after 10 minutes, so the kill surely comes first;
    # the restarted one counts the backoff from the stored last attempt with its own setting
    slow = write_config(tmp_path / "slow.yaml", api | {"webhook_backoff_s": 600})
    fast = write_config(tmp_path / "fast.yaml", api | {"webhook_backoff_s": 0.2})
    srv = ApiServer(slow, tmp_path / "serve1.log")
    try:
        with srv.client() as c:
            job = c.post("/v1/videos", json={"text": "Webhook after a crash.", "callback_url": receiver.url()}).json()
            done, _ = wait_job(c, job["id"], timeout=120)
            waiting = wait_for(
                lambda: (j := c.get(f"/v1/videos/{job['id']}").json())["webhook"]["attempts"] == 1 and j,
                what="the failed attempt",
            )
    finally:
        srv.proc.kill()
    assert done["state"] == "completed"
    assert waiting["webhook"]["last_status"] == 500 and not waiting["webhook"]["delivered"]
    assert "claimed_by" not in waiting["webhook"], "sender coordination is not shown to clients"
    assert len(receiver.to("/hook")) == 1

    srv = ApiServer(fast, tmp_path / "serve2.log")
    try:
        with srv.client() as c:
            delivered = wait_for(
                lambda: (j := c.get(f"/v1/videos/{job['id']}").json())["webhook"]["delivered"] and j,
                timeout=30,
                what="the re-send",
            )
    finally:
        srv.proc.stop()
        receiver.close()
    assert delivered["webhook"]["attempts"] == 2 and delivered["webhook"]["last_status"] == 200
    (_, b1), (h2, b2) = receiver.to("/hook")
    e1, e2 = json.loads(b1), json.loads(b2)
    assert e1["type"] == e2["type"] == "video.completed"
    assert e1["data"] == e2["data"] and e2["data"]["id"] == job["id"]
    assert e2["data"]["links"]["video"] == f"https://news.example/v1/videos/{job['id']}/video.mp4"
    assert verify_signature(WEBHOOK_SECRET, b2, h2[SIGNATURE_HEADER])


def test_distributed_a_killed_workers_waiting_webhook_is_sent_by_the_other_worker(
    redis_url: str, tmp_path: Path
) -> None:
    """Two `anchor worker`s: the one that ran the job gets a 500 for its webhook and is SIGKILLed
    while the retry waits; once its claim expires the other worker's rescan sends it."""
    receiver = HookReceiver(fail_first=1)
    config = write_config(
        tmp_path / "c.yaml",
        {
            "mode": "distributed",
            "storage_dir": str(tmp_path / "shared"),
            "redis_url": redis_url,
            "redis_namespace": "hooks-" + secrets.token_hex(4),
            "heartbeat_timeout_s": 2,  # claims last 2 s past the due time; rescans every 1 s
            "maintenance_chance": 1.0,
            "webhook_secret": WEBHOOK_SECRET,
            "webhook_private_networks": LOOPBACK,
            "webhook_backoff_s": 6,  # time to kill the worker before its own retry
            "webhook_timeout_s": 2,
        },
    )
    srv = ApiServer(config, tmp_path / "serve.log")  # first: it writes its port into the config
    workers = [Proc(anchor_cmd("worker", "-c", str(config)), tmp_path / f"worker{i}.log") for i in range(2)]
    try:
        with srv.client() as c:
            job = c.post("/v1/videos", json={"text": "Distributed webhook.", "callback_url": receiver.url()}).json()
            done, _ = wait_job(c, job["id"], timeout=120)
            wait_for(
                lambda: c.get(f"/v1/videos/{job['id']}").json()["webhook"]["attempts"] == 1, what="the failed attempt"
            )
            victim = next(w for w in workers if w.pid == int(done["worker"].split(":")[1]))
            victim.kill()
            after_kill = c.get(f"/v1/videos/{job['id']}").json()["webhook"]
            assert after_kill["attempts"] == 1 and len(receiver.to("/hook")) == 1, "killed before its own retry"
            delivered = wait_for(
                lambda: (j := c.get(f"/v1/videos/{job['id']}").json())["webhook"]["delivered"] and j,
                timeout=60,
                what="the take-over",
            )
    except AssertionError:
        for w in workers:
            print(w.log.name, w.tail(1500))
        raise
    finally:
        srv.proc.stop()
        for w in workers:
            w.stop()
        receiver.close()
    assert delivered["webhook"]["attempts"] == 2 and delivered["webhook"]["last_status"] == 200
    (_, b1), (_, b2) = receiver.to("/hook")
    e1, e2 = json.loads(b1), json.loads(b2)
    assert e1["type"] == e2["type"] == "video.completed" and e1["data"] == e2["data"] and e1["id"] == e2["id"]
