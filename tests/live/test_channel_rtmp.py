"""A channel pushed into a real nginx-rtmp server and pulled back with PyAV."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np
import pytest

from anchor.config import BUILTIN_AVATARS, Settings
from anchor.face.avatar import AvatarStore
from anchor.live.channel import Channel, ChannelEvent
from anchor.live.items import ItemIn
from anchor.live.store import ScriptQueue
from anchor.program.pipeline import Pipeline
from streaming.clock import SystemClock
from streaming.rtmp import RtmpSink
from tests.helpers import wait_until

W, H, FPS = 640, 360, 25


class Puller(threading.Thread):
    """Decodes the pulled stream: video pts + the anchor's mouth region, audio pts + loudness."""

    def __init__(self, url: str, mouth: tuple[slice, slice]) -> None:
        super().__init__(daemon=True)
        self.url, self.mouth = url, mouth
        self.stop = threading.Event()
        self.codecs: dict[str, str] = {}
        self.rate = None
        self.video: list[tuple[float, np.ndarray]] = []
        self.audio: list[tuple[float, float]] = []  # (pts, peak) per decoded audio frame
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with av.open(self.url, options={"rtmp_live": "live", "analyzeduration": "3000000"}, timeout=(10, 5)) as c:
                self.codecs = {s.type: s.codec_context.name for s in c.streams}
                self.rate = c.streams.video[0].average_rate
                for packet in c.demux():
                    if self.stop.is_set():
                        return
                    for frame in packet.decode():
                        if isinstance(frame, av.VideoFrame):
                            img = frame.to_ndarray(format="rgb24")
                            self.video.append((float(frame.time), img[self.mouth].astype(np.float32)))
                        else:
                            samples = frame.to_ndarray()[0]
                            self.audio.append((float(frame.time), float(np.abs(samples).max())))
        except (av.FFmpegError, OSError) as e:
            self.error = e


def test_channel_over_rtmp_idle_to_speaking_in_sync_and_survives_a_server_restart(
    settings: Settings, tmp_path: Path, rtmp_server
) -> None:
    url = rtmp_server.url("anchor")
    queue = ScriptQueue(tmp_path / "q.db")
    sink = RtmpSink(url, W, H, FPS, video_bitrate="800k", preset="ultrafast")
    events: list[ChannelEvent] = []
    channel = Channel(
        Pipeline(settings), queue, AvatarStore(BUILTIN_AVATARS).load("default"),
        [sink], SystemClock(), width=W, height=H, idle_motion=0.0,  # a still idle mouth to compare against
    )  # fmt: skip
    channel.listeners.append(events.append)
    r, place = channel.timeline.renderer.mouth_rect, channel.shot.placement  # type: ignore[attr-defined]
    mouth = (slice(r.y0 + place.y, r.y1 + place.y), slice(r.x0 + place.x, r.x1 + place.x))
    with channel:
        wait_until(lambda: sink.state == "up", 10)
        puller = Puller(url, mouth)
        puller.start()
        wait_until(lambda: len(puller.video) > 2 * FPS, 15)  # two seconds of idle anchor
        item = queue.add(ItemIn(text="Good evening. Here is the news about the market and the bridge."))
        channel.nudge()
        wait_until(lambda: ("finished", item.id) in [(e.kind, e.item_id) for e in events], 30)
        wait_until(lambda: puller.video[-1][0] > events[-1].frame / FPS + 1.0, 10)
        puller.stop.set()
        puller.join(10)

        # the server goes away mid-stream and comes back (on the same port)
        rtmp_server.stop()
        wait_until(lambda: sink.state == "reconnecting", 30)
        outage_from = sink.frames_discarded
        wait_until(lambda: sink.frames_discarded >= outage_from + FPS, 60)  # a second of program lost to the outage
        rtmp_server.start()
        wait_until(lambda: sink.state == "up", 60)  # how fast it reconnects is for bench/, not here
        after = Puller(url, mouth)
        after.start()
        wait_until(lambda: len(after.video) > FPS, 60)
        after.stop.set()
        after.join(10)
    queue.close()

    assert puller.codecs == {"video": "h264", "audio": "aac"}
    assert float(puller.rate) == pytest.approx(25.0)
    vpts = np.array([p for p, _ in puller.video])
    steps = np.diff(vpts)
    assert np.all(steps > 0) and np.allclose(steps * FPS, np.round(steps * FPS), atol=0.05), "on the 25 fps grid"
    assert steps.max() <= 0.2, "no video gap over 200 ms (a busy machine may drop a frame at the sink)"
    # audio and video run on the same clock: each video frame has its audio within one frame
    apts = np.array([p for p, _ in puller.audio])
    assert abs(apts[-1] - vpts[-1]) < 0.5 and np.all(np.diff(apts) > 0)
    gaps = np.abs(apts[np.searchsorted(apts, vpts).clip(0, len(apts) - 1)] - vpts)
    assert gaps.max() <= 1024 / 48000 + 1 / FPS  # an AAC frame is 21.3 ms

    # the picture changes from idle to speaking when the item plays, in step with its sound
    start = next(e.frame for e in events if e.kind == "started") / FPS
    idle = [img for p, img in puller.video if p < start - 0.2]
    rest = idle[-1]
    moving = [(p, np.abs(img - rest).mean()) for p, img in puller.video if p >= start - 0.2]
    assert max(np.abs(img - rest).mean() for img in idle[-FPS:]) < 3.0  # idle mouth is still
    assert max(d for _, d in moving) > 8.0  # speaking mouth moves
    first_move = next(p for p, d in moving if d > 4.0)
    first_sound = next(p for p, peak in puller.audio if p >= start - 0.2 and peak > 0.05)
    assert abs(first_move - first_sound) <= 3 / FPS, (first_move, first_sound)

    # after the restart the output came back and time kept running
    assert sink.reconnects >= 1
    assert after.video and min(p for p, _ in after.video) > vpts[-1]
    assert channel.error is None


def test_a_dead_output_does_not_disturb_the_other_one(settings: Settings, tmp_path: Path, rtmp_server) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]  # nothing listens here
    good = RtmpSink(rtmp_server.url("good"), W, H, FPS, video_bitrate="600k", preset="ultrafast")
    dead = RtmpSink(f"rtmp://127.0.0.1:{dead_port}/live/x", W, H, FPS, video_bitrate="600k", preset="ultrafast")
    queue = ScriptQueue(tmp_path / "q.db")
    channel = Channel(
        Pipeline(settings), queue, AvatarStore(BUILTIN_AVATARS).load("default"),
        [dead, good], SystemClock(), width=W, height=H,
    )  # fmt: skip
    with channel:
        wait_until(lambda: good.state == "up", 10)
        puller = Puller(rtmp_server.url("good"), (slice(0, 10), slice(0, 10)))
        puller.start()
        wait_until(lambda: len(puller.video) > 2 * FPS, 15)
        puller.stop.set()
        puller.join(10)
        assert dead.state == "reconnecting"
        outputs = {o.name: o.state for o in channel.outputs()}
    queue.close()
    # the timeline went on feeding the good output while the dead one failed (discarded, never queued)
    assert good.frames_sent > 2 * FPS and dead.frames_sent == 0 and dead.frames_discarded > 0
    assert sorted(outputs.values()) == ["reconnecting", "up"]
    assert channel.error is None


def test_outputs_are_added_stopped_started_and_removed_while_on_air(
    settings: Settings, tmp_path: Path, rtmp_server
) -> None:
    import httpx

    from anchor.api.channel import channel_app
    from anchor.api.server import ApiServer

    queue = ScriptQueue(tmp_path / "q.db")
    channel = Channel(
        Pipeline(settings),
        queue,
        AvatarStore(BUILTIN_AVATARS).load("default"),
        [],
        SystemClock(),
        width=320,
        height=180,
    )
    secret_url = rtmp_server.url("added") + "-secretkey"
    with (
        channel,
        ApiServer(channel_app(channel), "127.0.0.1", 0) as api,  # port 0: the system picks, the server reports
        httpx.Client(base_url=f"http://127.0.0.1:{api.port}", timeout=10) as client,
    ):
        assert client.get("/outputs").json() == {"outputs": []}
        r = client.post("/outputs", json={"url": secret_url, "video_bitrate": "300k", "preset": "ultrafast"})
        assert r.status_code == 201, r.text
        out = r.json()
        assert "secretkey" not in r.text and out["enabled"] is True
        wait_until(lambda: client.get("/outputs").json()["outputs"][0]["status"]["state"] == "up", 15)
        puller = Puller(secret_url, (slice(0, 10), slice(0, 10)))
        puller.start()
        wait_until(lambda: len(puller.video) > 10, 15)
        puller.stop.set()
        puller.join(10)
        stopped = client.post(f"/outputs/{out['id']}/stop").json()
        assert stopped["enabled"] is False and stopped["status"] is None
        assert client.post(f"/outputs/{out['id']}/start").json()["enabled"] is True
        wait_until(lambda: client.get("/outputs").json()["outputs"][0]["status"]["state"] == "up", 15)
        assert client.post("/outputs", json={"url": secret_url}).status_code == 422  # already there
        assert client.delete(f"/outputs/{out['id']}").status_code == 200
        assert client.get("/outputs").json() == {"outputs": []}
        assert client.delete(f"/outputs/{out['id']}").status_code == 404
        assert client.post("/outputs", json={"url": "http://example.com/live"}).status_code == 422
    queue.close()
    assert channel.error is None
