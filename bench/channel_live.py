"""Live channel figures: CPU use while pushing RTMP, and say-now interrupt latency.

    .venv/bin/python -m bench.channel_live                 # 1280x720 25 fps, 40 s, 8 interrupts
    .venv/bin/python -m bench.channel_live --seconds 60 --size 640x360

Starts a local nginx-rtmp (Debian nginx + libnginx-mod-rtmp), runs a channel into it with
items alternating with idle, and prints:
- cpu_cores: process CPU seconds per wall second while on air (goal: under 1 of 2 cores);
- late/dropped frames;
- interrupt latency: from the HTTP say-now call to the first frame of the new item reaching
  the RTMP output's queue (this includes synthesizing the new text) (goal: under 300 ms).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

from anchor.api.channel import channel_app
from anchor.api.server import ApiServer
from anchor.config import BUILTIN_AVATARS, load_settings
from anchor.face.avatar import AvatarStore
from anchor.live.channel import Channel
from anchor.live.items import ItemIn
from anchor.live.store import ScriptQueue
from anchor.program.pipeline import Pipeline
from streaming.clock import SystemClock
from streaming.frames import AudioChunk, VideoFrame
from streaming.rtmp import RtmpSink
from tests.streaming.nginx_rtmp import NginxRtmp


class TimedSink:
    """Passes frames to the real sink and notes when each frame index arrived."""

    def __init__(self, inner: RtmpSink) -> None:
        self.inner = inner
        self.arrived: dict[int, float] = {}
        self.watch: set[int] = set()

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def write(self, frame: VideoFrame, audio: AudioChunk) -> None:
        self.inner.write(frame, audio)
        if frame.pts in self.watch:
            self.arrived[frame.pts] = time.perf_counter()

    def close(self) -> None:
        self.inner.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--interrupts", type=int, default=8)
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    settings = load_settings()
    with tempfile.TemporaryDirectory(prefix="bench_live_") as tmp:
        nginx = NginxRtmp(Path(tmp) / "nginx")
        nginx.start()
        queue = ScriptQueue(Path(tmp) / "q.db")
        sink = TimedSink(RtmpSink(nginx.url("bench"), width, height, 25, video_bitrate="2500k"))
        channel = Channel(
            Pipeline(settings), queue, AvatarStore(BUILTIN_AVATARS).load("default"),
            [sink], SystemClock(), width=width, height=height,
        )  # fmt: skip
        started: dict[int, int] = {}
        channel.listeners.append(lambda e: started.__setitem__(e.item_id, e.frame) if e.kind == "started" else None)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with channel, ApiServer(channel_app(channel), "127.0.0.1", port):
                while sink.state != "up":
                    time.sleep(0.05)
                # Phase 1: CPU while on air, items alternating with idle.
                stop = threading.Event()

                def feeder() -> None:
                    k = 0
                    while not stop.is_set():
                        if queue.depth() == 0 and channel.timeline.idle:
                            queue.add(
                                ItemIn(text=f"Story number {k}. The council met today and agreed on a new budget.")
                            )
                            channel.nudge()
                            k += 1
                        stop.wait(2.0)

                t = threading.Thread(target=feeder, daemon=True)
                t.start()
                wall0, cpu0 = time.perf_counter(), time.process_time()
                time.sleep(args.seconds)
                wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
                stop.set()
                t.join()
                stats = channel.stats()

                # Phase 2: say-now latency, measured from the HTTP call.
                latencies = []
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                    for k in range(args.interrupts):
                        time.sleep(1.5)
                        frame_now = channel.timeline.frame_index
                        sink.watch = set(range(frame_now, frame_now + 200))
                        t0 = time.perf_counter()
                        item = client.post("/say-now", json={"text": f"Breaking news number {k}."}).json()
                        while item["id"] not in started:
                            time.sleep(0.002)
                        f = started[item["id"]]
                        while f not in sink.arrived:
                            time.sleep(0.002)
                        latencies.append(sink.arrived[f] - t0)
        finally:
            queue.close()
            nginx.stop()

    print(f"live channel benchmark: {width}x{height} @ 25 fps, RTMP to local nginx, {args.seconds:.0f} s on air")
    print(f"cpu_cores            {cpu / wall:.2f}   (process CPU s per wall s; goal < 1.0 of 2)")
    print(f"frames_sent          {stats.frames_sent}   late {stats.late_frames}   dropped {stats.dropped_frames}")
    print(f"av_max_diff_s        {stats.av_max_diff_s:.4f}")
    ms = sorted(x * 1000 for x in latencies)
    print(f"interrupt_latency_ms median {statistics.median(ms):.0f}   max {ms[-1]:.0f}   (n={len(ms)}; goal < 300)")


if __name__ == "__main__":
    main()
