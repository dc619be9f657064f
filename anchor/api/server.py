"""Serving an ASGI app with uvicorn on a thread the caller owns (start/stop)."""

from __future__ import annotations

import asyncio
import threading
import time

import uvicorn
from fastapi import FastAPI


class ApiServer:
    """uvicorn on its own event loop in a background thread; a context manager that stops it on exit.

    `loop` is that event loop (for code that must run on it, e.g. counting its tasks). With
    `lifespan`, the app's lifespan (e.g. the job API's backend) runs with the server.
    """

    def __init__(self, app: FastAPI, host: str, port: int, *, lifespan: bool = False) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="on" if lifespan else "off",
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="control-api", daemon=True)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self.loop = loop
        try:
            loop.run_until_complete(self.server.serve())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def start(self, timeout: float = 10.0) -> ApiServer:
        self._thread.start()
        end = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > end:
                raise RuntimeError("the control API did not start (port in use?)")
            time.sleep(0.02)
        return self

    @property
    def port(self) -> int:
        """The port the server listens on (the one the system chose when asked for port 0); after start()."""
        if not self.server.started:
            raise RuntimeError("the server has not started")
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
