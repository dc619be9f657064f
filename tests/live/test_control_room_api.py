"""What the control room reads from the channel API: pickers, the queue forecast, the channel's
state, the meter on the event stream and its end when the channel stops."""

from __future__ import annotations

import io
import json
import threading
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pytest

from anchor.api.channel import channel_app
from anchor.api.server import ApiServer
from anchor.config import BUILTIN_AVATARS, Settings
from anchor.face.avatar import AvatarStore
from anchor.live.channel import Channel
from anchor.live.media import MediaRoots
from anchor.live.store import ScriptQueue
from anchor.program.pipeline import Pipeline
from streaming.clock import SystemClock
from streaming.frames import AudioChunk, VideoFrame
from tests.helpers import free_port, wait_until

KEY = "room-key"


class FailingSink:
    """A sink that breaks (as an encoder might) once told to."""

    def __init__(self) -> None:
        self.broken = threading.Event()

    def write(self, frame: VideoFrame, audio: AudioChunk) -> None:
        if self.broken.is_set():
            raise RuntimeError("the encoder broke")

    def close(self) -> None:
        pass


@dataclass
class Room:
    client: httpx.Client
    channel: Channel
    sink: FailingSink
    streams: list[threading.Thread] = field(default_factory=list)


@pytest.fixture
def room(settings: Settings, tmp_path: Path) -> Iterator[Room]:
    queue = ScriptQueue(tmp_path / "q.db")
    sink = FailingSink()
    channel = Channel(
        Pipeline(settings), queue, AvatarStore(BUILTIN_AVATARS).load("default"), [sink], SystemClock(),
        width=320, height=180, media=MediaRoots(uploads=tmp_path / "uploads"),
    )  # fmt: skip
    port = free_port()
    with channel, ApiServer(channel_app(channel, KEY), "127.0.0.1", port):
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {KEY}"}, timeout=10
        ) as c:
            yield Room(c, channel, sink)
    queue.close()


def read_events(client: httpx.Client, path: str, into: list[tuple[str, dict]], connected: threading.Event) -> None:
    """Collect (kind, data) of an SSE stream until the server ends it."""
    with httpx.Client(base_url=client.base_url, headers=client.headers, timeout=30) as c:
        with c.stream("GET", path) as r:
            kind = None
            for line in r.iter_lines():
                if line.startswith(": connected"):
                    connected.set()
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind:
                    into.append((kind, json.loads(line[6:])))


def test_pickers_list_the_avatars_and_voices(room: Room) -> None:
    avatars = room.client.get("/avatars").json()
    assert avatars["default"] == "default"
    assert {"name": "default", "kind": "photo"}.items() <= avatars["avatars"][0].items()
    voices = room.client.get("/voices").json()
    assert "en" in voices["languages"]
    assert voices["voices"] and {"id", "language", "name", "backend"} <= voices["voices"][0].keys()
    assert httpx.get(f"{room.client.base_url}/voices").status_code == 401  # behind the control key


def test_the_queue_says_how_long_each_item_lasts_and_when_it_starts(room: Room) -> None:
    c = room.client
    c.post("/pause")
    long_text = " ".join(f"Sentence {n} of the first story." for n in range(1, 12))
    first = c.post("/queue", json={"text": long_text}).json()
    second = c.post("/queue", json={"text": "Second story."}).json()
    c.post("/queue", json={"text": "A massacre was reported."})  # held: no start
    c.post("/queue", json={"text": "Every hour.", "recurrence": {"hourly_at_minute": 5, "timezone": "Europe/Berlin"}})
    wait_until(lambda: all(i["preparation"] for i in c.get("/queue").json()["items"] if i["state"] != "held"))
    listing = c.get("/queue").json()
    items = {i["id"]: i for i in listing["items"]}
    assert listing["paused"] is True
    assert items[first["id"]]["duration_s"] > 0 and items[first["id"]]["starts_in_s"] is None  # paused
    assert [t["recurrence"]["hourly_at_minute"] for t in listing["templates"]] == [5]
    held = next(i for i in listing["items"] if i["state"] == "held")
    assert "expected_start_at" not in held
    c.post("/resume")
    wait_until(lambda: (c.get("/now-playing").json()["item"] or {}).get("id") == first["id"])
    items = {i["id"]: i for i in c.get("/queue").json()["items"]}
    assert items[first["id"]]["state"] == "playing" and items[first["id"]]["starts_in_s"] <= 0
    assert items[second["id"]]["starts_in_s"] > 0  # after the rest of the long story
    assert items[second["id"]]["expected_start_at"] > items[first["id"]]["expected_start_at"]


def test_the_channel_state_is_running_then_stopped(room: Room) -> None:
    c = room.client
    assert c.get("/now-playing").json()["channel"] == {"state": "running", "error": None}
    room.channel.stop()
    assert c.get("/now-playing").json()["channel"] == {"state": "stopped", "error": None}
    assert c.get("/healthz").json()["state"] == "stopped"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the air loop re-raises, by design
def test_a_channel_stopped_by_an_error_says_so(room: Room) -> None:
    room.sink.broken.set()
    wait_until(lambda: room.client.get("/now-playing").json()["channel"]["state"] == "failed", timeout=20)
    assert room.client.get("/now-playing").json()["channel"]["error"] == "the encoder broke"


def test_the_event_stream_carries_the_meter_and_ends_with_channel_stopped(room: Room) -> None:
    metered: list[tuple[str, dict]] = []
    plain: list[tuple[str, dict]] = []
    connected = [threading.Event(), threading.Event()]
    readers = [
        threading.Thread(target=read_events, args=(room.client, "/events?meter=true", metered, connected[0])),
        threading.Thread(target=read_events, args=(room.client, "/events", plain, connected[1])),
    ]
    for t in readers:
        t.start()
    assert all(e.wait(10) for e in connected)
    room.client.post("/say-now", json={"text": "The meter moves while this is said."})
    wait_until(lambda: any(k == "meter" and d["audio_level"] > 0 for k, d in metered), timeout=30)
    meter = next(d for k, d in metered if k == "meter")
    assert {"audio_level", "governor_level", "governor", "behind_s", "repeated_frames"} <= meter.keys()
    room.channel.stop()
    for t in readers:
        t.join(10)
        assert not t.is_alive(), "the stream did not end when the channel stopped"
    assert metered[-1][0] == plain[-1][0] == "channel.stopped"
    assert plain[-1][1]["state"] == "stopped"
    assert not any(k == "meter" for k, _ in plain)  # only when asked


def wav_bytes(seconds: float = 1.0) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.sin(np.arange(int(16000 * seconds)) * 0.05) * 8000).astype(np.int16).tobytes())
    return buf.getvalue()


def test_an_audio_upload_may_recur_with_its_rule_as_json(room: Room) -> None:
    files = {"audio": ("jingle.wav", wav_bytes(), "audio/wav")}
    r = room.client.post("/queue", data={"recurrence": json.dumps({"every_minutes": 30})}, files=files)
    assert r.status_code == 201, r.text
    assert r.json()["recurrence"]["every_minutes"] == 30
    bad = room.client.post("/queue", data={"recurrence": "every 30 minutes"}, files=files)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "recurrence"
