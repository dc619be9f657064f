"""Small helpers shared by test modules: ports for servers, waiting for a condition, a stand-in HTTP server.

Ports: a server in this process binds port 0 and reports what it got (`StandIn`, `ApiServer.port`).
A server in a child process (nginx, redis-server, `anchor serve`, `anchor live`) is started by
`start_on_free_port`: it is handed a port nothing listened on a moment ago, and `wait_listening`
checks that the child itself holds the listening socket; when the child finds the port taken in
the meantime (`PortTaken`), it is started again on another port. This is the one place for ports.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago.

    Use it directly only for an address that should refuse connections; a server started on it
    goes through `start_on_free_port`, which retries when someone else took the port meanwhile."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PortTaken(RuntimeError):
    """A server could not bind the port it was given (another process took it first)."""


def start_on_free_port(start: Callable[[int], T], attempts: int = 5) -> T:
    """`start(port)` on a fresh free port, again on another one each time it raises `PortTaken`."""
    taken: list[str] = []
    for _ in range(attempts):
        try:
            return start(free_port())
        except PortTaken as e:
            taken.append(str(e))
    raise AssertionError(f"no free port after {attempts} attempts: {taken}")


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on TCP `port` (any address), from /proc/net/tcp and tcp6."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            if len(f) > 9 and f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                inodes.add(f[9])
    return inodes


def listens_on(pid: int, port: int) -> bool:
    """Whether process `pid` itself holds a listening TCP socket on `port` (Linux /proc)."""
    inodes = _listening_inodes(port)
    if not inodes:
        return False
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in inodes:
            return True
    return False


def wait_listening(
    pid: int, port: int, alive: Callable[[], bool], log: Callable[[], str], what: str, timeout: float = 90.0
) -> None:
    """Wait until the child `pid` listens on `port`. `PortTaken` when it exits saying the address
    is in use; RuntimeError (with its log) when it exits otherwise or does not listen in time."""
    deadline = time.monotonic() + timeout
    while not listens_on(pid, port):
        if not alive():
            text = log()
            if "address already in use" in text.lower():
                raise PortTaken(f"{what}: port {port} was taken")
            raise RuntimeError(f"{what} exited before listening on port {port}:\n{text}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not listen on port {port} within {timeout} s:\n{log()}")
        time.sleep(0.05)


def wait_until(predicate: Callable[[], object], timeout: float = 60.0, why: Callable[[], object] | None = None) -> None:
    """Poll `predicate` every 20 ms; fail the test (with `why()` if given) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s" + (f": {why()}" if why else ""))
        time.sleep(0.02)


Handler = Callable[[BaseHTTPRequestHandler, list[dict]], None]


class StandIn:
    """A tiny HTTP server on 127.0.0.1 whose answers `handler` decides; records every request."""

    def __init__(self, handler: Handler) -> None:
        self.requests: list[dict] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def _any(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                outer.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )
                handler(self, outer.requests)

            do_GET = do_POST = _any

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> StandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def reply(h: BaseHTTPRequestHandler, code: int, body: bytes, ctype: str = "audio/wav") -> None:
    h.send_response(code)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)
