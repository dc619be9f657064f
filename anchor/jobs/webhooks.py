"""Job event webhooks: POST the finished job to its callback_url, signed, retried with backoff.

The body is the job as JSON inside an event envelope; the header
`X-Anchor-Signature: sha256=<hex>` is HMAC-SHA256 over the exact body bytes with the
configured secret. Receivers verify it with `verify_signature`. Delivery state (attempts,
last status) is written to the job record, so polling shows it too.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from anchor.errors import InputError
from anchor.jobs.callback_guard import check_callback_url, parse_networks
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
    return bool(header) and hmac.compare_digest(sign(secret, body), header)


def event_body(event: str, job: dict[str, Any], delivery_id: str) -> bytes:
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


class WebhookSender:
    """Owns one thread that delivers events, retrying failures after backoff·2^n seconds.

    Use as a context manager (or start()/stop()). Events still pending at stop() are dropped;
    their state stays visible on the job record.
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
    ) -> None:
        self._store = store
        self._networks = parse_networks(private_networks)
        self._secret = secret
        self._retries = retries
        self._backoff = backoff_s
        self._timeout = timeout_s
        self._heap: list[_Delivery] = []
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, store: JobStore, api: ApiSettings) -> WebhookSender:
        """A sender configured by the `api` settings (secret, retries, backoff, timeout, networks)."""
        return cls(
            store,
            api.webhook_secret,
            retries=api.webhook_retries,
            backoff_s=api.webhook_backoff_s,
            timeout_s=api.webhook_timeout_s,
            private_networks=api.webhook_private_networks,
        )

    def __enter__(self) -> WebhookSender:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self._timeout + 2)
            self._thread = None

    def notify(self, job: JobRecord, job_json: dict[str, Any]) -> None:
        """Queue the job's final event for its callback_url (no-op without one)."""
        if not job.callback_url:
            return
        event = f"video.{job.state}"
        delivery_id = "evt_" + secrets.token_hex(8)
        body = event_body(event, job_json, delivery_id)
        self._store.mutate(job.id, lambda r: r.touch(webhook=WebhookStatus(url=job.callback_url or "", event=event)))
        with self._cond:
            heapq.heappush(self._heap, _Delivery(time.monotonic(), job.id, job.callback_url, event, body, delivery_id))
            self._cond.notify_all()

    def _run(self) -> None:
        with httpx.Client(timeout=self._timeout, follow_redirects=False) as client:
            while True:
                with self._cond:
                    while not self._stopping and (not self._heap or self._heap[0].due > time.monotonic()):
                        wait = self._heap[0].due - time.monotonic() if self._heap else None
                        self._cond.wait(timeout=wait)
                    if self._stopping:
                        return
                    delivery = heapq.heappop(self._heap)
                self._attempt(client, delivery)

    def _attempt(self, client: httpx.Client, d: _Delivery) -> None:
        d.attempt += 1
        status: int | None = None
        error: str | None = None
        blocked = False
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
            status = response.status_code
            ok = 200 <= status < 300
            if not ok:
                error = f"HTTP {status}"
        except httpx.HTTPError as e:
            ok = False
            error = f"{type(e).__name__}: {e}"
        except InputError as e:
            ok, blocked = False, True
            error = f"refused: {e}"
        log.info("webhook %s for %s attempt %d: %s", d.event, d.job_id, d.attempt, status or error)

        def record(r: JobRecord) -> JobRecord:
            hook = (r.webhook or WebhookStatus(url=d.url, event=d.event)).model_copy(
                update={"attempts": d.attempt, "delivered": ok, "last_status": status, "last_error": error}
            )
            return r.touch(webhook=hook)

        self._store.mutate(d.job_id, record)
        if not ok and not blocked and d.attempt <= self._retries:
            d.due = time.monotonic() + self._backoff * 2 ** (d.attempt - 1)
            with self._cond:
                heapq.heappush(self._heap, d)
                self._cond.notify_all()
