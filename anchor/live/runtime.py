"""Building a channel from its channel file: queue, avatar, outputs, WebRTC, the news desk, the Channel itself."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from anchor.feeds.desk import NewsDesk
from anchor.feeds.stories import StoryStore
from anchor.live.channel import Channel
from anchor.live.config import ChannelConfig
from anchor.live.media import MediaRoots
from anchor.live.provenance import ChannelProvenance
from anchor.live.store import ScriptQueue
from anchor.program.bulletin import render_rundown
from anchor.program.pipeline import Pipeline
from anchor.rundown.model import Rundown
from streaming.clock import SystemClock
from streaming.outputs import Sink
from streaming.webrtc import IceServer, WebRtcBroadcaster, pin_host_addresses


@dataclass
class ChannelRuntime:
    """A channel and what it owns. As a context manager: starts the channel, then the news desk
    (after the queue has recovered); on exit stops the desk, the channel, and closes the queue."""

    config: ChannelConfig
    channel: Channel
    queue: ScriptQueue
    broadcaster: WebRtcBroadcaster | None
    desk: NewsDesk | None = None
    provenance: ChannelProvenance | None = None

    def __enter__(self) -> ChannelRuntime:
        self.channel.start()
        if self.desk is not None:
            self.desk.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.desk is not None:
                self.desk.stop()
            self.channel.stop()
        finally:
            if self.provenance is not None:
                self.provenance.close()
            self.queue.close()


def news_desk(pipeline: Pipeline, cfg: ChannelConfig, queue: ScriptQueue, channel: Channel) -> NewsDesk | None:
    """The channel's news desk (not started), or None when no feed or bulletin is configured or added."""
    if not cfg.feeds.sources and not cfg.bulletins:
        with StoryStore(cfg.queue_db) as store:
            if not store.added_sources():
                return None

    def render(rundown: Rundown, output: Path) -> object:
        return render_rundown(pipeline, rundown, output)

    return NewsDesk.for_channel(
        cfg.queue_db,
        cfg.feeds,
        cfg.bulletins,
        queue=queue,
        set_ticker=channel.set_ticker,
        render=render if any(b.render for b in cfg.bulletins) else None,
        check=lambda text, language: pipeline.policy.check(text, language).outcome,
    )


def build_channel(pipeline: Pipeline, cfg: ChannelConfig) -> ChannelRuntime:
    """Everything `anchor live` / `anchor serve --channel` runs for one channel file (not started)."""
    avatar = pipeline.avatar(cfg.avatar)
    cfg.queue_db.parent.mkdir(parents=True, exist_ok=True)
    media = MediaRoots(cfg.media_roots, cfg.uploads_dir)
    queue = ScriptQueue(cfg.queue_db)

    sinks: list[Sink] = []
    broadcaster = None
    if cfg.webrtc.enabled:
        if cfg.webrtc.host_addresses:
            pin_host_addresses(cfg.webrtc.host_addresses)
        ice = [IceServer(s.urls, s.username, s.credential) for s in cfg.webrtc.ice_servers]
        broadcaster = WebRtcBroadcaster(cfg.fps, ice_servers=ice, max_viewers=cfg.webrtc.max_viewers)
        sinks.append(broadcaster)
    prov = ChannelProvenance.open(pipeline.settings.provenance, cfg, avatar)
    if prov.aircheck is not None:
        sinks.append(prov.aircheck)
    playlist = cfg.idle.playlist if cfg.idle.policy == "playlist" else None
    channel = Channel(
        pipeline, queue, avatar, sinks, SystemClock(),
        width=cfg.width, height=cfg.height, fps=cfg.fps, recover=cfg.recover, idle_playlist=playlist,
        idle_motion=cfg.idle.motion, ticker=cfg.ticker, interrupt_policy=cfg.interrupt_policy, outputs=cfg.outputs, media=media,
        mark=prov.watermark.embed if prov.watermark else None,
    )  # fmt: skip
    channel.listeners.append(prov.listener(queue))
    return ChannelRuntime(cfg, channel, queue, broadcaster, news_desk(pipeline, cfg, queue, channel), prov)
