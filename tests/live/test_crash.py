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
from tests.helpers import PortTaken, start_on_free_port, wait_listening

ROOT = Path(__file__).resolve().parents[2]
KEY = "crash-test-control-key"
LONG = "This story is long enough to be interrupted by a crash while it is being spoken on air. " * 3


def start_channel(channel_file: Path, body: str) -> tuple[subprocess.Popen[bytes], httpx.Client]:
    """`anchor live` on a fresh control port (another one if it was taken); a client for it."""

    def start(port: int) -> tuple[subprocess.Popen[bytes], int]:
        channel_file.write_text(body + f"control: {{host: 127.0.0.1, port: {port}, api_key: {KEY}}}\n")
        log = channel_file.with_name(f"live-{port}.log")
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "anchor", "live", str(channel_file)], cwd=ROOT, stdout=out, stderr=out
            )
        try:
            wait_listening(
                proc.pid, port, lambda: proc.poll() is None, lambda: log.read_text(errors="replace"), "anchor live"
            )
        except (PortTaken, RuntimeError):
            proc.kill()
            proc.wait(10)
            raise
        return proc, port

    proc, port = start_on_free_port(start)
    return proc, httpx.Client(
        base_url=f"http://127.0.0.1:{port}", timeout=5, headers={"Authorization": f"Bearer {KEY}"}
    )


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
    db = tmp_path / "q.db"
    channel_file = tmp_path / "channel.yaml"
    body = f"name: crash\nwidth: 320\nheight: 180\nqueue_db: {db}\noutputs: []\nrecover: replay\n"
    proc, client = start_channel(channel_file, body)
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
        client.close()

    with ScriptQueue(db) as q:  # what the crash left on disk
        assert q.get(victim["id"]).state == "playing"
        assert all(q.get(i["id"]).state in ("queued", "preparing", "ready") for i in later)
        assert q.get(first["id"]).state == "played"

    proc, client = start_channel(channel_file, body)  # on a fresh port: the old one may be taken by now
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
