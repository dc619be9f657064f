"""A real local HTTP server for feed tests: routes set per test, conditional GET, slow and huge bodies.

Binds port 0 on 127.0.0.1 (or ::1); every request is logged (path, If-None-Match) so tests
can assert what reached the server.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass
class Route:
    """What the server answers on one path."""

    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    etag: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    stream: Callable[[], Iterator[bytes]] | None = None  # a body produced chunk by chunk (no Content-Length)
    length: int | None = None  # a Content-Length to announce for a streamed body
    delay_s: float = 0.0
    dynamic: Callable[[], bytes] | None = None  # a body made at request time


class FeedServer:
    """Serves `routes` (path -> Route); a context manager. `hits` logs (path, if_none_match)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[tuple[str, str | None]] = []
        self.sent: dict[str, int] = {}
        self.done = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # headers and body go out in separate writes: without this, delayed ACKs add 40 ms a request
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:
                server.hits.append((self.path, self.headers.get("If-None-Match")))
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                if route.delay_s:
                    time.sleep(route.delay_s)
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    self.send_response(304)
                    self.send_header("ETag", route.etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.etag:
                    self.send_header("ETag", route.etag)
                for k, v in route.headers.items():
                    self.send_header(k, v)
                if route.stream is None:
                    body = route.dynamic() if route.dynamic is not None else route.body
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if route.length is not None:
                    self.send_header("Content-Length", str(route.length))
                self.send_header("Connection", "close")
                self.end_headers()
                sent = 0
                try:
                    for chunk in route.stream():
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        sent += len(chunk)
                except (TimeoutError, BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    server.sent[self.path] = sent
                    server.done.set()
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
            daemon_threads = True

        self._httpd = Server((host, 0), Handler)
        self.port = self._httpd.server_address[1]
        self.host = host
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
