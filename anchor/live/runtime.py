"""Building a channel from its channel file: queue, avatar, outputs, WebRTC, the Channel itself."""

from __future__ import annotations

from dataclasses import dataclass

from anchor.live.channel import Channel
from anchor.live.config import ChannelConfig
from anchor.live.store import ScriptQueue
from anchor.program.pipeline import Pipeline
from streaming.clock import SystemClock
from streaming.outputs import Sink
from streaming.rtmp import RtmpSink
from streaming.webrtc import IceServer, WebRtcBroadcaster, pin_host_addresses


@dataclass
class ChannelRuntime:
    """A channel and what it owns; close() after the channel has stopped."""

    config: ChannelConfig
    channel: Channel
    queue: ScriptQueue
    broadcaster: WebRtcBroadcaster | None

    def close(self) -> None:
        self.queue.close()


def build_channel(pipeline: Pipeline, cfg: ChannelConfig) -> ChannelRuntime:
    """Everything `anchor live` / `anchor serve --channel` runs for one channel file (not started)."""
    avatar = pipeline.avatar(cfg.avatar)
    cfg.queue_db.parent.mkdir(parents=True, exist_ok=True)
    queue = ScriptQueue(cfg.queue_db)
    sinks: list[Sink] = [
        RtmpSink(o.url, cfg.width, cfg.height, cfg.fps, video_bitrate=o.video_bitrate, preset=o.preset)
        for o in cfg.outputs
    ]
    broadcaster = None
    if cfg.webrtc.enabled:
        if cfg.webrtc.host_addresses:
            pin_host_addresses(cfg.webrtc.host_addresses)
        ice = [IceServer(s.urls, s.username, s.credential) for s in cfg.webrtc.ice_servers]
        broadcaster = WebRtcBroadcaster(cfg.fps, ice_servers=ice, max_viewers=cfg.webrtc.max_viewers)
        sinks.append(broadcaster)
    playlist = cfg.idle.playlist if cfg.idle.policy == "playlist" else None
    channel = Channel(
        pipeline, queue, avatar, sinks, SystemClock(),
        width=cfg.width, height=cfg.height, fps=cfg.fps, recover=cfg.recover, idle_playlist=playlist,
        idle_motion=cfg.idle.motion, ticker=cfg.ticker,
    )  # fmt: skip
    return ChannelRuntime(cfg, channel, queue, broadcaster)
