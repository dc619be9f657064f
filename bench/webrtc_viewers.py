"""How many WebRTC viewers this machine holds at full frame rate while the channel pushes RTMP.

    .venv/bin/python -m bench.webrtc_viewers                 # 640x360 and 1280x720
    .venv/bin/python -m bench.webrtc_viewers --size 640x360 --max 12

Runs `anchor live` as its own process (pushing RTMP to a local nginx, WebRTC pinned to
127.0.0.1), then connects 0, 1, 2, 4, ... aiortc viewers from a second process. For each
step it prints the channel process's CPU (cores), the lowest frame rate any viewer received,
and the CPU cost per extra viewer. The viewers decode what they receive in their own process,
which competes for the same 2 cores, so the figures are a lower bound of what the server alone
would hold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.live_process import start_live

ROOT = Path(__file__).resolve().parent.parent


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def client(base: str, n: int, warmup: float, seconds: float) -> dict:
    from aiortc import RTCPeerConnection, RTCSessionDescription

    pcs, counts, tasks = [], [], []

    async def count(track, k: int, start_at: float, end_at: float) -> None:
        while time.monotonic() < end_at:
            try:
                await asyncio.wait_for(track.recv(), 5)
            except Exception:
                return
            if time.monotonic() >= start_at:
                counts[k] += 1

    start_at = time.monotonic() + warmup + 2.0
    end_at = start_at + seconds
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for k in range(n):
            pc = RTCPeerConnection()
            pc.addTransceiver("video", direction="recvonly")
            pc.addTransceiver("audio", direction="recvonly")
            counts.append(0)
            pc.on(
                "track",
                lambda tr, k=k: (
                    tasks.append(asyncio.ensure_future(count(tr, k, start_at, end_at))) if tr.kind == "video" else None
                ),
            )
            await pc.setLocalDescription(await pc.createOffer())
            r = await http.post("/whep", content=pc.localDescription.sdp, headers={"Content-Type": "application/sdp"})
            r.raise_for_status()
            await pc.setRemoteDescription(RTCSessionDescription(sdp=r.text, type="answer"))
            pcs.append((pc, r.headers["location"]))
        await asyncio.sleep(max(0.0, end_at - time.monotonic()) + 0.2)
        for pc, loc in pcs:
            await http.delete(loc)
            await pc.close()
    return {"fps": [c / seconds for c in counts]}


def run_size(width: int, height: int, steps: list[int], seconds: float) -> None:
    from tests.streaming.nginx_rtmp import NginxRtmp

    with tempfile.TemporaryDirectory(prefix="bench_webrtc_") as tmp:
        nginx = NginxRtmp(Path(tmp) / "nginx")
        nginx.start()
        proc, base = start_live(
            Path(tmp),
            f"name: bench\nwidth: {width}\nheight: {height}\n"
            f"outputs: [{{url: '{nginx.url('bench')}', video_bitrate: 2500k}}]\n"
            "webrtc: {viewing: public, max_viewers: 64, host_addresses: [127.0.0.1]}\n",
            None,  # loopback only: no key needed
        )
        try:
            for k in range(40):  # keep the host talking
                httpx.post(
                    f"{base}/queue",
                    json={"text": f"Story {k}. The council met today and agreed a budget for the coming year."},
                )
            print(f"\n{width}x{height} @ 25 fps, channel also pushing RTMP (2.5 Mbit/s)")
            print(f"{'viewers':>7} {'server cores':>13} {'min viewer fps':>15} {'mean fps':>9}")
            base_cpu = None
            for n in steps:
                c0, t0 = cpu_seconds(proc.pid), time.monotonic()
                out = subprocess.run(
                    [sys.executable, "-m", "bench.webrtc_viewers", "--client", str(n), "--base", base, "--seconds", str(seconds)],
                    cwd=ROOT, capture_output=True, text=True, timeout=120,
                )  # fmt: skip
                cores = (cpu_seconds(proc.pid) - c0) / (time.monotonic() - t0)
                fps = json.loads(out.stdout.strip().splitlines()[-1])["fps"] if n else []
                if base_cpu is None:
                    base_cpu = cores
                low = min(fps) if fps else float("nan")
                mean = sum(fps) / len(fps) if fps else float("nan")
                per = f"  (+{(cores - base_cpu) / n:.3f} cores/viewer)" if n else ""
                print(f"{n:7d} {cores:13.2f} {low:15.1f} {mean:9.1f}{per}")
                if fps and low < 23.5:
                    print(f"  -> below full frame rate at {n} viewers")
                    break
        finally:
            proc.terminate()
            proc.wait(20)
            nginx.stop()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", action="append", help="WxH (repeatable); default 640x360 and 1280x720")
    ap.add_argument("--max", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--client", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--base", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.client is not None:
        res = asyncio.run(client(args.base, args.client, 1.0, args.seconds)) if args.client else {"fps": []}
        print(json.dumps(res))
        return
    steps = [n for n in (0, 1, 2, 4, 6, 8, 12, 16, 24, 32) if n <= args.max]
    for size in args.size or ["640x360", "1280x720"]:
        w, h = (int(v) for v in size.split("x"))
        run_size(w, h, steps, args.seconds)


if __name__ == "__main__":
    main()
