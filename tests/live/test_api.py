"""The channel control API over real HTTP (uvicorn on 127.0.0.1), with an API key."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from anchor.api.channel import channel_app
from anchor.api.server import ApiServer
from anchor.config import BUILTIN_AVATARS, Settings
from anchor.face.avatar import AvatarStore
from anchor.live.channel import Channel
from anchor.live.store import ScriptQueue
from anchor.program.pipeline import Pipeline
from streaming.clock import SystemClock
from streaming.frames import AudioChunk, VideoFrame
from streaming.outputs import OutputStatus, StateCallback
from tests.helpers import wait_until

KEY = "test-key-123"


class NullSink:
    """A network output that accepts everything and is always up (listed among the outputs)."""

    def __init__(self) -> None:
        self.frames = 0

    def write(self, frame: VideoFrame, audio: AudioChunk) -> None:
        self.frames += 1

    def close(self) -> None:
        pass

    def status(self) -> OutputStatus:
        return OutputStatus("null://127.0.0.1/live", "up", 0, self.frames, 0)

    def on_state(self, callback: StateCallback) -> None:
        pass


@pytest.fixture
def api(settings: Settings, tmp_path: Path) -> Iterator[tuple[httpx.Client, Channel]]:
    queue = ScriptQueue(tmp_path / "q.db")
    channel = Channel(
        Pipeline(settings), queue, AvatarStore(BUILTIN_AVATARS).load("default"),
        [NullSink()], SystemClock(), width=320, height=180,
    )  # fmt: skip
    with channel, ApiServer(channel_app(channel, KEY), "127.0.0.1", 0) as server:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{server.port}", headers={"Authorization": f"Bearer {KEY}"}, timeout=10
        ) as c:
            yield c, channel
    queue.close()


def test_control_endpoints_require_the_key(api) -> None:
    client, _ = api
    bare = httpx.Client(base_url=client.base_url, timeout=10)
    for method, path in [("GET", "/queue"), ("POST", "/say-now"), ("POST", "/pause"), ("GET", "/now-playing")]:
        r = bare.request(method, path, json={})
        assert r.status_code == 401 and "API key" in r.json()["error"]["message"]
    wrong = bare.get("/queue", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert bare.get("/metrics").status_code == 200  # scraping needs no key
    assert client.get("/queue").status_code == 200


def test_queue_crud_and_reorder(api) -> None:
    client, channel = api
    channel.pause()  # keep items in the queue while we edit it
    a = client.post("/queue", json={"text": "Story A.", "title": "A"}).json()
    b = client.post("/queue", json={"text": "Story B.", "title": "B"}).json()
    c = client.post("/queue", json={"text": "Story C.", "title": "C"}).json()
    ids = [i["id"] for i in client.get("/queue").json()["items"]]
    assert ids == [a["id"], b["id"], c["id"]]
    r = client.patch(f"/queue/{c['id']}", json={"before_id": a["id"]})
    assert r.status_code == 200
    assert [i["id"] for i in client.get("/queue").json()["items"]] == [c["id"], a["id"], b["id"]]
    assert client.patch(f"/queue/{b['id']}", json={"title": "B2"}).json()["title"] == "B2"
    assert client.delete(f"/queue/{a['id']}").status_code == 200
    assert client.get(f"/queue/{a['id']}").status_code == 404
    assert [i["id"] for i in client.get("/queue").json()["items"]] == [c["id"], b["id"]]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("POST", "/queue", {"text": ""}, 422, "text"),
        ("POST", "/queue", {"text": "hi", "mode": "sideways"}, 422, "mode"),
        ("POST", "/queue", {"text": "hi", "colour": "red"}, 422, "colour"),
        ("POST", "/say-now", {"text": "hi", "interrupt_at": "later"}, 422, "interrupt_at"),
        ("POST", "/say-now", {}, 422, "text"),
        ("GET", "/queue/9999", None, 404, "id"),
        ("PATCH", "/queue/9999", {"title": "x"}, 404, "id"),
    ],
)
def test_malformed_requests_get_a_clear_4xx(api, method: str, path: str, body, status: int, field: str) -> None:
    client, _ = api
    r = client.request(method, path, json=body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["field"] == field and err["status"] == status and err["message"]


def test_say_now_plays_and_events_stream_over_sse(api) -> None:
    client, channel = api
    events: list[tuple[str, dict]] = []
    ready = threading.Event()

    def listen() -> None:
        with httpx.Client(base_url=client.base_url, headers=client.headers, timeout=30) as c:
            with c.stream("GET", "/events") as r:
                kind = None
                for line in r.iter_lines():
                    if line.startswith(": connected"):
                        ready.set()
                    elif line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: ") and kind:
                        events.append((kind, json.loads(line[6:])))
                        if kind == "item.finished":
                            return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert ready.wait(10)
    item = client.post("/say-now", json={"text": "Breaking news."})
    assert item.status_code == 202 and item.json()["mode"] == "interrupt"
    wait_until(lambda: (client.get("/now-playing").json()["item"] or {}).get("id") == item.json()["id"])
    playing = client.get("/now-playing").json()
    assert playing["duration_s"] > 0.3 and playing["outputs"][0]["state"] == "up"
    t.join(20)
    item_events = [
        (k, d) for k, d in events if k.startswith("item.")
    ]  # channel.* events (e.g. degraded) may come between
    assert [k for k, _ in item_events[:2]] == ["item.started", "item.finished"]
    assert all(d["item_id"] == item.json()["id"] for _, d in item_events[:2])


def test_pause_holds_the_queue_and_resume_releases_it(api) -> None:
    client, channel = api
    assert client.post("/pause").json() == {"paused": True}
    item = client.post("/queue", json={"text": "Held."}).json()
    # prepared while paused; then a second of program frames, each of which would have put it on air
    wait_until(lambda: client.get(f"/queue/{item['id']}").json()["state"] == "ready")
    frames = channel.pacer.frames_sent
    wait_until(lambda: channel.pacer.frames_sent >= frames + 25)
    assert client.get(f"/queue/{item['id']}").json()["state"] == "ready"
    assert client.get("/now-playing").json()["paused"] is True
    client.post("/resume")
    wait_until(lambda: client.get(f"/queue/{item['id']}").json()["state"] == "played")


def test_metrics_expose_the_channel_counters(api) -> None:
    client, channel = api
    wait_until(lambda: channel.pacer.frames_sent > 0)
    text = client.get("/metrics").text
    for name in (
        "anchor_frames_sent_total", "anchor_late_frames_total", "anchor_dropped_frames_total",
        "anchor_av_pts_max_diff_seconds", "anchor_queue_depth", "anchor_rss_bytes", "anchor_output_up",
        "anchor_output_reconnects_total",
    ):  # fmt: skip
        assert name in text, name
    sent = [float(line.split()[-1]) for line in text.splitlines() if line.startswith("anchor_frames_sent_total")]
    assert sent and sent[0] > 0
    rss = [float(line.split()[-1]) for line in text.splitlines() if line.startswith("anchor_rss_bytes")]
    assert rss[0] > 10e6


def test_skip_and_delete_stop_the_item_on_air(api) -> None:
    client, channel = api
    r = client.post("/skip")
    assert r.status_code == 409 and r.json()["error"]["message"] == "nothing is on air to skip"
    first = client.post("/queue", json={"text": "A long story about the harbour and the ships. " * 6}).json()
    second = client.post("/queue", json={"text": "Another long story about the weather at sea. " * 6}).json()
    wait_until(lambda: (client.get("/now-playing").json()["item"] or {}).get("id") == first["id"])
    r = client.post("/skip")
    assert r.status_code == 200 and r.json() == {"skipped": first["id"]}
    wait_until(lambda: (client.get("/now-playing").json()["item"] or {}).get("id") == second["id"])
    r = client.delete(f"/queue/{second['id']}")
    assert r.status_code == 200 and r.json()["stopping"] is True
    wait_until(lambda: client.get(f"/queue/{second['id']}").json()["state"] == "skipped")
    assert client.get(f"/queue/{first['id']}").json()["reason"] == "skipped by operator"
