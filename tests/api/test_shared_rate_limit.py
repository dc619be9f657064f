"""Distributed mode: the per-key rate limit is one budget in Redis shared by every API process;
without Redis, job creation answers 503 instead of skipping the limit."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from api_harness import KEYS, ApiServer, RedisServer, write_config

from anchor.api.auth import RateLimiter, RedisRateLimiter, make_rate_limiter
from anchor.api.errors import ApiError
from anchor.config import ApiSettings
from tests.helpers import free_port

SLOW_REFILL = 0.6  # per minute: one token back every 100 s, so none comes back during a test


@pytest.fixture()
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    yield server
    server.proc.stop()


def limiter(url: str, namespace: str, burst: int = 5) -> RedisRateLimiter:
    """A limiter with its own Redis connection, as one API process has."""
    return RedisRateLimiter(redis.Redis.from_url(url), namespace, SLOW_REFILL, burst)


def outcome(lim: RedisRateLimiter | RateLimiter, key: str) -> ApiError | None:
    try:
        lim.take(key)
    except ApiError as e:
        return e
    return None


def test_two_limiters_share_one_budget_per_key(redis_server: RedisServer) -> None:
    namespace = "rl-" + secrets.token_hex(4)
    a, b = limiter(redis_server.url, namespace), limiter(redis_server.url, namespace)
    results = [outcome(lim, "alice") for _ in range(6) for lim in (a, b)]
    assert [r is None for r in results] == [True] * 5 + [False] * 7, "5 in all, not 5 per process"
    refused = results[5]
    assert refused is not None and refused.status == 429 and refused.field == "Authorization"
    assert str(refused).startswith("too many videos requested with this key; try again in")
    wait = int(refused.headers["Retry-After"])
    assert 60 < wait <= 100, "the next token is about 100 s away at 0.6 per minute"
    assert outcome(a, "bob") is None and outcome(b, "bob") is None, "another key has its own budget"
    assert outcome(limiter(redis_server.url, "other-" + namespace), "alice") is None, "namespaces do not mix"

    # the in-process limiter of embedded mode still counts per process
    local = [RateLimiter(SLOW_REFILL, 5), RateLimiter(SLOW_REFILL, 5)]
    assert sum(outcome(lim, "alice") is None for _ in range(6) for lim in local) == 10


def test_unreachable_redis_refuses_with_503() -> None:
    api = ApiSettings(mode="distributed", redis_url=f"redis://127.0.0.1:{free_port()}/0")
    lim = make_rate_limiter(api)
    assert isinstance(lim, RedisRateLimiter)
    err = outcome(lim, "alice")
    assert err is not None and err.status == 503
    assert "Redis does not answer" in str(err) and "no video was created" in str(err)
    assert isinstance(make_rate_limiter(ApiSettings()), RateLimiter), "embedded mode keeps the in-process limiter"


def test_two_api_processes_share_the_limit_and_answer_503_without_redis(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    servers: list[ApiServer] = []
    try:
        for i in range(2):
            config = write_config(
                tmp_path / f"c{i}.yaml",
                {
                    "mode": "distributed",
                    "storage_dir": str(tmp_path / "shared"),
                    "redis_url": redis_server.url,
                    "redis_namespace": "rl-api",
                    "keys": KEYS,
                    "rate_limit_per_minute": SLOW_REFILL,
                    "rate_limit_burst": 4,
                },
            )
            servers.append(ApiServer(config, tmp_path / f"serve{i}.log"))
        clients = [s.client(KEYS["limited"]) for s in servers]
        # an empty text passes the limiter and is then refused (422): nothing is queued
        codes = [c.post("/v1/videos", json={"text": ""}).status_code for _ in range(4) for c in clients]
        assert codes == [422] * 4 + [429] * 4, "4 accepted across both processes, then both refuse"
        r = clients[0].post("/v1/videos", json={"text": ""})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        error = r.json()["error"]
        assert (error["status"], error["code"], error["field"]) == (429, "rate_limited", "Authorization")
        assert error["message"].startswith("too many videos requested with this key")
        with servers[1].client(KEYS["alice"]) as alice:
            assert alice.post("/v1/videos", json={"text": ""}).status_code == 422, "other keys are not affected"

        redis_server.proc.stop()
        r = clients[1].post("/v1/videos", json={"text": ""})
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "unavailable" and "Redis does not answer" in r.json()["error"]["message"]
        for c in clients:
            c.close()
    finally:
        for s in servers:
            s.proc.stop()
