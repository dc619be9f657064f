"""Real processes for API tests: `anchor serve`, `anchor worker` and redis-server on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.helpers import PortTaken, start_on_free_port, wait_listening

FINAL = {"completed", "failed", "cancelled"}
KEYS = {"alice": "key-alice-1234", "bob": "key-bob-5678", "limited": "key-limited-0000", "admin": "key-admin-4321"}
WEBHOOK_SECRET = "whsec-test-secret"


def write_config(path: Path, api: dict[str, Any], **top: Any) -> Path:
    data = {"video": {"width": 320, "height": 180}, **top, "api": api}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


class Proc:
    """A child process we started; stopped by its own pid only."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        self._start = log.stat().st_size if log.exists() else 0  # this run's part of a shared log
        self._fh = open(log, "ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.p = subprocess.Popen(args, stdout=self._fh, stderr=subprocess.STDOUT, env=env)

    @property
    def pid(self) -> int:
        return self.p.pid

    def alive(self) -> bool:
        return self.p.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.p.send_signal(signal.SIGKILL)
        self.p.wait(10)
        self._fh.close()

    def stop(self, timeout: float = 15) -> None:
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.send_signal(signal.SIGKILL)
                self.p.wait(10)
        self._fh.close()

    def tail(self, n: int = 3000) -> str:
        with open(self.log, "rb") as f:
            f.seek(self._start)
            return f.read().decode(errors="replace")[-n:]


def anchor_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "anchor", *args]


class ApiServer:
    """`anchor serve -c config` on a fresh 127.0.0.1 port (written into the config's api.port, so
    the links it makes and `anchor worker`s started after it agree); another port when it was taken."""

    def __init__(self, config: Path, log: Path, extra: tuple[str, ...] = ()) -> None:
        self.config = config
        self.port = start_on_free_port(lambda port: self._start(port, log, extra))
        self.url = f"http://127.0.0.1:{self.port}"

    def _start(self, port: int, log: Path, extra: tuple[str, ...]) -> int:
        data = yaml.safe_load(self.config.read_text(encoding="utf-8"))
        data.setdefault("api", {})["port"] = port
        self.config.write_text(yaml.safe_dump(data), encoding="utf-8")
        self.proc = Proc(anchor_cmd("serve", "-c", str(self.config), "--port", str(port), *extra), log)
        try:
            wait_listening(self.proc.pid, port, self.proc.alive, self.proc.tail, "anchor serve")
        except (PortTaken, RuntimeError):
            self.proc.kill()
            raise
        deadline = time.monotonic() + 60
        while True:  # listening, and answering
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                    return port
            except httpx.HTTPError:
                pass
            if not self.proc.alive() or time.monotonic() > deadline:
                out = self.proc.tail()
                self.proc.kill()
                raise RuntimeError(f"anchor serve did not come up:\n{out}")
            time.sleep(0.1)

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


class RedisServer:
    """redis-server on a fresh 127.0.0.1 port, no persistence, started and stopped by pid.

    With `port`, on that port (a restart of a server that went away; fails if it is taken)."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise AssertionError(
                "redis-server is not installed: apt-get install redis-server (bash scripts/setup.sh does it as root)"
            )
        self.port = (
            self._start(exe, workdir, port) if port else start_on_free_port(lambda p: self._start(exe, workdir, p))
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def _start(self, exe: str, workdir: Path, port: int) -> int:
        args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = Proc([*args, "--dir", str(workdir)], workdir / "redis.log")
        try:
            wait_listening(self.proc.pid, port, self.proc.alive, self.proc.tail, "redis-server", timeout=15)
        except (PortTaken, RuntimeError):
            self.proc.kill()
            raise
        import redis

        deadline = time.monotonic() + 15
        client = redis.Redis(port=port)
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or not self.proc.alive():
                    raise RuntimeError(self.proc.tail())
                time.sleep(0.05)
        client.close()
        return port


def wait_job(
    client: httpx.Client, job_id: str, timeout: float = 90, until: set[str] = FINAL
) -> tuple[dict, list[tuple[str, float]]]:
    """Poll until the job is in `until`; returns (job, the (stage, percent) pairs seen)."""
    seen: list[tuple[str, float]] = []
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/v1/videos/{job_id}")
        assert r.status_code == 200, r.text
        job = r.json()
        if not seen or seen[-1] != (job["stage"], job["percent"]):
            seen.append((job["stage"], job["percent"]))
        if job["state"] in until:
            return job, seen
        assert time.monotonic() < deadline, f"job {job_id} still {job['state']} after {timeout} s: {job}"
        time.sleep(0.05)


def wait_for(pred, timeout: float = 60, interval: float = 0.05, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


LONG_TEXT = " ".join(
    [
        "Good evening and welcome to the late bulletin.",
        "The city council met today to discuss the new budget for public transport, parks and libraries.",
        "After a long debate the members agreed to extend the evening bus service and to repair three bridges.",
        "In sport, the home team won its third match in a row and now leads the regional table.",
        "The weather stays mild tomorrow with light rain in the morning and sunshine in the afternoon.",
    ]
)


class HookReceiver:
    """A webhook receiver on 127.0.0.1 (real HTTP): records every POST and answers 500 to the
    first `fail_first` requests of each path, 200 after that."""

    def __init__(self, fail_first: int = 0) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.fail_first = fail_first
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.requests.append((self.path, dict(self.headers), body))
                    n = sum(1 for p, _, _ in receiver.requests if p == self.path)
                self.send_response(500 if n <= receiver.fail_first else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str = "/hook") -> str:
        return self.base + path

    def to(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        """(headers, body) of the requests to `path`, in order."""
        with self._lock:
            return [(h, b) for p, h, b in self.requests if p == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
