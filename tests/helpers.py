"""Small helpers shared by test modules: a free local port, and waiting for a condition."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout: float = 20.0, why: Callable[[], object] | None = None) -> None:
    """Poll `predicate` every 20 ms; fail the test (with `why()` if given) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s" + (f": {why()}" if why else ""))
        time.sleep(0.02)
