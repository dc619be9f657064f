"""Soak: hours of program time on a virtual clock, as fast as the machine allows.

    .venv/bin/python -m bench.soak                       # 1 h of program, 1280x720
    .venv/bin/python -m bench.soak --hours 2 --size 640x360

Items and idle alternate (a new item whenever the queue runs dry and a few seconds of idle
have passed). Prints RSS every 5 program-minutes and, at the end, the RSS slope after
warm-up and the largest audio/video pts difference handed to the outputs (goal: flat memory,
zero drift).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from anchor.api.metrics import rss_bytes
from anchor.config import BUILTIN_AVATARS, load_settings
from anchor.face.avatar import AvatarStore
from anchor.live.channel import Channel
from anchor.live.items import ItemIn
from anchor.live.store import ScriptQueue
from anchor.program.pipeline import Pipeline
from streaming.clock import VirtualClock
from streaming.frames import AudioChunk, VideoFrame

STORIES = [
    "The council approved the new budget after a long debate.",
    "Rain is expected tonight, with sunshine returning tomorrow morning.",
    "The home team won again, the fifth victory in a row.",
    "A new bridge will open to traffic in the spring.",
]


class CheckingSink:
    """Checks continuity of what it receives: every pts follows the last one."""

    def __init__(self) -> None:
        self.next_pts = 0
        self.max_diff = 0.0

    def write(self, frame: VideoFrame, audio: AudioChunk) -> None:
        assert frame.pts == self.next_pts, f"gap at {self.next_pts}"
        self.next_pts += 1
        self.max_diff = max(self.max_diff, abs(audio.pts / 48000 - frame.pts / frame.fps))

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class SoakRun:
    """What `run_program` saw: (program s, RSS bytes) every 5 program-minutes, items queued, wall s."""

    samples: list[tuple[float, int]]
    items: int
    wall_s: float

    def rss_slope(self) -> tuple[float, np.ndarray]:
        """(RSS slope after a 10-minute warm-up in MiB per program hour, RSS MiB per sample)."""
        t = np.array([s for s, _ in self.samples])
        r = np.array([m for _, m in self.samples]) / 2**20
        warm = t >= 600
        slope = np.polyfit(t[warm] / 3600, r[warm], 1)[0] if warm.sum() >= 2 else float("nan")
        return float(slope), r


def run_program(channel: Channel, queue: ScriptQueue, total_frames: int, idle_s: float) -> SoakRun:
    """Run `channel` until `total_frames` of program: a new story whenever the queue has run dry
    and `idle_s` of idle have passed; prints RSS every 5 program-minutes."""
    samples: list[tuple[float, int]] = []
    wall0 = time.perf_counter()
    print(f"{'program':>9} {'wall s':>8} {'RSS MiB':>8} {'items':>6} {'late':>5}")
    next_report, idle_since, k = 0, 0, 0
    with channel:
        while channel.timeline.frame_index < total_frames and channel.error is None:
            n = channel.timeline.frame_index
            if channel.timeline.idle and queue.depth() == 0:
                if n - idle_since > idle_s * 25:
                    queue.add(ItemIn(text=STORIES[k % len(STORIES)]))
                    channel.nudge()
                    k += 1
                    idle_since = n
            elif not channel.timeline.idle:
                idle_since = n
            if n >= next_report:
                rss = rss_bytes()
                samples.append((n / 25, rss))
                print(f"{n / 1500:7.0f} m {time.perf_counter() - wall0:8.1f} {rss / 2**20:8.1f} {k:6d} "
                      f"{channel.pacer.late_frames:5d}")  # fmt: skip
                next_report += 5 * 60 * 25
            time.sleep(0.005)
    return SoakRun(samples, k, time.perf_counter() - wall0)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--size", default="1280x720")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    settings = load_settings()
    clock = VirtualClock()
    epoch = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)
    total_frames = int(args.hours * 3600 * 25)
    with tempfile.TemporaryDirectory(prefix="bench_soak_") as tmp:
        queue = ScriptQueue(Path(tmp) / "q.db", clock=lambda: epoch + timedelta(seconds=clock.now()))
        sink = CheckingSink()
        channel = Channel(
            Pipeline(settings), queue, AvatarStore(BUILTIN_AVATARS).load("default"),
            [sink], clock, width=width, height=height,
        )  # fmt: skip
        print(f"soak: {args.hours:g} h of program at {width}x{height} 25 fps on a virtual clock")
        run = run_program(channel, queue, total_frames, idle_s=4)
        queue.close()
    wall, k = run.wall_s, run.items
    slope, _ = run.rss_slope()
    print(
        f"program {channel.timeline.frame_index / 25 / 3600:.2f} h in {wall:.0f} s wall ({channel.timeline.frame_index / wall:.0f} fps)"
    )
    print(f"items played         {k}")
    print(f"RSS slope after 10 min warm-up: {slope:+.2f} MiB per program hour")
    print(
        f"largest A/V pts difference: {sink.max_diff * 1000:.3f} ms; frames continuous: {sink.next_pts == channel.timeline.frame_index}"
    )
    if channel.error:
        print(f"channel error: {channel.error!r}")


if __name__ == "__main__":
    main()
