"""Real outages under a real `anchor serve` (issue 15, item 5): a full disk (a small tmpfs this test
mounts) and Redis hanging, then gone, then back. Every answer is JSON, outages are 503 with
Retry-After, /healthz and /readyz say what is down, and the server recovers without a restart.
Also: idempotent replays are not charged to the rate limit (item 8)."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import signal
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from api_harness import ApiServer, RedisServer, wait_for, write_config

KEY = "outage-key-1"


def json_error(r, status: int) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json"), r.text
    err = r.json()["error"]
    assert err["status"] == status and err["message"]
    if status == 503:
        assert int(r.headers["retry-after"]) >= 1
    return err


def speech_like_wav(seconds: float, rate: int = 48000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    tone = (0.3 * 32767 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(tone.tobytes())
    return buf.getvalue()


@contextlib.contextmanager
def small_disk(where: Path, size_mb: int) -> Iterator[Path]:
    """A tmpfs of `size_mb` mounted at `where` (root only), unmounted after."""
    if os.geteuid() != 0:
        pytest.fail("the disk-full test mounts a tmpfs and must run as root (as CI does)", pytrace=False)
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Write a filler file until the disk is full; returns it."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb") as f:
        while True:
            try:
                f.write(chunk)
                f.flush()
            except OSError as e:
                assert e.errno == errno.ENOSPC
                break
    return filler


def test_a_full_disk_is_a_json_503_and_deleting_a_video_frees_room(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", 12) as disk:
        config = write_config(
            tmp_path / "c.yaml",
            {"storage_dir": str(disk / "storage"), "keys": {"k": KEY}, "workers": 1, "min_free_mb": 1},
        )
        srv = ApiServer(config, tmp_path / "serve.log")
        try:
            with srv.client(KEY) as c:
                big = c.post("/v1/videos", files={"audio": ("a.wav", speech_like_wav(16), "audio/wav")})  # 1.5 MB
                assert big.status_code == 202, big.text
                c.post(f"/v1/videos/{big.json()['id']}/cancel")
                wait_for(lambda: c.get(f"/v1/videos/{big.json()['id']}").json()["state"] == "cancelled")
                jobs_dir = disk / "storage" / "jobs"
                before = sorted(p.name for p in jobs_dir.iterdir())
                filler = fill(disk)

                err = json_error(c.post("/v1/videos", json={"text": "Good evening."}), 503)
                assert err["code"] == "storage_full" and "full" in err["message"]
                err = json_error(c.post("/v1/videos", files={"audio": ("a.wav", speech_like_wav(1), "audio/wav")}), 503)
                assert err["code"] == "storage_full"
                assert sorted(p.name for p in jobs_dir.iterdir()) == before  # nothing stored
                assert not [p for p in jobs_dir.rglob("*.part") if p.parent.name != big.json()["id"]]
                health = c.get("/healthz").json()
                assert health["status"] == "degraded" and health["checks"]["storage"].startswith("full")
                assert json_error(c.get("/readyz"), 503)["field"] == "storage"
                assert c.get("/v1/videos").status_code == 200  # reading still works

                # space can be freed through the API: the files go first, then the record
                assert c.delete(f"/v1/videos/{big.json()['id']}").status_code == 204
                assert c.get(f"/v1/videos/{big.json()['id']}").status_code == 404
                small = c.post("/v1/videos", json={"text": "Good evening.", "captions": False})
                assert small.status_code == 202, small.text  # recovered, no restart
                assert c.get("/readyz").status_code == 200
                c.post(f"/v1/videos/{small.json()['id']}/cancel")
                filler.unlink()
        finally:
            srv.proc.stop()


def test_redis_hanging_then_gone_then_back_is_503_json_and_recovers(tmp_path: Path) -> None:
    redis_server = RedisServer(tmp_path)
    config = write_config(
        tmp_path / "c.yaml",
        {
            "mode": "distributed",
            "storage_dir": str(tmp_path / "shared"),
            "redis_url": redis_server.url,
            "redis_namespace": "anchor-outage",
            "keys": {"k": KEY},
        },
    )
    srv = ApiServer(config, tmp_path / "serve.log")
    try:
        with srv.client(KEY) as c:
            job = c.post("/v1/videos", json={"text": "Queued before the outage."}).json()  # no worker: stays queued
            assert c.get("/readyz").json()["checks"]["redis"] == "ok"

            os.kill(redis_server.proc.pid, signal.SIGSTOP)  # Redis hangs: only a socket timeout gets us out
            try:
                err = json_error(c.get(f"/v1/videos/{job['id']}"), 503)
                assert "Redis" in err["message"]
                json_error(c.post("/v1/videos", json={"text": "During the outage."}), 503)
                json_error(c.get("/v1/videos"), 503)
                health = c.get("/healthz")
                assert health.status_code == 200 and health.json()["status"] == "degraded"
                assert health.json()["checks"]["redis"].startswith("down")
                assert json_error(c.get("/readyz"), 503)["field"] == "redis"
            finally:
                os.kill(redis_server.proc.pid, signal.SIGCONT)
            assert c.get(f"/v1/videos/{job['id']}").json()["state"] == "queued"  # the same data, no restart
            assert c.get("/healthz").json()["status"] == "ok"

            redis_server.proc.kill()  # Redis gone: connection refused
            json_error(c.get(f"/v1/videos/{job['id']}"), 503)
            json_error(c.delete(f"/v1/videos/{job['id']}"), 503)
            redis_server = RedisServer(tmp_path, port=redis_server.port)  # back, empty (no persistence)
            wait_for(lambda: c.get("/readyz").status_code == 200, timeout=20, what="readiness after Redis returned")
            assert c.get(f"/v1/videos/{job['id']}").status_code == 404
            again = c.post("/v1/videos", json={"text": "After the outage."})
            assert again.status_code == 202, again.text
    finally:
        srv.proc.stop()
        redis_server.proc.stop()


def test_idempotent_replays_are_not_charged_to_the_rate_limit(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.yaml",
        {
            "storage_dir": str(tmp_path / "store"),
            "keys": {"k": KEY},
            "rate_limit_per_minute": 1,
            "rate_limit_burst": 2,
        },
    )
    srv = ApiServer(config, tmp_path / "serve.log")
    try:
        with srv.client(KEY) as c:
            body = {"text": "One bulletin, asked for many times.", "captions": False}
            first = c.post("/v1/videos", json=body, headers={"Idempotency-Key": "bulletin-1"})
            assert first.status_code == 202, first.text
            for _ in range(10):  # a client retrying through a flaky network
                r = c.post("/v1/videos", json=body, headers={"Idempotency-Key": "bulletin-1"})
                assert r.status_code == 200 and r.json()["id"] == first.json()["id"], r.text
                assert r.headers["idempotent-replayed"] == "true"
            conflict = c.post("/v1/videos", json={"text": "Something else."}, headers={"Idempotency-Key": "bulletin-1"})
            json_error(conflict, 409)
            assert c.post("/v1/videos", json={"text": "A second story.", "captions": False}).status_code == 202
            err = json_error(c.post("/v1/videos", json={"text": "A third story."}), 429)  # the burst of 2 is spent
            assert err["field"] == "Authorization"
            assert c.get("/v1/videos").json()["total"] == 2
    finally:
        srv.proc.stop()
