"""Prometheus metrics of a channel, read from its live state at scrape time."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from anchor.live.channel import Channel


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


class ChannelCollector:
    """Collects the channel's counters; registered on a registry of the channel's own."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def collect(self) -> Iterator[Metric]:
        ch = self.channel
        stats = ch.stats()
        yield CounterMetricFamily(
            "anchor_frames_sent", "Program frames handed to the outputs.", value=stats.frames_sent
        )
        yield CounterMetricFamily(
            "anchor_late_frames", "Frames produced more than one frame period late.", value=stats.late_frames
        )
        yield CounterMetricFamily(
            "anchor_dropped_frames",
            "Video frames dropped by outputs (queue full or disconnected).",
            value=stats.dropped_frames,
        )
        yield GaugeMetricFamily(
            "anchor_av_pts_max_diff_seconds",
            "Largest audio/video pts difference handed to the outputs.",
            value=stats.av_max_diff_s,
        )
        yield CounterMetricFamily(
            "anchor_repeated_frames",
            "Frames whose picture was repeated to keep real time.",
            value=stats.governor.repeated_frames,
        )
        yield CounterMetricFamily("anchor_rendered_frames", "Pictures rendered.", value=stats.rendered_frames)
        yield GaugeMetricFamily(
            "anchor_behind_seconds",
            "How far behind the wall clock the air loop is.",
            value=stats.governor.behind_seconds,
        )
        yield GaugeMetricFamily(
            "anchor_degrade_level", "0 full, 1 motion off, 2 half, 3 quarter picture rate.", value=stats.governor.level
        )
        yield GaugeMetricFamily("anchor_audio_level", "RMS of the programme audio (0..1).", value=stats.audio_level)
        yield GaugeMetricFamily("anchor_queue_depth", "Items waiting in the script queue.", value=stats.queue_depth)
        yield GaugeMetricFamily("anchor_rss_bytes", "Resident memory of the channel process.", value=rss_bytes())
        yield GaugeMetricFamily("anchor_uptime_seconds", "Program time on air.", value=stats.uptime_s)
        yield GaugeMetricFamily("anchor_viewers", "Connected WebRTC viewers.", value=stats.viewers)
        up = GaugeMetricFamily("anchor_output_up", "1 when the output is connected.", labels=["output"])
        rec = CounterMetricFamily("anchor_output_reconnects", "Reconnects per output.", labels=["output"])
        for o in stats.outputs:
            up.add_metric([o.name], 1.0 if o.state == "up" else 0.0)
            rec.add_metric([o.name], o.reconnects)
        yield up
        yield rec


def channel_registry(channel: Channel) -> CollectorRegistry:
    """A registry holding only this channel's metrics (no process-global state)."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(ChannelCollector(channel))
    return registry
