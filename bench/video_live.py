"""CPU of a live channel with a video avatar, pushing RTMP to a local nginx, beside the photo avatar.

    .venv/bin/python -m bench.video_live                     # 1280x720 25 fps, 40 s each, avatar grid
    .venv/bin/python -m bench.video_live --seconds 60 --avatar NAME

Runs the real channel (preparer + air threads, pacer on the wall clock, RtmpSink at 2.5 Mbit/s
into Debian's nginx-rtmp) with items alternating with idle, first with the video avatar, then
with the default photo avatar (idle motion on, as the channel runs it), and prints the process
CPU per wall second (goal for the video avatar: under 1 of the 2 cores) and late/dropped frames.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

from anchor.config import load_settings
from anchor.live.channel import Channel, ChannelStats
from anchor.live.items import ItemIn
from anchor.live.store import ScriptQueue
from anchor.program.pipeline import Pipeline
from streaming.clock import SystemClock
from streaming.rtmp import RtmpSink
from tests.streaming.nginx_rtmp import NginxRtmp


def on_air(
    avatar_name: str, seconds: float, width: int, height: int, tmp: Path, nginx: NginxRtmp
) -> tuple[float, ChannelStats]:
    pipeline = Pipeline(load_settings())
    avatar = pipeline.avatar(avatar_name)
    queue = ScriptQueue(tmp / f"{avatar_name}.db")
    sink = RtmpSink(nginx.url(avatar_name), width, height, 25, video_bitrate="2500k")
    # The channel makes the renderer for the pack's kind itself (Pipeline.renderer): video or photo.
    channel = Channel(pipeline, queue, avatar, [sink], SystemClock(), width=width, height=height)
    stop = threading.Event()
    try:
        with channel:
            while sink.state != "up":
                time.sleep(0.05)

            def feeder() -> None:
                k = 0
                while not stop.is_set():
                    if queue.depth() == 0 and channel.timeline.idle:
                        queue.add(ItemIn(text=f"Story number {k}. The council met today and agreed on a new budget."))
                        channel.nudge()
                        k += 1
                    stop.wait(2.0)

            t = threading.Thread(target=feeder, daemon=True)
            t.start()
            wall0, cpu0 = time.perf_counter(), time.process_time()
            time.sleep(seconds)
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            stop.set()
            t.join()
            stats = channel.stats()
    finally:
        queue.close()
    return cpu / wall, stats


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--avatar", default="grid")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_vlive_") as tmp:
        nginx = NginxRtmp(Path(tmp) / "nginx")
        nginx.start()
        try:
            for name in (args.avatar, "default"):
                cores, stats = on_air(name, args.seconds, width, height, Path(tmp), nginx)
                rows.append((name, cores, stats))
        finally:
            nginx.stop()
    print(f"live channel: {width}x{height} @ 25 fps, RTMP 2.5 Mbit/s to local nginx, {args.seconds:.0f} s on air each, "
          f"items alternating with idle; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print("| avatar | cpu cores (process CPU s / wall s) | frames sent | late | dropped |")
    print("|---|---|---|---|---|")
    for name, cores, st in rows:
        print(f"| {name} | {cores:.2f} | {st.frames_sent} | {st.late_frames} | {st.dropped_frames} |")


if __name__ == "__main__":
    main()
