"""Announcing a rendered bulletin by webhook: a signed JSON POST through the address guard.

The body and headers follow the job API's webhooks (X-Anchor-Event, X-Anchor-Delivery,
X-Anchor-Signature: "sha256=" + HMAC-SHA256 of the body), so one receiver handles both.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from anchor import netguard
from anchor.errors import InputError
from anchor.feeds.errors import FeedError
from anchor.feeds.fetch import guarded_transport
from anchor.netguard import Network

EVENT = "bulletin.rendered"


def signature(secret: str, body: bytes) -> str:
    """The X-Anchor-Signature value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def announce(
    url: str,
    data: dict[str, Any],
    *,
    secret: str | None = None,
    allowed: Sequence[Network] = (),
    attempts: int = 3,
    backoff_s: float = 1.0,
    timeout_s: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """POST the event; returns the HTTP status of the accepted attempt. FeedError after `attempts`
    failures, or at once when the address is refused."""
    delivery = uuid.uuid4().hex
    body = json.dumps({"id": delivery, "type": EVENT, "created_at": time.time(), "data": data}, separators=(",", ":"))
    raw = body.encode()
    headers = {"Content-Type": "application/json", "X-Anchor-Event": EVENT, "X-Anchor-Delivery": delivery}
    if secret:
        headers["X-Anchor-Signature"] = signature(secret, raw)
    try:
        netguard.check_url(url, allowed, field="webhook", allow_hint="feeds.allow_networks")
    except InputError as e:
        raise FeedError(str(e), kind="refused", retryable=False) from e
    error = "no attempt"
    with httpx.Client(transport=guarded_transport(allowed), trust_env=False, follow_redirects=False) as client:
        for attempt in range(attempts):
            if attempt:
                sleep(backoff_s * 2 ** (attempt - 1))
            try:
                r = client.post(url, content=raw, headers=headers, timeout=timeout_s)
            except httpx.HTTPError as e:
                error = f"{type(e).__name__}: {e}"
                continue
            if 200 <= r.status_code < 300:
                return r.status_code
            error = f"HTTP {r.status_code}"
            if r.status_code < 500 and r.status_code != 429:
                break
    raise FeedError(f"webhook {url}: {error}", kind="http")
