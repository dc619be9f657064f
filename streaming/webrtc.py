"""WebRTC viewing: one program, rendered once, fanned out to many aiortc peer connections.

`WebRtcBroadcaster` is a sink (write(frame, audio)) and a session manager for WHEP-style
signalling: `offer(sdp) -> (session_id, answer_sdp)`, `close(session_id)`. Each viewer gets
its own small queues (a slow viewer loses its oldest frames, never the channel's time) and its
own encoders inside aiortc. Video pts are program frame indices on the 90 kHz RTP clock;
audio goes out as 20 ms frames whose pts is the program sample counter.

The viewer cap holds under concurrent offers: a slot is reserved under the lock before the
offer is processed and given back if it fails. A viewer that never connects is hung up
`connect_timeout_s` after its offer; a connected viewer whose peer vanished (no RTCP receiver
report for `silence_timeout_s`; browsers and aiortc send one about every second) is hung up
too, by a watchdog task that runs on the signalling loop while anyone watches.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import aioice.ice
import av
import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from streaming.encoder import YuvConverter, yuv420p_to_av_frame
from streaming.frames import AudioChunk, VideoFrame

log = logging.getLogger(__name__)

VIDEO_CLOCK = 90_000
OPUS_FRAME = 960  # 20 ms at 48 kHz


class ViewerLimitError(RuntimeError):
    """The broadcaster already serves its maximum number of viewers."""


class _QueueTrack(MediaStreamTrack):
    """A track fed from a bounded asyncio queue; a full queue drops its oldest item."""

    def __init__(self, kind: str, maxsize: int) -> None:
        super().__init__()
        self.kind = kind
        self.queue: asyncio.Queue[av.VideoFrame | av.AudioFrame] = asyncio.Queue(maxsize)
        self.dropped = 0

    def push(self, item: av.VideoFrame | av.AudioFrame) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(item)

    async def recv(self) -> av.VideoFrame | av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        return await self.queue.get()


@dataclass
class Viewer:
    """One connected peer."""

    id: str
    pc: RTCPeerConnection
    video: _QueueTrack
    audio: _QueueTrack
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    created: float = field(default_factory=time.monotonic)
    connected_at: float | None = None


@dataclass(frozen=True)
class IceServer:
    """A STUN or TURN server for the peer connections (and for the player page)."""

    urls: str | list[str]
    username: str | None = None
    credential: str | None = None


class WebRtcBroadcaster:
    """Sink + WHEP session manager. Bind it to the event loop that serves the signalling."""

    def __init__(
        self,
        fps: int,
        *,
        ice_servers: Sequence[IceServer] = (),
        max_viewers: int = 8,
        sample_rate: int = 48_000,
        connect_timeout_s: float = 10.0,
        silence_timeout_s: float = 8.0,
        watch_interval_s: float = 1.0,
    ) -> None:
        self.fps = fps
        self.sample_rate = sample_rate
        self.ice_servers = list(ice_servers)
        self.max_viewers = max_viewers
        self.connect_timeout_s = connect_timeout_s
        self.silence_timeout_s = silence_timeout_s
        self.watch_interval_s = watch_interval_s
        self.viewers: dict[str, Viewer] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._reserved = 0  # offers being answered: they hold a slot of the cap
        self._watchdog: asyncio.Task[None] | None = None
        self.frames_in = 0
        self._to_yuv = YuvConverter()
        self.sessions_total = 0
        self.sessions_timed_out = 0

    # -- the sink side (called from the channel's thread) ---------------------------------

    def write(self, frame: VideoFrame, audio: AudioChunk) -> None:
        """Hand one program frame and its audio to every viewer (cheap when nobody watches)."""
        self.frames_in += 1
        loop = self.loop
        with self._lock:
            viewers = list(self.viewers.values())
        if loop is None or not viewers or loop.is_closed():
            return
        vf = yuv420p_to_av_frame(self._to_yuv(frame.image))
        vf.pts = frame.pts * (VIDEO_CLOCK // frame.fps)
        vf.time_base = Fraction(1, VIDEO_CLOCK)
        chunks = []
        samples = np.ascontiguousarray(audio.samples, dtype=np.int16)
        for start in range(0, len(samples), OPUS_FRAME):
            part = samples[start : start + OPUS_FRAME]
            af = av.AudioFrame.from_ndarray(part.reshape(1, -1), format="s16", layout="mono")
            af.sample_rate = self.sample_rate
            af.pts = audio.pts + start
            af.time_base = Fraction(1, self.sample_rate)
            chunks.append(af)
        try:
            loop.call_soon_threadsafe(self._deliver, viewers, vf, chunks)
        except RuntimeError:  # loop closed between the check and the call
            pass

    @staticmethod
    def _deliver(viewers: list[Viewer], vf: av.VideoFrame, chunks: list[av.AudioFrame]) -> None:
        for v in viewers:
            if v.closed.is_set():
                continue
            v.video.push(vf)
            for af in chunks:
                v.audio.push(af)

    def close(self) -> None:
        """Sink close: hang up every viewer (from any thread)."""
        loop = self.loop
        if loop is not None and not loop.is_closed() and loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self.close_all(), loop)
            try:
                fut.result(timeout=10)
            except Exception as e:  # a stuck peer must not keep the channel from stopping
                log.warning("closing WebRTC viewers: %s", e)

    # -- the signalling side (called on `self.loop`) ---------------------------------------

    def configuration(self) -> RTCConfiguration:
        return RTCConfiguration(
            iceServers=[
                RTCIceServer(urls=s.urls, username=s.username, credential=s.credential) for s in self.ice_servers
            ]
        )

    @property
    def viewer_count(self) -> int:
        return len(self.viewers)

    async def offer(self, sdp: str) -> tuple[str, str]:
        """Answer a viewer's SDP offer; returns (session id, answer SDP).

        ViewerLimitError when the cap is reached (counting offers still being answered);
        ValueError when the offer cannot be used (malformed SDP, no audio/video section)."""
        self.loop = asyncio.get_running_loop()
        with self._lock:
            if len(self.viewers) + self._reserved >= self.max_viewers:
                raise ViewerLimitError(f"this channel already has {self.max_viewers} viewers (the configured maximum)")
            self._reserved += 1
        try:
            viewer = await self._answer(sdp)
            with self._lock:
                self.viewers[viewer.id] = viewer
                self.sessions_total += 1
        finally:
            with self._lock:
                self._reserved -= 1
        self._ensure_watchdog()
        return viewer.id, viewer.pc.localDescription.sdp

    async def _answer(self, sdp: str) -> Viewer:
        pc = RTCPeerConnection(self.configuration())
        video = _QueueTrack("video", maxsize=3)
        audio = _QueueTrack("audio", maxsize=25)
        viewer = Viewer(secrets.token_urlsafe(12), pc, video, audio)
        try:
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            except Exception as e:  # aiortc's SDP parser raises ValueError, AssertionError, KeyError, IndexError ...
                raise ValueError(f"the SDP offer cannot be parsed ({type(e).__name__}: {e})") from None
            kinds = {t.kind for t in pc.getTransceivers()}
            if "video" not in kinds and "audio" not in kinds:
                raise ValueError("the offer has no audio or video section; add recvonly transceivers")
            for t in pc.getTransceivers():
                if t.kind in ("video", "audio"):
                    t.direction = "sendonly"
                    pc.addTrack(video if t.kind == "video" else audio)
            try:
                answer = await pc.createAnswer()
                await pc.setLocalDescription(answer)
            except Exception as e:  # e.g. no codec in common, a malformed fingerprint or ICE attribute
                raise ValueError(f"the SDP offer cannot be answered ({type(e).__name__}: {e})") from None
        except BaseException:
            await pc.close()
            video.stop()
            audio.stop()
            raise

        @pc.on("connectionstatechange")
        async def _state() -> None:
            if pc.connectionState == "connected" and viewer.connected_at is None:
                viewer.connected_at = time.monotonic()
            if pc.connectionState in ("failed", "closed"):
                await self.close_viewer(viewer.id)

        return viewer

    # -- the watchdog: hang up viewers that never connected or whose peer went silent ------------

    def _ensure_watchdog(self) -> None:
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.get_running_loop().create_task(self._watch(), name="whep-watchdog")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.watch_interval_s)
            with self._lock:
                viewers = list(self.viewers.values())
            if not viewers:
                return  # started again by the next offer
            for viewer in viewers:
                why = await self._stale(viewer)
                if why:
                    log.info("viewer %s: %s; hanging up", viewer.id, why)
                    self.sessions_timed_out += 1
                    await self.close_viewer(viewer.id)

    async def _stale(self, viewer: Viewer) -> str:
        """Why this viewer should be hung up ("" when it is fine)."""
        now = time.monotonic()
        if viewer.connected_at is None:
            if now - viewer.created > self.connect_timeout_s:
                return f"not connected {self.connect_timeout_s:.0f} s after its offer"
            return ""
        heard = viewer.connected_at
        for sender in viewer.pc.getSenders():
            for stat in (await sender.getStats()).values():
                if getattr(stat, "type", "") == "remote-inbound-rtp":
                    # the stats carry wall-clock time; turn it into an age
                    age = max(0.0, time.time() - stat.timestamp.timestamp())
                    heard = max(heard, now - age)
        if now - heard > self.silence_timeout_s:
            return f"no receiver report for {self.silence_timeout_s:.0f} s (the peer vanished)"
        return ""

    async def close_viewer(self, session_id: str) -> bool:
        """Hang up one viewer; False if there was no such session."""
        with self._lock:
            viewer = self.viewers.pop(session_id, None)
        if viewer is None:
            return False
        viewer.closed.set()
        viewer.video.stop()
        viewer.audio.stop()
        await viewer.pc.close()
        return True

    async def close_all(self) -> None:
        for sid in list(self.viewers):
            await self.close_viewer(sid)
        if self._watchdog is not None and not self._watchdog.done():
            self._watchdog.cancel()


def pin_host_addresses(addresses: Sequence[str]) -> None:
    """Make ICE offer exactly these local addresses (process-wide).

    aioice never offers loopback addresses on its own; a loopback-only deployment or test
    pins 127.0.0.1 here. This patches aioice's host-address lookup, which is global to the
    process, so call it once at start-up from the entry point.
    """
    pinned = list(addresses)
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [
        a for a in pinned if (":" in a and use_ipv6) or (":" not in a and use_ipv4)
    ]
