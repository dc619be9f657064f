"""Live channel figures: CPU use while pushing RTMP, and say-now interrupt latency.

    .venv/bin/python -m bench.channel_live                 # 1280x720 25 fps, 40 s, 8 interrupts
    .venv/bin/python -m bench.channel_live --seconds 60 --size 640x360

Starts a local nginx-rtmp (Debian nginx + libnginx-mod-rtmp), runs a channel into it with
items alternating with idle, and prints:
- cpu_cores: process CPU seconds per wall second while on air (goal: under 1 of 2 cores);
- late/dropped frames;
- say-now latency: from the HTTP say-now call to the first frame of the new item decoded by a
  puller (another process pulling the stream back from nginx), with and without a 5,000-character
  item being prepared meanwhile; the latency to the RTMP output's queue is printed beside it
  (goal: median under 500 ms at the puller).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
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

LONG_TEXT = ("The harbour reopened this morning after the storm, and the ferries sailed again at noon. " * 60)[:5000]

PULLER = """
import sys, time, av
with av.open(sys.argv[1], options={"rtmp_live": "live"}, timeout=(10, 5)) as c:
    for frame in c.decode(video=0):
        print(f"{time.monotonic()} {float(frame.time)}", flush=True)
"""


class PullerProcess:
    """Pulls the stream in a second process and reports when each video pts was decoded
    (CLOCK_MONOTONIC is one clock for all processes)."""

    def __init__(self, url: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", PULLER, url], stdout=subprocess.PIPE, text=True)
        self.seen: list[tuple[float, float]] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        while not self.seen:
            time.sleep(0.05)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            wall, pts = line.split()
            self.seen.append((float(wall), float(pts)))

    def wait_for_pts(self, pts: float, timeout: float) -> float:
        """The wall time (monotonic) at which a frame with pts >= `pts` was decoded."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            hit = [w for w, p in self.seen if p >= pts]
            if hit:
                return hit[0]
            time.sleep(0.005)
        raise TimeoutError(f"the puller never decoded pts {pts}")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


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
            self.arrived[frame.pts] = time.monotonic()

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

                # Phase 2: say-now latency, from the HTTP call to the first frame of the new item
                # decoded by a puller in another process (and, for comparison, at the sink's queue),
                # without and then with a 5,000-character item being prepared meanwhile.
                puller = PullerProcess(nginx.url("bench"))
                latencies: dict[str, list[tuple[float, float]]] = {"no long item": [], "long item preparing": []}
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                    for case, runs in latencies.items():
                        if case == "long item preparing":
                            channel.pause()
                            long = queue.add(ItemIn(text=LONG_TEXT))
                            channel.nudge()
                            while not (channel.preparation().get(long.id) or {}).get("sentences_ready"):
                                time.sleep(0.01)
                        for k in range(args.interrupts):
                            time.sleep(1.5)
                            frame_now = channel.timeline.frame_index
                            sink.watch = set(range(frame_now, frame_now + 200))
                            t0 = time.monotonic()
                            item = client.post("/say-now", json={"text": f"Breaking news number {k}."}).json()
                            while item["id"] not in started:
                                time.sleep(0.002)
                            f = started[item["id"]]
                            at_puller = puller.wait_for_pts(f / 25, timeout=10)
                            while f not in sink.arrived:
                                time.sleep(0.002)
                            runs.append((sink.arrived[f] - t0, at_puller - t0))
                        preparing = (
                            not (channel.preparation().get(long.id) or {}).get("complete", True)
                            if case != "no long item"
                            else None
                        )
                puller.stop()
        finally:
            queue.close()
            nginx.stop()

    print(f"live channel benchmark: {width}x{height} @ 25 fps, RTMP to local nginx, {args.seconds:.0f} s on air")
    print(f"cpu_cores            {cpu / wall:.2f}   (process CPU s per wall s; goal < 1.0 of 2)")
    print(f"frames_sent          {stats.frames_sent}   late {stats.late_frames}   dropped {stats.dropped_frames}")
    print(f"av_max_diff_s        {stats.av_max_diff_s:.4f}")
    for case, runs in latencies.items():
        sink_ms = sorted(a * 1000 for a, _ in runs)
        pull_ms = sorted(b * 1000 for _, b in runs)
        print(
            f"say-now latency, {case:<20} at the puller: median {statistics.median(pull_ms):.0f} ms, max {pull_ms[-1]:.0f}"
            f"   (at the sink's queue: median {statistics.median(sink_ms):.0f}, max {sink_ms[-1]:.0f}; n={len(runs)})"
        )
    print(
        f"  the long item was still being prepared after the say-nows: {preparing}   (goal: median < 500 ms at the puller)"
    )


if __name__ == "__main__":
    main()
