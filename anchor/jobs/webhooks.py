"""Job event webhooks: POST the finished job to its callback_url, signed, retried with backoff.

The body is the job as JSON inside an event envelope; the header
`X-Anchor-Signature: sha256=<hex>` is HMAC-SHA256 over the exact body bytes with the
configured secret. Receivers verify it with `verify_signature`. Delivery state (attempts,
last status, last attempt time) is written to the job record, so polling shows it too.

Surviving a crash: the record is the source of truth, the in-memory heap only a schedule.
A sender claims a delivery on the record (`webhook.claimed_by` / `claimed_until`, set through
the store's atomic `mutate`) before queueing it and checks the claim again before every
attempt, so two senders never send one delivery at once. When a sender starts (and, in
distributed mode, every `rescan_s`) it asks the store for final jobs whose webhook is
outstanding and queues those it may claim: unclaimed ones, its own, and ones whose claim
expired because their sender died. The attempt count continues and the next attempt is due
`backoff·2^(n-1)` s after the last one. The event type, delivery id and job data are the same
as before; only the envelope's `created_at` is the time of the re-send.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import logging
import math
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from anchor.errors import InputError
from anchor.jobs.callback_guard import check_callback_url, parse_networks
from anchor.jobs.documents import api_base_url, job_document
from anchor.jobs.records import JobRecord, WebhookStatus
from anchor.jobs.store import JobStore

if TYPE_CHECKING:
    from anchor.config import ApiSettings

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Anchor-Signature"
EVENT_HEADER = "X-Anchor-Event"
DELIVERY_HEADER = "X-Anchor-Delivery"


def sign(secret: str, body: bytes) -> str:
    """The signature header value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """True when `header` is the signature of `body` under `secret` (constant-time compare)."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


DocumentFn = Callable[[JobRecord], dict[str, Any]]
"""Renders a job record as the JSON sent in the event's `data`."""

EMBEDDED_SENDER = "embedded"
"""The sender id in embedded mode: one process owns the store, so a claim under this id is always
its own (or its killed predecessor's) and is taken over at once on restart."""


def event_body(event: str, job: dict[str, Any], delivery_id: str) -> bytes:
    """The signed request body: the event envelope around the job document."""
    return json.dumps(
        {"id": delivery_id, "type": event, "created_at": time.time(), "data": job}, separators=(",", ":")
    ).encode()


@dataclass(order=True)
class _Delivery:
    due: float
    job_id: str = field(compare=False)
    url: str = field(compare=False)
    event: str = field(compare=False)
    body: bytes = field(compare=False)
    delivery_id: str = field(compare=False)
    attempt: int = field(default=0, compare=False)


def new_delivery_id() -> str:
    return "evt_" + secrets.token_hex(8)


def default_sender_id() -> str:
    """A sender id unique to this process: host, pid and a random tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class WebhookSender:
    """Owns one thread that delivers events, retrying failures after backoff·2^n seconds.

    Use as a context manager (or start()/stop()). start() first queues the outstanding
    deliveries it may claim from the store; stop() releases the claims of those still waiting,
    so another sender (or the next start) sends them. A sender that dies keeps its claims
    until `claimed_until` (due time + timeout + `lease_s`), then others take them over.
    """

    def __init__(
        self,
        store: JobStore,
        secret: str,
        *,
        retries: int = 5,
        backoff_s: float = 1.0,
        timeout_s: float = 10.0,
        private_networks: Sequence[str] = (),
        document: DocumentFn | None = None,
        sender_id: str | None = None,
        lease_s: float = 30.0,
        rescan_s: float | None = None,
    ) -> None:
        self._store = store
        self._networks = parse_networks(private_networks)
        self._secret = secret
        self._retries = retries
        self._backoff = backoff_s
        self._timeout = timeout_s
        self._document: DocumentFn = document or (lambda r: job_document(r, ""))
        self.sender_id = sender_id or default_sender_id()
        self._lease = lease_s
        self._rescan = rescan_s
        self._heap: list[_Delivery] = []
        self._held: set[str] = set()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, store: JobStore, api: ApiSettings, document: DocumentFn | None = None) -> WebhookSender:
        """A sender configured by the `api` settings (secret, retries, backoff, timeout, networks).

        Claims last `heartbeat_timeout_s` past a delivery's due time. In distributed mode the
        sender looks for deliveries of dead workers every half of that; in embedded mode the one
        process uses a fixed sender id, so it takes its killed predecessor's deliveries at start.
        """
        base = api_base_url(api)
        distributed = api.mode == "distributed"
        return cls(
            store,
            api.webhook_secret,
            retries=api.webhook_retries,
            backoff_s=api.webhook_backoff_s,
            timeout_s=api.webhook_timeout_s,
            private_networks=api.webhook_private_networks,
            document=document or (lambda r: job_document(r, base)),
            sender_id=None if distributed else EMBEDDED_SENDER,
            lease_s=api.heartbeat_timeout_s,
            rescan_s=api.heartbeat_timeout_s / 2 if distributed else None,
        )

    def __enter__(self) -> WebhookSender:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def holding(self) -> frozenset[str]:
        """Ids of the jobs whose delivery this sender has claimed and not finished."""
        with self._cond:
            return frozenset(self._held)

    def start(self) -> None:
        """Queue the outstanding deliveries this sender may claim, then start the thread."""
        self._stopping = False
        self.recover()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and release the claims of the deliveries still waiting."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self._timeout + 2)
            self._thread = None
        with self._cond:
            waiting, self._heap, self._held = list(self._held), [], set()
        for job_id in waiting:
            try:
                self._store.mutate(job_id, self._release)
            except Exception:  # the claim then simply expires
                log.warning("could not release the webhook claim of %s", job_id, exc_info=True)

    def notify(self, job: JobRecord, job_json: dict[str, Any] | None = None) -> None:
        """Queue the job's final event for its callback_url (no-op without one, or when another
        sender already holds it). `job_json` defaults to the sender's document of the job."""
        if not job.webhook_outstanding:
            return
        data = job_json if job_json is not None else self._data(job)
        self._take(job.id, data)

    def recover(self) -> int:
        """Claim and queue the store's outstanding deliveries that are free, ours, or whose claim
        expired; mark those past this sender's retries (or refused) as given up. Returns how many
        were queued."""
        queued = 0
        for record in self._store.webhook_backlog():
            with self._cond:
                if record.id in self._held:
                    continue
            if self._claimable(record.webhook, time.time()) and self._take(record.id, None):
                queued += 1
        return queued

    # -- claims -----------------------------------------------------------------------------

    def _data(self, record: JobRecord) -> dict[str, Any]:
        """The event's job data: the document of the final job as it was before any delivery."""
        return self._document(record.model_copy(update={"webhook": None}))

    def _claimable(self, hook: WebhookStatus | None, t: float) -> bool:
        if hook is None or hook.claimed_by in (None, self.sender_id):
            return True
        return (hook.claimed_until or 0.0) <= t

    def _may_send(self, hook: WebhookStatus) -> bool:
        """Attempts left under this sender's retries, and not refused by the callback guard."""
        return hook.attempts <= self._retries and not (hook.last_error or "").startswith("refused:")

    def _due_at(self, hook: WebhookStatus, t: float) -> float:
        """Wall-clock time of the next attempt: now for a fresh event, else after the backoff."""
        if hook.attempts == 0 or hook.last_attempt_at is None:
            return t
        return max(t, hook.last_attempt_at + self._backoff * 2 ** (hook.attempts - 1))

    def _claim_until(self, due: float) -> float:
        return due + self._timeout + self._lease

    def _take(self, job_id: str, data: dict[str, Any] | None) -> bool:
        """Claim the job's delivery on its record and queue it; False when it is not ours to send."""
        with self._cond:
            if job_id in self._held or self._stopping:
                return False
            self._held.add(job_id)  # reserved before claiming: one queue entry per process
        try:
            record = self._claim(job_id)
            if record is None or record.webhook is None or record.webhook.given_up:
                self._let_go(job_id)
                return False
            self._push(record, data if data is not None else self._data(record))
            return True
        except BaseException:
            self._let_go(job_id)
            raise

    def _claim(self, job_id: str) -> JobRecord | None:
        """Atomically make this sender the holder of the job's delivery (or mark it given up)."""
        result: list[JobRecord] = []

        def claim(r: JobRecord) -> JobRecord | None:
            result.clear()
            t = time.time()
            if not r.webhook_outstanding or not self._claimable(r.webhook, t):
                return None
            hook = r.webhook or WebhookStatus(url=r.callback_url or "", event=f"video.{r.state}")
            if not self._may_send(hook):
                new = r.touch(
                    webhook=hook.model_copy(update={"given_up": True, "claimed_by": None, "claimed_until": None})
                )
            else:
                new = r.touch(
                    webhook=hook.model_copy(
                        update={
                            "event": hook.event or f"video.{r.state}",
                            "delivery_id": hook.delivery_id or new_delivery_id(),
                            "claimed_by": self.sender_id,
                            "claimed_until": self._claim_until(self._due_at(hook, t)),
                        }
                    )
                )
            result.append(new)
            return new

        self._store.mutate(job_id, claim)
        return result[0] if result else None

    def _release(self, r: JobRecord) -> JobRecord | None:
        if r.webhook is None or r.webhook.claimed_by != self.sender_id:
            return None
        return r.touch(webhook=r.webhook.model_copy(update={"claimed_by": None, "claimed_until": None}))

    def _push(self, record: JobRecord, data: dict[str, Any]) -> None:
        hook = record.webhook
        assert hook is not None and hook.event is not None and hook.delivery_id is not None
        t = time.time()
        due = time.monotonic() + max(0.0, self._due_at(hook, t) - t)
        body = event_body(hook.event, data, hook.delivery_id)
        d = _Delivery(due, record.id, hook.url, hook.event, body, hook.delivery_id, hook.attempts)
        with self._cond:
            heapq.heappush(self._heap, d)
            self._cond.notify_all()

    # -- the delivery thread ----------------------------------------------------------------

    def _run(self) -> None:
        next_scan = time.monotonic() + self._rescan if self._rescan else math.inf
        with httpx.Client(timeout=self._timeout, follow_redirects=False) as client:
            while True:
                delivery = self._next(next_scan)
                if delivery is None and self._stopping:
                    return
                if delivery is not None:
                    self._attempt_safely(client, delivery)
                if time.monotonic() >= next_scan:
                    try:
                        self.recover()
                    except Exception:  # e.g. Redis briefly away: try again at the next scan
                        log.warning("webhook rescan failed", exc_info=True)
                    next_scan = time.monotonic() + (self._rescan or math.inf)

    def _next(self, next_scan: float) -> _Delivery | None:
        """Wait for the next due delivery (or the next rescan, or stop); None when there is none."""
        with self._cond:
            while not self._stopping:
                t = time.monotonic()
                if (self._heap and self._heap[0].due <= t) or next_scan <= t:
                    break
                wake = min(self._heap[0].due if self._heap else math.inf, next_scan)
                self._cond.wait(timeout=None if wake == math.inf else wake - t)
            if self._stopping or not self._heap or self._heap[0].due > time.monotonic():
                return None
            return heapq.heappop(self._heap)

    def _attempt_safely(self, client: httpx.Client, d: _Delivery) -> None:
        try:
            self._attempt(client, d)
        except Exception:  # the store failed: drop it here; the claim expires and a rescan retries
            log.exception("webhook %s for %s: store error", d.event, d.job_id)
            self._let_go(d.job_id)

    def _still_mine(self, d: _Delivery) -> bool:
        """Renew the claim for one attempt; False when another sender took the delivery over."""
        renewed: list[bool] = []

        def renew(r: JobRecord) -> JobRecord | None:
            renewed.clear()
            hook = r.webhook
            if hook is None or hook.claimed_by != self.sender_id or hook.delivered or hook.given_up:
                return None
            renewed.append(True)
            return r.touch(webhook=hook.model_copy(update={"claimed_until": self._claim_until(time.time())}))

        self._store.mutate(d.job_id, renew)
        return bool(renewed)

    def _attempt(self, client: httpx.Client, d: _Delivery) -> None:
        if not self._still_mine(d):
            log.info("webhook %s for %s is held by another sender now; dropped here", d.event, d.job_id)
            self._let_go(d.job_id)
            return
        d.attempt += 1
        started = time.time()
        ok, blocked, status, error = self._post(client, d)
        log.info("webhook %s for %s attempt %d: %s", d.event, d.job_id, d.attempt, status or error)
        retry = not ok and not blocked and d.attempt <= self._retries
        next_due = started + self._backoff * 2 ** (d.attempt - 1)
        result = {
            "attempts": d.attempt,
            "delivered": ok,
            "given_up": not ok and not retry,
            "last_status": status,
            "last_error": error,
            "last_attempt_at": started,
        }
        mine = self._record(d, result, next_due if retry else None)
        if retry and mine:
            d.due = time.monotonic() + max(0.0, next_due - time.time())
            with self._cond:
                heapq.heappush(self._heap, d)
                self._cond.notify_all()
        else:
            self._let_go(d.job_id)

    def _record(self, d: _Delivery, result: dict[str, Any], next_due: float | None) -> bool:
        """Write an attempt's result; keep the claim until `next_due` (+ lease) or drop it when
        there is no next attempt. Returns whether the claim was still this sender's."""
        mine: list[bool] = []

        def record(r: JobRecord) -> JobRecord:
            mine.clear()
            hook = r.webhook or WebhookStatus(url=d.url, event=d.event, delivery_id=d.delivery_id)
            update = dict(result)
            if hook.claimed_by == self.sender_id:
                mine.append(True)
                until = self._claim_until(next_due) if next_due is not None else None
                update |= {"claimed_by": self.sender_id if until is not None else None, "claimed_until": until}
            return r.touch(webhook=hook.model_copy(update=update))

        self._store.mutate(d.job_id, record)
        return bool(mine)

    def _let_go(self, job_id: str) -> None:
        with self._cond:
            self._held.discard(job_id)

    def _post(self, client: httpx.Client, d: _Delivery) -> tuple[bool, bool, int | None, str | None]:
        """One POST: (ok, refused by the callback guard, HTTP status, error)."""
        try:
            check_callback_url(d.url, self._networks)  # again: the name may resolve elsewhere now
            response = client.post(
                d.url,
                content=d.body,
                headers={
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: sign(self._secret, d.body),
                    EVENT_HEADER: d.event,
                    DELIVERY_HEADER: d.delivery_id,
                    "User-Agent": "anchor-webhooks/1",
                },
            )
        except httpx.HTTPError as e:
            return False, False, None, f"{type(e).__name__}: {e}"
        except InputError as e:
            return False, True, None, f"refused: {e}"
        status = response.status_code
        ok = 200 <= status < 300
        return ok, False, status, None if ok else f"HTTP {status}"
