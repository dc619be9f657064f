"""Throughput and overhead of the HTTP job API on this machine.

    .venv/bin/python -m bench.api_jobs                 # 20-second clips at 1280x720, 4 jobs per run
    .venv/bin/python -m bench.api_jobs --jobs 6

Prints, from one run:
- direct: one clip rendered by `say()` in this process (no API) - the floor for one job;
- jobs per minute through the API in distributed mode (redis-server + `anchor worker`) with
  1 and 2 worker processes, and in embedded mode (in-process pool, default size);
- the API's added latency per job (submit -> completed, minus the direct render, one worker,
  one job at a time) and per request (median of POST /v1/videos, GET /v1/videos/{id} and
  /healthz as the bare HTTP floor, over real HTTP on 127.0.0.1).
Needs redis-server (Debian package) for the distributed figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from anchor.config import load_settings
from anchor.program.clip import SayRequest, say
from anchor.program.pipeline import Pipeline

TEXT = (
    "Good evening, and welcome to the news. The city council voted last night to build a new bridge across the "
    "river, the first in almost fifty years. Work is expected to begin in the spring and to last three years. "
    "Commuters have welcomed the plan, although some shop owners near the old crossing worry about the noise. In sport, the home team won again."
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "anchor", *args], stdout=open(log, "ab"), stderr=subprocess.STDOUT)


def stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def wait_up(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("anchor serve did not start")


def run_jobs(c: httpx.Client, n: int) -> tuple[float, list[dict[str, Any]]]:
    t0 = time.perf_counter()
    ids = [c.post("/v1/videos", json={"text": TEXT}).json()["id"] for _ in range(n)]
    done: dict[str, dict[str, Any]] = {}
    while len(done) < n:
        for i in ids:
            if i not in done:
                j = c.get(f"/v1/videos/{i}").json()
                if j["state"] in ("completed", "failed", "cancelled"):
                    done[i] = j
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    bad = [j for j in done.values() if j["state"] != "completed"]
    if bad:
        raise RuntimeError(f"jobs failed: {bad[0]}")
    return wall, list(done.values())


def median_ms(fn, n: int = 50) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def one_mode(
    tmp: Path, name: str, api: dict[str, Any], workers: int, jobs: int, latency: bool = False
) -> dict[str, Any]:
    port = free_port()
    cfg = tmp / f"{name}.yaml"
    limits = {"rate_limit_per_minute": 1e6, "rate_limit_burst": 1000}  # the bench measures speed, not the limiter
    cfg.write_text(yaml.safe_dump({"api": {"port": port, "storage_dir": str(tmp / name), **limits, **api}}))
    procs = [start(["worker", "-c", str(cfg)], tmp / f"{name}-w{i}.log") for i in range(workers)]
    server = start(["serve", "-c", str(cfg)], tmp / f"{name}-serve.log")
    url = f"http://127.0.0.1:{port}"
    out: dict[str, Any] = {}
    try:
        wait_up(url, server)
        with httpx.Client(base_url=url, timeout=60) as c:
            run_jobs(c, 1)  # warm-up: imports and first render in each process
            if latency:
                wall, (job,) = run_jobs(c, 1)
                out["single_job_wall"] = wall
                out["single_job_render"] = job["finished_at"] - job["started_at"]
                out["queue_wait"] = job["started_at"] - job["created_at"]
                jid = job["id"]
                out["healthz_ms"] = median_ms(lambda: c.get("/healthz"))
                out["get_ms"] = median_ms(lambda: c.get(f"/v1/videos/{jid}"))
                out["post_invalid_ms"] = median_ms(lambda: c.post("/v1/videos", json={"text": ""}))
            wall, done = run_jobs(c, jobs)
            out["wall"] = wall
            out["jobs_per_minute"] = 60 * jobs / wall
            out["clip_s"] = statistics.mean(j["duration_s"] for j in done)
            if latency:
                t = time.perf_counter()
                ids = [c.post("/v1/videos", json={"text": "Latency probe."}).json()["id"] for _ in range(10)]
                out["post_ms"] = (time.perf_counter() - t) * 1000 / 10
                for i in ids:
                    c.post(f"/v1/videos/{i}/cancel")
    finally:
        stop(server)
        for p in procs:
            stop(p)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()
    settings = load_settings()
    v = settings.video
    print(f"machine: {os.cpu_count()} cores; clips {v.width}x{v.height} {v.fps} fps, x264 {v.preset} crf {v.crf}")

    with tempfile.TemporaryDirectory(prefix="anchor-bench-") as d:
        tmp = Path(d)
        say(Pipeline(settings), SayRequest(TEXT, tmp / "warm.mp4"))
        t = time.perf_counter()
        result = say(Pipeline(settings), SayRequest(TEXT, tmp / "direct.mp4"))
        direct = time.perf_counter() - t
        print(
            f"direct say(): {result.speech.duration:.1f} s clip rendered in {direct:.2f} s "
            f"(-> {60 / direct:.1f} clips/min on one process)"
        )

        emb = one_mode(tmp, "embedded", {"mode": "embedded"}, 0, args.jobs, latency=True)
        print(
            f"embedded (in-process pool, default size): {emb['jobs_per_minute']:.1f} jobs/min "
            f"({args.jobs} x {emb['clip_s']:.1f} s clips in {emb['wall']:.1f} s)"
        )
        print(
            f"API added latency per job (embedded, idle): submit->completed {emb['single_job_wall']:.2f} s vs direct "
            f"{direct:.2f} s = +{emb['single_job_wall'] - direct:.2f} s (queue wait {emb['queue_wait'] * 1000:.0f} ms, "
            f"render in worker {emb['single_job_render']:.2f} s, the rest is polling at 50 ms)"
        )
        print(
            f"API latency per request (median, real HTTP on 127.0.0.1, idle server): /healthz {emb['healthz_ms']:.1f} ms, "
            f"GET /v1/videos/{{id}} {emb['get_ms']:.1f} ms, POST /v1/videos refused {emb['post_invalid_ms']:.1f} ms, "
            f"POST /v1/videos accepted {emb['post_ms']:.1f} ms (mean of 10)"
        )

        redis_exe = shutil.which("redis-server")
        if redis_exe is None:
            print("distributed: skipped (redis-server not installed)")
            return
        rport = free_port()
        redis = subprocess.Popen(
            [redis_exe, "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.5)
            for workers in (1, 2):
                api = {
                    "mode": "distributed",
                    "redis_url": f"redis://127.0.0.1:{rport}/0",
                    "redis_namespace": f"bench{workers}",
                }
                r = one_mode(tmp, f"dist{workers}", api, workers, args.jobs, latency=False)
                print(
                    f"distributed, {workers} worker process(es): {r['jobs_per_minute']:.1f} jobs/min "
                    f"({args.jobs} x {r['clip_s']:.1f} s clips in {r['wall']:.1f} s)"
                )
        finally:
            redis.terminate()
            redis.wait(10)


if __name__ == "__main__":
    main()
