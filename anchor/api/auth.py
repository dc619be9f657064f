"""API keys (bearer tokens) and the per-key rate limit on job creation."""

from __future__ import annotations

import hmac
import math
import threading
import time
from dataclasses import dataclass

from fastapi import Request

from anchor.api.errors import ApiError


@dataclass(frozen=True)
class Principal:
    """Who is calling: the configured name of their API key ("" when keys are off)."""

    key_name: str


def require_key(request: Request) -> Principal:
    """FastAPI dependency: the caller's key, or 401. With no keys configured everyone is let in."""
    keys: dict[str, str] = request.app.state.settings.api.keys
    if not keys:
        return Principal("")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="anchor"'}
    if not header:
        raise ApiError(401, "an API key is required: send 'Authorization: Bearer <key>'", field="Authorization", headers=challenge)
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "the Authorization header must be 'Bearer <key>'", field="Authorization", headers=challenge)
    token = token.strip()
    for name, secret in keys.items():
        if hmac.compare_digest(token.encode(), secret.encode()):
            return Principal(name)
    raise ApiError(401, "this API key is not valid", field="Authorization", headers=challenge)


class RateLimiter:
    """A token bucket per key: `burst` requests at once, refilled at `per_minute` per minute."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        """Spend one token for `key`, or raise a 429 ApiError saying when to retry."""
        t = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self._burst, t))
            tokens = min(self._burst, tokens + (t - last) * self._rate)
            if tokens < 1.0:
                wait = math.ceil((1.0 - tokens) / self._rate)
                self._buckets[key] = (tokens, t)
                raise ApiError(
                    429,
                    f"too many videos requested with this key; try again in {wait} s",
                    field="Authorization",
                    headers={"Retry-After": str(wait)},
                )
            self._buckets[key] = (tokens - 1.0, t)
