"""kill -9 the channel process while it speaks; on restart nothing queued is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from anchor.live.store import ScriptQueue
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
KEY = "crash-test-control-key"
LONG = "This story is long enough to be interrupted by a crash while it is being spoken on air. " * 3


def start_channel(channel_file: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "anchor", "live", str(channel_file)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def wait_for(client: httpx.Client, predicate, timeout: float = 60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            data = client.get("/now-playing").json()
            if predicate(data):
                return data
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the channel")


def test_sigkill_while_speaking_loses_nothing_and_replays_the_item(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "q.db"
    channel_file = tmp_path / "channel.yaml"
    channel_file.write_text(
        f"name: crash\nwidth: 320\nheight: 180\nqueue_db: {db}\noutputs: []\nrecover: replay\n"
        f"control: {{host: 127.0.0.1, port: {port}, api_key: {KEY}}}\n"
    )
    proc = start_channel(channel_file)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5, headers={"Authorization": f"Bearer {KEY}"})
    try:
        first = None
        wait_for(client, lambda d: True)
        first = client.post("/queue", json={"text": "Short opener."}).json()
        wait_for(
            client, lambda d: any(i["id"] == first["id"] for i in client.get("/queue?history=5").json()["history"])
        )
        victim = client.post("/queue", json={"text": LONG, "title": "victim"}).json()
        later = [client.post("/queue", json={"text": f"Later story {k}."}).json() for k in range(3)]
        wait_for(client, lambda d: (d["item"] or {}).get("id") == victim["id"] and d["position_s"] > 0.5)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()

    with ScriptQueue(db) as q:  # what the crash left on disk
        assert q.get(victim["id"]).state == "playing"
        assert all(q.get(i["id"]).state in ("queued", "preparing", "ready") for i in later)
        assert q.get(first["id"]).state == "played"

    proc = start_channel(channel_file)
    try:
        data = wait_for(client, lambda d: (d["item"] or {}).get("id") == victim["id"])
        assert data["item"]["attempts"] == 1  # replayed from its start
        assert data["position_s"] < 2.0
        ids = [i["id"] for i in client.get("/queue").json()["items"]]
        assert [i["id"] for i in later] == [i for i in ids if i != victim["id"]]
        history = client.get("/queue?history=10").json()["history"]
        assert first["id"] in [h["id"] for h in history]  # played history kept
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        client.close()
    assert proc.returncode == 0
