"""Soak with a video avatar: hours of program on a virtual clock, idle and items alternating.

    .venv/bin/python -m bench.video_soak                        # 1 h of program, the built-in GRID avatar
    .venv/bin/python -m bench.video_soak --hours 2 --avatar NAME

The real live channel (items prepared ahead, timeline, pacer on a virtual clock) with the
video renderer. Prints RSS every 5 program minutes and, at the end: the base track's loop
joins (cross-fades) against ordinary frames, as the largest frame-to-frame change of the
anchor layer at a join over the median change (idle frames only: speech moves the mouth on
purpose), the RSS slope after warm-up, and the A/V pts check of bench.soak.
"""

from __future__ import annotations

import argparse
import tempfile
from array import array
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from anchor.config import load_settings
from anchor.face.base import AnchorFrame
from anchor.face.video.renderer import VideoRenderer
from anchor.live.channel import Channel
from anchor.live.store import ScriptQueue
from anchor.program.pipeline import Pipeline
from anchor.studio.presenter import presenter_placement
from bench.soak import CheckingSink, run_program
from streaming.clock import VirtualClock


class WatchedRenderer:
    """Passes frames through and notes each frame's change from the last (grey, half size)."""

    def __init__(self, inner: VideoRenderer) -> None:
        self.inner = inner
        self.size = inner.size
        self._prev: np.ndarray | None = None
        # Compact arrays (4 + 1 + 1 bytes a frame), so the watching itself does not grow RSS.
        self.changes = array("f")
        self.join = bytearray()
        self.idle = bytearray()
        self._was_join = False

    def rest(self) -> AnchorFrame:
        return self.inner.rest()

    def plan(self, params: np.ndarray, t0: float, fps: float) -> None:
        """Passed on, so the timeline plans the video renderer's mouths ahead as it does on a channel."""
        self.inner.plan(params, t0, fps)

    def render(self, mouth: np.ndarray, t: float) -> AnchorFrame:
        frame = self.inner.render(mouth, t)
        small = cv2.cvtColor(cv2.resize(frame.image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA),
                             cv2.COLOR_RGB2GRAY).astype(np.int16)  # fmt: skip
        n = int(np.floor(t * self.inner.fps + 1e-6))
        is_join = self.inner.track.walk.at(n).previous >= 0
        if self._prev is not None:
            self.changes.append(float(np.abs(small - self._prev).mean()))
            self.join.append(is_join or self._was_join)  # into, through and out of a cross-fade
            self.idle.append(not np.any(mouth))
        self._prev, self._was_join = small, is_join
        return frame


def use_video_renderer(channel: Channel) -> WatchedRenderer:
    """Watch the video renderer the channel made for its avatar (Pipeline.renderer, idle motion as the
    channel runs it): the channel's own timeline renders through the watcher from the next frame."""
    inner = channel.timeline.renderer
    assert isinstance(inner, VideoRenderer), f"{channel.avatar.name} is not a video avatar"
    watched = WatchedRenderer(inner)
    channel.timeline.set_anchor(watched, presenter_placement(channel.avatar, channel.width, channel.height))
    return watched


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--avatar", default="grid")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    pipeline = Pipeline(load_settings())
    avatar = pipeline.avatar(args.avatar)
    clock = VirtualClock()
    epoch = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)
    total_frames = int(args.hours * 3600 * 25)
    with tempfile.TemporaryDirectory(prefix="bench_vsoak_") as tmp:
        queue = ScriptQueue(Path(tmp) / "q.db", clock=lambda: epoch + timedelta(seconds=clock.now()))
        sink = CheckingSink()
        channel = Channel(pipeline, queue, avatar, [sink], clock, width=width, height=height)
        watched = use_video_renderer(channel)
        print(
            f"video soak: {args.hours:g} h of program at {width}x{height} 25 fps, avatar {avatar.name!r}, virtual clock"
        )
        run = run_program(channel, queue, total_frames, idle_s=6)
        queue.close()
    wall, k = run.wall_s, run.items
    slope, r = run.rss_slope()
    d = np.frombuffer(watched.changes, np.float32)
    j = np.frombuffer(bytes(watched.join), np.uint8).astype(bool)
    idle = np.frombuffer(bytes(watched.idle), np.uint8).astype(bool)
    quiet = idle & np.concatenate([[False], idle[:-1]])  # both frames of the pair idle
    med = float(np.median(d[quiet]))
    frames = channel.timeline.frame_index
    print(f"program {frames / 25 / 3600:.2f} h in {wall:.0f} s wall ({frames / wall:.0f} fps); items played {k}")
    print(f"idle frames {int(quiet.sum())}, of them in a loop join (cross-fade) {int((quiet & j).sum())}")
    print(f"frame-to-frame change of the anchor layer (mean |grey diff|), idle: median {med:.3f}")
    print(f"  largest at a loop join      {d[quiet & j].max():.3f}  = {d[quiet & j].max() / med:.2f}x the median "
          f"(99th pct {np.percentile(d[quiet & j], 99) / med:.2f}x)")  # fmt: skip
    print(f"  largest elsewhere (no join) {d[quiet & ~j].max():.3f}  = {d[quiet & ~j].max() / med:.2f}x the median "
          f"(99th pct {np.percentile(d[quiet & ~j], 99) / med:.2f}x)")  # fmt: skip
    print(f"RSS slope after 10 min warm-up: {slope:+.2f} MiB per program hour (RSS {r[0]:.0f} -> {r[-1]:.0f} MiB)")
    print(f"largest A/V pts difference: {sink.max_diff * 1000:.3f} ms; frames continuous: {sink.next_pts == frames}")
    if channel.error:
        print(f"channel error: {channel.error!r}")


if __name__ == "__main__":
    main()
