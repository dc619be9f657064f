"""API keys (bearer tokens) and the per-key rate limit on job creation.

The limit is a token bucket per key: `RateLimiter` keeps it in the API process (embedded mode);
`RedisRateLimiter` keeps it in Redis, updated by one Lua script, so every API process of a
distributed deployment spends from the same budget. `make_rate_limiter` picks by `api.mode`.
"""

from __future__ import annotations

import hmac
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import redis
from fastapi import Request

from anchor.api.errors import ApiError

if TYPE_CHECKING:
    from anchor.config import ApiSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the configured name of their API key ("" when keys are off), and whether
    it is an admin key (everyone is, when keys are off)."""

    key_name: str
    admin: bool = False


CHALLENGE = {"WWW-Authenticate": 'Bearer realm="anchor"'}


class KeyRing:
    """Named bearer keys (name -> secret) and the one check every HTTP surface uses.

    The key comes as `Authorization: Bearer <key>`; `X-API-Key` and, where `allow_query`, a
    `?key=` parameter (browsers' EventSource cannot send headers) are accepted too. With no
    keys configured everyone is let in as Principal("").
    """

    def __init__(self, keys: Mapping[str, str], *, allow_query: bool = False, admins: Iterable[str] = ()) -> None:
        self.keys = dict(keys)
        self.allow_query = allow_query
        self.admins = frozenset(admins)

    def check(self, request: Request) -> Principal:
        """The caller's key, or a 401 ApiError saying what to send."""
        if not self.keys:
            return Principal("", admin=True)
        header = request.headers.get("authorization", "")
        token = request.headers.get("x-api-key", "")
        if not token and self.allow_query:
            token = request.query_params.get("key", "")
        if header:
            scheme, _, given = header.partition(" ")
            if scheme.lower() != "bearer" or not given.strip():
                raise ApiError(
                    401, "the Authorization header must be 'Bearer <key>'", field="Authorization", headers=CHALLENGE
                )
            token = given.strip()
        if not token:
            raise ApiError(
                401,
                "an API key is required: send 'Authorization: Bearer <key>'",
                field="Authorization",
                headers=CHALLENGE,
            )
        for name, secret in self.keys.items():
            if hmac.compare_digest(token.encode(), secret.encode()):
                return Principal(name, admin=name in self.admins)
        raise ApiError(401, "this API key is not valid", field="Authorization", headers=CHALLENGE)

    def dependency(self) -> Callable[[Request], Principal]:
        """The check as a FastAPI dependency."""

        def require(request: Request) -> Principal:
            return self.check(request)

        return require


def require_key(request: Request) -> Principal:
    """FastAPI dependency of the job API: the caller's key (from `api.keys`), or 401."""
    api = request.app.state.settings.api
    return KeyRing(api.keys, admins=api.admin_keys).check(request)


class Limiter(Protocol):
    """Spends one creation (of videos, or of `what`) from a key's budget."""

    def take(self, key: str, what: str = "videos") -> None:
        """Return when allowed; raise ApiError (429, or 503 when the limit cannot be checked).
        Each `what` has its own bucket per key."""
        ...


def too_many(wait: int, what: str = "videos") -> ApiError:
    """The 429 answer, with Retry-After in whole seconds."""
    return ApiError(
        429,
        f"too many {what} requested with this key; try again in {wait} s",
        field="Authorization",
        headers={"Retry-After": str(wait)},
    )


def _bucket(key: str, what: str) -> str:
    return key if what == "videos" else f"{what}:{key}"


def make_rate_limiter(api: ApiSettings) -> Limiter:
    """Shared through Redis in distributed mode, in-process in embedded mode."""
    if api.mode == "distributed":
        return RedisRateLimiter.from_settings(api)
    return RateLimiter(api.rate_limit_per_minute, api.rate_limit_burst)


class RateLimiter:
    """A token bucket per key: `burst` requests at once, refilled at `per_minute` per minute.
    Counts in this process only."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, what: str = "videos") -> None:
        """Spend one token for `key`, or raise a 429 ApiError saying when to retry."""
        t = time.monotonic()
        bucket = _bucket(key, what)
        with self._lock:
            tokens, last = self._buckets.get(bucket, (self._burst, t))
            tokens = min(self._burst, tokens + (t - last) * self._rate)
            if tokens < 1.0:
                self._buckets[bucket] = (tokens, t)
                raise too_many(math.ceil((1.0 - tokens) / self._rate), what)
            self._buckets[bucket] = (tokens - 1.0, t)


# KEYS[1]: the key's bucket (a hash: tokens, ts); ARGV: refill per second, burst.
# Redis's own clock, so API hosts need not agree on the time. Returns {1} when a token was
# spent, else {0, "<seconds until one is back>"} (a string: Lua numbers become integers).
TOKEN_BUCKET_LUA = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
if allowed == 1 then return {1} end
return {0, tostring((1 - tokens) / rate)}
"""


class RedisRateLimiter:
    """The same token bucket per key, kept in Redis (`<ns>:ratelimit:<key name>`) so that all
    API processes share it. When Redis cannot be asked, job creation answers 503: the limit is
    never skipped silently."""

    def __init__(self, client: redis.Redis, namespace: str, per_minute: float, burst: int) -> None:
        self._r = client
        self._ns = namespace
        self._rate = per_minute / 60.0
        self._burst = burst
        self._script = client.register_script(TOKEN_BUCKET_LUA)

    @classmethod
    def from_settings(cls, api: ApiSettings) -> RedisRateLimiter:
        """A limiter on `api.redis_url` / `api.redis_namespace`; short timeouts, so an unreachable
        Redis turns into a quick 503 rather than a hanging request."""
        client = redis.Redis.from_url(api.redis_url, socket_connect_timeout=2, socket_timeout=2)
        return cls(client, api.redis_namespace, api.rate_limit_per_minute, api.rate_limit_burst)

    def take(self, key: str, what: str = "videos") -> None:
        """Spend one token for `key` atomically in Redis; 429 when none is left, 503 without Redis."""
        try:
            answer = self._script(
                keys=[f"{self._ns}:ratelimit:{_bucket(key, what)}"], args=[repr(self._rate), self._burst]
            )
        except redis.RedisError as e:
            log.warning("rate limit check failed: %s: %s", type(e).__name__, e)
            raise ApiError(
                503,
                f"the shared rate limit cannot be checked because Redis does not answer ({type(e).__name__}); "
                f"no {what.rstrip('s')} was created, try again shortly",
                headers={"Retry-After": "5"},
            ) from None
        if not int(answer[0]):
            raise too_many(max(1, math.ceil(float(answer[1]))), what)
