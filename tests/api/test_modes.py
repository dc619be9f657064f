"""Embedded restart re-queues running jobs (and sweeps the killed render's .part); distributed mode
with a real redis-server and two `anchor worker` processes, one of them SIGKILLed mid-job."""

from __future__ import annotations

from pathlib import Path

import httpx
from api_harness import (
    LONG_TEXT,
    ApiServer,
    Proc,
    RedisServer,
    anchor_cmd,
    wait_for,
    wait_job,
    write_config,
)

from streaming.probe import probe


def test_embedded_restart_requeues_the_job_that_was_running(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", {"storage_dir": str(tmp_path / "store"), "workers": 1})
    srv = ApiServer(config, tmp_path / "serve1.log")
    try:
        with srv.client() as c:
            job = c.post("/v1/videos", json={"text": LONG_TEXT}).json()
            wait_for(lambda: c.get(f"/v1/videos/{job['id']}").json()["percent"] > 10, what="rendering under way")
    finally:
        srv.proc.kill()  # SIGKILL: no chance to hand the job back
    job_dir = tmp_path / "store" / "jobs" / job["id"]
    left = list(job_dir.glob("*.part"))
    assert left, "the killed render left its temporary video behind"
    srv = ApiServer(config, tmp_path / "serve2.log")
    try:
        assert not any(p.exists() for p in left), "start-up swept the killed writer's .part"
        with srv.client() as c:
            done, _ = wait_job(c, job["id"], timeout=120)
    finally:
        srv.proc.stop()
    assert done["state"] == "completed" and done["attempts"] == 2
    assert probe(job_dir / "video.mp4").video_frames == done["frames"]
    assert not list(job_dir.glob("*.part"))


def test_distributed_ten_jobs_complete_and_a_killed_workers_job_runs_again(tmp_path: Path) -> None:
    redis_server = RedisServer(tmp_path)
    config = write_config(
        tmp_path / "c.yaml",
        {
            "mode": "distributed",
            "storage_dir": str(tmp_path / "shared"),
            "redis_url": redis_server.url,
            "redis_namespace": "anchor-test",
            "heartbeat_timeout_s": 2,
            "maintenance_chance": 1.0,
        },
    )
    srv = ApiServer(config, tmp_path / "serve.log")  # first: it writes its port into the config
    workers = [Proc(anchor_cmd("worker", "-c", str(config)), tmp_path / f"worker{i}.log") for i in range(2)]
    try:
        with srv.client() as c:
            long_job = c.post("/v1/videos", json={"text": LONG_TEXT}).json()
            ids = [long_job["id"]] + [
                c.post("/v1/videos", json={"text": f"Bulletin number {i}."}).json()["id"] for i in range(9)
            ]

            def running_long() -> dict | None:
                j = c.get(f"/v1/videos/{long_job['id']}").json()
                return j if j["state"] == "processing" and 5 < j["percent"] < 80 else None

            mid = wait_for(running_long, timeout=90, interval=0.02, what="the long job mid-render")
            victim_pid = int(mid["worker"].split(":")[1])
            victim = next(w for w in workers if w.pid == victim_pid)
            victim.kill()

            results = {i: wait_job(c, i, timeout=180)[0] for i in ids}
    except (AssertionError, httpx.HTTPError):
        for w in workers:
            print(w.log.name, w.tail(1500))
        print(srv.proc.tail(1500))
        raise
    finally:
        srv.proc.stop()
        for w in workers:
            w.stop()
        redis_server.proc.stop()
    assert all(j["state"] == "completed" for j in results.values()), {i: j["state"] for i, j in results.items()}
    rerun = results[long_job["id"]]
    assert rerun["attempts"] == 2 and int(rerun["worker"].split(":")[1]) != victim_pid
    assert rerun["percent"] == 100.0
    assert not list((tmp_path / "shared" / "jobs" / long_job["id"]).glob("*.part")), "the killed worker's .part"
    info = probe(tmp_path / "shared" / "jobs" / long_job["id"] / "video.mp4")
    assert abs(info.audio_duration_s - rerun["duration_s"]) < 0.1
