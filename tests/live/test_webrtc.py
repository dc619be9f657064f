"""WebRTC viewing with an aiortc client: WHEP signalling, 5 s of frames with audio, clean release."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import aioice.ice
import httpx
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from anchor.api.channel import channel_app
from anchor.api.server import ApiServer
from anchor.config import BUILTIN_AVATARS, Settings
from anchor.face.avatar import AvatarStore
from anchor.live.channel import Channel
from anchor.live.store import ScriptQueue
from anchor.program.pipeline import Pipeline
from streaming.clock import SystemClock
from streaming.webrtc import WebRtcBroadcaster, pin_host_addresses

W, H, FPS = 640, 360, 25


@pytest.fixture
def loopback_ice() -> Iterator[None]:
    original = aioice.ice.get_host_addresses
    pin_host_addresses(["127.0.0.1"])
    yield
    aioice.ice.get_host_addresses = original


@pytest.fixture
def live(settings: Settings, tmp_path: Path, loopback_ice) -> Iterator[tuple[str, WebRtcBroadcaster, ApiServer]]:
    queue = ScriptQueue(tmp_path / "q.db")
    broadcaster = WebRtcBroadcaster(FPS, max_viewers=1)
    channel = Channel(
        Pipeline(settings), queue, AvatarStore(BUILTIN_AVATARS).load("default"),
        [broadcaster], SystemClock(), width=W, height=H,
    )  # fmt: skip
    server = ApiServer(channel_app(channel, None, broadcaster), "127.0.0.1", 0)  # reports the port it got
    with channel, server:
        queue.add(__import__("anchor.live.items", fromlist=["ItemIn"]).ItemIn(text="Good evening, viewers. " * 6))
        channel.nudge()
        yield f"http://127.0.0.1:{server.port}", broadcaster, server
    queue.close()


def server_tasks(server: ApiServer) -> int:
    async def count() -> int:
        return len(asyncio.all_tasks())

    assert server.loop is not None
    return asyncio.run_coroutine_threadsafe(count(), server.loop).result(5)


async def watch(base: str, seconds: float) -> dict:
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    got: dict = {"video": [], "audio": [], "size": None, "rate": None}
    tasks = []

    async def consume(track) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                frame = await asyncio.wait_for(track.recv(), 5)
            except (TimeoutError, MediaStreamError):
                return
            got[track.kind].append((time.monotonic(), frame.pts, frame.time_base))
            if track.kind == "video":
                got["size"] = (frame.width, frame.height)
            else:
                got["rate"] = frame.sample_rate

    pc.on("track", lambda track: tasks.append(asyncio.ensure_future(consume(track))))
    await pc.setLocalDescription(await pc.createOffer())
    async with httpx.AsyncClient(base_url=base, timeout=20) as http:
        r = await http.post("/whep", content=pc.localDescription.sdp, headers={"Content-Type": "application/sdp"})
        assert r.status_code == 201, r.text
        assert r.headers["content-type"].startswith("application/sdp")
        location = r.headers["location"]
        await pc.setRemoteDescription(RTCSessionDescription(sdp=r.text, type="answer"))
        while len(tasks) < 2:
            await asyncio.sleep(0.05)
        # the cap: a second viewer is refused clearly while this one watches
        r2 = await http.post("/whep", content=pc.localDescription.sdp, headers={"Content-Type": "application/sdp"})
        got["second"] = (r2.status_code, r2.json())
        got["patch"] = (await http.patch(location)).status_code
        await asyncio.gather(*tasks)
        got["delete"] = (await http.delete(location)).status_code
        got["delete_again"] = (await http.delete(location)).status_code
    await pc.close()
    return got


def test_aiortc_viewer_gets_25fps_video_with_audio_and_is_released(live) -> None:
    base, broadcaster, server = live
    time.sleep(0.5)
    tasks_before = server_tasks(server)
    got = asyncio.run(watch(base, 5.0))

    video, audio = got["video"], got["audio"]
    assert got["size"] == (W, H) and got["rate"] == 48_000
    # pts are program frame times: strictly increasing on the 25 fps grid (a slow viewer may lose
    # frames of its own; the frame rate it reaches is a benchmark figure, bench.webrtc_viewers)
    pts_s = [float(p * tb) for _, p, tb in video]
    steps = [b - a for a, b in zip(pts_s, pts_s[1:])]
    assert len(video) >= 2 * FPS and all(s > 0 for s in steps)
    assert all(abs(s * FPS - round(s * FPS)) < 0.01 for s in steps), "off the frame grid"
    assert len(audio) > 2 * 50  # 20 ms Opus frames, ~50 per second
    assert got["second"][0] == 503 and "viewers" in got["second"][1]["error"]["message"]
    assert got["patch"] == 405
    assert (got["delete"], got["delete_again"]) == (200, 404)

    deadline = time.monotonic() + 10
    while (broadcaster.viewer_count or server_tasks(server) > tasks_before) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert broadcaster.viewer_count == 0
    assert server_tasks(server) <= tasks_before
    metrics = httpx.get(f"{base}/metrics").text
    assert "anchor_viewers 0.0" in metrics


def test_whep_refuses_what_is_not_an_sdp_offer(live) -> None:
    base, _, _ = live
    assert httpx.post(f"{base}/whep", content=b"hello", headers={"Content-Type": "text/plain"}).status_code == 415
    r = httpx.post(f"{base}/whep", content=b"hello", headers={"Content-Type": "application/sdp"})
    assert r.status_code == 400 and "SDP" in r.json()["error"]["message"]
    assert httpx.delete(f"{base}/whep/nope").status_code == 404
